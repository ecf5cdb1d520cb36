"""A take's recipe (model, prompts, shots, elements, the jobs it came from) carried inside its
MP4, so a downloaded file can be made again or continued.

The recipe is JSON in the container's `comment` tag, which MP4 keeps (as ©cmt) and every player
leaves alone. A version marker tells our recipes from whatever comment another tool wrote there;
anything without it is not a recipe. Writing copies the streams as they are: nothing is
re-encoded, so a take loses no quality by carrying its recipe.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import av

KEY = "comment"
MARKER = "kling_studio_recipe"
VERSION = 1


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
    """The recipe inside the MP4 at `source` (a path or a readable binary file), or None when
    it carries none of ours."""
    with _opened(source) as container:
        text = container.metadata.get(KEY)
    try:
        stored = json.loads(text) if text else None
    except ValueError:
        return None
    if not isinstance(stored, dict) or stored.get(MARKER) != VERSION:
        return None
    return {key: value for key, value in stored.items() if key != MARKER}


def _opened(source):
    try:
        return av.open(source if hasattr(source, "read") else str(source), "r")
    except av.FFmpegError as error:
        raise RecipeError(f"This file could not be read as a video ({error}).") from error
