"""A take's recipe (model, prompts, shots, elements, the jobs it came from) carried inside its
MP4, so a downloaded file can be made again or continued.

The recipe is JSON in the container's `comment` tag, which MP4 keeps (as ©cmt) and every player
leaves alone. A version marker tells our recipes from whatever comment another tool wrote there;
anything without it is not a recipe. Writing copies the streams as they are: nothing is
re-encoded, so a take loses no quality by carrying its recipe.

Reading is for files anyone may bring, so it never hands them to FFmpeg (whose probe can pick
another demuxer than MP4's, some of which open network sessions): it walks the MP4's boxes
itself, `moov/udta/meta/ilst/©cmt/data`, with every size and count bounded before it is read.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import av

KEY = "comment"
MARKER = "kling_studio_recipe"
VERSION = 1
# Bounds on what reading looks at: the boxes at the top of a file (an MP4 has a handful), the
# size of its `moov` (an hour of video indexes in a few MB) and of the recipe itself.
MAX_TOP_BOXES = 64
MAX_MOOV_BYTES = 16 * 1024 * 1024
MAX_RECIPE_BYTES = 1024 * 1024
MAX_CHILD_BOXES = 256
# ffmpeg's MP4 muxer keeps the `comment` tag here, as iTunes-style metadata
COMMENT_PATH = (b"udta", b"meta", b"ilst", b"\xa9cmt", b"data")


class RecipeError(ValueError):
    """A file that cannot carry or give up a recipe, said in words a person can act on."""


def as_metadata(recipe: dict) -> dict[str, str]:
    """The container metadata that carries `recipe` (for `sequences.export.export`)."""
    return {KEY: json.dumps({MARKER: VERSION, **recipe}, separators=(",", ":"))}


def write_recipe(path_in, path_out, recipe: dict) -> None:
    """Copy the MP4 at `path_in` to `path_out` with `recipe` inside (`path_out` may be
    `path_in`: the copy is written beside it and renamed into place)."""
    path_out = Path(path_out)
    partial = path_out.with_name(f".{path_out.stem}.partial{path_out.suffix}")
    try:
        with _opened(path_in) as source, \
                av.open(str(partial), "w", format="mp4",
                        options={"movflags": "faststart"}) as copy:
            copy.metadata.update(source.metadata)
            copy.metadata.update(as_metadata(recipe))
            streams = {stream.index: copy.add_stream_from_template(stream)
                       for stream in source.streams if stream.type in ("video", "audio")}
            if not streams:
                raise RecipeError("This file has no picture or sound to carry a recipe.")
            for packet in source.demux(*(source.streams[index] for index in streams)):
                if packet.dts is None:  # the empty packet that ends each stream
                    continue
                packet.stream = streams[packet.stream.index]
                copy.mux(packet)
        os.replace(partial, path_out)
    finally:
        partial.unlink(missing_ok=True)


def read_recipe(source) -> dict | None:
    """The recipe inside the MP4 at `source` (a path or a readable, seekable binary file), or
    None when it carries none of ours. RecipeError for a file that is not an MP4 we can read."""
    if hasattr(source, "read"):
        text = _comment(source)
    else:
        with open(source, "rb") as handle:
            text = _comment(handle)
    try:
        stored = json.loads(text) if text else None
    except (ValueError, RecursionError):
        return None
    if not isinstance(stored, dict) or stored.get(MARKER) != VERSION:
        return None
    return {key: value for key, value in stored.items() if key != MARKER}


def _comment(handle) -> str | None:
    """The text of the MP4's comment tag, read from its boxes; None when it has none."""
    handle.seek(0)
    moov = None
    for number, (kind, size, header) in enumerate(_top_boxes(handle)):
        if number >= MAX_TOP_BOXES:
            raise RecipeError("This file has more parts than an MP4 video has.")
        if kind == b"moov":
            if size > MAX_MOOV_BYTES:
                raise RecipeError("This video's index is larger than any Kling Studio writes.")
            moov = handle.read(size - header)
            if len(moov) != size - header:
                raise RecipeError("This file is cut short.")
            break
        handle.seek(size - header, os.SEEK_CUR)
    if moov is None:
        raise RecipeError("This file has no video index: it is not an MP4, or it is cut short.")
    body = moov
    for kind in COMMENT_PATH:
        found = _child(body, kind)
        if found is None:
            return None
        body = found[4:] if kind == b"meta" else found  # `meta` is a full box: version, flags
    if len(body) - 8 > MAX_RECIPE_BYTES:
        return None
    # `data` holds a type (1: UTF-8 text) and a locale, then the text
    if body[:4] != b"\x00\x00\x00\x01":
        return None
    return body[8:].decode("utf-8", errors="replace")


def _top_boxes(handle):
    """(type, size, header size) of each box at the top of the file, leaving the file at the
    start of its body; stops at the end of the file."""
    while True:
        head = handle.read(8)
        if not head:
            return
        if len(head) < 8:
            raise RecipeError("This file is cut short.")
        size, kind = struct.unpack(">I4s", head)
        header = 8
        if size == 1:
            wide = handle.read(8)
            if len(wide) < 8:
                raise RecipeError("This file is cut short.")
            size, header = struct.unpack(">Q", wide)[0], 16
        elif size == 0:  # to the end of the file
            here = handle.tell()
            size = handle.seek(0, os.SEEK_END) - here + header
            handle.seek(here)
        if size < header:
            raise RecipeError("This file is damaged: one of its parts has an impossible size.")
        yield kind, size, header


def _child(body: bytes, kind: bytes) -> bytes | None:
    """The body of the first box of type `kind` directly inside `body`, or None."""
    at = 0
    for _ in range(MAX_CHILD_BOXES):
        if at + 8 > len(body):
            return None
        size, found = struct.unpack_from(">I4s", body, at)
        header = 8
        if size == 1 and at + 16 <= len(body):
            size, header = struct.unpack_from(">Q", body, at + 8)[0], 16
        elif size == 0:
            size = len(body) - at
        if size < header or at + size > len(body):
            raise RecipeError("This file is damaged: one of its parts has an impossible size.")
        if found == kind:
            return body[at + header:at + size]
        at += size
    raise RecipeError("This file has more parts than an MP4 video has.")


def _opened(source):
    try:
        return av.open(source if hasattr(source, "read") else str(source), "r")
    except av.FFmpegError as error:
        raise RecipeError(f"This file could not be read as a video ({error}).") from error
