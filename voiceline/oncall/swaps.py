"""Swaps: offer a range of one's duty (to one person or to anyone), take it, and where the
rota asks for it, a rota manager's approval. Shared by the web UI and the API.

A taken swap is a replace override (checked and written under the rota's lock). On a rota
with `swap_approval`, taking puts the swap in the approval queue (`pending`); the override
is written only when a rota manager approves it. The offerer, the person it is offered to
and the taker are told by SMS (the outbox, one message per event and person: key
`swap:<id>:<event>:<person>`) when an offer is made, taken, approved or refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceline import audit
from voiceline import models as m
from voiceline.instants import iso_z
from voiceline.oncall.edit import lock_rota, override_problems
from voiceline.oncall.rules import PAST_WORDS, starts_in_the_past
from voiceline.oncall.store import rota_to_engine
from voiceline.outbox.queue import enqueue
from voiceline.phones import try_e164
from voiceline.rota import load_zone, shifts

OPEN, PENDING, TAKEN, REFUSED, CANCELLED = "open", "pending", "taken", "refused", "cancelled"
PICK_DAYS = 28  # the offerer's own shifts listed to pick from


class SwapProblem(ValueError):
    """A swap action refused: `field` (rota, person, offered_to, start, end, status) and why."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


@dataclass(frozen=True)
class OwnShift:
    """One stretch of a person's duty in a rota, to offer whole."""

    rota: str
    start: datetime
    end: datetime


def own_shifts(session: Session, person: str, at: datetime, days: int = PICK_DAYS) -> list[OwnShift]:
    """The person's shifts (merged stretches on duty) in every rota over the coming days."""
    out = []
    for row in session.scalars(select(m.Rota).order_by(m.Rota.id)):
        rota = rota_to_engine(row)
        stretch: tuple[datetime, datetime] | None = None
        for seg in shifts(rota, at, at + timedelta(days=days)):
            if person not in seg.people:
                continue
            if stretch is not None and stretch[1] == seg.start:
                stretch = (stretch[0], seg.end)
            else:
                if stretch is not None:
                    out.append(OwnShift(row.id, *stretch))
                stretch = (seg.start, seg.end)
        if stretch is not None:
            out.append(OwnShift(row.id, *stretch))
    return sorted(out, key=lambda s: (s.start, s.rota))


def shift_at(session: Session, rota_id: str, person: str, at: datetime) -> OwnShift | None:
    """The person's whole shift (merged stretch on duty) in a rota that holds `at`, if any."""
    row = session.get(m.Rota, rota_id)
    if row is None:
        return None
    reach = timedelta(days=62)
    stretch: tuple[datetime, datetime] | None = None
    for seg in shifts(rota_to_engine(row), at - reach, at + reach):
        if person not in seg.people:
            if stretch is not None and stretch[0] <= at < stretch[1]:
                break
            stretch = None
            continue
        stretch = (stretch[0], seg.end) if stretch is not None and stretch[1] == seg.start \
            else (seg.start, seg.end)
    if stretch is None or not stretch[0] <= at < stretch[1]:
        return None
    return OwnShift(rota_id, *stretch)


def _when(instant: datetime, person: m.Person | None, rota_zone: str) -> str:
    zone = load_zone((person.timezone if person is not None and person.timezone else None) or rota_zone)
    return instant.astimezone(zone).strftime("%a %d %b %H:%M %Z")


def _tell(session: Session, swap: m.Swap, event: str, person_id: str | None, text: str) -> None:
    person = session.get(m.Person, person_id) if person_id else None
    if person is None or not person.active or not try_e164(person.phone):
        return
    rota = session.get(m.Rota, swap.rota_id)
    zone = rota.timezone if rota is not None else "UTC"
    span = f"{_when(swap.start, person, zone)} to {_when(swap.end, person, zone)}"
    enqueue(session, key=f"swap:{swap.id}:{event}:{person.id}", kind="sms",
            recipient=try_e164(person.phone) or person.phone,
            body=f"voiceline swap {swap.id} ({swap.rota_id}, {span}): {text}", purpose="swap",
            meta={"swap": swap.id, "event": event})


def _name(session: Session, person_id: str | None) -> str:
    person = session.get(m.Person, person_id) if person_id else None
    return person.name if person is not None else (person_id or "someone")


def offer(session: Session, *, rota_id: str, offered_by: str, start: datetime, end: datetime,
          at: datetime, actor: str, offered_to: str | None = None, note: str = "") -> m.Swap:
    """Offer [start, end) of `offered_by`'s duty in a rota, to one person or (None) to anyone."""
    rota = session.get(m.Rota, rota_id)
    if rota is None:
        raise SwapProblem("rota", f"no rota {rota_id!r}")
    if session.get(m.Person, offered_by) is None:
        raise SwapProblem("person", f"unknown person {offered_by!r}")
    if offered_to is not None:
        if session.get(m.Person, offered_to) is None:
            raise SwapProblem("offered_to", f"unknown person {offered_to!r}")
        if offered_to == offered_by:
            raise SwapProblem("offered_to", "an offer to oneself")
    if end <= start:
        raise SwapProblem("end", "must be after the start")
    if end <= at:
        raise SwapProblem("end", "this range is over already")
    if starts_in_the_past(start, at):
        raise SwapProblem("start", f"{start:%Y-%m-%d %H:%MZ} {PAST_WORDS}; offer from now on")
    if not any(offered_by in s.people for s in shifts(rota_to_engine(rota), start, end)):
        raise SwapProblem("start", f"{offered_by} is not on duty in {rota.id} in this range")
    swap = m.Swap(rota_id=rota.id, offered_by=offered_by, offered_to=offered_to, start=start,
                  end=end, status=OPEN, note=note.strip())
    session.add(swap)
    session.flush()
    audit.record(session, actor, "swap.offer", f"swap {swap.id}", after={
        "rota": rota.id, "offered_by": offered_by, "offered_to": offered_to, "start": start,
        "end": end})
    to = f"to {_name(session, offered_to)}" if offered_to else "to anyone in the rota"
    _tell(session, swap, "offered", offered_by, f"your offer {to} is open.")
    if offered_to:
        _tell(session, swap, "offered", offered_to,
              f"{_name(session, offered_by)} offers you this duty. Take it on the Swaps page.")
    return swap


def _write_override(session: Session, swap: m.Swap, taker: str, actor: str) -> m.Override:
    rota = lock_rota(session, swap.rota_id)  # check and write as one step
    assert rota is not None  # swaps.rota_id is a foreign key to rotas
    problems = override_problems(session, rota, kind="replace", person=taker,
                                 replaces=swap.offered_by, start=swap.start, end=swap.end)
    if problems:
        raise SwapProblem("person", "; ".join(problems.values()))
    override = m.Override(kind="replace", person_id=taker, replaces_id=swap.offered_by,
                          start=swap.start, end=swap.end, note=f"swap {swap.id}",
                          created_by=actor[:64])
    rota.overrides.append(override)
    session.flush()
    return override


def take_problems(session: Session, swap: m.Swap, taker: str) -> str | None:
    """Why `taker` cannot take the swap (None: they can)."""
    if swap.status != OPEN:
        return f"swap {swap.id} is {swap.status} already"
    if taker == swap.offered_by:
        return "the person who offered it cannot take it"
    if swap.offered_to is not None and taker != swap.offered_to:
        return f"swap {swap.id} is offered to {swap.offered_to} only"
    if session.get(m.Person, taker) is None:
        return f"unknown person {taker!r}"
    return None


def needs_approval(session: Session, swap: m.Swap) -> bool:
    """Whether the swap's rota asks a rota manager to approve swaps."""
    rota = session.get(m.Rota, swap.rota_id)
    return bool(rota is not None and rota.swap_approval)


def take(session: Session, swap: m.Swap, taker: str, *, at: datetime, actor: str) -> m.Swap:
    """Take an open offer: the override at once, or into the approval queue (`pending`)."""
    problem = take_problems(session, swap, taker)
    if problem:
        raise SwapProblem("status" if swap.status != OPEN else "person", problem)
    if starts_in_the_past(swap.start, at):
        raise SwapProblem("person", f"this swap began {swap.start:%Y-%m-%d %H:%MZ}, which "
                                    f"{PAST_WORDS}; the offerer can withdraw it and offer the rest")
    if swap.end <= at:
        raise SwapProblem("status", f"swap {swap.id} is over already")
    if needs_approval(session, swap):
        rota = lock_rota(session, swap.rota_id)
        assert rota is not None
        problems = override_problems(session, rota, kind="replace", person=taker,
                                     replaces=swap.offered_by, start=swap.start, end=swap.end)
        if problems:
            raise SwapProblem("person", "; ".join(problems.values()))
        swap.status, swap.taken_by = PENDING, taker
        audit.record(session, actor, "swap.take", f"swap {swap.id}", before={"status": OPEN},
                     after={"status": PENDING, "taken_by": taker})
        _tell(session, swap, "taken", swap.offered_by,
              f"{_name(session, taker)} takes it; a rota manager must approve.")
        _tell(session, swap, "taken", taker, "you take it; a rota manager must approve.")
        return swap
    override = _write_override(session, swap, taker, actor)
    swap.status, swap.taken_by, swap.override_id = TAKEN, taker, override.id
    audit.record(session, actor, "swap.take", f"swap {swap.id}", before={"status": OPEN},
                 after={"status": TAKEN, "taken_by": taker, "override": override.id})
    _tell(session, swap, "taken", swap.offered_by, f"{_name(session, taker)} takes it; it is in the rota.")
    _tell(session, swap, "taken", taker, "you take it; it is in the rota.")
    return swap


def decide(session: Session, swap: m.Swap, *, approve: bool, at: datetime, actor: str) -> m.Swap:
    """A rota manager approves (the override is written) or refuses a pending swap."""
    if swap.status != PENDING:
        raise SwapProblem("status", f"swap {swap.id} is {swap.status}, not waiting for approval")
    assert swap.taken_by is not None  # pending swaps have a taker
    if approve:
        if swap.end <= at:
            raise SwapProblem("status", f"swap {swap.id} is over already")
        override = _write_override(session, swap, swap.taken_by, actor)
        swap.status, swap.override_id = TAKEN, override.id
    else:
        swap.status = REFUSED
    swap.decided_by, swap.decided_at = actor[:64], at
    event = "approved" if approve else "refused"
    audit.record(session, actor, f"swap.{'approve' if approve else 'refuse'}", f"swap {swap.id}",
                 before={"status": PENDING},
                 after={"status": swap.status, "override": swap.override_id})
    words = "approved: it is in the rota." if approve else "refused: the rota stays as it was."
    _tell(session, swap, event, swap.offered_by, words)
    _tell(session, swap, event, swap.taken_by, words)
    return swap


def cancel(session: Session, swap: m.Swap, *, actor: str) -> bool:
    """Withdraw an open (or still pending) offer; False when it was no longer open."""
    if swap.status not in (OPEN, PENDING):
        return False
    before = swap.status
    swap.status = CANCELLED
    audit.record(session, actor, "swap.cancel", f"swap {swap.id}", before={"status": before},
                 after={"status": CANCELLED})
    return True


def swap_json(swap: m.Swap) -> dict:
    """The API's shape of a swap."""
    return {"id": swap.id, "rota": swap.rota_id, "offered_by": swap.offered_by,
            "offered_to": swap.offered_to, "taken_by": swap.taken_by, "start": iso_z(swap.start),
            "end": iso_z(swap.end), "status": swap.status, "override": swap.override_id,
            "note": swap.note, "decided_by": swap.decided_by, "decided_at": iso_z(swap.decided_at)}
