"""Fetching a finished video from the address ShortAPI gave, without trusting that address.

The URL comes from outside, so it goes through the outbound seam (`jobs.outbound`): http(s)
only, every hop checked at connect time against internal addresses, a byte cap and a total
deadline. The file is kept only if it is an MP4.
"""

from django.conf import settings
from django.core.files import File

from jobs import outbound
from jobs.outbound import DownloadError

__all__ = ["DownloadError", "fetch_video"]

DEADLINE_SECONDS = 120


def fetch_video(url, max_bytes=None, deadline_seconds=DEADLINE_SECONDS):
    """The MP4 at `url` as an open temporary File, or DownloadError saying what went wrong."""
    target = outbound.download(url, max_bytes=max_bytes or settings.KLING_VIDEO_MAX_BYTES,
                               seconds=deadline_seconds, accept=_mp4_only)
    return File(target, name="video.mp4")


def _mp4_only(head):
    if head[4:8] != b"ftyp":
        raise DownloadError("the file at the video's address is not an MP4 video",
                            permanent=True)
