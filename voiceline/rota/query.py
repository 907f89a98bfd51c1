"""Queries: who is on duty at T, shifts and gaps over a range.

Everything is derived from one function, people at an instant, and from the
instants where anything may change (handoffs, window edges, version and
override boundaries). Between two consecutive change points nothing changes,
so a range is evaluated once per change point and merged. A change means the
*set* of people changes: a new order of the same people neither splits a
segment nor ends an OnDuty (a segment reports the order at its start).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .layers import CompiledLayer, compile_layers, layer_people
from .model import Gap, OnDuty, Rota, Segment, load_zone, require_aware
from .overrides import OverrideIndex, apply_overrides

_TICK = timedelta(microseconds=1)


class CompiledRota:
    """A rota with its zone loaded, layers compiled and overrides indexed."""

    __slots__ = ("rota", "zone", "layers", "overrides")

    def __init__(self, rota: Rota) -> None:
        self.rota = rota
        self.zone: ZoneInfo = load_zone(rota.timezone)
        self.layers: list[CompiledLayer] = compile_layers(rota.layers, self.zone)
        self.overrides = OverrideIndex(rota.overrides)

    def people_at(self, at: datetime) -> tuple[str, ...]:
        """People on duty at `at`, in rota order."""
        base = layer_people(self.layers, self.zone, at)
        return apply_overrides(base, self.overrides.active_at(at))

    def change_points(self, at: datetime, limit: datetime, *, forward: bool) -> Iterator[datetime]:
        """Distinct instants where the people may change: after `at` ascending, or at/before it descending."""
        sources = [self.overrides.change_points(at, forward=forward)]
        for layer in self.layers:
            sources.extend(layer.change_points(self.zone, at, limit, forward=forward))
        last = None
        for point in heapq.merge(*sources, reverse=not forward):
            if point != last:
                yield point
                last = point


def compile_rota(rota: Rota | CompiledRota) -> CompiledRota:
    """Precompute a rota for fast queries; memoised on the (immutable) Rota instance."""
    if isinstance(rota, CompiledRota):
        return rota
    # A frozen Rota cannot change, so the compiled form is cached on the instance;
    # hashing it instead would cost time linear in the overrides on every query.
    compiled = rota.__dict__.get("_compiled")
    if compiled is None:
        compiled = CompiledRota(rota)
        rota.__dict__["_compiled"] = compiled
    return compiled


def on_duty(rota: Rota | CompiledRota, at: datetime, *,
            horizon: timedelta = timedelta(days=400)) -> OnDuty:
    """Who is on duty at `at`, and since/until when that set of people last/next changes."""
    compiled = compile_rota(rota)
    at = require_aware(at, "at")
    people = compiled.people_at(at)
    current = set(people)

    until = None
    for point in compiled.change_points(at, at + horizon, forward=True):
        if point > at + horizon:
            break
        if set(compiled.people_at(point)) != current:
            until = point
            break

    # The people are constant between change points, so one tick before a change
    # point shows the whole stretch before it (instants have microsecond resolution).
    since = None
    for point in compiled.change_points(at, at - horizon, forward=False):
        if point < at - horizon:
            break
        if set(compiled.people_at(point - _TICK)) != current:
            since = point
            break
    return OnDuty(people, since, until)


def shifts(rota: Rota | CompiledRota, start: datetime, end: datetime) -> list[Segment]:
    """Segments tiling [start, end) exactly, merged while the set of people is unchanged."""
    compiled = compile_rota(rota)
    start, end = require_aware(start, "start"), require_aware(end, "end")
    if start >= end:
        raise ValueError(f"range start {start} must be before its end {end}")
    segments: list[Segment] = []
    seg_start, people = start, compiled.people_at(start)
    for point in compiled.change_points(start, end, forward=True):
        if point >= end:
            break
        now = compiled.people_at(point)
        if set(now) != set(people):
            segments.append(Segment(seg_start, point, people))
            seg_start, people = point, now
    segments.append(Segment(seg_start, end, people))
    return segments


def gaps(rota: Rota | CompiledRota, start: datetime, end: datetime) -> list[Gap]:
    """Ranges inside [start, end) with nobody on duty."""
    compiled = compile_rota(rota)
    return [Gap(s.start, s.end, rota=compiled.rota.id)
            for s in shifts(compiled, start, end) if not s.people]
