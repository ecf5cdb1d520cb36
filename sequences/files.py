"""Kept videos as files on this machine, for FFmpeg to read (`lib.media.local_path`: FFmpeg
needs to seek, so a take in a bucket is copied to disk first), and a take's frame rate and
length, read from its file.
"""

from contextlib import ExitStack, contextmanager

from lib import media
from lib import video
from lib.video import UnreadableVideo  # noqa: F401 (what `measure` raises)


@contextmanager
def local_copies(names, storage=None):
    """Paths on this machine of the stored files `names`, in order, for the block's duration."""
    with ExitStack() as stack:
        yield [stack.enter_context(media.local_path(name, storage)) for name in names]


def measure(name, storage=None):
    """(frames per second, length in seconds) of the stored video `name`; UnreadableVideo when
    it has no picture FFmpeg can read. Only the header is needed: nothing is decoded."""
    with local_copies([name], storage) as (path,):
        return video.measure(path)
