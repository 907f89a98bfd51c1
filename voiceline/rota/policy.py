"""Escalation policies: responders per step at an instant, and per-step coverage gaps."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from .model import Gap, Policy, PolicyStep, ResolvedStep, Rota, require_aware
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


def _covered(step: PolicyStep, policy: Policy, rotas: Mapping[str, Rota | CompiledRota],
             start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Sorted, merged ranges in [start, end) where some rota of the step has someone."""
    ranges = sorted((s.start, s.end) for rota_id in step.rotas
                    for s in shifts(_rota(rotas, rota_id, policy), start, end) if s.people)
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in ranges:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def policy_gaps(policy: Policy, rotas: Mapping[str, Rota | CompiledRota],
                start: datetime, end: datetime) -> list[Gap]:
    """Per step (1-based), the ranges in [start, end) where that step would ring nobody."""
    start, end = require_aware(start, "start"), require_aware(end, "end")
    if start >= end:
        raise ValueError(f"range start {start} must be before its end {end}")
    found: list[Gap] = []
    for index, step in enumerate(policy.steps, start=1):
        if step.people:
            continue  # named people are always rung
        cursor = start
        for lo, hi in _covered(step, policy, rotas, start, end):
            if lo > cursor:
                found.append(Gap(cursor, lo, policy=policy.id, step=index))
            cursor = max(cursor, hi)
        if cursor < end:
            found.append(Gap(cursor, end, policy=policy.id, step=index))
    return found
