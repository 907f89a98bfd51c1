"""Tell people when the rota changes under them.

An edit calls `watch_rotas(session, rota_ids, days)` before it changes anything: that
records, with the rota engine, who covers what in those rotas over the next `days`. When
the session commits, the same is computed again and every person whose coverage changed
gets one SMS for the whole edit, e.g. "You now cover Sat 5 Dec 20:00–Sun 08:00
(Europe/Moscow) in Backup; you no longer cover Tue 8 Dec (Europe/Moscow) in Backup".
The outbox key is `rotachange:<edit>:<person>` (the edit's audit entry), so each edit tells
each person once, in the edit's own transaction: a rolled-back edit tells nobody.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from voiceline import models as m
from voiceline.instants import utcnow
from voiceline.models.shared import AuditEntry
from voiceline.oncall.store import load_rotas
from voiceline.outbox.queue import enqueue
from voiceline.phones import try_e164
from voiceline.rota import load_zone, shifts
from voiceline.rota.model import merge_ranges

INFO_KEY = "voiceline.rota_change"
MAX_ITEMS = 4  # ranges listed per rota and kind of change; the rota page shows them all
Cover = dict[tuple[str, str], list[tuple[datetime, datetime]]]  # (person, rota) -> ranges


@dataclass
class _Watch:
    rotas: set[str] | None  # None: every rota
    start: datetime
    end: datetime
    before: Cover
    existing: set[str]  # rotas that existed before the edit: a new rota changes nothing "under" anyone




def coverage_of(session: Session, rota_ids: Iterable[str] | None, start: datetime,
                end: datetime) -> Cover:
    """Who covers which ranges of [start, end), per person and rota (the engine's answer)."""
    cover: dict[tuple[str, str], list[tuple[datetime, datetime]]] = {}
    for rota_id, rota in load_rotas(session, rota_ids).items():
        for seg in shifts(rota, start, end):
            for person in seg.people:
                cover.setdefault((person, rota_id), []).append((seg.start, seg.end))
    return {key: merge_ranges(ranges) for key, ranges in cover.items()}


def subtract(a: list[tuple[datetime, datetime]],
             b: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """The parts of ranges `a` outside ranges `b` (both merged and sorted)."""
    out = []
    for lo, hi in a:
        cursor = lo
        for b_lo, b_hi in b:
            if b_hi <= cursor or b_lo >= hi:
                continue
            if b_lo > cursor:
                out.append((cursor, b_lo))
            cursor = max(cursor, b_hi)
        if cursor < hi:
            out.append((cursor, hi))
    return out


def changes(before: Cover, after: Cover) -> dict[str, list[tuple[str, str, datetime, datetime]]]:
    """Per person: (rota, "now" | "no longer", start, end), in time order."""
    out: dict[str, list[tuple[str, str, datetime, datetime]]] = {}
    for person, rota in sorted(set(before) | set(after)):
        old, new = before.get((person, rota), []), after.get((person, rota), [])
        items = [(rota, "now", lo, hi) for lo, hi in subtract(new, old)]
        items += [(rota, "no longer", lo, hi) for lo, hi in subtract(old, new)]
        if items:
            out.setdefault(person, []).extend(items)
    for items in out.values():
        items.sort(key=lambda i: (i[2], i[1]))
    return out


def describe_range(start: datetime, end: datetime, zone_name: str) -> str:
    """'Sat 5 Dec 20:00–Sun 08:00', 'Tue 8 Dec' (a whole local day) or 'Tue 8 Dec–Thu 10 Dec'."""
    zone = load_zone(zone_name)
    lo, hi = start.astimezone(zone), end.astimezone(zone)

    def day(d: datetime) -> str:
        return f"{d:%a} {d.day} {d:%b}"
    if lo.time() == time(0) and hi.time() == time(0):
        last = hi - timedelta(days=1)
        return day(lo) if last.date() == lo.date() else f"{day(lo)}–{day(last)}"
    until = f"{hi:%H:%M}" if hi.date() == lo.date() else f"{hi:%a} {hi:%H:%M}"
    if (hi.date() - lo.date()).days > 6:
        until = f"{day(hi)} {hi:%H:%M}"
    return f"{day(lo)} {lo:%H:%M}–{until}"


def message(person: m.Person, items: list[tuple[str, str, datetime, datetime]],
            rotas: dict[str, m.Rota]) -> str:
    """One SMS summarising an edit's changes for one person, in their zone (else the rota's):
    "voiceline: rota Backup changed. You now cover Sat 5 Dec 20:00–Sun 08:00 (Europe/Moscow);
    you no longer cover Tue 8 Dec (Europe/Moscow)."."""
    sentences = []
    for rota_id in dict.fromkeys(i[0] for i in items):
        row = rotas.get(rota_id)
        zone = person.timezone or (row.timezone if row is not None else "UTC")
        name = (row.name or rota_id) if row is not None else rota_id
        clauses = []
        for how in ("now", "no longer"):
            spans = [describe_range(lo, hi, zone) for r, h, lo, hi in items if r == rota_id and h == how]
            if not spans:
                continue
            shown = ", ".join(spans[:MAX_ITEMS])
            if len(spans) > MAX_ITEMS:
                shown += f" and {len(spans) - MAX_ITEMS} more"
            clauses.append(f"you {how} cover {shown} ({zone})")
        text = "; ".join(clauses)
        sentences.append(f"Rota {name} changed. {text[:1].upper()}{text[1:]}.")
    return "voiceline: " + " ".join(sentences)


def watch_rotas(session: Session, rota_ids: Iterable[str] | None, days: int, *,
                at: datetime | None = None) -> None:
    """Before an edit: record who covers what over the next `days` (0: tell nobody).

    Several calls in one transaction widen the watch (the first snapshot of each rota stays).
    """
    if days <= 0:
        return
    start = at or utcnow()
    wanted = None if rota_ids is None else set(rota_ids)
    session.flush()
    watch: _Watch | None = session.info.get(INFO_KEY)
    if watch is None:
        end = start + timedelta(days=days)
        session.info[INFO_KEY] = _Watch(wanted, start, end, coverage_of(session, wanted, start, end),
                                        set(session.scalars(select(m.Rota.id))))
        return
    if watch.rotas is None or (wanted is not None and wanted <= watch.rotas):
        return
    extra = None if wanted is None else wanted - watch.rotas
    more = coverage_of(session, extra, watch.start, watch.end)
    watch.before.update({k: v for k, v in more.items() if k not in watch.before})
    watch.existing |= set(session.scalars(select(m.Rota.id)))
    watch.rotas = None if wanted is None else watch.rotas | wanted


def _tell(session: Session, watch: _Watch) -> int:
    session.flush()
    session.expire_all()  # read the edit back from the database, relationships included
    after = {key: ranges for key, ranges in
             coverage_of(session, watch.rotas, watch.start, watch.end).items()
             if key[1] in watch.existing}
    found = changes(watch.before, after)
    if not found:
        return 0
    edit = session.scalar(select(func.max(AuditEntry.id)))
    edit_key = str(edit) if edit is not None else uuid.uuid4().hex
    rotas = {r.id: r for r in session.scalars(select(m.Rota))}
    sent = 0
    for person_id, items in found.items():
        person = session.get(m.Person, person_id)
        number = try_e164(person.phone) if person is not None and person.active else None
        if person is None or not number:
            continue
        _, created = enqueue(session, key=f"rotachange:{edit_key}:{person_id}", kind="sms",
                             recipient=number, body=message(person, items, rotas),
                             purpose="rota_change", meta={"edit": edit_key})
        sent += created
    return sent


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    watch = session.info.pop(INFO_KEY, None)
    if watch is not None:
        _tell(session, watch)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the edit's own transaction, not a savepoint
        session.info.pop(INFO_KEY, None)
