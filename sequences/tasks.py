"""The export task: a sequence's takes cut together into one H.264/AAC MP4, kept in storage.

The task takes the export's id and claims it (queued -> running), so a task delivered twice
exports once. It checks the takes again (a video may have left the team's projects since the
export was asked for), reads each kept video (a temporary copy when it lives in a bucket),
encodes with `sequences.export` while writing progress, stores the result under exports/ and only
then deletes the file it replaces. Nothing here reaches ShortAPI: an export costs nothing.
"""

import logging
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import prefetch_related_objects
from django_q.tasks import async_task

from jobs import recipes
from jobs.recipes import recipe_of as jobs_recipe
from sequences import files
from sequences.export import Cut, ExportError
from sequences.export import export as write_sequence
from sequences.models import EXPORT_TIMEOUT, Export

log = logging.getLogger(__name__)


def enqueue_export(export):
    """Queue the export's task once the row that asks for it is committed."""
    transaction.on_commit(lambda: async_task(export_sequence, export.pk,
                                             task_name=f"export-{export.pk}",
                                             timeout=EXPORT_TIMEOUT,
                                             cluster=settings.KLING_FREE_QUEUE))


def export_sequence(export_id):
    export = Export.objects.filter(pk=export_id).select_related("sequence__project__team",
                                                                "requested_by").first()
    if export is None or not export.start():
        return
    try:
        name, duration, jobs = _made(export)
    except ExportError as error:
        export.fail(str(error))
        return
    except Exception:
        export.fail("The export stopped on an unexpected error: nothing was changed. Try again; "
                    "if it fails again, an admin can find why under Failed tasks.")
        raise
    if not export.finish(name, duration, jobs):
        default_storage.delete(name)


def _made(export):
    """The storage name, length and job ids of a new export of `export`'s sequence."""
    sequence, person = export.sequence, export.requested_by
    if person is None:
        raise ExportError("The person who asked for this export no longer has an account here: "
                          "ask for it again.")
    takes = sequence.takes_in_order()
    general, problems = sequence.export_problems(takes, person)
    if general:
        raise ExportError(general[0])
    for number, take in enumerate(takes, 1):
        if take.pk in problems:
            raise ExportError(f"Take {number} (“{take.job.display_title}”): {problems[take.pk]}")
    metadata = recipes.as_metadata(recipe_of(sequence, takes))
    with files.local_copies([take.job.video.name for take in takes]) as paths, \
            tempfile.TemporaryDirectory(prefix="kling-export-") as folder:
        out = Path(folder) / "sequence.mp4"
        cuts = [Cut(path, float(take.trim_start),
                    None if take.trim_end is None else float(take.trim_end))
                for path, take in zip(paths, takes)]
        result = write_sequence(cuts, out, progress=export.note_progress, metadata=metadata)
        with open(out, "rb") as handle:
            name = default_storage.save(export.file.field.generate_filename(export, out.name),
                                        File(handle, name=out.name))
    return name, result.duration, [take.job_id for take in takes]


def recipe_of(sequence, takes):
    """What the export is made of, for its file's metadata: the sequence, the jobs it came from
    and, take by take, each job's own recipe (`jobs.recipes.recipe_of`) and its trim."""
    jobs = [take.job for take in takes]
    prefetch_related_objects(jobs, "shots", "elements")
    return {
        "sequence": sequence.pk,
        "name": sequence.name,
        "jobs": list(dict.fromkeys(job.pk for job in jobs)),
        "takes": [{"job": job.pk, **jobs_recipe(job),
                   "trim": [float(take.trim_start),
                            None if take.trim_end is None else float(take.trim_end)]}
                  for take, job in zip(takes, jobs)],
    }
