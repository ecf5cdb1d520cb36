"""HTTP byte ranges (RFC 9110 §14): which bytes of a file a `Range: bytes=...` header asks for,
and reading them from the file.

Only a single range is served as a part; several ranges, or a header that is not one, get the
whole file, as the RFC allows. A number longer than any file size is read as "beyond the end"
without converting it.
"""

from __future__ import annotations

import re
from typing import Literal

RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)", re.ASCII)
# More bytes than any file holds: what a number of more digits than this stands for.
BEYOND = 10**18


def byte_range(header: str, size: int) -> tuple[int, int] | Literal[False] | None:
    """(first, last) of a single `bytes=` range; None: send the whole file (no range, a
    malformed one or several ranges); False: the range lies outside the file."""
    match = RANGE.fullmatch(header.strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = (None if text == "" else _number(text) for text in match.groups())
    if first is None:  # the last `last` bytes
        assert last is not None  # the pattern above wants one of the two
        if last == 0 or size == 0:
            return False
        return max(0, size - last), size - 1
    last = size - 1 if last is None else min(last, size - 1)
    if first >= size or first > last:
        return False
    return first, last


def _number(digits: str) -> int:
    return int(digits) if len(digits) < len(str(BEYOND)) else BEYOND


def part(handle, first: int, last: int, chunk: int = 64 * 1024):
    """Bytes `first` to `last` (inclusive) of the open binary file `handle`, a chunk at a time;
    fewer when the file ends sooner."""
    handle.seek(first)
    remaining = last - first + 1
    while remaining > 0:
        data = handle.read(min(chunk, remaining))
        if not data:
            return
        remaining -= len(data)
        yield data
