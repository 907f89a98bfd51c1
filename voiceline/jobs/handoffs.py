"""On-duty history, handoff messages and pre-shift reminders.

Every key derives from the shift (rota, person, the shift's start instant), never from
the tick, so a late, repeated or concurrent tick queues the same single message.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from voiceline import models as m
from voiceline.jobs.duty import run_end, run_start, upcoming_starts
from voiceline.jobs.messages import local_time, make_key, person_zone, queue
from voiceline.jobs.settings import JobSettings
from voiceline.models.jobs import DutyRecord
from voiceline.rota import CompiledRota

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RotaView:
    """A rota as the tick sees it: the stored row (name, options) and the compiled engine value."""

    row: m.Rota
    compiled: CompiledRota

    @property
    def label(self) -> str:
        return self.row.name or self.row.id


def _active(people: dict[str, m.Person], pid: str) -> m.Person | None:
    person = people.get(pid)
    return person if person is not None and person.active else None


def _open_record(session: Session, rota_id: str, pid: str, start: datetime,
                 at: datetime) -> tuple[DutyRecord, bool]:
    """The history row of this shift, created if new; concurrent ticks create it once."""
    query = select(DutyRecord).where(DutyRecord.rota_id == rota_id, DutyRecord.person_id == pid,
                                     DutyRecord.start == start)
    record = session.scalar(query)
    if record is not None:
        record.end, record.ended_seen_at = None, None  # an edit put them back on this shift
        return record, False
    record = DutyRecord(rota_id=rota_id, person_id=pid, start=start, seen_at=at)
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        return session.scalars(query).one(), False  # the concurrent insert that won
    return record, True


def sync_history(session: Session, settings: JobSettings, rota: RotaView,
                 people: dict[str, m.Person], at: datetime) -> Counter:
    """Record starts and ends of duty in `rota` as of `at`; queue handoff messages for fresh ones."""
    counts: Counter = Counter()
    compiled = rota.compiled
    current = list(dict.fromkeys(compiled.people_at(at)))
    open_rows = {r.person_id: r for r in session.scalars(
        select(DutyRecord).where(DutyRecord.rota_id == rota.row.id, DutyRecord.end.is_(None)))}

    for pid in current:
        if pid in open_rows:
            continue
        start = run_start(compiled, pid, at)
        record, created = _open_record(session, rota.row.id, pid, start or at, at)
        counts["started"] += created
        if start is None or at - start > settings.handoff_stale:
            continue  # e.g. the scheduler was down for a day: history yes, a stale message no
        person = _active(people, pid)
        if person is None:
            continue
        until = run_end(compiled, pid, start)
        zone = person_zone(person, rota.row.timezone)
        _, new = queue(
            session, key=make_key("handoff", rota.row.id, pid, start), kind="sms",
            recipient=person.phone, purpose="handoff", at=at, expires_at=until,
            body=f"voiceline: you are on duty for {rota.label} until {local_time(until, zone)}.",
            meta={"rota": rota.row.id, "person": pid, "shift_start": start.isoformat()})
        record.announced = True
        counts["announced"] += new

    for pid, record in open_rows.items():
        if pid in current:
            continue
        end = run_end(compiled, pid, record.start, horizon=max(at - record.start, timedelta(0)))
        record.end, record.ended_seen_at = end or at, at
        counts["ended"] += 1
        person = _active(people, pid)
        if not rota.row.notify_outgoing or person is None or at - record.end > settings.handoff_stale:
            continue
        successors = [people[p].name if p in people else p for p in compiled.people_at(record.end)]
        zone = person_zone(person, rota.row.timezone)
        _, new = queue(
            session, key=make_key("handoff-end", rota.row.id, pid, record.start), kind="sms",
            # Old news once the stale cutoff has passed (e.g. held for days without credentials).
            recipient=person.phone, purpose="handoff", at=at,
            expires_at=record.end + settings.handoff_stale,
            body=(f"voiceline: your duty for {rota.label} ended at {local_time(record.end, zone)}. "
                  f"Now on duty: {', '.join(successors) or 'NOBODY'}."),
            meta={"rota": rota.row.id, "person": pid, "shift_start": record.start.isoformat()})
        counts["announced_end"] += new
    return counts


def reminder_leads(people: dict[str, m.Person]) -> dict[str, timedelta]:
    """How long before their shift each active person wants a reminder (those who want one)."""
    return {pid: timedelta(minutes=p.reminder_minutes) for pid, p in people.items()
            if p.active and p.reminder_minutes and p.reminder_minutes > 0}


def open_duty(session: Session) -> dict[str, set[str]]:
    """Who has an open history row, per rota: one query for every rota."""
    out: dict[str, set[str]] = {}
    for rota_id, pid in session.execute(select(DutyRecord.rota_id, DutyRecord.person_id)
                                        .where(DutyRecord.end.is_(None))):
        out.setdefault(rota_id, set()).add(pid)
    return out


def queue_reminders(session: Session, rota: RotaView, people: dict[str, m.Person],
                    at: datetime, lead: dict[str, timedelta] | None = None) -> int:
    """Queue each person's pre-shift reminder once, reminder_minutes before their shift starts.

    `lead` is reminder_leads(people), which a tick computes once for all its rotas."""
    lead = reminder_leads(people) if lead is None else lead
    if not lead:
        return 0
    created = 0
    for pid, start in upcoming_starts(rota.compiled, at, max(lead.values())):
        if pid not in lead or start - at > lead[pid]:
            continue
        person = people[pid]
        zone = person_zone(person, rota.row.timezone)
        until = run_end(rota.compiled, pid, start)
        _, new = queue(
            session, key=make_key("reminder", rota.row.id, pid, start), kind="sms",
            recipient=person.phone, purpose="reminder", at=at, expires_at=start,
            body=(f"voiceline reminder: you go on duty for {rota.label} at "
                  f"{local_time(start, zone)} until {local_time(until, zone)}."),
            meta={"rota": rota.row.id, "person": pid, "shift_start": start.isoformat()})
        created += new
    return created
