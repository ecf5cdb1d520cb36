"""ShortAPI's health as the app last saw it, so that an outage costs a handful of tasks instead of
one per unfinished job per poll.

When a call finds ShortAPI unreachable or broken (no connection, a timeout, a 5xx, "upstream
unstable", "busy"), the app holds off: for 15 seconds, doubling with every failed probe up to a
minute. Meanwhile the dispatcher queues nothing that calls ShortAPI; when the pause ends it
queues one probe, and the first answer from ShortAPI ends the outage, after which everything due
is queued again: work resumes at most about a minute after ShortAPI is back. The state lives in
the cache, so every host shares it with REDIS_URL.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.utils import timezone

KEY = "shortapi-outage"
FIRST_PAUSE = 15
LONGEST_PAUSE = 60


@dataclass(frozen=True)
class Outage:
    since: datetime
    failures: int
    until: datetime
    # a probe is on its way until then: no other is queued meanwhile
    probing_until: datetime | None = None

    def paused(self, now):
        """Nothing that calls ShortAPI is sent before `until`; after it, one probe at a time."""
        return now < self.until

    def probing(self, now):
        return self.probing_until is not None and now < self.probing_until


def current():
    state = cache.get(KEY)
    return Outage(**state) if state else None


def paused(now=None):
    """Whether calls to ShortAPI should wait now."""
    state = current()
    return state is not None and state.paused(now or timezone.now())


def record_failure():
    """A call found ShortAPI out. Within a pause nothing changes (calls already on their way
    fail too); a probe that fails doubles the pause."""
    now = timezone.now()
    state = current()
    if state and state.paused(now):
        return state
    failures = state.failures + 1 if state else 1
    pause = min(LONGEST_PAUSE, FIRST_PAUSE * 2 ** (failures - 1))
    return _keep(Outage(since=state.since if state else now, failures=failures,
                        until=now + timedelta(seconds=pause)))


def probe_sent():
    """A probe is on its way: no other is queued while it is (its answer ends the outage or
    pauses it longer)."""
    state = current()
    if state:
        _keep(Outage(since=state.since, failures=state.failures, until=state.until,
                     probing_until=timezone.now() + timedelta(seconds=FIRST_PAUSE)))


def record_answer():
    if cache.get(KEY) is not None:
        cache.delete(KEY)


def _keep(state):
    cache.set(KEY, state.__dict__, LONGEST_PAUSE * 4)
    return state
