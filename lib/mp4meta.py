"""Reading and writing an MP4's `comment` tag, which MP4 keeps (as ©cmt) and every player leaves
alone: a place to carry text inside a video.

Writing copies the streams as they are: nothing is re-encoded, so a video loses no quality by
carrying a comment.

Reading is for files anyone may bring, so it never hands them to FFmpeg (whose probe can pick
another demuxer than MP4's, some of which open network sessions): it walks the MP4's boxes
itself, `moov/udta/meta/ilst/©cmt/data`, with every size and count bounded before it is read.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import av

KEY = "comment"
# Bounds on what reading looks at: the boxes at the top of a file (an MP4 has a handful), the
# size of its `moov` (an hour of video indexes in a few MB) and of the comment itself.
MAX_TOP_BOXES = 64
MAX_MOOV_BYTES = 16 * 1024 * 1024
MAX_COMMENT_BYTES = 1024 * 1024
MAX_CHILD_BOXES = 256
# ffmpeg's MP4 muxer keeps the `comment` tag here, as iTunes-style metadata
COMMENT_PATH = (b"udta", b"meta", b"ilst", b"\xa9cmt", b"data")


class MetadataError(ValueError):
    """A file whose metadata cannot be read or written, said in words a person can act on."""


def write_comment(path_in, path_out, text: str) -> None:
    """Copy the MP4 at `path_in` to `path_out` with `text` as its comment (`path_out` may be
    `path_in`: the copy is written beside it and renamed into place)."""
    path_out = Path(path_out)
    partial = path_out.with_name(f".{path_out.stem}.partial{path_out.suffix}")
    try:
        with _opened(path_in) as source, \
                av.open(str(partial), "w", format="mp4",
                        options={"movflags": "faststart"}) as copy:
            copy.metadata.update(source.metadata)
            copy.metadata[KEY] = text
            streams = {stream.index: copy.add_stream_from_template(stream)
                       for stream in source.streams if stream.type in ("video", "audio")}
            if not streams:
                raise MetadataError("This file has no picture or sound to carry metadata.")
            for packet in source.demux(*(source.streams[index] for index in streams)):
                if packet.dts is None:  # the empty packet that ends each stream
                    continue
                packet.stream = streams[packet.stream.index]
                copy.mux(packet)
        os.replace(partial, path_out)
    finally:
        partial.unlink(missing_ok=True)


def read_comment(source) -> str | None:
    """The comment of the MP4 at `source` (a path or a readable, seekable binary file), or None
    when it has none. MetadataError for a file that is not an MP4 we can read."""
    if hasattr(source, "read"):
        return _comment(source)
    with open(source, "rb") as handle:
        return _comment(handle)


def _comment(handle) -> str | None:
    """The text of the MP4's comment tag, read from its boxes; None when it has none."""
    handle.seek(0)
    moov = None
    for number, (kind, size, header) in enumerate(_top_boxes(handle)):
        if number >= MAX_TOP_BOXES:
            raise MetadataError("This file has more parts than an MP4 video has.")
        if kind == b"moov":
            if size > MAX_MOOV_BYTES:
                raise MetadataError("This video's index is larger than any Kling Studio writes.")
            moov = handle.read(size - header)
            if len(moov) != size - header:
                raise MetadataError("This file is cut short.")
            break
        handle.seek(size - header, os.SEEK_CUR)
    if moov is None:
        raise MetadataError("This file has no video index: it is not an MP4, or it is cut short.")
    body = moov
    for kind in COMMENT_PATH:
        found = _child(body, kind)
        if found is None:
            return None
        body = found[4:] if kind == b"meta" else found  # `meta` is a full box: version, flags
    if len(body) - 8 > MAX_COMMENT_BYTES:
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
            raise MetadataError("This file is cut short.")
        size, kind = struct.unpack(">I4s", head)
        header = 8
        if size == 1:
            wide = handle.read(8)
            if len(wide) < 8:
                raise MetadataError("This file is cut short.")
            size, header = struct.unpack(">Q", wide)[0], 16
        elif size == 0:  # to the end of the file
            here = handle.tell()
            size = handle.seek(0, os.SEEK_END) - here + header
            handle.seek(here)
        if size < header:
            raise MetadataError("This file is damaged: one of its parts has an impossible size.")
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
            raise MetadataError("This file is damaged: one of its parts has an impossible size.")
        if found == kind:
            return body[at + header:at + size]
        at += size
    raise MetadataError("This file has more parts than an MP4 video has.")


def _opened(source):
    try:
        return av.open(source if hasattr(source, "read") else str(source), "r")
    except av.FFmpegError as error:
        raise MetadataError(f"This file could not be read as a video ({error}).") from error
