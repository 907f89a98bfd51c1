"""On-duty answers as JSON-ready values, shared by the CLI and the API."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceline import models as m
from voiceline.rota import gaps, on_duty, policy_gaps, shifts
from voiceline.rota_store import load_policies, load_rotas


class UnknownRota(LookupError):
    """No rota with that id."""


# The instants the house accepts from outside (query strings, forms, the CLI). Wide enough for
# any real call log or rota, narrow enough that every range built from them (+ days, a zone's
# offset, a rota's shifts) stays far from datetime's year 1 and year 9999 edges.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)  # exclusive


class InstantRangeError(ValueError):
    """A well-formed date or time outside [EARLIEST, LATEST); its message says the range."""

    def __init__(self, text: str):
        super().__init__(f"{text!r} is out of range: from {EARLIEST:%Y-%m-%d} to "
                         f"{LATEST - timedelta(days=1):%Y-%m-%d} (UTC)")


def iso_z(instant: datetime | None) -> str | None:
    """An instant as ISO 8601 UTC with a Z, seconds precision (the year always 4 digits)."""
    if instant is None:
        return None
    # Not strftime("%Y"): it does not zero-pad years before 1000 on every platform.
    return instant.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def bounded(value: datetime, text: str = "") -> datetime:
    """`value` (aware) as UTC when it lies in [EARLIEST, LATEST), else InstantRangeError."""
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise InstantRangeError(text or str(value)) from None
    if not EARLIEST <= value < LATEST:
        raise InstantRangeError(text or iso_z(value))
    return value


def local_day_start(day: date, zone: str | tzinfo, plus_days: int = 0) -> datetime:
    """The UTC instant a local day (plus `plus_days`) begins in `zone`; InstantRangeError outside
    the house's range."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    try:
        day = day + timedelta(days=plus_days)
    except OverflowError:
        raise InstantRangeError(day.isoformat()) from None
    return bounded(datetime.combine(day, time(0), tzinfo=tz), day.isoformat())


def parse_instant(text: str, default_zone: str | tzinfo = "UTC") -> datetime:
    """Parse ISO 8601; a value without offset is taken in `default_zone`. Returns aware UTC.

    ValueError when it is not ISO 8601; InstantRangeError (a ValueError) when it lies outside
    [EARLIEST, LATEST).
    """
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        zone = ZoneInfo(default_zone) if isinstance(default_zone, str) else default_zone
        value = value.replace(tzinfo=zone)
    return bounded(value, text.strip())


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
