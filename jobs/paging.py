"""Pages that cost the same at a person's 20th job and their 100,000th: keyset pagination.

A page is the next rows after a cursor (the sort key of the last row seen), read through an
index; there is no OFFSET for the database to count through and no COUNT(*) of the whole
history, so pages offer "newer" and "older" instead of page numbers. Rows are ordered newest
first by (created_at, id).
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils.http import urlencode

SEPARATOR = "~"


@dataclass
class Page:
    items: list
    newer: str  # the query string of the page before this one, or ""
    older: str  # of the page after it, or ""

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)

    @property
    def object_list(self):
        return self.items

    @property
    def has_other_pages(self):
        return bool(self.newer or self.older)


def paginate(queryset, params, size, base=None):
    """The page of `queryset` that the request's `params` (after=, before=) point at. `base`
    holds other query parameters the page links keep (filters)."""
    base = dict(base or {})
    older_than, newer_than = _cursor(params.get("before")), _cursor(params.get("after"))
    if newer_than:
        rows = list(queryset.filter(_after(*newer_than)).order_by("created_at", "id")[:size + 1])
        more_newer = len(rows) > size
        rows = rows[:size][::-1]
        has_newer, has_older = more_newer, True
    else:
        if older_than:
            queryset = queryset.filter(_before(*older_than))
        rows = list(queryset.order_by("-created_at", "-id")[:size + 1])
        has_older, has_newer = len(rows) > size, bool(older_than)
        rows = rows[:size]
    newer = urlencode({**base, "after": _key(rows[0])}) if rows and has_newer else ""
    older = urlencode({**base, "before": _key(rows[-1])}) if rows and has_older else ""
    return Page(rows, newer, older)


def _before(created_at, pk):
    return Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=pk)


def _after(created_at, pk):
    return Q(created_at__gt=created_at) | Q(created_at=created_at, id__gt=pk)


def _key(job):
    return f"{job.created_at.isoformat()}{SEPARATOR}{job.pk}"


def _cursor(value):
    """(created_at, id) from a cursor, or None for none or one that does not parse."""
    if not value or SEPARATOR not in value:
        return None
    moment, _, pk = value.rpartition(SEPARATOR)
    try:
        return datetime.fromisoformat(moment), int(pk)
    except ValueError:
        return None
