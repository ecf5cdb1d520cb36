"""What a video file on this machine says about itself: its frame rate and length, read from the
container's header (nothing is decoded)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import av


class UnreadableVideo(ValueError):
    """A video that FFmpeg cannot read, said in words."""


def measure(path) -> tuple[float, Decimal]:
    """(frames per second, length in seconds) of the video at `path`; UnreadableVideo when it
    has no picture FFmpeg can read."""
    try:
        with av.open(str(path), "r") as container:
            if not container.streams.video:
                raise UnreadableVideo("It has no picture in it.")
            video = container.streams.video[0]
            rate = video.average_rate or video.guessed_rate or video.base_rate
            if not rate:
                raise UnreadableVideo("It does not say its frame rate.")
            if video.duration is not None and video.time_base is not None:
                seconds = Fraction(video.duration) * video.time_base
            elif container.duration is not None:
                seconds = Fraction(container.duration, av.time_base)
            else:
                raise UnreadableVideo("It does not say how long it lasts.")
    except av.FFmpegError as error:
        raise UnreadableVideo(f"It could not be read as a video ({error}).") from error
    return float(rate), Decimal(float(seconds)).quantize(Decimal("0.000001"))
