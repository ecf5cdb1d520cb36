"""Finding jobs: search by title and prompt, filters, sort orders, and their pages."""

from datetime import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from jobs import finding, search
from jobs.models import Job, Star
from teams.models import Project, Team
from tests.composer import KLING_30, signed_in, text_of

pytestmark = pytest.mark.django_db


def found(response):
    """The ids of the jobs on a gallery or project page, in order."""
    html = response.content.decode()
    ids, start = [], 0
    while (start := html.find('data-job="', start)) != -1:
        start += len('data-job="')
        ids.append(int(html[start:html.index('"', start)]))
    return ids


@pytest.fixture
def titled(make_job):
    def make(title, prompt="", **fields):
        job = make_job(title=title, prompt=prompt, **fields)
        search.index(job)
        return job
    return make


def gallery(user, **params):
    return signed_in(user).get(reverse("gallery"), params)


# Words


def test_words_are_lower_case_distinct_and_keep_accents():
    assert search.words("Café, CAFÉ and the café's light-house 42") == [
        "café", "and", "the", "s", "light", "house", "42"]


def test_a_search_needs_every_word_and_reads_title_and_prompt(owner, titled):
    both = titled("Harbour at dawn", "a lighthouse keeper")
    title_only = titled("Harbour at dusk", "fishing boats")
    titled("Forest", "a lighthouse keeper")

    assert found(gallery(owner, q="harbour lighthouse")) == [both.pk]
    assert sorted(found(gallery(owner, q="HARBOUR"))) == sorted([both.pk, title_only.pk])


def test_a_word_finds_the_words_it_begins(owner, titled):
    lighthouse = titled("Lighthouse", "")
    titled("Highlight reel", "")

    assert found(gallery(owner, q="light")) == [lighthouse.pk]


def test_a_storyboards_shots_are_searched(owner, make_job):
    from jobs.models import Shot

    job = make_job(prompt="", multi_shot=True, shot_type="customize", title="Storyboard")
    Shot.objects.create(job=job, position=0, prompt="A zeppelin drifts", duration=5)
    search.index(job)

    assert found(gallery(owner, q="zeppelin")) == [job.pk]


@pytest.mark.parametrize("rare", [1000, 1])
def test_common_and_rare_words_find_the_same_jobs_in_the_same_order(
        owner, titled, monkeypatch, rare):
    # With RARE=1 every word counts as common and is checked per row; with 1000, as rare and
    # looked up first: both paths must agree.
    monkeypatch.setattr(search, "RARE", rare)
    jobs = [titled(f"Harbour take {n}", "boats at sea" if n % 2 else "an empty quay")
            for n in range(5)]

    assert found(gallery(owner, q="harbour boats")) == [jobs[3].pk, jobs[1].pk]


def test_nobody_finds_another_persons_job_by_its_words(owner, other, titled):
    titled("Secret harbour", "")

    assert found(gallery(other, q="secret")) == []


def test_a_search_with_no_match_says_so_and_offers_the_way_back(owner, titled):
    titled("Harbour", "")

    response = gallery(owner, q="volcano")

    assert found(response) == []
    assert 'data-role="no-match"' in response.content.decode()


# Filters


def test_filters_by_model_status_and_starred(owner, make_job):
    done = make_job(status=Job.Status.SUCCEEDED, model_id=KLING_30)
    failed = make_job(status=Job.Status.FAILED)
    working = make_job(status=Job.Status.PROCESSING)
    Star.objects.create(person=owner, job=failed)

    assert found(gallery(owner, model=KLING_30)) == [done.pk]
    assert found(gallery(owner, status="done")) == [done.pk]
    assert found(gallery(owner, status="working")) == [working.pk]
    assert found(gallery(owner, status="failed")) == [failed.pk]
    assert found(gallery(owner, starred="on")) == [failed.pk]


def test_another_persons_star_does_not_count_as_mine(owner, other, make_job):
    job = make_job()
    Star.objects.create(person=other, job=job)

    assert found(gallery(owner, starred="on")) == []


def test_a_date_range_includes_both_of_its_days(owner, make_job):
    def on(day):
        return make_job(created_at=timezone.make_aware(datetime(2026, 3, day, 23, 30)))

    before, first, last, after = on(9), on(10), on(12), on(13)

    assert found(gallery(owner, since="2026-03-10", until="2026-03-12")) == [last.pk, first.pk]
    assert found(gallery(owner, until="2026-03-09")) == [before.pk]
    assert found(gallery(owner, since="2026-03-13")) == [after.pk]


def test_a_range_that_ends_before_it_starts_is_explained_next_to_its_end(owner, make_job):
    job = make_job()

    response = gallery(owner, since="2026-03-12", until="2026-03-10")

    html = response.content.decode()
    assert "before the “From” date" in text_of(html, "field-until")
    assert 'value="2026-03-10"' in html  # what was typed is kept
    assert found(response) == [job.pk]  # the end that made no sense is left out


def test_an_unreadable_filter_is_explained_and_the_rest_still_apply(owner, make_job):
    done = make_job(status=Job.Status.SUCCEEDED)
    make_job(status=Job.Status.FAILED)

    response = gallery(owner, since="yesterday-ish", status="done")

    assert "Enter a valid date" in text_of(response.content.decode(), "field-since")
    assert found(response) == [done.pk]


def test_filters_by_project_only_among_the_persons_projects(owner, other, make_job):
    mine = Project.objects.create(name="Mine", owner=owner)
    theirs = Project.objects.create(name="Theirs", owner=other)
    inside = make_job(project=mine)
    make_job()

    assert found(gallery(owner, project=mine.pk)) == [inside.pk]
    response = gallery(owner, project=theirs.pk)
    assert "Select a valid choice" in text_of(response.content.decode(), "field-project")


def test_a_team_projects_page_filters_by_person(owner, other, make_job):
    team = Team.objects.create(name="Crew")
    team.members.add(owner, other)
    project = Project.objects.create(name="Film", team=team)
    hers, his = make_job(project=project), make_job(user=other, project=project)

    page = signed_in(owner).get(reverse("project", args=[project.pk]), {"person": other.pk})

    assert found(page) == [his.pk]
    assert found(signed_in(owner).get(reverse("project", args=[project.pk]))) == [his.pk, hers.pk]


# Sorting and pages


def test_sorts_by_date_and_by_cost(owner, make_job):
    cheap = make_job(cost=Decimal("0.300"))
    dear = make_job(cost=Decimal("2.000"))
    middle = make_job(cost=Decimal("0.900"))

    assert found(gallery(owner)) == [middle.pk, dear.pk, cheap.pk]
    assert found(gallery(owner, sort="oldest")) == [cheap.pk, dear.pk, middle.pk]
    assert found(gallery(owner, sort="costliest")) == [dear.pk, middle.pk, cheap.pk]
    assert found(gallery(owner, sort="cheapest")) == [cheap.pk, middle.pk, dear.pk]


def test_pages_by_cost_cover_every_job_once_and_keep_the_filters(owner, make_job, settings):
    from jobs import views

    jobs = [make_job(cost=Decimal(cost), status=Job.Status.SUCCEEDED)
            for cost in ("1.000", "0.500", "1.000", "2.000", "0.500", "1.000", "0.100")]
    make_job(cost=Decimal("9.000"), status=Job.Status.FAILED)  # filtered out
    size = views.GALLERY_PAGE_SIZE
    views.GALLERY_PAGE_SIZE = 3
    try:
        seen, params, pages = [], {"sort": "costliest", "status": "done"}, 0
        while params is not None:
            response = gallery(owner, **params)
            seen += found(response)
            pages += 1
            older = finding_link(response.content.decode(), "next")
            params = dict(pair.split("=", 1) for pair in older.split("&")) if older else None
            if params:
                assert (params["sort"], params["status"]) == ("costliest", "done")
    finally:
        views.GALLERY_PAGE_SIZE = size

    expected = sorted(jobs, key=lambda job: (job.cost, job.pk), reverse=True)
    assert seen == [job.pk for job in expected]
    assert pages == 3


def finding_link(html, rel):
    from html import unescape
    from urllib.parse import unquote

    marker = f'rel="{rel}"'
    if marker not in html:
        return None
    end = html.index(marker)
    start = html.rindex('href="?', 0, end) + len('href="?')
    return unquote(unescape(html[start:html.index('"', start)]))


def test_going_back_a_page_by_cost_shows_the_page_before(owner, make_job):
    from lib import paging

    jobs = [make_job(cost=Decimal(n)) for n in range(1, 8)]
    everything = Job.objects.all()
    first = paging.paginate(everything, {}, 3, order=paging.COSTLIEST)
    second = paging.paginate(everything, dict([first.older.split("=", 1)]), 3,
                             order=paging.COSTLIEST)
    back = paging.paginate(everything, {"after": _cursor(second.newer)}, 3,
                           order=paging.COSTLIEST)

    assert [job.pk for job in first] == [jobs[6].pk, jobs[5].pk, jobs[4].pk]
    assert [job.pk for job in second] == [jobs[3].pk, jobs[2].pk, jobs[1].pk]
    assert [job.pk for job in back] == [job.pk for job in first]


def _cursor(query):
    from urllib.parse import parse_qs

    return parse_qs(query)["after"][0]


def test_a_cursor_that_does_not_parse_shows_the_first_page(owner, make_job):
    job = make_job()

    assert found(gallery(owner, sort="costliest", before="not-a-cost~x")) == [job.pk]


def test_the_finder_ignores_the_cursor_when_deciding_what_is_filtered(owner):
    from django.http import QueryDict

    finder = finding.Finder(QueryDict("before=2026-01-01T00:00:00~4&sort=oldest"), user=owner)

    assert not finder.active
    assert finder.params == {"sort": "oldest"}
