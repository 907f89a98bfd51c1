"""Busy awareness: who is on a live hotline call now, so that a second call rings someone else.

A person is **on a live hotline call** when a leg of theirs on another call was accepted
(`screen == "accepted"`: bridged in dial mode; in conference mode the same screening admits
them to the conference) and neither that leg nor its call has ended. `live_calls` is the one
query that says so; every mode uses it. A lost final callback cannot keep someone busy for
ever: a call that started more than `store.STALE_AFTER` ago does not count.

The rule a step follows (`leave_out_busy`): a busy responder is left out of a <Dial> while
anyone else of the step is free; when every responder of the step is busy, they are rung
anyway, and the whisper tells them they are on another hotline call.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceline.calls.store import STALE_AFTER
from voiceline.models.calls import Call, CallLeg


def live_calls(session: Session, person_ids: Iterable[str | None], *, at: datetime,
               other_than: int | None = None) -> dict[str, str]:
    """Of `person_ids`, those on a live hotline call (other than call id `other_than`), each
    with that call's CallSid. One query."""
    ids = sorted({pid for pid in person_ids if pid})
    if not ids:
        return {}
    query = (select(CallLeg.person_id, Call.sid).join(Call, Call.id == CallLeg.call_id)
             .where(CallLeg.person_id.in_(ids), CallLeg.screen == "accepted",
                    CallLeg.ended_at.is_(None), Call.ended_at.is_(None),
                    Call.started_at > at - STALE_AFTER)
             .order_by(CallLeg.id))
    if other_than is not None:
        query = query.where(CallLeg.call_id != other_than)
    found: dict[str, str] = {}
    for person_id, sid in session.execute(query):
        if person_id:  # (the query asks for people only; typed Optional)
            found.setdefault(person_id, sid)
    return found


@dataclass(frozen=True)
class Choice:
    """Whom of a <Dial>'s responders to ring, and the busy ones left out or rung anyway."""

    ring: list[str]
    skipped: dict[str, str] = field(default_factory=dict)  # person -> the CallSid they are on
    anyway: dict[str, str] = field(default_factory=dict)


def leave_out_busy(session: Session, call: Call, ring: list[str], step: list[str],
                   at: datetime) -> Choice:
    """Of `ring` (responders of one <Dial> of a step whose responders are `step`), leave out
    the busy ones while anyone of the step is free; if nobody of the step is, ring them all."""
    busy = live_calls(session, [*ring, *step], at=at, other_than=call.id)
    if not busy:
        return Choice(list(ring))
    if any(person not in busy for person in step):
        return Choice([p for p in ring if p not in busy], {p: busy[p] for p in ring if p in busy})
    return Choice(list(ring), anyway={p: busy[p] for p in ring if p in busy})


def skipped_sentence(name: str) -> str:
    """The timeline's words for a responder left out: "skipped Bob: on another hotline call"."""
    return f"skipped {name}: on another hotline call"


def anyway_sentence(names: list[str]) -> str:
    """The timeline's words for busy responders rung because nobody else of the step was free."""
    return (f"rang {', '.join(names)} although on another hotline call: nobody else of the step "
            "is free")
