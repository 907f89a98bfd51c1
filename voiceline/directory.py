"""Directory look-ups shared by the call flow, the clock work and the UI."""

from __future__ import annotations

from sqlalchemy import select
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
    phone = session.scalar(select(m.CallerPhone).where(m.CallerPhone.number == e164))
    if phone is None or not phone.caller.active:
        return None
    return phone.caller


def hotline_by_number(session: Session, e164: str | None) -> m.Hotline | None:
    """The hotline dialled at this E.164 number, if any."""
    if not e164:
        return None
    return session.scalar(select(m.Hotline).where(m.Hotline.number == e164))
