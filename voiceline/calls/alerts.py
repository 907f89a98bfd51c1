"""Alerts the call flow queues for the people behind a hotline: duress, a caller without a PIN."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceline import directory, outbox
from voiceline.calls.context import Context
from voiceline.directory import people_with_role
from voiceline.models.calls import Call
from voiceline.models.directory import Caller, Person
from voiceline.models.web import User
from voiceline.phones import try_e164

log = logging.getLogger(__name__)

NO_DURESS_RECIPIENT = ("duress alerts have no recipient: no active supervisor with a valid phone "
                       "(they go to the managers and admins instead)")


def _reachable(people: list[Person]) -> list[Person]:
    return [p for p in people if p.active and try_e164(p.phone)]


def managers_and_admins(session: Session) -> list[Person]:
    """Active people who are managers, or whose active web account is an admin, by id."""
    found = {p.id: p for p in people_with_role(session, "manager")}
    admins = session.scalars(select(Person).join(User, User.person_id == Person.id)
                             .where(User.role == "admin", User.active.is_(True)))
    found.update({p.id: p for p in admins})
    return _reachable([found[pid] for pid in sorted(found)])


def duress_recipients(session: Session) -> tuple[list[Person], bool]:
    """Who a duress alert goes to: the supervisors; without any, the managers and admins
    (the second value is True then)."""
    supervisors = _reachable(people_with_role(session, "supervisor"))
    if supervisors:
        return supervisors, False
    return managers_and_admins(session), True


def queue_duress(ctx: Context, call: Call, caller: Caller) -> int:
    """Queue the silent duress alert (once per call and person); returns how many were queued."""
    people, instead = duress_recipients(ctx.session)
    if instead:
        log.warning("call %s: duress PIN entered but no active supervisor has a valid phone; "
                    "alerting %d manager(s)/admin(s) instead", call.sid, len(people))
    if not people:
        log.error("call %s: duress PIN entered and nobody at all can be alerted", call.sid)
    body = (f"voiceline DURESS: {caller.name} ({caller.org}) entered the duress PIN calling from "
            f"{call.from_number}. The call goes on as normal. {ctx.call_link(call.sid)}")
    count = 0
    for person in people:
        number = try_e164(person.phone)
        if number is None:
            continue  # nobody to text: the warning above already counts who can be
        _, created = outbox.enqueue(ctx.session, key=f"duress:{call.sid}:{person.id}", kind="sms",
                                    recipient=number, body=body, purpose="duress",
                                    meta={"call": call.sid, "instead_of_supervisors": instead})
        count += created
    return count


def queue_pin_not_set(ctx: Context, call: Call, caller: Caller) -> int:
    """Tell the managers (once per caller and day) that a registered caller without a PIN was refused."""
    hotline = directory.hotline(ctx.session, call.hotline_id) if call.hotline_id else None
    line = (hotline.name or hotline.number) if hotline else call.to_number
    body = (f"voiceline: {caller.name} ({caller.org}) called {line} from {call.from_number} at "
            f"{ctx.at:%Y-%m-%d %H:%M}Z and was turned away: no PIN is set. Set one with "
            f"`voiceline callers set-pin {caller.id}`. {ctx.call_link(call.sid)}")
    people = managers_and_admins(ctx.session)
    if not people:
        log.warning("call %s: caller %s has no PIN and there is no manager to tell", call.sid, caller.id)
    count = 0
    for person in people:
        number = try_e164(person.phone)
        if number is None:
            continue
        _, created = outbox.enqueue(ctx.session, key=f"pin_not_set:{caller.id}:{ctx.at:%Y-%m-%d}:{person.id}",
                                    kind="sms", recipient=number, body=body,
                                    purpose="pin_not_set", meta={"call": call.sid, "caller": caller.id})
        count += created
    return count
