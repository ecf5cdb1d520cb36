"""Sequences: who reaches them, adding, ordering, trimming and removing takes, the checks before
an export, and the export itself run for real on simulator videos, recipe included."""

import html
import io
import os
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import av
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from jobs.models import Element, Job, Shot
from jobs.recipes import read_recipe
from lib.video import measure
from sequences import files, tasks
from sequences.models import EXPORT_LOST_AFTER, Export, Sequence
from simulator import video
from teams.models import Project
from tests.composer import signed_in, text_of
from tests.conftest import require, upload
from tests.test_views import MP4, body, submit

pytestmark = pytest.mark.django_db

FRAME = Fraction(1, video.FPS)
AUDIO_FRAME = Fraction(1024, video.AUDIO_RATE)


def rendered(tmp_path, size, seconds=2, audio=False, colour=(200, 60, 40)):
    """The bytes of a simulator video made from a plain frame of `size`."""
    path = tmp_path / f"{size[0]}x{size[1]}-{seconds}-{audio}.mp4"
    return video.render(path, Image.new("RGB", size, colour), seconds, audio=audio).read_bytes()


def succeed(job, content=MP4):
    """Put a job where a finished task would have left it, its video kept (None: not yet)."""
    submit(job, f"sa-{job.pk}")
    assert job.mark_succeeded(f"https://cdn.shortapi.example/{job.pk}.mp4")
    if content is not None:
        job.video.save("video.mp4", ContentFile(content), save=True)
    return job


@pytest.fixture
def clip(tmp_path):
    """A two-second simulator video with sound, 640 x 360 at 12 frames a second."""
    return rendered(tmp_path, (640, 360), audio=True)


@pytest.fixture
def team_job(make_job, project, clip):
    return succeed(make_job(project=project, title="Harbour at dawn"), clip)


@pytest.fixture
def sequence(owner, project, team_job):
    """The team's sequence with one take of the owner's video in the team's project."""
    sequence = Sequence.objects.create(name="Harbour trailer", project=project, owner=owner)
    sequence.add(team_job)
    return sequence


@pytest.fixture
def queued(monkeypatch):
    """The export tasks that would have been queued, as (function, args, options)."""
    calls = []
    monkeypatch.setattr("sequences.tasks.async_task",
                        lambda func, *args, **options: calls.append((func, args, options)))
    return calls


def export_now(client, sequence, capture):
    """Ask for the export through the page and run the task it queues, here and now."""
    with capture(execute=True) as callbacks:
        response = client.post(reverse("sequence-export", args=[sequence.pk]))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert len(callbacks) == 1
    export = Export.objects.get(sequence=sequence)
    tasks.export_sequence(export.pk)
    export.refresh_from_db()
    return export


def streams(content):
    with av.open(io.BytesIO(content)) as container:
        picture = container.streams.video[0]
        sound = container.streams.audio[0] if container.streams.audio else None
        return ({"size": (picture.width, picture.height), "codec": picture.codec_context.name,
                 "video": picture.duration * picture.time_base,
                 "frames": sum(1 for _ in container.decode(picture))},
                None if sound is None else {"codec": sound.codec_context.name,
                                            "audio": sound.duration * sound.time_base})


def stored_bytes(name):
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def take_ids(sequence):
    return list(sequence.takes.order_by("position").values_list("job_id", flat=True))


# Who reaches what: the owner and a teammate reach a team project's sequence; somebody outside
# the team and staff outside it get 404 from every address, and change nothing.

READ_URLS = [
    ("sequence", {}),
    ("sequence-export-status", {}),
    ("sequence-export-video", {}),
    ("sequence-export-video", {"download": "1"}),
]


@pytest.fixture
def exported(sequence, owner):
    """The team sequence with a finished export (a stand-in file: reaching it is what counts)."""
    export, _ = Export.request(sequence, owner)
    assert export.start()
    assert export.finish(default_storage.save("exports/x.mp4", ContentFile(MP4)), 2,
                         [take.job_id for take in sequence.takes.all()])
    return sequence


@pytest.mark.parametrize("name,query", READ_URLS)
@pytest.mark.parametrize("who,expected", [("owner", 200), ("teammate", 200), ("other", 404),
                                          ("staff", 404)])
def test_a_team_sequence_and_its_export_are_open_to_the_team_and_nobody_else(
        request, exported, name, query, who, expected):
    response = signed_in(request.getfixturevalue(who)).get(
        reverse(name, args=[exported.pk]), query)

    assert response.status_code == expected


def take_url(name):
    return lambda sequence: reverse(name, args=[sequence.pk, sequence.takes.get().pk])


def unchanged(sequence):
    take = sequence.takes.get()
    return (take.position, take.trim_start) == (0, 0) and not Export.objects.exists()


CHANGES = [
    (take_url("sequence-take-move"), {"direction": "down"},
     lambda sequence: sequence.takes.get().position == 0),
    (take_url("sequence-take-trim"), {"take-{take}-trim_start": "0.5"},
     lambda sequence: sequence.takes.get().trim_start == Decimal("0.5")),
    (take_url("sequence-take-remove"), {}, lambda sequence: not sequence.takes.exists()),
    (lambda sequence: reverse("sequence-export", args=[sequence.pk]), {},
     lambda sequence: Export.objects.filter(sequence=sequence).exists()),
    (lambda sequence: reverse("sequence-delete", args=[sequence.pk]), {},
     lambda sequence: not Sequence.objects.filter(pk=sequence.pk).exists()),
]


@pytest.mark.parametrize("url,data,changed", CHANGES)
@pytest.mark.parametrize("who,allowed", [("owner", True), ("teammate", True), ("other", False),
                                         ("staff", False)])
def test_only_the_team_changes_a_team_sequence(request, sequence, queued, url, data, changed,
                                               who, allowed):
    take = sequence.takes.get()
    data = {key.format(take=take.pk): value for key, value in data.items()}

    response = signed_in(request.getfixturevalue(who)).post(url(sequence), data)

    assert response.status_code == (302 if allowed else 404)
    if allowed:
        assert changed(sequence)
    else:
        assert unchanged(sequence)


@pytest.mark.parametrize("who,expected", [("owner", 200), ("teammate", 404), ("other", 404),
                                          ("staff", 404)])
def test_a_sequence_outside_team_projects_is_its_makers_alone(request, owner, make_job, clip,
                                                             who, expected):
    private = Project.objects.create(name="Sketches", owner=owner)
    for project in (None, private):
        mine = Sequence.objects.create(name="Mine", owner=owner, project=project)
        mine.add(succeed(make_job(), clip))
        client = signed_in(request.getfixturevalue(who))

        assert client.get(reverse("sequence", args=[mine.pk])).status_code == expected
        listed = client.get(reverse("sequences")).content.decode()
        assert (f'data-sequence="{mine.pk}"' in listed) == (expected == 200)


def test_a_person_who_leaves_the_team_loses_its_sequences(owner, team, sequence):
    team.members.remove(owner)

    client = signed_in(owner)
    assert client.get(reverse("sequence", args=[sequence.pk])).status_code == 404
    assert f'data-sequence="{sequence.pk}"' not in client.get(reverse("sequences")).content.decode()


def test_nobody_adds_to_a_sequence_or_from_a_job_they_may_not_see(other, owner, sequence,
                                                                   make_job, clip):
    own_job = succeed(make_job(user=other), clip)
    private_job = succeed(make_job(), clip)

    into_theirs = signed_in(other).post(reverse("sequence-add"),
                                        {"job": own_job.pk, "sequence": sequence.pk})
    from_theirs = signed_in(other).post(reverse("sequence-add"),
                                        {"job": private_job.pk, "sequence": "new"})

    assert (into_theirs.status_code, from_theirs.status_code) == (404, 404)
    assert sequence.takes.count() == 1 and not Sequence.objects.filter(owner=other).exists()


# Making sequences and adding takes


def test_a_person_makes_a_team_sequence_and_one_of_their_own(owner, project):
    client = signed_in(owner)

    team = client.post(reverse("sequences"), {"name": "Trailer", "project": project.pk})
    mine = client.post(reverse("sequences"), {"name": "Reel", "project": ""})

    assert team.status_code == mine.status_code == 302
    assert sorted(Sequence.objects.values_list("name", "project", "owner")) == [
        ("Reel", None, owner.pk), ("Trailer", project.pk, owner.pk)]


def test_nobody_makes_a_sequence_in_a_project_that_is_not_open_to_them(other, project):
    response = signed_in(other).post(reverse("sequences"), {"name": "Intrusion",
                                                            "project": project.pk})

    assert response.status_code == 400
    assert "Select a valid choice" in text_of(response.content.decode(), "field-project")
    assert not Sequence.objects.exists()


def test_the_gallery_a_job_page_and_a_comparison_offer_to_add_finished_videos(
        owner, make_job, project, team_job, clip, sequence):
    other_take = succeed(make_job(project=project), clip)
    waiting = make_job()
    client = signed_in(owner)

    gallery = client.get(reverse("gallery")).content.decode()
    page = client.get(team_job.get_absolute_url()).content.decode()
    waiting_page = client.get(waiting.get_absolute_url()).content.decode()
    compared = client.get(reverse("compare"), {"jobs": [team_job.pk, other_take.pk]})

    add = f'<input type="hidden" name="job" value="{team_job.pk}">'
    assert add in gallery and add in page and add in compared.content.decode()
    assert f'name="job" value="{waiting.pk}"' not in gallery
    assert 'data-role="add-to-sequence"' not in waiting_page
    assert f'<option value="{sequence.pk}">Harbour trailer (Harbour crew)</option>' in page


def test_adding_to_a_new_sequence_puts_it_in_the_videos_team_project(teammate, team_job, project):
    response = signed_in(teammate).post(reverse("sequence-add"), {
        "job": team_job.pk, "sequence": "new", "name": "Tara's cut", "next": "/"})

    assert response.status_code == 302 and response.url == "/"
    made = Sequence.objects.get()
    assert (made.name, made.owner, made.project) == ("Tara's cut", teammate, project)
    assert take_ids(made) == [team_job.pk]


def test_a_new_sequence_without_a_name_is_named_after_its_first_video(owner, make_job, clip):
    job = succeed(make_job(title="Lantern at dusk"), clip)

    response = signed_in(owner).post(reverse("sequence-add"), {"job": job.pk, "sequence": "new"})

    made = Sequence.objects.get()
    assert response.url == made.get_absolute_url()
    assert (made.name, made.project) == ("Lantern at dusk", None)


def test_a_teammate_adds_the_teams_videos_to_the_teams_sequence(teammate, sequence, make_job,
                                                                 project, clip):
    theirs = succeed(make_job(user=teammate, project=project), clip)

    signed_in(teammate).post(reverse("sequence-add"), {"job": theirs.pk,
                                                       "sequence": sequence.pk})

    assert take_ids(sequence)[-1] == theirs.pk and sequence.takes.count() == 2


def test_a_take_reads_its_frame_rate_and_length_from_its_kept_video(sequence):
    take = sequence.takes.get()

    assert (take.fps, take.length) == (video.FPS, Decimal("2"))


def test_a_video_that_is_not_finished_cannot_be_added(owner, sequence, make_job, project):
    waiting = make_job(project=project, title="Still rendering")

    response = signed_in(owner).post(reverse("sequence-add"),
                                     {"job": waiting.pk, "sequence": sequence.pk}, follow=True)

    assert "“Still rendering” has no video yet" in response.content.decode()
    assert sequence.takes.count() == 1


def test_a_private_video_cannot_go_into_a_team_sequence(owner, sequence, make_job, clip):
    private = succeed(make_job(title="Just mine"), clip)

    response = signed_in(owner).post(reverse("sequence-add"),
                                     {"job": private.pk, "sequence": sequence.pk}, follow=True)

    assert "is not in one of Harbour crew's projects" in html.unescape(response.content.decode())
    assert sequence.takes.count() == 1


# Ordering, removing and trimming


@pytest.fixture
def three(sequence, make_job, project, clip):
    """The team sequence with three takes."""
    for title in ("Second", "Third"):
        sequence.add(succeed(make_job(project=project, title=title), clip))
    return sequence


def test_takes_move_up_and_down_and_stay_put_at_the_ends(owner, three):
    first, second, third = take_ids(three)
    client = signed_in(owner)
    takes = {take.job_id: take.pk for take in three.takes.all()}

    def move(job, direction):
        client.post(reverse("sequence-take-move", args=[three.pk, takes[job]]),
                    {"direction": direction})
        return take_ids(three)

    assert move(third, "up") == [first, third, second]
    assert move(first, "up") == [first, third, second]
    assert move(first, "down") == [third, first, second]
    assert move(second, "down") == [third, first, second]


def test_removing_a_take_closes_the_gap_and_keeps_the_video(owner, three):
    first, second, third = take_ids(three)
    middle = three.takes.get(job_id=second)

    signed_in(owner).post(reverse("sequence-take-remove", args=[three.pk, middle.pk]))

    assert take_ids(three) == [first, third]
    assert list(three.takes.values_list("position", flat=True)) == [0, 1]
    assert Job.objects.filter(pk=second).exists()


def test_a_trim_is_kept_on_the_nearest_frames(owner, sequence):
    take = sequence.takes.get()

    response = signed_in(owner).post(reverse("sequence-take-trim", args=[sequence.pk, take.pk]),
                                     {f"take-{take.pk}-trim_start": "0.52",
                                      f"take-{take.pk}-trim_end": "1.46"})

    assert response.status_code == 302
    take.refresh_from_db()
    assert take.trim_start == Decimal("0.5")  # frame 6 of 12 a second
    assert take.trim_end == Decimal("1.5")
    assert take.kept_seconds == 1


def test_an_empty_end_keeps_the_take_to_its_end(owner, sequence):
    take = sequence.takes.get()

    signed_in(owner).post(reverse("sequence-take-trim", args=[sequence.pk, take.pk]),
                          {f"take-{take.pk}-trim_start": "1", f"take-{take.pk}-trim_end": ""})

    take.refresh_from_db()
    assert (take.trim_start, take.trim_end, take.kept_seconds) == (1, None, 1)


@pytest.mark.parametrize("start,end,field,error", [
    ("1.0", "1.0", "trim_end", "This trim leaves nothing: end it after its start."),
    ("1.5", "0.5", "trim_end", "This trim leaves nothing: end it after its start."),
    ("1.0", "1.01", "trim_end", "This trim leaves nothing"),  # the same frame
    ("2", "", "trim_start", "This take lasts 2 s: start it before its end."),
    ("0", "3", "trim_end", "This take lasts 2 s: end it there at the latest"),
    ("-1", "", "trim_start", "greater than or equal to 0"),
    ("soon", "", "trim_start", "Enter a number"),
])
def test_a_trim_that_leaves_nothing_is_refused_beside_its_field(owner, sequence, start, end,
                                                                field, error):
    take = sequence.takes.get()

    response = signed_in(owner).post(reverse("sequence-take-trim", args=[sequence.pk, take.pk]),
                                     {f"take-{take.pk}-trim_start": start,
                                      f"take-{take.pk}-trim_end": end})

    assert response.status_code == 400
    assert error in text_of(response.content.decode(), f"field-take-{take.pk}-{field}")
    take.refresh_from_db()
    assert (take.trim_start, take.trim_end) == (0, None)


def test_the_page_previews_each_take_within_its_trim_a_frame_at_a_time(owner, sequence):
    take = sequence.takes.get()
    take.set_trim(Decimal("0.25"), Decimal("1.5"))

    page = signed_in(owner).get(reverse("sequence", args=[sequence.pk])).content.decode()

    assert f'src="/jobs/{take.job_id}/video/#t=0.25,1.5"' in page
    assert 'step="0.083333"' in page
    assert 'value="0.25"' in page and 'value="1.5"' in page
    assert "js/sequence.js" in page


# Checks before an export


def test_an_empty_sequence_is_not_exported(owner, queued):
    empty = Sequence.objects.create(name="Empty", owner=owner)

    response = signed_in(owner).post(reverse("sequence-export", args=[empty.pk]))

    assert response.status_code == 400
    assert "There are no takes in this sequence yet" in text_of(response.content.decode(),
                                                                "problems")
    assert not Export.objects.exists() and queued == []


def test_a_take_whose_video_is_not_kept_yet_stops_the_export_and_says_so_beside_it(
        owner, sequence, make_job, project, queued):
    waiting = succeed(make_job(project=project), None)
    take = sequence.add(waiting)

    response = signed_in(owner).post(reverse("sequence-export", args=[sequence.pk]))

    assert response.status_code == 400
    assert "This take's video is not kept here yet" in text_of(response.content.decode(),
                                                               f"take-{take.pk}")
    assert not Export.objects.exists() and queued == []


def test_a_trim_set_before_the_video_was_kept_is_checked_against_its_length(
        owner, sequence, make_job, project, clip, queued):
    late = succeed(make_job(project=project), None)
    take = sequence.add(late)
    assert take.length is None
    client = signed_in(owner)
    trim = client.post(reverse("sequence-take-trim", args=[sequence.pk, take.pk]),
                       {f"take-{take.pk}-trim_start": "3"})
    assert trim.status_code == 302  # its length is not known yet
    late.video.save("video.mp4", ContentFile(clip), save=True)

    response = client.post(reverse("sequence-export", args=[sequence.pk]))

    assert response.status_code == 400
    assert "This take lasts 2 s: start it before its end." in text_of(
        response.content.decode(), f"take-{take.pk}")
    assert queued == []


def test_a_second_export_is_not_queued_while_one_is_on_its_way(owner, teammate, sequence,
                                                               queued,
                                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        signed_in(owner).post(reverse("sequence-export", args=[sequence.pk]))
        again = signed_in(teammate).post(reverse("sequence-export", args=[sequence.pk]),
                                         follow=True)

    assert "already being exported" in again.content.decode()
    assert [(func, args) for func, args, _ in queued] == [
        (tasks.export_sequence, (Export.objects.get().pk,))]
    assert queued[0][2]["timeout"] > 600  # longer than a ShortAPI call's


def test_an_export_lost_with_its_worker_may_be_asked_for_again(owner, sequence, at):
    export, _ = Export.request(sequence, owner)
    assert export.start()

    assert Export.request(sequence, owner) == (export, False)
    with at(timezone.now() + EXPORT_LOST_AFTER + timedelta(minutes=1)):
        assert export.lost and not export.running
        page = signed_in(owner).get(reverse("sequence", args=[sequence.pk])).content.decode()
        assert "stopped with the worker" in page
        assert 'data-role="export-button">' in page  # not disabled
        export, queued = Export.request(sequence, owner)
    assert queued and export.status == Export.Status.QUEUED and export.running


# The export, run for real


@pytest.fixture
def cut(tmp_path, owner, make_job, project):
    """Three simulator videos of three sizes, the middle one silent, in the team's sequence and
    trimmed: the wide one from 0.25 to 1.5 s, the tall one from 0.5 s to its end, the square one
    to 1 s: 1.25 + 1.5 + 1.0 = 3.75 s."""
    sequence = Sequence.objects.create(name="Harbour trailer", project=project, owner=owner)
    shapes = [("Wide", (640, 360), True, ("0.25", "1.5")),
              ("Tall", (360, 640), False, ("0.5", None)),
              ("Square", (480, 480), True, ("0", "1"))]
    for title, size, audio, (start, end) in shapes:
        job = succeed(make_job(project=project, title=title, generate_audio=audio),
                      rendered(tmp_path, size, audio=audio))
        take = sequence.add(job)
        take.set_trim(Decimal(start), None if end is None else Decimal(end))
    first = sequence.takes.first().job
    Shot.objects.create(job=first, position=0, prompt="Boats at the quay", duration=5)
    element = Element(job=first, position=0, name="Mia")
    element.frontal_image.save("mia.png", ContentFile(upload().read()), save=True)
    return sequence


def test_an_export_cuts_the_trimmed_takes_into_one_video_in_step(
        owner, cut, queued, django_capture_on_commit_callbacks):
    export = export_now(signed_in(owner), cut, django_capture_on_commit_callbacks)

    assert (export.status, export.progress, export.error) == (Export.Status.DONE, 100, "")
    assert export.file.name.startswith("exports/")
    assert abs(export.duration - Decimal("3.75")) <= Decimal(float(FRAME))
    picture, sound = streams(stored_bytes(export.file.name))
    assert picture["codec"] == "h264" and sound["codec"] == "aac"
    assert picture["size"] == (640, 360)  # the first take's
    assert abs(picture["video"] - Fraction(15, 4)) <= FRAME
    assert picture["frames"] == 45
    assert abs(sound["audio"] - picture["video"]) <= AUDIO_FRAME


def test_an_exports_file_carries_its_recipe(owner, cut, queued,
                                            django_capture_on_commit_callbacks):
    export = export_now(signed_in(owner), cut, django_capture_on_commit_callbacks)
    jobs = take_ids(cut)

    with default_storage.open(export.file.name, "rb") as handle:
        recipe = read_recipe(handle)

    assert recipe["jobs"] == jobs and recipe["sequence"] == cut.pk
    wide, tall, square = recipe["takes"]
    assert (wide["job"], tall["job"], square["job"]) == tuple(jobs)
    assert wide["shots"] == [{"prompt": "Boats at the quay", "duration": 5}]
    assert wide["elements"] == ["Mia"] and tall["elements"] == []
    assert wide["prompt"] == "A slow pan across the harbour" and wide["mode"] == "pro"
    assert (wide["trim"], tall["trim"], square["trim"]) == ([0.25, 1.5], [0.5, None], [0.0, 1.0])
    assert wide["generate_audio"] and not tall["generate_audio"]


def test_a_teammate_plays_and_downloads_the_teams_export(owner, teammate, cut, queued,
                                                         django_capture_on_commit_callbacks):
    export = export_now(signed_in(owner), cut, django_capture_on_commit_callbacks)
    client = signed_in(teammate)

    page = client.get(reverse("sequence", args=[cut.pk])).content.decode()
    status = client.get(reverse("sequence-export-status", args=[cut.pk])).json()
    download = client.get(reverse("sequence-export-video", args=[cut.pk]), {"download": "1"})
    part = client.get(reverse("sequence-export-video", args=[cut.pk]), HTTP_RANGE="bytes=0-99")

    assert f'src="/sequences/{cut.pk}/export/video/"' in page and "Download MP4" in page
    assert "Exports cost nothing: nothing is sent to ShortAPI." in page
    assert status == {"status": "done", "label": "Done", "progress": 100, "running": False,
                      "error": "", "video": True, "duration": 3.75}
    assert download["Content-Disposition"] == (
        f'attachment; filename="kling-studio-sequence-{cut.pk}-harbour-trailer.mp4"')
    assert body(download) == stored_bytes(export.file.name)
    assert part.status_code == 206 and len(body(part)) == 100


def test_progress_is_written_as_the_export_goes(owner, cut, monkeypatch):
    written = []
    note = Export.note_progress

    def noting(export, done):
        note(export, done)
        written.append(export.progress)

    monkeypatch.setattr(Export, "note_progress", noting)
    export, _ = Export.request(cut, owner)

    tasks.export_sequence(export.pk)

    steps = sorted(set(written))
    assert steps[-1] == 100 and len(steps) >= 20
    assert all(later - earlier >= 2 for earlier, later in zip(steps, steps[1:-1]))


def test_exporting_again_replaces_the_file_and_a_task_delivered_twice_does_nothing(
        owner, cut, queued, django_capture_on_commit_callbacks):
    client = signed_in(owner)
    first = export_now(client, cut, django_capture_on_commit_callbacks).file.name
    take = cut.takes.last()
    take.set_trim(Decimal("0"), Decimal("0.5"))

    second = export_now(client, cut, django_capture_on_commit_callbacks)
    tasks.export_sequence(second.pk)  # delivered again

    assert second.file.name != first and not default_storage.exists(first)
    assert second.duration == Decimal("3.25")
    assert default_storage.listdir(second.file.name.rsplit("/", 1)[0])[1] == [
        second.file.name.rsplit("/", 1)[1]]


def test_an_export_that_cannot_be_made_fails_in_words_and_keeps_the_last_one(
        owner, cut, queued, django_capture_on_commit_callbacks):
    client = signed_in(owner)
    good = export_now(client, cut, django_capture_on_commit_callbacks).file.name
    broken = cut.takes.last().job
    broken.video.save("video.mp4", ContentFile(b"not a video at all" * 100), save=True)

    export = export_now(client, cut, django_capture_on_commit_callbacks)

    assert export.status == Export.Status.FAILED
    assert export.error.startswith("Take 3 could not be read as a video")
    assert export.file.name == good and default_storage.exists(good)
    page = client.get(reverse("sequence", args=[cut.pk])).content.decode()
    assert "Take 3 could not be read as a video" in text_of(page, "export")


def test_a_kept_video_in_a_bucket_is_copied_to_disk_to_be_read(tmp_path, clip):
    from storages.backends.s3 import S3Storage

    from tests.stack import S3Server

    require(S3Server.available(), "moto's S3 server (pip install 'moto[server]')")
    s3 = S3Server(tmp_path).start()
    try:
        bucket = S3Storage(bucket_name=s3.BUCKET, endpoint_url=s3.url, region_name="us-east-1",
                           access_key=s3.CREDENTIALS["AWS_ACCESS_KEY_ID"],
                           secret_key=s3.CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                           addressing_style="path")
        name = bucket.save("videos/take.mp4", ContentFile(clip))

        with files.local_copies([name, name], storage=bucket) as paths:
            assert len(set(paths)) == 2
            assert all(open(path, "rb").read() == clip for path in paths)
            assert measure(paths[0]) == (video.FPS, Decimal("2"))
    finally:
        s3.stop()
    assert not any(os.path.exists(path) for path in paths)

