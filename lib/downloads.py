"""Keeping a finished video from the address ShortAPI gave, without trusting that address.

The URL comes from outside, so it goes through the outbound seam (`lib.outbound`): http(s)
only, every hop checked at connect time against internal addresses, a byte cap and a total
deadline. The body streams straight into storage (the local disk, or the bucket in parts) with
only a small buffer in between, and is kept only if it is an MP4: a refused or broken download
leaves nothing behind. A caller that changes the file before it is kept (writing a recipe into
it) gets it on local disk first: streamed into a temporary file, handed to `amend`, streamed on
into storage and deleted, so memory stays bounded either way.
"""

import os
import shutil
import tempfile

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from lib import outbound
from lib.outbound import DownloadError

__all__ = ["DownloadError", "keep"]

DEADLINE_SECONDS = 120


def keep(url, name, max_bytes=None, deadline_seconds=DEADLINE_SECONDS, storage=None,
         amend=None):
    """Store the MP4 at `url` under `name` in `storage` (the default one); the name it was
    stored under, or DownloadError saying what went wrong. `amend(path)`, when given, may
    rewrite the downloaded file in place before it is stored."""
    storage = storage or default_storage

    def store(body):
        try:
            return storage.save(name, File(body, name=name))
        except BaseException:
            if storage.exists(name):  # a half-written file on local storage
                storage.delete(name)
            raise

    fetch = {"max_bytes": max_bytes or settings.KLING_VIDEO_MAX_BYTES,
             "seconds": deadline_seconds, "accept": _mp4_only}
    if amend is None:
        return outbound.download(url, store, **fetch)
    with tempfile.TemporaryDirectory(prefix="kling-video-") as folder:
        path = os.path.join(folder, "video.mp4")

        def to_disk(body):
            with open(path, "wb") as out:
                shutil.copyfileobj(body, out, outbound.CHUNK)

        outbound.download(url, to_disk, **fetch)
        amend(path)
        try:
            with open(path, "rb") as downloaded:
                return store(downloaded)
        except OSError as error:
            reason = f"the video could not be stored ({type(error).__name__})"
            raise DownloadError(reason) from None


def _mp4_only(head):
    if head[4:8] != b"ftyp":
        raise DownloadError("the file at the video's address is not an MP4 video",
                            permanent=True)
