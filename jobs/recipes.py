"""A job's recipe: what made its video, carried inside the MP4 it is kept as, and read back from
a file someone brings to remix it.

`recipe_of` is the one description of a job as a recipe (model, settings, prompts, shots,
element names, title, the job it continues, its own id); the sequences app builds an export's
recipe from it. `carry` writes it into a kept video (`lib.mp4meta`, no re-encoding); a file
that cannot carry it is kept as it is, since the video matters more than its recipe.

The recipe is JSON in the MP4's comment. A version marker tells our recipes from whatever comment
another tool wrote there; anything without it is not a recipe.

A recipe read from a file is input from outside: `composer_input` takes only values of the
right kind, known models and modes, and a bounded number of shots and elements. A file carries
no images, so the person uploads a start frame again, unless the recipe names a job they may
still see: then that job's frames and elements come along as tokens.
"""

import json
import logging

import av
from django import forms
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError

from jobs import catalogue, staging, storyboard
from jobs.models import Job
from lib import mp4meta
from lib.mp4meta import MetadataError as RecipeError

log = logging.getLogger(__name__)

TEXT_LIMIT = 20_000  # more than any prompt Kling takes; a longer one is not ours
PICK_SALT = "jobs.recipes.pick"
PICK_WORDS = 12
MARKER = "kling_studio_recipe"
VERSION = 1


def settings_of(job):
    """What the job asked Kling for, by the composer's field names: the part of its recipe that
    the composer's fields take as they are."""
    return {
        "model": job.model_id,
        "mode": job.mode,
        "duration": job.duration,
        "prompt": job.prompt,
        "negative_prompt": job.negative_prompt,
        "generate_audio": job.generate_audio,
        "multi_shot": job.multi_shot,
        "shot_type": job.shot_type,
    }


def recipe_of(job):
    """The job's recipe: a JSON-ready dict."""
    return {
        "jobs": [job.pk],
        **settings_of(job),
        "shots": storyboard.shot_rows(job),
        "elements": [element.name for element in job.elements.all()],
        "title": job.title,
        "continues": job.continues_id,
    }


def as_metadata(recipe: dict) -> dict[str, str]:
    """The container metadata that carries `recipe` (for `sequences.export.export`)."""
    return {mp4meta.KEY: json.dumps({MARKER: VERSION, **recipe}, separators=(",", ":"))}


def write_recipe(path_in, path_out, recipe: dict) -> None:
    """Copy the MP4 at `path_in` to `path_out` with `recipe` inside (`path_out` may be
    `path_in`)."""
    mp4meta.write_comment(path_in, path_out, as_metadata(recipe)[mp4meta.KEY])


def read_recipe(source) -> dict | None:
    """The recipe inside the MP4 at `source` (a path or a readable, seekable binary file), or
    None when it carries none of ours. RecipeError for a file that is not an MP4 we can read."""
    text = mp4meta.read_comment(source)
    try:
        stored = json.loads(text) if text else None
    except (ValueError, RecursionError):
        return None
    if not isinstance(stored, dict) or stored.get(MARKER) != VERSION:
        return None
    return {key: value for key, value in stored.items() if key != MARKER}


def carry(job, path):
    """Write the job's recipe into the MP4 at `path`, in place. True when written; a file that
    cannot carry it is left exactly as it was, and that is logged."""
    try:
        write_recipe(path, path, recipe_of(job))
    except (RecipeError, av.FFmpegError, OSError) as error:
        log.warning("The video of job %s is kept without its recipe: %s", job.pk, error)
        return False
    return True


class RecipeFileForm(forms.Form):
    """An MP4 brought back to be remixed: valid when it carries a recipe of ours."""

    video = forms.FileField(
        label="Video file", error_messages={"required": "Choose the video file to remix."},
        help_text=f"An MP4 made by Kling Studio, up to {settings.KLING_MAX_REQUEST_MB} MB: the "
                  "composer opens with the settings it was made with.")

    def clean_video(self):
        upload = self.cleaned_data["video"]
        limit = settings.KLING_MAX_REQUEST_MB
        if upload.size > limit * 1024 * 1024:
            raise ValidationError(f"This file is {upload.size / (1024 * 1024):.0f} MB; a video "
                                  f"brought back here can be at most {limit} MB.", code="too_big")
        head = upload.read(12)
        upload.seek(0)
        if head[4:8] != b"ftyp":
            raise ValidationError("This file is not an MP4 video. Choose an MP4 that Kling "
                                  "Studio made.", code="not_mp4")
        source = (upload.temporary_file_path() if hasattr(upload, "temporary_file_path")
                  else upload)
        try:
            recipe = read_recipe(source)
        except RecipeError:
            raise ValidationError("This MP4 could not be read: it may be damaged or cut short. "
                                  "Download it from Kling Studio again and choose that file.",
                                  code="unreadable") from None
        if recipe is None:
            raise ValidationError("This video carries no Kling Studio recipe: it was made "
                                  "elsewhere, or saved again by another program, which drops "
                                  "it. Choose the MP4 as Kling Studio made it.", code="no_recipe")
        return recipe


def takes_of(recipe):
    """The takes of an exported sequence's recipe, for the person to pick one: number, title,
    the first words of its prompt, its trim, and a signed `choice` that carries its recipe to
    the next request. [] for a single take's recipe."""
    takes = [take for take in _listed(recipe.get("takes"), settings.KLING_TAKES_PER_SEQUENCE)
             if isinstance(take, dict)]
    picks = []
    for number, take in enumerate(takes, 1):
        shots = [shot for shot in _listed(take.get("shots"), storyboard.MAX_SHOTS)
                 if isinstance(shot, dict)]
        words = (_text(take.get("prompt")) or (_text(shots[0].get("prompt")) if shots else ""))
        trim = _listed(take.get("trim"), 2)
        picks.append({
            "number": number,
            "title": _text(take.get("title"))[:200] or f"Take {number}",
            "words": " ".join(words.split()[:PICK_WORDS]) + ("…" if len(words.split())
                                                             > PICK_WORDS else ""),
            "trim": _trim_text(trim),
            "choice": signing.dumps(take, salt=PICK_SALT, compress=True),
        })
    return picks


def sequence_name(recipe):
    return _text(recipe.get("name"))[:80]


def picked_take(choice):
    """The recipe of the take a person picked (`takes_of`), or None when it is not one of ours
    or is older than a day."""
    try:
        take = signing.loads(choice, salt=PICK_SALT, max_age=24 * 3600)
    except signing.BadSignature:
        return None
    return take if isinstance(take, dict) else None


def _trim_text(trim):
    start, end = (trim + [None, None])[:2]
    if not isinstance(start, (int, float)) or isinstance(start, bool):
        return ""
    end_text = f"{end:g} s" if isinstance(end, (int, float)) and not isinstance(end, bool) \
        else "its end"
    return f"from {start:g} s to {end_text}"


def composer_input(recipe, user):
    """The composer's input for a remix of `recipe`, as `jobs.forms.job_input` gives it for a
    job: (fields, staged frames, shot rows, element rows), plus notes for the person."""
    notes = []
    model_id = _text(recipe.get("model"))
    if model_id not in catalogue.MODELS:
        model_id = catalogue.DEFAULT_MODEL
        notes.append("The file names a model Kling Studio does not offer; choose one.")
    fields = {"model": model_id, "prompt": _text(recipe.get("prompt")),
              "negative_prompt": _text(recipe.get("negative_prompt")),
              "generate_audio": recipe.get("generate_audio") is True,
              "multi_shot": "1" if recipe.get("multi_shot") is True else "0", "takes": 1,
              "title": ""}
    if recipe.get("mode") in catalogue.MODE_LABELS:
        fields["mode"] = recipe["mode"]
    if _whole(recipe.get("duration")) is not None:
        fields["duration"] = recipe["duration"]
    if recipe.get("shot_type") in catalogue.SHOT_TYPES:
        fields["shot_type"] = recipe["shot_type"]
    shots = [{"prompt": _text(shot.get("prompt")), "duration": _whole(shot.get("duration"))}
             for shot in _listed(recipe.get("shots"), storyboard.MAX_SHOTS)
             if isinstance(shot, dict)]
    names = [name[:60] for name in _listed(recipe.get("elements"), storyboard.MAX_ELEMENTS)
             if isinstance(name, str)]

    source = _source_job(recipe, user) if model_id == recipe.get("model") else None
    if source is not None:
        staged = {name: staging.token_for(getattr(source, name).name, user, source)
                  for name in ("start_frame", "end_frame") if getattr(source, name)}
        elements = storyboard.element_rows(source, user)
        notes.append(f"Its frames and element images come from {source.display_title} "
                     f"(job {source.pk}), which made this video.")
    else:
        staged, elements = {}, [{"name": name} for name in names]
        notes.append("A video file carries no pictures: upload a start frame"
                     + (f", and the images of its elements ({', '.join(names)})" if names else "")
                     + ".")
    return fields, staged, shots, elements, notes


def _source_job(recipe, user):
    """The first job the recipe came from that the person may still see, if any. It must have
    the recipe's model too: a file from another installation names job numbers that mean
    unrelated jobs here."""
    ids = [pk for pk in _listed(recipe.get("jobs"), 50)
           if isinstance(pk, int) and not isinstance(pk, bool) and 0 < pk < 2**63]
    if not ids:
        return None
    visible = Job.objects.visible_to(user).sent().filter(model_id=recipe.get("model"))
    found = visible.in_bulk(ids)
    return next((found[pk] for pk in ids if pk in found), None)


def _text(value):
    return value[:TEXT_LIMIT] if isinstance(value, str) else ""


def _whole(value):
    """`value` when it is a whole number a field can take, else None."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10_000:
        return value
    return None


def _listed(value, limit):
    return value[:limit] if isinstance(value, list) else []
