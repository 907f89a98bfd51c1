"""Coverage rules from the database: per rota and per policy step, checked with the engine.

A rule is stored as a small mapping on the rota or the policy step
(`{"min_people": 2, "max_shift_hours": 24, "min_rest_hours": 10}`, any key may be missing);
the rota file, the web forms and the API read and write that same mapping.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from voiceline import models as m
from voiceline.instants import iso_z
from voiceline.oncall.queries import Coverage
from voiceline.rota import Gap, Segment, compile_rota, real_bounds, shifts
from voiceline.rota.rules import (
    CoverageRule,
    Violation,
    rule_violations,
    stretch_finder,
    understaffed,
)

RULE_KEYS = ("min_people", "max_shift_hours", "min_rest_hours")
LIMITS = {"min_people": (1, 10), "max_shift_hours": (1, 24 * 31), "min_rest_hours": (1, 24 * 7)}


def rule_problems(value: Any) -> list[tuple[str, str]]:
    """(key, problem) for a rule mapping; [] when it is a valid (maybe empty) rule."""
    if value is None:
        return []
    if not isinstance(value, Mapping):
        return [("", "must be a mapping with min_people, max_shift_hours, min_rest_hours")]
    problems = [(str(k), f"unknown key (use {', '.join(RULE_KEYS)})") for k in value
                if k not in RULE_KEYS]
    for key, (low, high) in LIMITS.items():
        v = value.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high):
            problems.append((key, f"{v!r} must be a whole number from {low} to {high}"))
    return problems


def clean_rule(value: Mapping[str, Any] | None) -> dict[str, int] | None:
    """The stored form: only the keys set, None when no rule is set."""
    if not value:
        return None
    out = {k: int(value[k]) for k in RULE_KEYS if value.get(k) is not None}
    return out or None


def rule_from_json(value: Mapping[str, Any] | None) -> CoverageRule | None:
    """A stored mapping as an engine rule (None when nothing is set)."""
    value = clean_rule(value)
    if value is None:
        return None
    hours = {k: timedelta(hours=value[f"{k}_hours"]) for k in ("max_shift", "min_rest")
             if f"{k}_hours" in value}
    return CoverageRule(min_people=value.get("min_people"), **hours)


@dataclass(frozen=True)
class Rules:
    """Every coverage rule: per rota id, and per (policy id, 1-based step)."""

    rotas: dict[str, CoverageRule]
    steps: dict[tuple[str, int], CoverageRule]

    def __bool__(self) -> bool:
        return bool(self.rotas or self.steps)


def load_rules(session: Session) -> Rules:
    """The rules set on rotas and policy steps."""
    rotas = {}
    for rota in session.scalars(select(m.Rota).order_by(m.Rota.id)):
        rule = rule_from_json(rota.coverage)
        if rule is not None:
            rotas[rota.id] = rule
    steps = {}
    for policy in session.scalars(select(m.Policy).options(selectinload(m.Policy.steps))
                                  .order_by(m.Policy.id)):
        for index, step in enumerate(policy.steps, start=1):
            rule = rule_from_json(step.coverage)
            if rule is not None:
                steps[(policy.id, index)] = rule
    return Rules(rotas, steps)


def _tile(parts: list[list[Segment]], start: datetime, end: datetime,
          named: tuple[str, ...]) -> list[Segment]:
    """Several rotas' segments as one tiling of [start, end): the union of their people."""
    points = sorted({start, end} | {p for segs in parts for s in segs for p in (s.start, s.end)})
    out: list[Segment] = []
    for lo, hi in zip(points, points[1:], strict=False):
        people: list[str] = []
        for segs in parts:
            people += [p for s in segs if s.start <= lo < s.end for p in s.people]
        people += named
        here = tuple(dict.fromkeys(people))
        if out and set(out[-1].people) == set(here):
            out[-1] = Segment(out[-1].start, hi, out[-1].people)
        else:
            out.append(Segment(lo, hi, here))
    return out


def _fill_real(found: list[Violation], shifts_of, start: datetime, end: datetime,
               minimum: int | None, count) -> list[Violation]:
    """Understaffed ranges the window cuts get their real bounds (searched beyond it)."""
    if minimum is None:
        return found

    def find(lo: datetime, hi: datetime) -> list[Gap]:
        return [Gap(a, b) for a, b, _, _ in understaffed(shifts_of(lo, hi), minimum, count=count)]
    out = []
    for v in found:
        if v.kind == "understaffed" and (v.start <= start or v.end >= end):
            lo, hi = real_bounds(find, Gap(v.start, v.end), start, end)
            v = dataclasses.replace(v, real_start=lo, real_end=hi)
        out.append(v)
    return out


def _check(shifts_of, rule: CoverageRule, start: datetime, end: datetime, *,
           exempt: tuple[str, ...] = (), count=len, **where: Any) -> list[Violation]:
    def real(person: str, lo: datetime, hi: datetime) -> tuple[datetime | None, datetime | None]:
        return real_bounds(stretch_finder(shifts_of, person), Gap(lo, hi), start, end)
    found = rule_violations(shifts_of(start, end), rule, start, end, exempt=exempt, count=count,
                            real=real, **where)
    return _fill_real(found, shifts_of, start, end, rule.min_people, count)


def violations(coverage: Coverage, rules: Rules, start: datetime, end: datetime) -> list[Violation]:
    """Every broken coverage rule in [start, end): per rota, then per policy step."""
    found: list[Violation] = []

    def reachable(people: tuple[str, ...]) -> int:
        return sum(p not in coverage.unreachable for p in people)
    for rota_id, rule in rules.rotas.items():
        rota = coverage.rotas.get(rota_id)
        if rota is None:
            continue
        found += _check(lambda lo, hi, r=rota: shifts(r, lo, hi), rule, start, end, rota=rota_id)
    for (policy_id, index), rule in rules.steps.items():
        policy = coverage.policies.get(policy_id)
        if policy is None or not 0 < index <= len(policy.steps):
            continue
        step = policy.steps[index - 1]
        if any(rid not in coverage.rotas for rid in step.rotas):
            continue  # a step names a rota that no longer exists
        compiled = [compile_rota(coverage.rotas[rid]) for rid in step.rotas]

        def of(lo: datetime, hi: datetime, c=compiled, named=step.people) -> list[Segment]:
            return _tile([shifts(r, lo, hi) for r in c], lo, hi, tuple(named))
        found += _check(of, rule, start, end, exempt=tuple(step.people), count=reachable,
                        policy=policy_id, step=index)
    return found


def describe_where(v: Violation) -> str:
    """'rota X' or 'policy P step N'."""
    return f"rota {v.rota}" if v.policy is None else f"policy {v.policy} step {v.step}"


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:g} h"


def describe_rule(v: Violation, rule: CoverageRule | None) -> str:
    """What is wrong, in words: 'only 1 on duty (min 2)', 'ann on duty 36 h in a row (max 24 h)'."""
    if v.kind == "understaffed":
        need = f" (min {rule.min_people})" if rule and rule.min_people else ""
        return f"only {v.count} on duty{need}"
    if v.kind == "long_shift":
        limit = f" (max {_hours(rule.max_shift)})" if rule and rule.max_shift else ""
        if v.real_start is None or v.real_end is None:
            return f"{v.person} on duty without a break{limit}"
        return f"{v.person} on duty {_hours(v.real_end - v.real_start)} in a row{limit}"
    limit = f" (min {_hours(rule.min_rest)})" if rule and rule.min_rest else ""
    return f"{v.person} rests only {_hours(v.end - v.start)} between shifts{limit}"


def rule_for(rules: Rules, v: Violation) -> CoverageRule | None:
    """The rule a violation breaks."""
    if v.policy is None:
        return rules.rotas.get(v.rota or "")
    return rules.steps.get((v.policy, v.step or 0))


def violation_json(v: Violation, rules: Rules) -> dict[str, Any]:
    """{rule, rota | policy+step, start, end, person?, people?, real_start, real_end, text}."""
    out: dict[str, Any] = {"rule": v.kind}
    out |= {"rota": v.rota} if v.policy is None else {"policy": v.policy, "step": v.step}
    out |= {"start": iso_z(v.start), "end": iso_z(v.end),
            "real_start": iso_z(v.real_start), "real_end": iso_z(v.real_end)}
    if v.person is not None:
        out["person"] = v.person
    if v.kind == "understaffed":
        out["on_duty"] = list(v.people)
    out["text"] = describe_rule(v, rule_for(rules, v))
    return out
