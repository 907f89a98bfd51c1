"""On-duty answers from the database as engine values: who is on duty, shifts, gaps."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceline import models as m
from voiceline.oncall.history import rota_as_of
from voiceline.oncall.store import load_policies, load_rotas
from voiceline.phones import try_e164
from voiceline.rota import (
    Gap,
    OnDuty,
    Policy,
    Rota,
    Segment,
    gaps,
    on_duty,
    policy_gaps,
    real_bounds,
    shifts,
)


class UnknownRota(LookupError):
    """No rota with that id."""


@dataclass(frozen=True)
class RotaOnDuty:
    """One rota's answer at an instant, with the people it names (missing ids are absent)."""

    rota: str
    at: datetime
    answer: OnDuty
    people: dict[str, m.Person]


def load_people(session: Session, ids: Iterable[str]) -> dict[str, m.Person]:
    """The people with these ids, keyed by id."""
    wanted = list(ids)
    if not wanted:
        return {}
    return {p.id: p for p in session.scalars(select(m.Person).where(m.Person.id.in_(wanted)))}


def on_duty_now(session: Session, at: datetime, rota_id: str | None = None,
                as_of: datetime | None = None) -> list[RotaOnDuty]:
    """Who is on duty at `at` in each rota (or the one named) and until when; with `as_of`, by
    each rota as it stood then (a rota with no recorded state that early is left out)."""
    rotas = load_rotas(session, [rota_id] if rota_id else None)
    if as_of is not None:
        stood = {rid: rota_as_of(session, rid, as_of) for rid in rotas}
        rotas = {rid: found[0] for rid, found in stood.items() if found is not None}
    if rota_id and rota_id not in rotas:
        raise UnknownRota(rota_id)
    answers = {rid: on_duty(rota, at) for rid, rota in rotas.items()}
    people = load_people(session, {p for a in answers.values() for p in a.people})
    return [RotaOnDuty(rid, at, answer, {p: people[p] for p in answer.people if p in people})
            for rid, answer in answers.items()]


def shifts_between(session: Session, rota_id: str, start: datetime, end: datetime) -> list[Segment]:
    """Merged segments of a rota over [start, end)."""
    rotas = load_rotas(session, [rota_id])
    if rota_id not in rotas:
        raise UnknownRota(rota_id)
    return shifts(rotas[rota_id], start, end)


def unreachable_among(people: Iterable[m.Person],
                      dialable: Callable[[str | None], str | None] = try_e164) -> dict[str, str]:
    """Those of `people` a call cannot ring, with why (the test the call's escalation applies)."""
    out: dict[str, str] = {}
    for person in people:
        if not person.active:
            out[person.id] = "inactive"
        elif not dialable(person.phone):
            out[person.id] = "no phone"
    return out


def unreachable_people(session: Session) -> dict[str, str]:
    """People a call cannot ring, with why (the same test the call's escalation applies)."""
    return unreachable_among(session.scalars(select(m.Person)))


@dataclass(frozen=True)
class Coverage:
    """Every rota and policy with who cannot be rung: the inputs of every gap question."""

    rotas: dict[str, Rota]
    policies: dict[str, Policy]
    unreachable: dict[str, str]

    def gaps(self, start: datetime, end: datetime) -> list[Gap]:
        """Uncovered segments per rota, then per policy step (unreachable people don't cover)."""
        found: list[Gap] = []
        for rota in self.rotas.values():
            found += gaps(rota, start, end)
        for policy in self.policies.values():
            found += policy_gaps(policy, self.rotas, start, end, unreachable=self.unreachable)
        return found

    def real_bounds(self, gap: Gap, window_start: datetime,
                    window_end: datetime) -> tuple[datetime | None, datetime | None]:
        """The gap's real start and end where the window cut it (None: beyond a year or so)."""
        if gap.policy is None:
            rota = self.rotas[gap.rota or ""]
            return real_bounds(lambda lo, hi: gaps(rota, lo, hi), gap, window_start, window_end)
        policy = self.policies[gap.policy]

        def find(lo: datetime, hi: datetime) -> list[Gap]:
            return [g for g in policy_gaps(policy, self.rotas, lo, hi, unreachable=self.unreachable)
                    if g.step == gap.step]
        return real_bounds(find, gap, window_start, window_end)


def load_coverage(session: Session) -> Coverage:
    """Rotas, policies and the unreachable people, as the engine sees them."""
    return Coverage(load_rotas(session), load_policies(session), unreachable_people(session))


def coverage_gaps(session: Session, start: datetime, days: int) -> list[Gap]:
    """Uncovered segments per rota, then per policy step, over `days` from `start`."""
    return load_coverage(session).gaps(start, start + timedelta(days=days))
