"""The last frame of a finished video, as a still image: the start frame of the take that
continues it.

Decoding a whole take to reach its end would cost seconds per take, so this seeks to the last
keyframe and decodes forward from there. When a file cannot seek (a stream with no index, a
file object without `seek`), it decodes from the start instead.
"""

from __future__ import annotations

from collections import deque

import av
from PIL import Image


class LastFrameError(ValueError):
    """A file whose last frame cannot be had, said in words a person can act on."""


def last_frame(source) -> Image.Image:
    """The final video frame of the MP4 at `source` (a path or a readable binary file) in RGB."""
    # a file object without `seek` is read once, so it is never spent on a seek that fails;
    # PyAV itself rewinds one that has `seek` when it opens it again
    seekable = not hasattr(source, "read") or hasattr(source, "seek")
    frame = _open_and(source, _after_seek) if seekable else None
    if frame is None:
        frame = _open_and(source, _last)
    if frame is None:
        raise LastFrameError("This video has no frames to take the last one from.")
    return frame.to_image()


def _open_and(source, read):
    try:
        with av.open(source, "r") as container:
            if not container.streams.video:
                raise LastFrameError("This file has no video in it.")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            return read(container, stream)
    except av.FFmpegError as error:
        raise LastFrameError(f"This file could not be read as a video ({error}).") from error


def _after_seek(container, stream):
    if stream.duration is None:
        return None
    end = (stream.start_time or 0) + stream.duration
    try:
        container.seek(end, stream=stream, backward=True, any_frame=False)
        return _last(container, stream)
    except av.FFmpegError:
        # a broken index: decoding from the start still finds the end
        return None


def _last(container, stream):
    kept = deque(container.decode(stream), maxlen=1)
    return kept[0] if kept else None

