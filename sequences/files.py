"""Kept videos as files on this machine, for FFmpeg to read (`jobs.media.local_path`: FFmpeg
needs to seek, so a take in a bucket is copied to disk first), and a take's frame rate and
length, read from its file.
"""

from contextlib import ExitStack, contextmanager
from decimal import Decimal
from fractions import Fraction

import av

from jobs import media


class UnreadableVideo(ValueError):
    """A kept video that FFmpeg cannot read, said in words."""


@contextmanager
def local_copies(names, storage=None):
    """Paths on this machine of the stored files `names`, in order, for the block's duration."""
    with ExitStack() as stack:
        yield [stack.enter_context(media.local_path(name, storage)) for name in names]


def measure(name, storage=None):
    """(frames per second, length in seconds) of the stored video `name`; UnreadableVideo when
    it has no picture FFmpeg can read. Only the header is needed: nothing is decoded."""
    with local_copies([name], storage) as (path,):
        try:
            with av.open(path, "r") as container:
                if not container.streams.video:
                    raise UnreadableVideo("It has no picture in it.")
                video = container.streams.video[0]
                rate = video.average_rate or video.guessed_rate or video.base_rate
                if not rate:
                    raise UnreadableVideo("It does not say its frame rate.")
                if video.duration is not None:
                    seconds = Fraction(video.duration) * video.time_base
                elif container.duration is not None:
                    seconds = Fraction(container.duration, av.time_base)
                else:
                    raise UnreadableVideo("It does not say how long it lasts.")
        except av.FFmpegError as error:
            raise UnreadableVideo(f"It could not be read as a video ({error}).") from error
    return float(rate), Decimal(float(seconds)).quantize(Decimal("0.000001"))
