"""Keeping a finished video from the address ShortAPI gave, without trusting that address.

The URL comes from outside, so it goes through the outbound seam (`jobs.outbound`): http(s)
only, every hop checked at connect time against internal addresses, a byte cap and a total
deadline. The body streams straight into storage (the local disk, or the bucket in parts) with
only a small buffer in between, and is kept only if it is an MP4: a refused or broken download
leaves nothing behind.
"""

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from jobs import outbound
from jobs.outbound import DownloadError

__all__ = ["DownloadError", "keep"]

DEADLINE_SECONDS = 120


def keep(url, name, max_bytes=None, deadline_seconds=DEADLINE_SECONDS, storage=None):
    """Store the MP4 at `url` under `name` in `storage` (the default one); the name it was
    stored under, or DownloadError saying what went wrong."""
    storage = storage or default_storage

    def store(body):
        try:
            return storage.save(name, File(body, name=name))
        except BaseException:
            if storage.exists(name):  # a half-written file on local storage
                storage.delete(name)
            raise

    return outbound.download(url, store, max_bytes=max_bytes or settings.KLING_VIDEO_MAX_BYTES,
                             seconds=deadline_seconds, accept=_mp4_only)


def _mp4_only(head):
    if head[4:8] != b"ftyp":
        raise DownloadError("the file at the video's address is not an MP4 video",
                            permanent=True)
