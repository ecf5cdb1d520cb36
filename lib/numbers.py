"""Whole numbers read from what a browser or a client sent: ids, pixel positions, byte offsets.

Only plain ASCII digits count ("²", "٣", "1e3", " 7", "-1" do not), and the text is measured
before it is converted, so a number thousands of digits long costs nothing and never reaches
`int()`'s own limit.
"""

from __future__ import annotations

# The largest id a database column (signed 64-bit) holds.
MAX_ID = 2**63 - 1


def whole(text: object, maximum: int = MAX_ID) -> int | None:
    """`text` as a whole number from 0 to `maximum`, or None for anything else."""
    if not isinstance(text, str) or not text.isascii() or not text.isdigit():
        return None
    if len(text.lstrip("0")) > len(str(maximum)):
        return None
    value = int(text)
    return value if value <= maximum else None


def ids(values, limit: int) -> list[int] | None:
    """The distinct ids among `values`, in order; None when one is not an id or there are
    more than `limit` of them (checked before any is converted)."""
    values = list(values)
    if len(values) > limit:
        return None
    found = [whole(value) for value in values]
    ids = [number for number in found if number]
    if len(ids) != len(found):
        return None
    return list(dict.fromkeys(ids))
