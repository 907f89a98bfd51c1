"""On-duty answers from the database as engine values: who is on duty, shifts, gaps."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceline import models as m
from voiceline.oncall.store import load_policies, load_rotas
from voiceline.rota import Gap, OnDuty, Segment, gaps, on_duty, policy_gaps, shifts


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


def on_duty_now(session: Session, at: datetime, rota_id: str | None = None) -> list[RotaOnDuty]:
    """Who is on duty at `at` in each rota (or the one named) and until when."""
    rotas = load_rotas(session, [rota_id] if rota_id else None)
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


def coverage_gaps(session: Session, start: datetime, days: int) -> list[Gap]:
    """Uncovered segments per rota, then per policy step, over `days` from `start`."""
    end = start + timedelta(days=days)
    rotas = load_rotas(session)
    found: list[Gap] = []
    for rota in rotas.values():
        found += gaps(rota, start, end)
    for policy in load_policies(session).values():
        found += policy_gaps(policy, rotas, start, end)
    return found
