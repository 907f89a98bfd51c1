"""Local wall-clock recurrence: handoffs and windows stepped in local time, mapped to UTC.

Calendar stepping happens on naive local date-times; only the mapping to an
instant consults the zone. A local time that does not exist (spring-forward
gap) or exists twice (fall-back) is mapped with fold=0: the offset in force
before the transition, i.e. the first occurrence (RFC 5545 §3.3.5).
"""

from __future__ import annotations

import calendar
import heapq
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from .model import LayerVersion, Period, Window

_FIXED_STEP = {"hours": timedelta(hours=1), "days": timedelta(days=1), "weeks": timedelta(weeks=1)}


@lru_cache(maxsize=65536)
def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """Map a naive local date-time to its UTC instant (fold=0 for gaps and repeats)."""
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def to_local(instant: datetime, zone: ZoneInfo) -> datetime:
    """Return the naive local wall-clock time of an aware instant."""
    return instant.astimezone(zone).replace(tzinfo=None)


def add_months(local: datetime, months: int) -> datetime:
    """Add calendar months, clamping the day to the end of a shorter month."""
    year, month0 = divmod(local.year * 12 + local.month - 1 + months, 12)
    day = min(local.day, calendar.monthrange(year, month0 + 1)[1])
    return local.replace(year=year, month=month0 + 1, day=day)


def nth_handoff_local(anchor: datetime, period: Period, k: int) -> datetime:
    """Local time of the k-th handoff from the anchor (k may be negative)."""
    if period.unit == "months":
        # Always from the anchor, never chained: Jan 31 -> Feb 28 -> Mar 31.
        return add_months(anchor, k * period.count)
    return anchor + _FIXED_STEP[period.unit] * (k * period.count)


def nth_handoff(version: LayerVersion, zone: ZoneInfo, k: int) -> datetime:
    """UTC instant of the k-th handoff of a layer version."""
    return to_utc(nth_handoff_local(version.anchor, version.period, k), zone)


def shift_index(version: LayerVersion, zone: ZoneInfo, at: datetime) -> int:
    """Index k of the shift containing `at`: the last handoff at or before it."""
    local, anchor, period = to_local(at, zone), version.anchor, version.period
    if period.unit == "months":
        months = (local.year - anchor.year) * 12 + local.month - anchor.month
        k = months // period.count
    else:
        k = (local - anchor) // (_FIXED_STEP[period.unit] * period.count)
    # The local estimate can be one off around a DST change or a clamped month end.
    while nth_handoff(version, zone, k) > at:
        k -= 1
    while nth_handoff(version, zone, k + 1) <= at:
        k += 1
    return k


def member_at(version: LayerVersion, zone: ZoneInfo, at: datetime) -> str | None:
    """The member (None for an empty slot) whose turn it is at `at`, windows ignored."""
    members = version.members
    if len(members) == 1:
        return members[0]
    return members[shift_index(version, zone, at) % len(members)]


def window_span(window: Window, day: date, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    """UTC [start, end) of the window instance starting on local `day`, None if not that day."""
    if window.days and day.weekday() not in window.days:
        return None
    end_day = day if window.end > window.start else day + timedelta(days=1)
    return (to_utc(datetime.combine(day, window.start), zone),
            to_utc(datetime.combine(end_day, window.end), zone))


def in_windows(windows: tuple[Window, ...], zone: ZoneInfo, at: datetime) -> bool:
    """Whether `at` falls inside an instance of any window (always true with no windows)."""
    if not windows:
        return True
    today = to_local(at, zone).date()
    for window in windows:
        # An instance lasts at most a local day, so it started yesterday or today.
        for day in (today - timedelta(days=1), today):
            span = window_span(window, day, zone)
            if span is not None and span[0] <= at < span[1]:
                return True
    return False


def window_edges(window: Window, zone: ZoneInfo, at: datetime, *, forward: bool) -> Iterator[datetime]:
    """Window start and end instants after `at` (forward) or at/before it (backward), sorted."""
    return heapq.merge(_edges(window, zone, at, forward, 0), _edges(window, zone, at, forward, 1),
                       reverse=not forward)


def _edges(window: Window, zone: ZoneInfo, at: datetime, forward: bool, which: int) -> Iterator[datetime]:
    # Starts (or ends) of consecutive daily instances are 24 local hours apart, so
    # they stay sorted in UTC; begin two days back to catch instances crossing midnight.
    day = to_local(at, zone).date() + timedelta(days=-2 if forward else 1)
    step = timedelta(days=1 if forward else -1)
    while True:
        span = window_span(window, day, zone)
        if span is not None and ((span[which] > at) if forward else (span[which] <= at)):
            yield span[which]
        day += step


def handoffs(version: LayerVersion, zone: ZoneInfo, at: datetime, *, forward: bool) -> Iterator[datetime]:
    """Handoff instants after `at` (forward) or at/before it (backward), sorted, unbounded."""
    k = shift_index(version, zone, at)
    if forward:
        while True:
            k += 1
            yield nth_handoff(version, zone, k)
    while True:
        yield nth_handoff(version, zone, k)
        k -= 1
