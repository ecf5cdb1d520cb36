"""Odd input answers 400 or 404 with words, never 500: every URL of ours is asked, as a person
with data of their own and as staff, with every query parameter and every form field the pages
offer set to long digits, NaN and Infinity, negative and huge numbers, non-ASCII digits and
empty values, in the path where a number goes, in keyset cursors and in a Range header. The
API's URLs are asked with a token, as a tool would."""

import re
from html.parser import HTMLParser

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from api import tokens
from jobs import staging
from jobs.models import Job
from sequences.models import Export, Sequence
from teams.models import Project
from tests.conftest import cleaned, image_bytes
from tests.test_sequences import succeed
from webhooks.models import Endpoint

pytestmark = pytest.mark.django_db

ODD = ["9" * 5000, "NaN", "Infinity", "-Infinity", "-1", "99999999999999999999999",
       "1e999", "٣", "²", ""]
CURSORS = ["NaN~1", "Infinity~1", "-Infinity~1", "1~" + "9" * 5000, "9" * 5000 + "~1",
           "1e999~1", "~", "٣~٣"]
# the query parameters views read beyond their forms' fields
QUERY = {"before", "after", "since", "jobs", "project", "download", "next", "which", "sort",
         "first", "last"}
ODD_PATH_NUMBERS = ["9" * 18, "9" * 19, "9" * 5000, "0"]


class _Fields(HTMLParser):
    def __init__(self):
        super().__init__()
        self.names = set()

    def handle_starttag(self, tag, attrs):
        name = dict(attrs).get("name")
        if tag in ("input", "select", "textarea") and name and name != "csrfmiddlewaretoken":
            self.names.add(name)


def fields_of(html):
    parser = _Fields()
    parser.feed(html)
    return parser.names


def our_patterns(resolver=None, prefix=""):
    """(name, route) of every named URL of ours (the Django admin's own pages aside)."""
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if route.startswith("admin/") and entry.app_name == "admin":
                continue
            yield from our_patterns(entry, route)
        elif isinstance(entry, URLPattern) and entry.name:
            yield entry.name, route


@pytest.fixture
def world(owner, teammate, team, make_job, staff):
    project = Project.objects.create(name="Harbour film", team=team)
    job = succeed(make_job(project=project, title="Harbour at dawn"))
    draft = make_job(status=Job.Status.DRAFT)
    waiting = make_job(status=Job.Status.WAITING, project=project)
    sequence = Sequence.objects.create(name="Reel", owner=owner)
    take = sequence.add(job)
    export, _ = Export.request(sequence, owner)
    export.start()
    export.finish(default_storage.save("exports/reel.mp4", ContentFile(b"\0" * 2048)), 2,
                  [job.pk])
    token, _ = tokens.issue(owner, "Render script")
    staged = staging.token_for(default_storage.save("staged/f.png",
                                                    ContentFile(cleaned(image_bytes()))), owner)
    endpoint = Endpoint.objects.create(owner=owner, url="https://example.com/hooks",
                                       events=["job.finished"])
    by_prefix = {"jobs/": job.pk, "drafts/": draft.pk, "projects/": project.pk,
                 "sequences/": sequence.pk, "settings/webhooks/": endpoint.pk,
                 "api/v1/jobs/": job.pk, "api/v1/sequences/": sequence.pk,
                 "settings/tokens/": token.pk, "approvals/": waiting.pk,
                 "api/v1/approvals/": waiting.pk}
    return {"by_prefix": by_prefix, "take": take.pk, "token": staged, "job": job}


def concrete(route, world, number=None):
    """The route with real ids (or `number` where an id goes) and valid other parts."""
    def fill(match):
        kind, name = match.groups()
        if kind in ("id", "int"):
            if number is not None:
                return number
            if name == "take":
                return str(world["take"])
            if name in ("position", "reference"):
                return "0"
            return str(next(pk for prefix, pk in world["by_prefix"].items()
                            if route.startswith(prefix)))
        if name == "which":
            return "start"
        return world["token"]
    return "/" + re.sub(r"<(\w+):(\w+)>", fill, route)


def ask(client, method, url, **extra):
    try:
        return getattr(client, method)(url, **extra).status_code
    except Exception as error:  # noqa: BLE001 (an exception is what a 500 would be)
        return f"{type(error).__name__}: {error}"[:200]


def test_no_url_answers_odd_input_with_a_server_error(world, owner, staff):
    # the pages read the session, the API (/api/v1/) the token: each client carries both
    person, admin = (Client(HTTP_AUTHORIZATION=f"Bearer {tokens.issue(user, 'Fuzz')[1]}")
                     for user in (owner, staff))
    person.force_login(owner)
    admin.force_login(staff)
    assert person.get("/api/v1/jobs").status_code == 200, "the API is asked as the person"
    patterns = sorted(our_patterns(), key=lambda item: "delete" in item[0])
    urls = [(name, concrete(route, world)) for name, route in patterns]

    form_fields = set()
    for name, url in urls:
        for client in (person, admin):
            response = client.get(url)
            if response.get("Content-Type", "").startswith("text/html"):
                form_fields |= fields_of(response.content.decode())
    assert {"prompt", "q", "name", "trim_start"} <= {field.split("-")[-1]
                                                     for field in form_fields}

    failures = []
    for name, url in urls:
        client = admin if name.startswith("spend-re") else person
        client.force_login(staff if client is admin else owner)  # a POST may have signed out
        for value in ODD:
            answers = {
                "GET": ask(client, "get", url, data={key: value for key in QUERY
                                                     | _form_query(form_fields)},
                           HTTP_RANGE=f"bytes={value}-{value}"),
                "POST": ask(client, "post", url, data={key: value for key in form_fields
                                                       | QUERY}),
            }
            failures += [(name, method, value[:12], answer) for method, answer in answers.items()
                         if not isinstance(answer, int) or answer >= 500]
        for cursor in CURSORS:
            for sort in ("newest", "costliest", "cheapest", "oldest"):
                answer = ask(client, "get", url, data={"before": cursor, "after": cursor,
                                                       "sort": sort})
                if not isinstance(answer, int) or answer >= 500:
                    failures.append((name, "cursor", cursor[:12], answer))
    person.force_login(owner)
    for name, route in patterns:
        if "<id:" in route or "<int:" in route:
            for number in ODD_PATH_NUMBERS:
                answer = ask(person, "get", concrete(route, world, number))
                if not isinstance(answer, int) or answer >= 500:
                    failures.append((name, "path", number[:12], answer))
    person.force_login(owner)
    for value in ODD:
        answer = ask(person, "get", reverse("compare"), data={"jobs": [value, value, "1"]})
        if not isinstance(answer, int) or answer >= 500:
            failures.append(("compare", "jobs", value[:12], answer))
    assert failures == []


def _form_query(form_fields):
    return {field for field in form_fields if "-" not in field}
