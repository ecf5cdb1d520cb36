"""Leaving a team takes away every file derived from its jobs: an export of a private sequence
that holds a teammate's take, and the staged links a remix or a continue minted from one."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

from jobs import continuing, staging
from jobs.forms import job_input
from sequences.models import Export, Sequence
from tests.composer import composer_post, signed_in, text_of
from tests.test_sequences import clip, succeed  # noqa: F401 (clip is a fixture)
from tests.test_views import MP4

pytestmark = pytest.mark.django_db


@pytest.fixture
def teammates_take(make_job, teammate, project, clip):  # noqa: F811
    """The teammate's finished video in the team's project."""
    return succeed(make_job(user=teammate, project=project, title="Tara's harbour"), clip)


@pytest.fixture
def private_export(owner, teammates_take):
    """The owner's own sequence (no project) holding the teammate's take, exported."""
    sequence = Sequence.objects.create(name="My cut", owner=owner)
    sequence.add(teammates_take)
    export, _ = Export.request(sequence, owner)
    assert export.start()
    assert export.finish(default_storage.save("exports/cut.mp4", ContentFile(MP4)), 2,
                         [teammates_take.pk])
    return sequence


def test_an_export_holding_a_teammates_take_plays_while_in_the_team(owner, private_export):
    response = signed_in(owner).get(reverse("sequence-export-video", args=[private_export.pk]))
    assert response.status_code == 200


@pytest.mark.parametrize("query", [{}, {"download": "1"}])
def test_after_leaving_the_team_the_export_is_refused_in_words(owner, team, private_export,
                                                               query):
    team.members.remove(owner)
    client = signed_in(owner)

    response = client.get(reverse("sequence-export-video", args=[private_export.pk]), query)

    assert response.status_code == 403
    assert "belongs to a team you have left" in response.content.decode()
    page = client.get(private_export.get_absolute_url()).content.decode()
    assert "you can no longer see" in text_of(page, "export")
    assert f'src="{reverse("sequence-export-video", args=[private_export.pk])}' not in page


def test_an_export_of_ones_own_takes_stays_open_after_leaving(owner, team, make_job, clip):  # noqa: F811
    mine = succeed(make_job(title="Mine"), clip)
    sequence = Sequence.objects.create(name="Mine only", owner=owner)
    sequence.add(mine)
    export, _ = Export.request(sequence, owner)
    export.start()
    export.finish(default_storage.save("exports/mine.mp4", ContentFile(MP4)), 2, [mine.pk])
    team.members.remove(owner)
    response = signed_in(owner).get(reverse("sequence-export-video", args=[sequence.pk]))
    assert response.status_code == 200


def test_a_remix_link_to_a_teammates_frame_stops_working_after_leaving(owner, team,
                                                                     teammates_take):
    _, staged, _, _ = job_input(teammates_take, owner, remix=True)
    token = staged["start_frame"]
    client = signed_in(owner)
    assert client.get(reverse("staged-frame", args=[token])).status_code == 200

    team.members.remove(owner)

    assert client.get(reverse("staged-frame", args=[token])).status_code == 404
    response = client.post(reverse("compose"), composer_post(start_frame=False,
                                                             start_frame_staged=token))
    assert "has expired" in text_of(response.content.decode(), "field-start_frame")


def test_a_continued_last_frame_stops_working_after_leaving(owner, team, teammates_take):
    token = continuing.start_frame_after(teammates_take, owner)
    client = signed_in(owner)
    assert client.get(reverse("staged-frame", args=[token])).status_code == 200

    team.members.remove(owner)

    assert client.get(reverse("staged-frame", args=[token])).status_code == 404
    assert staging.staged_name(token, owner) is None


def test_a_token_for_ones_own_upload_does_not_depend_on_any_team(owner, team):
    from tests.conftest import cleaned, image_bytes

    name = default_storage.save("staged/mine.png", ContentFile(cleaned(image_bytes())))
    token = staging.token_for(name, owner)
    team.members.remove(owner)
    assert staging.staged_name(token, owner) == name
