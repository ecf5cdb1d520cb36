"""Pages that cost the same at a person's 20th job and their 100,000th: keyset pagination.

A page is the next rows after a cursor (the sort key of the last row seen), read through an
index; there is no OFFSET for the database to count through and no COUNT(*) of the whole
history, so pages offer "previous" and "next" instead of page numbers. Rows are ordered by an
`Order`: a column (creation time, cost) and the id to break ties, one way or the other.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db.models import Q
from django.utils.http import urlencode

from lib.numbers import whole

SEPARATOR = "~"


@dataclass(frozen=True)
class Order:
    field: str
    descending: bool
    parse: object  # the cursor's text back into the column's value
    previous_label: str
    next_label: str

    def ordering(self, reverse=False):
        first = self.descending != reverse
        sign = "-" if first else ""
        return f"{sign}{self.field}", f"{sign}id"

    def past(self, value, pk, reverse=False):
        """Rows after (value, pk) in this order (before it, if `reverse`)."""
        way = "lt" if self.descending != reverse else "gt"
        return (Q(**{f"{self.field}__{way}": value})
                | Q(**{self.field: value, f"id__{way}": pk}))


def _decimal(text):
    """A cost from a cursor: a plain decimal of ten digits or fewer (NaN, Infinity and
    exponents are not costs)."""
    value = Decimal(text) if len(text) <= 24 else Decimal("NaN")
    if not value.is_finite() or value.adjusted() > 9:
        raise ValueError(f"not a cost: {text[:24]}")
    return value


NEWEST = Order("created_at", True, datetime.fromisoformat, "Newer", "Older")
OLDEST = Order("created_at", False, datetime.fromisoformat, "Older", "Newer")
COSTLIEST = Order("cost", True, _decimal, "Costlier", "Cheaper")
CHEAPEST = Order("cost", False, _decimal, "Cheaper", "Costlier")


@dataclass
class Page:
    items: list
    newer: str  # the query string of the page before this one, or ""
    older: str  # of the page after it, or ""
    order: Order = NEWEST

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


def paginate(queryset, params, size, base=None, order=NEWEST):
    """The page of `queryset` that the request's `params` (after=, before=) point at, in
    `order`. `base` holds other query parameters the page links keep (filters)."""
    base = dict(base or {})
    next_from, previous_from = _cursor(params.get("before"), order), _cursor(params.get("after"),
                                                                          order)
    if previous_from:
        rows = list(queryset.filter(order.past(*previous_from, reverse=True))
                    .order_by(*order.ordering(reverse=True))[:size + 1])
        has_previous, has_next = len(rows) > size, True
        rows = rows[:size][::-1]
    else:
        if next_from:
            queryset = queryset.filter(order.past(*next_from))
        rows = list(queryset.order_by(*order.ordering())[:size + 1])
        has_next, has_previous = len(rows) > size, bool(next_from)
        rows = rows[:size]
    previous = urlencode({**base, "after": _key(rows[0], order)}) if rows and has_previous else ""
    following = urlencode({**base, "before": _key(rows[-1], order)}) if rows and has_next else ""
    return Page(rows, previous, following, order)


def _key(job, order):
    value = getattr(job, order.field)
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return f"{text}{SEPARATOR}{job.pk}"


def _cursor(value, order):
    """(value, id) from a cursor, or None for none or one that does not parse."""
    if not value or SEPARATOR not in value:
        return None
    text, _, pk = value.rpartition(SEPARATOR)
    if whole(pk) is None or len(text) > 64:
        return None
    try:
        return order.parse(text), whole(pk)
    except (ValueError, InvalidOperation):
        return None
