"""Directory look-ups shared by the call flow, the clock work and the UI."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from voiceline import models as m


def people_with_role(session: Session, role: str) -> list[m.Person]:
    """Active people holding `role` ("manager" or "supervisor"), by id."""
    people = session.scalars(select(m.Person).where(m.Person.active.is_(True)).order_by(m.Person.id))
    return [p for p in people if role in (p.roles or [])]


def caller_by_number(session: Session, e164: str | None) -> m.Caller | None:
    """The active caller owning this E.164 number, if any."""
    if not e164:
        return None
    return session.scalar(_CALLER_BY_NUMBER, {"number": e164})


def hotline_by_number(session: Session, e164: str | None) -> m.Hotline | None:
    """The hotline dialled at this E.164 number, if any."""
    if not e164:
        return None
    return session.scalar(_HOTLINE_BY_NUMBER, {"number": e164})


# Built once: both are on every incoming call (one statement each, compiled once per process).
_CALLER_BY_NUMBER = (select(m.Caller).join(m.CallerPhone, m.CallerPhone.caller_id == m.Caller.id)
                     .where(m.CallerPhone.number == bindparam("number"), m.Caller.active.is_(True)))
_HOTLINE_BY_NUMBER = select(m.Hotline).where(m.Hotline.number == bindparam("number"))
