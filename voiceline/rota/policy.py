"""Escalation policies: responders per step at an instant, and per-step coverage gaps."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timedelta

from .model import Gap, Policy, PolicyStep, ResolvedStep, Rota, merge_ranges, require_aware
from .query import CompiledRota, compile_rota, shifts


def _rota(rotas: Mapping[str, Rota | CompiledRota], rota_id: str, policy: Policy) -> CompiledRota:
    try:
        return compile_rota(rotas[rota_id])
    except KeyError:
        raise ValueError(f"policy {policy.id!r} names unknown rota {rota_id!r}") from None


def _dedupe(people: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(people))


def resolve_policy(policy: Policy, rotas: Mapping[str, Rota | CompiledRota],
                   at: datetime) -> list[ResolvedStep]:
    """Each step's responders at `at`: its rotas' people on duty, then named people, de-duplicated."""
    at = require_aware(at, "at")
    resolved = []
    for index, step in enumerate(policy.steps, start=1):
        people: list[str] = []
        for rota_id in step.rotas:
            people.extend(_rota(rotas, rota_id, policy).people_at(at))
        people.extend(step.people)
        resolved.append(ResolvedStep(index, step.ring_seconds, _dedupe(people)))
    return resolved


def _on_duty_ranges(step: PolicyStep, policy: Policy, rotas: Mapping[str, Rota | CompiledRota],
                    start: datetime, end: datetime) -> list[tuple[datetime, datetime, tuple[str, ...]]]:
    """(start, end, people) of the step's rotas in [start, end), sorted by start."""
    return sorted((s.start, s.end, s.people) for rota_id in step.rotas
                  for s in shifts(_rota(rotas, rota_id, policy), start, end) if s.people)




def policy_gaps(policy: Policy, rotas: Mapping[str, Rota | CompiledRota],
                start: datetime, end: datetime, *,
                unreachable: Collection[str] = ()) -> list[Gap]:
    """Per step (1-based), the ranges in [start, end) where that step would ring nobody.

    People in `unreachable` (no phone, inactive: the directory knows) are on duty but
    cannot be rung, so a step with only them is a gap; the gap names them.
    """
    start, end = require_aware(start, "start"), require_aware(end, "end")
    if start >= end:
        raise ValueError(f"range start {start} must be before its end {end}")
    cannot = set(unreachable)
    found: list[Gap] = []
    for index, step in enumerate(policy.steps, start=1):
        named_unreachable = [p for p in step.people if p in cannot]
        if len(named_unreachable) < len(step.people):
            continue  # a named person who can be rung always is
        on_duty = _on_duty_ranges(step, policy, rotas, start, end)
        covered = merge_ranges([(lo, hi) for lo, hi, people in on_duty
                          if any(p not in cannot for p in people)])
        uncovered: list[tuple[datetime, datetime]] = []
        cursor = start
        for lo, hi in covered:
            if lo > cursor:
                uncovered.append((cursor, lo))
            cursor = max(cursor, hi)
        if cursor < end:
            uncovered.append((cursor, end))
        for lo, hi in uncovered:
            stuck = [p for s_lo, s_hi, people in on_duty if s_lo < hi and s_hi > lo
                     for p in people] + named_unreachable
            found.append(Gap(lo, hi, policy=policy.id, step=index, unreachable=_dedupe(stuck)))
    return found


def real_bounds(find: Callable[[datetime, datetime], list[Gap]], gap: Gap,
                window_start: datetime, window_end: datetime, *,
                limit: timedelta = timedelta(days=400)) -> tuple[datetime | None, datetime | None]:
    """A gap's real start and end when the window it was found in cut it.

    `find(lo, hi)` lists the same rota's or step's gaps in [lo, hi). The search looks back
    (and ahead) in doubling spans up to `limit`; a bound beyond that is None ("open").
    """
    start: datetime | None = gap.start
    if gap.start <= window_start:
        start = _search(find, window_start, limit, forward=False)
    end: datetime | None = gap.end
    if gap.end >= window_end:
        end = _search(find, window_end, limit, forward=True)
    return start, end


def _search(find: Callable[[datetime, datetime], list[Gap]], edge: datetime, limit: timedelta,
            *, forward: bool) -> datetime | None:
    span, bound = timedelta(days=7), edge
    while abs(bound - edge) < limit:
        if forward:
            far = min(bound + span, edge + limit)
            touching = [g for g in find(bound, far) if g.start == bound]
            if not touching or touching[0].end < far:
                return touching[0].end if touching else bound
        else:
            far = max(bound - span, edge - limit)
            touching = [g for g in find(far, bound) if g.end == bound]
            if not touching or touching[-1].start > far:
                return touching[-1].start if touching else bound
        bound, span = far, span * 2
    return None
