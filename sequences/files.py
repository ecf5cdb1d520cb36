"""Kept videos as files on this machine, for FFmpeg to read (`lib.media.local_path`: FFmpeg
needs to seek, so a take in a bucket is copied to disk first). A take's frame rate and length
were read when its video was kept (`jobs.videofacts`).
"""

from contextlib import ExitStack, contextmanager

from lib import media


@contextmanager
def local_copies(names, storage=None):
    """Paths on this machine of the stored files `names`, in order, for the block's duration."""
    with ExitStack() as stack:
        yield [stack.enter_context(media.local_path(name, storage)) for name in names]
