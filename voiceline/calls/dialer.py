"""The calls-per-second pace of conference mode, shared by every worker and server.

Twilio queues REST-created calls beyond the account's CPS (1 by default): a second responder
placed in the same second would ring a second later anyway, and a burst of hotline calls would
queue behind each other unseen. So each calls.create takes a slot first: the one `call_pacing`
row holds the next free instant, moved on by 1/CPS seconds with a compare-and-set UPDATE (no
row locks, the same on SQLite and PostgreSQL), so any number of gunicorn workers and servers
together keep to the limit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from voiceline.models.calls import CallPacing

PACE = "calls"
MAX_RETRIES = 3  # a 429 or a network failure of calls.create: tried again at the next slots


class RestFailure(Exception):
    """Twilio's REST API refused or could not be reached; `again` when trying later may help."""

    def __init__(self, reason: str, again: bool) -> None:
        super().__init__(reason)
        self.reason, self.again = reason, again


class Rest(Protocol):
    """The three REST calls conference mode makes."""

    def create_call(self, *, to: str, from_: str, url: str, status_url: str, timeout: int) -> str:
        """Call `to`; Twilio fetches `url` when answered. Returns the CallSid."""

    def end_call(self, sid: str, status: str) -> None:
        """canceled (still ringing) or completed (answered)."""

    def redirect_call(self, sid: str, url: str) -> None:
        """Give a live call new TwiML from `url`."""


def _interval(cps: float) -> timedelta:
    return timedelta(seconds=1 / max(cps, 0.01))


def reserve(session: Session, now: datetime, cps: float, only_now: bool = False) -> datetime | None:
    """Book the next calls.create slot; its instant (>= now). With `only_now`, book it only when
    it is free at `now` (None otherwise). Commits its own short transaction."""
    for _ in range(100):
        row = session.get(CallPacing, PACE, populate_existing=True)
        if row is None:
            try:
                with session.begin_nested():
                    session.add(CallPacing(name=PACE, next_at=now + _interval(cps)))
                session.commit()
                return now
            except IntegrityError:
                session.rollback()
                continue
        old = row.next_at
        slot = max(now, old)
        if only_now and slot > now:
            session.rollback()
            return None
        moved = session.execute(update(CallPacing).where(CallPacing.name == PACE, CallPacing.next_at == old)
                                .values(next_at=slot + _interval(cps))
                                .execution_options(synchronize_session=False))
        session.commit()
        if getattr(moved, "rowcount", 0) == 1:
            return slot
    return now  # contention beyond reason: Twilio queues beyond the CPS, the call still goes
