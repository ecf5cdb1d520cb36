"""The simulator's stand-in for Kling: turns a start frame into a short, real, playable MP4.

The video is not generated, only animated: a slow zoom into the start frame (Ken Burns),
cross-fading into the end frame when there is one, and a tinted, labelled stretch per storyboard
shot so a multi-shot job visibly differs from a single shot. It is H.264 in an MP4 with the index
at the front, so a browser can play it while it downloads.
"""

from __future__ import annotations

import array
import math
import os
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image, ImageDraw, ImageFont, ImageOps

FPS = 12
MAX_SIDE = 640
ZOOM = 0.12
FADE_START = 0.3
AUDIO_RATE = 44100
AUDIO_FRAME = 1024
TONE_HZ = 220
TONE_LEVEL = 0.04
SHOT_TINTS = [(255, 170, 60), (60, 170, 255), (120, 230, 120), (230, 90, 200), (250, 240, 90),
              (150, 120, 255)]
SHOT_TINT_STRENGTH = 0.35


def render(path, start: Image.Image, seconds: int, end: Image.Image | None = None,
           shots: list[int] | None = None, audio: bool = False) -> Path:
    """Write a `seconds`-long MP4 to `path` and return the path."""
    if seconds < 1:
        raise ValueError("A video lasts at least one second.")
    if shots and sum(shots) != seconds:
        raise ValueError(f"The shots last {sum(shots)} s but the video lasts {seconds} s.")
    path = Path(path)
    size = output_size(start.size)
    first = start.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    last = ImageOps.fit(end.convert("RGB"), size, Image.Resampling.LANCZOS) if end else None
    total = FPS * seconds
    shot_of_frame = _shot_per_frame(shots, total)
    font = ImageFont.load_default(size=max(14, size[1] // 12))

    container = av.open(str(path), "w", format="mp4", options={"movflags": "faststart"})
    try:
        video = container.add_stream("libx264", rate=FPS, options={"preset": "ultrafast"})
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        sound = container.add_stream("aac", rate=AUDIO_RATE, layout="mono") if audio else None
        for index in range(total):
            progress = index / max(total - 1, 1)
            image = _frame(first, last, progress)
            if shot_of_frame is not None:
                image = _mark_shot(image, shot_of_frame[index], font)
            frame = av.VideoFrame.from_image(image)
            frame.pts = index
            container.mux(video.encode(frame))
        container.mux(video.encode())
        if sound is not None:
            _write_tone(container, sound, seconds)
    finally:
        container.close()
    return path


def output_size(size: tuple[int, int]) -> tuple[int, int]:
    """The start frame's size scaled to fit within MAX_SIDE square, both sides even."""
    width, height = size
    scale = MAX_SIDE / max(width, height)
    even = lambda n: max(2, int(n * scale) // 2 * 2)  # noqa: E731
    return even(width), even(height)


def _frame(first: Image.Image, last: Image.Image | None, progress: float) -> Image.Image:
    width, height = first.size
    zoom = 1 + ZOOM * progress
    crop_w, crop_h = width / zoom, height / zoom
    # drift toward the upper third, where faces usually are, rather than the dead centre
    left = (width - crop_w) / 2
    top = (height - crop_h) / 3
    image = first.resize((width, height), Image.Resampling.BILINEAR,
                         box=(left, top, left + crop_w, top + crop_h))
    if last is None or progress <= FADE_START:
        return image
    fade = (progress - FADE_START) / (1 - FADE_START)
    return Image.blend(image, last, fade * fade * (3 - 2 * fade))


def _shot_per_frame(shots: list[int] | None, total: int) -> list[int] | None:
    if not shots:
        return None
    owners = [number for number, seconds in enumerate(shots, 1) for _ in range(FPS * seconds)]
    return owners[:total]


def _mark_shot(image: Image.Image, number: int, font) -> Image.Image:
    tint = Image.new("RGB", image.size, SHOT_TINTS[(number - 1) % len(SHOT_TINTS)])
    image = Image.blend(image, tint, SHOT_TINT_STRENGTH)
    draw = ImageDraw.Draw(image)
    label = f"Shot {number}"
    margin = max(8, image.size[1] // 40)
    left, top, right, bottom = draw.textbbox((margin, margin), label, font=font)
    pad = margin // 2
    draw.rectangle((left - pad, top - pad, right + pad, bottom + pad), fill=(0, 0, 0))
    draw.text((margin, margin), label, font=font, fill=(255, 255, 255))
    return image


def _write_tone(container, stream, seconds: int) -> None:
    total = AUDIO_RATE * seconds
    step = 2 * math.pi * TONE_HZ / AUDIO_RATE
    for offset in range(0, total, AUDIO_FRAME):
        count = min(AUDIO_FRAME, total - offset)
        samples = array.array(
            "f", (TONE_LEVEL * math.sin(step * (offset + i)) for i in range(count)))
        frame = av.AudioFrame(format="fltp", layout="mono", samples=count)
        frame.planes[0].update(samples.tobytes())
        frame.sample_rate = AUDIO_RATE
        frame.time_base = Fraction(1, AUDIO_RATE)
        frame.pts = offset
        container.mux(stream.encode(frame))
    container.mux(stream.encode())


def render_atomically(path, *args, **kwargs) -> Path:
    """Render beside `path` and rename, so nobody ever sees a half-written file at `path`."""
    path = Path(path)
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        render(partial, *args, **kwargs)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path
