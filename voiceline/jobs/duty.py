"""Per-person questions on a compiled rota: when did this run start, when does it end, who starts soon."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from voiceline.rota import CompiledRota

TICK = timedelta(microseconds=1)  # instants have microsecond resolution (as in the engine)
HORIZON = timedelta(days=400)


def run_start(compiled: CompiledRota, person: str, at: datetime,
              horizon: timedelta = HORIZON) -> datetime | None:
    """When the stretch of duty `person` is in at `at` began (None: beyond the horizon)."""
    for point in compiled.change_points(at, at - horizon, forward=False):
        if point < at - horizon:
            return None
        if person not in compiled.people_at(point - TICK):
            return point
    return None


def run_end(compiled: CompiledRota, person: str, since: datetime,
            horizon: timedelta = HORIZON) -> datetime | None:
    """The first instant after `since` at which `person` is off duty (None: beyond the horizon)."""
    limit = since + horizon
    for point in compiled.change_points(since, limit, forward=True):
        if point > limit:
            return None
        if person not in compiled.people_at(point):
            return point
    return None


def upcoming_starts(compiled: CompiledRota, at: datetime,
                    window: timedelta) -> Iterator[tuple[str, datetime]]:
    """(person, start) for every stretch of duty starting in (at, at + window]."""
    if window <= timedelta(0):
        return
    limit = at + window
    for point in compiled.change_points(at, limit, forward=True):
        if point > limit:
            return
        before = set(compiled.people_at(point - TICK))
        for person in compiled.people_at(point):
            if person not in before:
                yield person, point
