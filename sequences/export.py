"""Cutting finished takes together into one H.264/AAC MP4.

The sequence takes the first take's size and frame rate: a take of another shape is scaled to
fit and letterboxed in black, one of another rate has frames repeated or dropped. Its sound takes
the first sounding take's sample rate, in stereo if any take is; with no sound in any take, it
has none. Every frame is encoded anew, so a cut can fall on any frame, not only on a keyframe: a
trim keeps the frames that start at or after its start and before its end.

Picture and sound are both measured from the trimmed takes, never from each other: a take lasts
a whole number of output frames, and by the end of each take exactly that many frames' worth of
samples are written, its own sound resampled or silence where it has none. So the two cannot
drift apart, however many takes there are.

Takes are read a packet or frame at a time, twice: first without decoding, to find where each
trim falls (and refuse an impossible one before anything is written), then to encode. The result
is written beside its final path and renamed into place, so no failure leaves half a video there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.video.frame import PictureType
from PIL import Image, ImageOps

AUDIO_FRAME = 1024  # samples in an AAC frame
# a trim point within a millisecond of a frame counts as on it: 0.1 s is a frame at 30 fps
# even though the float 0.1 is a hair later than a tenth
SLACK = Fraction(1, 1000)
BLACK = (0, 0, 0)


class ExportError(ValueError):
    """A sequence that cannot be exported, said so that a person can put it right."""


@dataclass(frozen=True)
class Cut:
    """A take's file and its trim in seconds: from `start` to `end` (None: to its end)."""

    path: str | os.PathLike
    start: float = 0.0
    end: float | None = None


@dataclass(frozen=True)
class ExportResult:
    """What was written: its length, picture size and rate, and how much of each stream."""

    duration: float
    width: int
    height: int
    fps: Fraction
    frames: int
    audio_samples: int


@dataclass(frozen=True)
class _Take:
    """A cut as found in its file: its picture, its sound, and the timestamps (in the video
    stream's time base) of the first and last frames its trim keeps."""

    number: int
    path: str
    size: tuple[int, int]
    rate: Fraction
    time_base: Fraction
    zero: int
    first: int
    last: int
    audio_rate: int | None
    audio_channels: int

    def seconds(self, pts) -> Fraction:
        return (pts - self.zero) * self.time_base

    def frames_at(self, fps) -> int:
        span = self.seconds(self.last) - self.seconds(self.first) + 1 / self.rate
        return max(1, round(span * fps))


def export(cuts: list[Cut], out_path, progress=None, metadata: dict | None = None) -> ExportResult:
    """Write the cuts, in order, as one MP4 at `out_path`; `progress` is told 0..1 as it goes
    and `metadata` (text to text) is stored in the file."""
    if not cuts:
        raise ExportError("There are no takes to export.")
    takes = [_probe(number, cut) for number, cut in enumerate(cuts, 1)]
    width, height = (side - side % 2 for side in takes[0].size)
    fps = takes[0].rate
    sounding = [take for take in takes if take.audio_rate]
    out_path = Path(out_path)
    partial = out_path.with_name(f".{out_path.stem}.partial{out_path.suffix}")
    try:
        with av.open(str(partial), "w", format="mp4",
                     options={"movflags": "faststart"}) as output:
            output.metadata.update(metadata or {})
            writer = _Writer(output, (width, height), fps, progress,
                             total=sum(take.frames_at(fps) for take in takes),
                             rate=sounding[0].audio_rate if sounding else None,
                             stereo=any(take.audio_channels > 1 for take in sounding))
            for take in takes:
                _copy(take, writer)
            writer.finish()
        os.replace(partial, out_path)
    finally:
        partial.unlink(missing_ok=True)
    return ExportResult(duration=float(writer.frames / fps), width=width, height=height,
                        fps=fps, frames=writer.frames, audio_samples=writer.samples)


def _probe(number: int, cut: Cut) -> _Take:
    start, end = Fraction(cut.start), None if cut.end is None else Fraction(cut.end)
    if start < 0:
        raise ExportError(f"Take {number} starts its trim before its beginning ({cut.start} s).")
    if end is not None and end <= start:
        raise ExportError(f"Take {number}'s trim from {cut.start} s to {cut.end} s leaves "
                          "nothing of it.")
    with _opened(number, cut.path) as container:
        if not container.streams.video:
            raise ExportError(f"Take {number} has no video in it.")
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        rate = video.average_rate or video.guessed_rate or video.base_rate
        if not rate:
            raise ExportError(f"Take {number} does not say its frame rate.")
        rate, zero = Fraction(rate).limit_denominator(1001), video.start_time or 0
        size, time_base = (video.width, video.height), video.time_base
        sound = (audio.sample_rate, audio.channels) if audio else (None, 0)
        stamps = [packet.pts for packet in _guarded(number, container.demux(video))
                  if packet.pts is not None and not packet.is_discard]
    seconds = [((pts - zero) * time_base, pts) for pts in stamps]
    kept = [pts for at, pts in seconds if start - SLACK <= at and (end is None or at < end - SLACK)]
    if not kept:
        length = max((at + 1 / rate for at, _ in seconds), default=0)
        raise ExportError(f"Take {number}'s trim from {cut.start} s leaves nothing of it: "
                          f"the take lasts {float(length):.2f} s.")
    return _Take(number, str(cut.path), size, rate, time_base, zero, min(kept), max(kept), *sound)


def _copy(take: _Take, writer: _Writer) -> None:
    """Write `take`'s trim as whole output frames and exactly their duration of sound."""
    length = take.frames_at(writer.fps)
    audio_end = writer.samples_at(writer.frames + length)
    sound = _Sound(take, writer, audio_end) if take.audio_rate and writer.audio else None
    picture = _Picture(take, writer, length, silent=sound is None)
    past_end = False
    with _opened(take.number, take.path) as container:
        video = container.streams.video[0]
        video.thread_type = "AUTO"
        streams = [video] + ([container.streams.audio[0]] if sound else [])
        decoded = ((packet.stream, frame) for packet in container.demux(*streams)
                   for frame in packet.decode())
        for stream, frame in _guarded(take.number, decoded):
            if stream is not video:
                sound.take(frame)
            elif frame.pts is not None and frame.pts > take.last:
                past_end = True
            elif frame.pts is not None and frame.pts >= take.first:
                picture.show(frame)
            if past_end and (sound is None or sound.full):
                break
    if sound and not sound.full:
        sound.take(None)
    picture.finish()
    writer.silence(audio_end - writer.samples)


class _Picture:
    """A take's frames on their output slots: each slot shows the last frame that began at or
    before it, fitted to the output once however often it is repeated."""

    def __init__(self, take, writer, length, silent):
        self.take, self.writer, self.silent = take, writer, silent
        self.begin = take.seconds(take.first)
        self.start, self.end = writer.frames, writer.frames + length
        self.current = None

    def show(self, frame):
        at, writer = self.take.seconds(frame.pts), self.writer
        while self.current is not None and writer.frames < self.end and \
                self.begin + (writer.frames - self.start) / writer.fps < at:
            writer.picture(self.current, self.silent)
        self.current = self._fitted(frame)
        # the encoder chooses its own frame types; a decoded frame's type would force them
        self.current.pict_type = PictureType.NONE

    def finish(self):
        if self.current is None:
            raise ExportError(f"Take {self.take.number} has no frames that decode in its trim.")
        while self.writer.frames < self.end:
            self.writer.picture(self.current, self.silent)

    def _fitted(self, frame):
        if self.take.size == self.writer.size:
            return frame.reformat(format="yuv420p")
        boxed = ImageOps.pad(frame.to_image(), self.writer.size, Image.Resampling.LANCZOS, BLACK)
        return av.VideoFrame.from_image(boxed).reformat(format="yuv420p")


class _Sound:
    """A take's own sound from its first kept frame on, resampled, cut off at `end` samples."""

    def __init__(self, take, writer, end):
        self.writer, self.end = writer, end
        self.resampler = av.AudioResampler(format="fltp", layout=writer.layout, rate=writer.rate)
        # a resampled sample's place in the take's timeline, minus `origin`, is its place in
        # the output
        begin = take.seconds(take.first) + take.zero * take.time_base
        self.origin = round(begin * writer.rate) - writer.samples

    @property
    def full(self):
        return self.writer.samples >= self.end

    def take(self, frame):
        """Add what `frame` holds of the trim (None: what the resampler still holds)."""
        writer = self.writer
        for piece in self.resampler.resample(frame):
            at = writer.samples if piece.pts is None else \
                round(piece.pts * piece.time_base * writer.rate) - self.origin
            if at > writer.samples:
                writer.silence(min(at, self.end) - writer.samples)
            skip = writer.samples - at
            count = min(piece.samples - skip, self.end - writer.samples)
            if count > 0:
                writer.sound(_slice(piece, skip, count))


class _Writer:
    """The output: running frame and sample counters, which are its timestamps."""

    def __init__(self, output, size, fps, progress, total, rate, stereo):
        self.output, self.size, self.fps, self.progress, self.total = (
            output, size, fps, progress, total)
        self.rate, self.layout = rate, "stereo" if stereo else "mono"
        self.video = output.add_stream("libx264", rate=fps,
                                       options={"preset": "veryfast", "crf": "20"})
        self.video.width, self.video.height = size
        self.video.pix_fmt = "yuv420p"
        self.audio = output.add_stream("aac", rate=rate, layout=self.layout) if rate else None
        self.fifo = av.AudioFifo()
        self.frames = self.samples = self.encoded = 0
        self.told = -1.0

    def samples_at(self, frames):
        return round(frames * self.rate / self.fps) if self.rate else 0

    def picture(self, frame, silent):
        frame.pts, frame.time_base = self.frames, 1 / self.fps
        self.output.mux(self.video.encode(frame))
        self.frames += 1
        if silent:
            self.silence(self.samples_at(self.frames) - self.samples)
        done = self.frames / self.total
        if self.progress and (done - self.told >= 0.01 or self.frames == self.total):
            self.told = done
            self.progress(min(1.0, done))

    def silence(self, count):
        if not self.audio or count <= 0:
            return
        frame = av.AudioFrame(format="fltp", layout=self.layout, samples=count)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate = self.rate
        self.sound(frame)

    def sound(self, frame):
        frame.pts = None  # the counters are the timestamps; the fifo would check any other
        self.fifo.write(frame)
        self.samples += frame.samples
        while self.fifo.samples >= AUDIO_FRAME:
            self._encode(self.fifo.read(AUDIO_FRAME))

    def finish(self):
        self.output.mux(self.video.encode())
        if self.audio:
            if self.fifo.samples:
                self._encode(self.fifo.read())
            self.output.mux(self.audio.encode())

    def _encode(self, frame):
        frame.pts, frame.time_base = self.encoded, Fraction(1, self.rate)
        self.encoded += frame.samples
        self.output.mux(self.audio.encode(frame))


def _slice(frame, skip, count):
    if skip == 0 and count == frame.samples:
        return frame
    frame.pts = None
    fifo = av.AudioFifo()
    fifo.write(frame)
    if skip:
        fifo.read(skip)
    return fifo.read(count)


def _opened(number, path):
    try:
        return av.open(str(path), "r")
    except av.FFmpegError as error:
        raise ExportError(f"Take {number} could not be read as a video ({error}).") from error


def _guarded(number, items):
    """`items`, with FFmpeg failing to read a take said in words, naming the take."""
    try:
        yield from items
    except av.FFmpegError as error:
        raise ExportError(f"Take {number} is damaged and could not be read ({error}).") from error
