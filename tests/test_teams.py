"""Teams and projects: who reaches what, takes, titles, stars, comparing and choosing a take."""

import json
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from jobs import search, tasks
from jobs.models import Element, Job, Star
from spend.models import Budget
from teams.models import Project
from tests.composer import composer_post, selected, signed_in, text_of, values
from tests.conftest import upload
from tests.test_views import MP4, body, submit


pytestmark = pytest.mark.django_db


def succeed(job, video=MP4):
    """Put a job where a finished task would have left it, its video kept."""
    submit(job, f"sa-{job.pk}")
    assert job.mark_succeeded(f"https://cdn.shortapi.example/{job.pk}.mp4")
    job.video.save("video.mp4", ContentFile(video), save=True)
    return job


@pytest.fixture
def shared_job(make_job, project):
    """The owner's finished take in the team's project, with an element and a kept video."""
    job = succeed(make_job(project=project, title="Harbour at dawn"))
    element = Element(job=job, position=0, name="Mia")
    element.frontal_image.save("mia.png", ContentFile(upload().read()), save=True)
    return job


# Who reaches what: owner, teammate, somebody outside the team, staff outside the team.

READ_URLS = [
    ("job-detail", lambda job: [job.pk], {}),
    ("job-status", lambda job: [job.pk], {}),
    ("job-frame", lambda job: [job.pk, "start"], {}),
    ("job-poster", lambda job: [job.pk], {}),
    ("job-video", lambda job: [job.pk], {}),
    ("job-video", lambda job: [job.pk], {"download": "1"}),
    ("job-element-image", lambda job: [job.pk, 0], {}),
    ("job-remix", lambda job: [job.pk], {}),
]


@pytest.mark.parametrize("name,args,query", READ_URLS)
@pytest.mark.parametrize("who,expected", [("owner", 200), ("teammate", 200), ("other", 404),
                                          ("staff", 404)])
def test_a_team_projects_job_is_open_to_the_team_and_nobody_else(
        request, shared_job, name, args, query, who, expected):
    person = request.getfixturevalue(who)

    response = signed_in(person).get(reverse(name, args=args(shared_job)), query)

    assert response.status_code == expected


@pytest.mark.parametrize("who,expected", [("owner", 302), ("teammate", 302), ("other", 404),
                                          ("staff", 404)])
def test_only_the_team_may_star_its_jobs(request, shared_job, who, expected):
    person = request.getfixturevalue(who)

    response = signed_in(person).post(reverse("job-star", args=[shared_job.pk]))

    assert response.status_code == expected
    assert Star.objects.filter(person=person, job=shared_job).exists() == (expected == 302)


@pytest.mark.parametrize("who,expected", [("owner", 302), ("teammate", 404), ("other", 404),
                                          ("staff", 404)])
def test_only_the_owner_renames_a_job(request, shared_job, who, expected):
    person = request.getfixturevalue(who)

    response = signed_in(person).post(reverse("job-title", args=[shared_job.pk]),
                                      {"title": "Renamed"})

    assert response.status_code == expected
    shared_job.refresh_from_db()
    assert (shared_job.title == "Renamed") == (expected == 302)


@pytest.mark.parametrize("who,expected", [("owner", 200), ("teammate", 200), ("other", 404),
                                          ("staff", 404)])
def test_a_team_project_and_its_comparisons_are_the_teams_alone(
        request, shared_job, make_job, project, who, expected):
    second = succeed(make_job(project=project))
    person = request.getfixturevalue(who)
    client = signed_in(person)

    page = client.get(reverse("project", args=[project.pk]))
    compared = client.get(reverse("compare"), {"jobs": [shared_job.pk, second.pk]})
    chose = client.post(reverse("project-choose", args=[project.pk]), {"job": second.pk})

    assert (page.status_code, compared.status_code) == (expected, expected)
    assert chose.status_code == (302 if expected == 200 else 404)
    project.refresh_from_db()
    assert (project.chosen_take_id == second.pk) == (expected == 200)


def test_a_private_project_and_its_jobs_are_its_owners_alone(owner, teammate, team, make_job):
    private = Project.objects.create(name="Sketches", owner=owner)
    job = succeed(make_job(project=private))

    for url in (reverse("project", args=[private.pk]), reverse("job-detail", args=[job.pk])):
        assert signed_in(owner).get(url).status_code == 200
        assert signed_in(teammate).get(url).status_code == 404


def test_a_teammates_draft_stays_private_in_a_team_project(teammate, make_job, project):
    draft = make_job(project=project, status=Job.Status.DRAFT)

    assert signed_in(teammate).get(reverse("job-detail", args=[draft.pk])).status_code == 404
    assert signed_in(teammate).get(reverse("job-remix", args=[draft.pk])).status_code == 404


def test_a_person_who_leaves_the_team_loses_its_jobs(teammate, team, shared_job):
    team.members.remove(teammate)

    assert signed_in(teammate).get(shared_job.get_absolute_url()).status_code == 404


def test_my_videos_shows_my_own_jobs_only_the_project_page_shows_the_teams(
        owner, teammate, shared_job, make_job, project):
    mine = make_job(user=teammate, project=project, title="Tara's take")

    gallery = signed_in(teammate).get(reverse("gallery")).content.decode()
    page = signed_in(teammate).get(reverse("project", args=[project.pk])).content.decode()

    assert f'data-job="{mine.pk}"' in gallery and f'data-job="{shared_job.pk}"' not in gallery
    assert f'data-job="{mine.pk}"' in page and f'data-job="{shared_job.pk}"' in page
    assert "by olivia" in page


def test_a_teammate_downloads_the_video_under_its_title(teammate, shared_job):
    response = signed_in(teammate).get(reverse("job-video", args=[shared_job.pk]),
                                       {"download": "1"})

    assert response["Content-Disposition"] == (
        f'attachment; filename="kling-studio-job-{shared_job.pk}-harbour-at-dawn.mp4"')
    assert body(response) == MP4


def test_a_teammates_remix_starts_in_the_project_with_a_title_of_its_own(teammate, shared_job):
    html = signed_in(teammate).get(reverse("job-remix", args=[shared_job.pk])).content.decode()

    assert selected(html, "id_project") == str(shared_job.project_id)
    assert values(html, "title") == [None]  # an empty title: the remix's own


# Projects


def test_a_person_makes_a_team_project_and_a_private_one(owner, team):
    client = signed_in(owner)

    client.post(reverse("projects"), {"name": "Trailer", "team": team.pk})
    client.post(reverse("projects"), {"name": "Trailer", "team": ""})

    assert list(Project.objects.values_list("name", "team", "owner").order_by("team")) == [
        ("Trailer", None, owner.pk), ("Trailer", team.pk, None)]


def test_a_project_name_is_taken_once_per_team(owner, project):
    response = signed_in(owner).post(reverse("projects"), {"name": "harbour FILM",
                                                           "team": project.team_id})

    assert response.status_code == 400
    assert "already a project of that name" in text_of(response.content.decode(), "field-name")
    assert Project.objects.count() == 1


def test_nobody_makes_a_project_for_a_team_they_are_not_in(other, team):
    response = signed_in(other).post(reverse("projects"), {"name": "Intrusion", "team": team.pk})

    assert response.status_code == 400
    assert not Project.objects.filter(name="Intrusion").exists()


# The composer: project, title, takes


def test_the_composer_offers_the_persons_projects_and_defaults_to_the_last_used(
        owner, other, make_job, project):
    theirs = Project.objects.create(name="Not yours", owner=other)
    make_job(project=project)

    html = signed_in(owner).get(reverse("compose")).content.decode()

    assert selected(html, "id_project") == str(project.pk)
    assert "Not yours" not in html and str(theirs) not in html


def test_a_project_link_opens_the_composer_in_that_project(owner, project):
    private = Project.objects.create(name="Mine", owner=owner)

    html = signed_in(owner).get(reverse("compose"), {"project": private.pk}).content.decode()

    assert selected(html, "id_project") == str(private.pk)


def test_sending_into_a_project_one_may_not_use_is_refused_next_to_the_field(
        owner, other, enqueued):
    theirs = Project.objects.create(name="Not yours", owner=other)

    response = signed_in(owner).post(reverse("compose"), composer_post(project=theirs.pk))

    assert "Select a valid choice" in text_of(response.content.decode(), "field-project")
    assert not Job.objects.exists() and enqueued == []


def test_a_job_is_titled_by_its_prompts_first_words_unless_named(owner, enqueued):
    client = signed_in(owner)
    client.post(reverse("compose"), composer_post(
        prompt="A lighthouse keeper climbs the spiral stairs at dusk with a lantern"))
    client.post(reverse("compose"), composer_post(title="  Keeper, take two "))

    named, untitled = Job.objects.order_by("-id")
    assert untitled.title == "A lighthouse keeper climbs the spiral stairs at…"
    assert named.title == "Keeper, take two"


def test_three_takes_are_three_grouped_jobs_held_and_queued_together(
        owner, project, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(owner).post(reverse("compose"),
                                         composer_post(takes="3", project=project.pk))

    takes = list(Job.objects.order_by("take_number"))
    first = takes[0]
    assert response.url == first.get_absolute_url()
    assert [(job.take_number, job.takes, job.status) for job in takes] == [
        (1, 3, Job.Status.QUEUED), (2, 3, Job.Status.QUEUED), (3, 3, Job.Status.QUEUED)]
    assert len({job.take_group for job in takes}) == 1 and first.take_group is not None
    assert len({job.callback_token for job in takes}) == 3
    assert {job.start_frame.name for job in takes} == {first.start_frame.name}
    assert {job.project_id for job in takes} == {project.pk}
    assert sorted(args for _, args in enqueued) == [(job.pk,) for job in takes]
    assert all(func is tasks.submit_job for func, _ in enqueued)


def test_takes_are_grouped_in_the_gallery_and_linked_on_their_pages(owner, enqueued):
    client = signed_in(owner)
    client.post(reverse("compose"), composer_post(takes="2"))
    first, second = Job.objects.order_by("take_number")

    gallery = client.get(reverse("gallery")).content.decode()
    page = client.get(second.get_absolute_url()).content.decode()

    assert gallery.count('data-role="take-group"') == 1
    assert "Take 1 of 2" in gallery and "Take 2 of 2" in gallery
    assert f'href="{first.get_absolute_url()}"' in text_of_section(page, "takes")


def text_of_section(html, role):
    start = html.index(f'data-role="{role}"')
    return html[start:html.index("</nav>", start)]


def test_the_budget_holds_every_take_or_none(owner, enqueued,
                                            django_capture_on_commit_callbacks):
    # one 5 s Kling 3.0 pro take is estimated at $0.95: two fit in $2, three do not
    Budget.objects.create(user=owner, amount=Decimal("2.00"))
    client = signed_in(owner)

    with django_capture_on_commit_callbacks(execute=True):
        refused = client.post(reverse("compose"), composer_post(takes="3"))
        sent = client.post(reverse("compose"), composer_post(takes="2"))

    assert refused.status_code == 200
    assert "Nothing was sent or charged" in refused.content.decode()
    assert sent.status_code == 302
    assert Job.objects.count() == 2 and len(enqueued) == 2


@pytest.mark.parametrize("takes", ["0", "5", "many"])
def test_takes_are_one_to_four(owner, enqueued, takes):
    response = signed_in(owner).post(reverse("compose"), composer_post(takes=takes))

    assert "Select a valid choice" in text_of(response.content.decode(), "field-takes")
    assert not Job.objects.exists()


def test_a_draft_keeps_its_project_title_and_takes_and_sends_them(
        owner, project, enqueued, django_capture_on_commit_callbacks):
    client = signed_in(owner)
    client.post(reverse("draft-save"), composer_post(takes="2", project=project.pk,
                                                     title="Later"))
    draft = Job.objects.get()
    assert (draft.status, draft.takes, draft.project_id, draft.title) == (
        Job.Status.DRAFT, 2, project.pk, "Later")

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("compose"), {"draft": draft.pk, "saved": "1"})

    takes = list(Job.objects.order_by("take_number"))
    assert [(job.pk == draft.pk, job.take_number, job.status) for job in takes] == [
        (True, 1, Job.Status.QUEUED), (False, 2, Job.Status.QUEUED)]
    assert takes[0].take_group == takes[1].take_group is not None


# Titles, stars


def test_renaming_a_job_makes_it_findable_by_its_new_title(owner, make_job):
    job = make_job(title="Old name")
    search.index(job)

    signed_in(owner).post(reverse("job-title", args=[job.pk]), {"title": "Zeppelin over docks"})

    found = signed_in(owner).get(reverse("gallery"), {"q": "zeppelin"}).content.decode()
    assert f'data-job="{job.pk}"' in found
    lost = signed_in(owner).get(reverse("gallery"), {"q": "old"}).content.decode()
    assert f'data-job="{job.pk}"' not in lost


def test_an_empty_title_is_refused_next_to_the_field(owner, make_job):
    job = make_job(title="Keep me")

    response = signed_in(owner).post(reverse("job-title", args=[job.pk]), {"title": "   "})

    assert response.status_code == 400
    assert "Give the video a title" in text_of(response.content.decode(), "field-title")
    job.refresh_from_db()
    assert job.title == "Keep me"


def test_a_star_answers_the_pages_script_and_comes_off_again(teammate, shared_job):
    client = signed_in(teammate)
    url = reverse("job-star", args=[shared_job.pk])

    on = client.post(url, {"starred": "1"}, HTTP_ACCEPT="application/json")
    again = client.post(url, {"starred": "1"}, HTTP_ACCEPT="application/json")
    assert json.loads(on.content) == json.loads(again.content) == {"starred": True}
    assert Star.objects.filter(person=teammate).count() == 1

    off = client.post(url, {"starred": "0"}, HTTP_ACCEPT="application/json")
    assert json.loads(off.content) == {"starred": False}
    assert not Star.objects.exists()


def test_a_star_goes_back_to_the_page_it_came_from_but_never_off_site(owner, shared_job):
    url = reverse("job-star", args=[shared_job.pk])

    back = signed_in(owner).post(url, {"next": "/?q=harbour"})
    away = signed_in(owner).post(url, {"next": "https://evil.example/"})

    assert back.url == "/?q=harbour"
    assert away.url == shared_job.get_absolute_url()


def test_a_stars_show_on_the_page_of_whoever_starred_it(owner, teammate, shared_job):
    Star.objects.create(person=teammate, job=shared_job)

    assert "★ Starred" in signed_in(teammate).get(shared_job.get_absolute_url()).content.decode()
    assert "★ Starred" not in signed_in(owner).get(shared_job.get_absolute_url()).content.decode()


# Comparing, choosing


def test_comparing_shows_each_take_with_its_settings_and_cost(teammate, shared_job, make_job,
                                                              project):
    second = succeed(make_job(project=project, title="Harbour at dusk", duration=10))

    html = signed_in(teammate).get(reverse("compare"),
                                   {"jobs": [shared_job.pk, second.pk]}).content.decode()

    assert html.count('data-role="take-video"') == 2
    assert "Harbour at dawn" in html and "Harbour at dusk" in html
    assert "10 s" in html and html.count('data-role="choose"') == 2


@pytest.mark.parametrize("count", [1, 5])
def test_comparing_takes_two_to_four(owner, make_job, count):
    ids = [make_job().pk for _ in range(count)]

    response = signed_in(owner).get(reverse("compare"), {"jobs": ids}, follow=True)

    assert "Pick two to 4 finished videos" in response.content.decode()


def test_comparing_a_job_one_may_not_see_is_not_found(owner, other, make_job):
    mine, theirs = make_job(), make_job(user=other)

    response = signed_in(owner).get(reverse("compare"), {"jobs": [mine.pk, theirs.pk]})

    assert response.status_code == 404


def test_a_take_without_a_video_cannot_be_chosen(owner, make_job, project):
    queued = make_job(project=project)

    response = signed_in(owner).post(reverse("project-choose", args=[project.pk]),
                                     {"job": queued.pk}, follow=True)

    assert "has no video yet" in response.content.decode()
    project.refresh_from_db()
    assert project.chosen_take is None


def test_a_take_from_another_project_cannot_be_chosen(owner, make_job, project):
    elsewhere = succeed(make_job(project=Project.objects.create(name="Other", owner=owner)))

    response = signed_in(owner).post(reverse("project-choose", args=[project.pk]),
                                     {"job": elsewhere.pk})

    assert response.status_code == 404
