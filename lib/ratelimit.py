"""Rate limits: where a request comes from, and how often it may do something costly.

`client_ip` is the address a request came from: REMOTE_ADDR, or the header KLING_CLIENT_IP_HEADER
names when a proxy in front of the app sets it. Sign-in lockouts (django-axes) and the rate
limits here use the same answer.

A rate limit counts requests in fixed windows in the shared cache: Redis with REDIS_URL (exact
across every host), otherwise a file cache the processes of one machine share (it may miss a
count when two requests land in the same instant, never more). Callbacks, the one hot path, are
counted in each web process's memory instead, which costs nothing next to a database lookup: the
limit then holds per process (a few per host), enough to stop a flood or a token guesser.
"""

import threading
import time
from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache


@dataclass(frozen=True)
class Limit:
    name: str
    count: int
    seconds: int

    @property
    def window(self):
        minutes = self.seconds // 60
        return f"{minutes} minute{'s' if minutes != 1 else ''}"


def client_ip(request):
    header = settings.KLING_CLIENT_IP_HEADER
    if header:
        forwarded = request.headers.get(header, "")
        # a proxy appends to X-Forwarded-For: its last entry is the one it saw
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")


def wait_for(limit, key):
    """Count one more request against `limit` for `key`. Returns 0 while within the limit,
    else the seconds until the window resets."""
    now = time.time()
    window = int(now // limit.seconds)
    cache_key = f"rate:{limit.name}:{key}:{window}"
    cache.add(cache_key, 0, limit.seconds + 10)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, limit.seconds + 10)
        count = 1
    if count <= limit.count:
        return 0
    return int(limit.seconds - now % limit.seconds) + 1


_local_counts: Counter[tuple[str, object]] = Counter()
_local_lock = threading.Lock()
_local_window = [0]


def wait_for_here(limit, key):
    """As `wait_for`, counted in this process's memory."""
    now = time.time()
    window = int(now // limit.seconds)
    with _local_lock:
        if window != _local_window[0]:
            _local_counts.clear()
            _local_window[0] = window
        _local_counts[limit.name, key] += 1
        count = _local_counts[limit.name, key]
    if count <= limit.count:
        return 0
    return int(limit.seconds - now % limit.seconds) + 1
