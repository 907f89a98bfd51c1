"""On-duty answers as JSON-ready values, shared by the CLI and the API."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceline import models as m
from voiceline.instants import iso_z
from voiceline.rota import gaps, on_duty, policy_gaps, shifts
from voiceline.rota_store import load_policies, load_rotas


class UnknownRota(LookupError):
    """No rota with that id."""


def _people(session: Session, ids) -> dict[str, m.Person]:
    ids = list(ids)
    if not ids:
        return {}
    return {p.id: p for p in session.scalars(select(m.Person).where(m.Person.id.in_(ids)))}


def oncall_entries(session: Session, at: datetime, rota_id: str | None = None) -> list[dict[str, Any]]:
    """Who is on duty at `at` in each rota (or the one named) and until when."""
    rotas = load_rotas(session, [rota_id] if rota_id else None)
    if rota_id and rota_id not in rotas:
        raise UnknownRota(rota_id)
    answers = {rid: on_duty(rota, at) for rid, rota in rotas.items()}
    people = _people(session, {p for a in answers.values() for p in a.people})
    out = []
    for rid, answer in answers.items():
        out.append({
            "rota": rid, "at": iso_z(at),
            "on_duty": [{"id": pid, "name": people[pid].name if pid in people else pid,
                         "phone": people[pid].phone if pid in people else None}
                        for pid in answer.people],
            "until": iso_z(answer.until),
        })
    return out


def shift_entries(session: Session, rota_id: str, start: datetime, end: datetime) -> list[dict]:
    """Merged segments of a rota over [start, end)."""
    rotas = load_rotas(session, [rota_id])
    if rota_id not in rotas:
        raise UnknownRota(rota_id)
    return [{"start": iso_z(s.start), "end": iso_z(s.end), "on_duty": list(s.people)}
            for s in shifts(rotas[rota_id], start, end)]


def gap_entries(session: Session, start: datetime, days: int) -> list[dict[str, Any]]:
    """Uncovered segments per rota and per policy step over `days` from `start`."""
    end = start + timedelta(days=days)
    rotas = load_rotas(session)
    out: list[dict[str, Any]] = []
    for rid, rota in rotas.items():
        out += [{"rota": rid, "start": iso_z(g.start), "end": iso_z(g.end)}
                for g in gaps(rota, start, end)]
    for pid, policy in load_policies(session).items():
        out += [{"policy": pid, "step": g.step, "start": iso_z(g.start), "end": iso_z(g.end)}
                for g in policy_gaps(policy, rotas, start, end)]
    return out
