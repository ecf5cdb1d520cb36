"""Fault injection for the simulator: what may go wrong, parsed from one spec string, and the dice.

ShortAPI documents no error codes, no idempotency and no lifetime for result URLs, so the app must
survive the worst; these faults let a test or a demo make the worst happen on purpose:

    create_5xx=0.1,create_late=0.1,drop_callback=0.3,duplicate_callback=0.3,fail=0.1,
    expire_after=60,late_seconds=5,seed=7

Shares are probabilities from 0 to 1 drawn per valid create from one `random.Random(seed)`, so a
seeded run misbehaves the same way every time. The simulator holds its lock around every roll.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, fields

SHARES = ("create_5xx", "create_late", "drop_callback", "duplicate_callback", "fail")
SECONDS = ("expire_after", "late_seconds")
DUPLICATE_PAUSE = 0.5
STALE_STATUS = 1  # "processing": a non-terminal status arriving after the terminal one
FAILURE_MESSAGE = "The simulator failed this job on purpose (simulated failure, fault fail={})."


class FaultSpecError(ValueError):
    """A fault spec (or a `Faults` value) that makes no sense; the message names the bad part."""


@dataclass(frozen=True, kw_only=True)
class Faults:
    """What the simulator gets wrong on purpose; the default gets nothing wrong."""

    create_5xx: float = 0.0
    create_late: float = 0.0
    drop_callback: float = 0.0
    duplicate_callback: float = 0.0
    fail: float = 0.0
    # seconds after a job succeeded that its result URL answers 410 Gone; 0 means never
    expire_after: float = 0.0
    late_seconds: float = 5.0
    seed: int | None = None

    def __post_init__(self):
        for name in (*SHARES, *SECONDS):
            problem = _problem(name, getattr(self, name))
            if problem:
                raise FaultSpecError(f"{name}={getattr(self, name)!r}: {problem}")
        seed = self.seed
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise FaultSpecError(f"seed={self.seed!r}: the seed must be a whole number.")

    def __str__(self) -> str:
        """The active faults as a spec that `parse` reads back, or "none"."""
        parts = [f"{name}={getattr(self, name):g}" for name in SHARES if getattr(self, name)]
        if self.expire_after:
            parts.append(f"expire_after={self.expire_after:g}")
        if self.create_late:
            parts.append(f"late_seconds={self.late_seconds:g}")
        if parts and self.seed is not None:
            parts.append(f"seed={self.seed}")
        return ",".join(parts) or "none"

    def answers_500(self, rng: random.Random) -> bool:
        """Whether this create fails before any job exists. Call with the simulator's lock held."""
        return rng.random() < self.create_5xx

    def fate(self, rng: random.Random) -> Fate:
        """What goes wrong with a job being created. Call with the simulator's lock held."""
        # always five draws, whatever the shares, so one seed gives one sequence
        late, drop, duplicate, stale, fail = (rng.random() for _ in range(5))
        return Fate(late=late < self.create_late, drop_callback=drop < self.drop_callback,
                    duplicate_callback=duplicate < self.duplicate_callback,
                    stale_callback=stale < self.duplicate_callback,
                    failure=FAILURE_MESSAGE.format(f"{self.fail:g}") if fail < self.fail
                    else None)

    def expired(self, succeeded_at: float, now: float) -> bool:
        return bool(self.expire_after) and now - succeeded_at >= self.expire_after


@dataclass(frozen=True)
class Fate:
    """The faults drawn for one job."""

    late: bool = False
    drop_callback: bool = False
    duplicate_callback: bool = False
    stale_callback: bool = False
    failure: str | None = None

    def callbacks(self, terminal: dict) -> list[tuple[float, dict]]:
        """(pause before, body) of each callback to send once the job has finished."""
        if self.drop_callback:
            return []
        schedule = [(0.0, terminal)]
        if self.duplicate_callback:
            schedule.append((DUPLICATE_PAUSE, terminal))
        if self.stale_callback:
            schedule.append((DUPLICATE_PAUSE, {"job_id": terminal["job_id"],
                                               "status": STALE_STATUS}))
        return schedule


def parse(spec: str) -> Faults:
    """`Faults` from `name=value,name=value`; an empty spec means no faults."""
    known = [field.name for field in fields(Faults)]
    values: dict = {}
    for part in (part.strip() for part in spec.split(",")):
        if not part:
            continue
        name, equals, raw = (piece.strip() for piece in part.partition("="))
        if not equals or not raw:
            raise FaultSpecError(f"{part!r}: write name=value.")
        if name not in known:
            raise FaultSpecError(f"{part!r}: unknown fault {name!r}; known: {', '.join(known)}.")
        if name in values:
            raise FaultSpecError(f"{part!r}: {name} is given twice.")
        values[name] = _value(part, name, raw)
    return Faults(**values)


def _value(part: str, name: str, raw: str):
    if name == "seed":
        try:
            return int(raw)
        except ValueError:
            raise FaultSpecError(f"{part!r}: the seed must be a whole number.") from None
    try:
        value = float(raw)
    except ValueError:
        value = None
    problem = _problem(name, value)
    if problem:
        raise FaultSpecError(f"{part!r}: {problem}")
    return value


def _problem(name: str, value) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "not a number."
    if name in SHARES and not 0 <= value <= 1:
        return "a share must be from 0 to 1."
    if value < 0:
        return "seconds cannot be negative."
    return None
