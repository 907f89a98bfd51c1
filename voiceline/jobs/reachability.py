"""Reachability checks: call the incoming responder before a handoff; no 1 pressed, tell the managers."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from voiceline import models as m
from voiceline.calls.twiml import reachability_call
from voiceline.jobs.duty import upcoming_starts
from voiceline.jobs.handoffs import RotaView
from voiceline.jobs.messages import alert_managers, local_time, make_key, person_zone, queue
from voiceline.jobs.settings import JobSettings
from voiceline.models.jobs import ReachabilityCheck

log = logging.getLogger(__name__)
OPEN = ("pending", "held", "calling")


def queue_checks(session: Session, settings: JobSettings, rota: RotaView,
                 people: dict[str, m.Person], at: datetime, confirm_url: Callable[[int], str]) -> int:
    """Queue a reachability call for every shift of `rota` starting within its reachability_minutes;
    `confirm_url(check_id)` is the public URL its <Gather> posts the digit to."""
    minutes = rota.row.reachability_minutes
    if not minutes or minutes <= 0:
        return 0
    created = 0
    for pid, start in upcoming_starts(rota.compiled, at, timedelta(minutes=minutes)):
        person = people.get(pid)
        if person is None or not person.active:
            continue
        key = make_key("reach", rota.row.id, pid, start)
        check = ReachabilityCheck(rota_id=rota.row.id, person_id=pid, shift_start=start,
                                  created_at=at, outbox_key=key)
        try:
            with session.begin_nested():
                session.add(check)
        except IntegrityError:
            continue  # this shift's check exists (earlier or concurrent tick)
        if not settings.public_url:
            check.status = "skipped"
            check.error = "VOICELINE_PUBLIC_URL is not set: Twilio could not post the answer back"
            log.warning("reachability check %s skipped: %s", check.id, check.error)
            continue
        zone = person_zone(person, rota.row.timezone)
        fragment = f"#{settings.connection_overrides}" if settings.connection_overrides else ""
        twiml = reachability_call(person.languages[0] if person.languages else None,
                                  confirm_url(check.id) + fragment, rota.label,
                                  local_time(start, zone))
        queue(session, key=key, kind="call", recipient=person.phone, body=str(twiml),
              purpose="reachability", at=at, expires_at=start,
              meta={"reachability_check": check.id, "rota": rota.row.id, "person": pid})
        created += 1
    return created


def _alert(session: Session, check: ReachabilityCheck, people: dict[str, m.Person],
           rotas: dict[str, m.Rota], why: str, at: datetime) -> None:
    person = people.get(check.person_id)
    rota = rotas.get(check.rota_id)
    name = person.name if person else check.person_id
    label = (rota.name or rota.id) if rota else check.rota_id
    zone = rota.timezone if rota else "UTC"
    alert_managers(
        session, key=make_key("reach-alert", check.id), purpose="reachability", at=at,
        text=lambda manager: (f"voiceline: {name} did not confirm reachability for {label} "
                              f"(shift at {local_time(check.shift_start, manager.timezone, zone)}): "
                              f"{why}."))
    check.alerted_at = at


def follow_up(session: Session, settings: JobSettings, at: datetime) -> Counter:
    """Move open checks on from their call's outbox state; alert on failure or silence."""
    counts: Counter = Counter()
    checks = list(session.scalars(select(ReachabilityCheck).where(ReachabilityCheck.status.in_(OPEN))))
    if not checks:
        return counts
    people = {p.id: p for p in session.scalars(select(m.Person))}
    rotas = {r.id: r for r in session.scalars(select(m.Rota))}
    for check in checks:
        message = session.scalar(select(m.OutboxMessage).where(m.OutboxMessage.key == check.outbox_key))
        if message is None:
            continue  # queued by a transaction that has not committed yet
        if message.status in ("held", "pending", "sending"):
            check.status = "held" if message.status == "held" else "pending"
            continue  # held: nothing leaves, so no alert can either; pending: still retrying
        if message.status == "failed":
            check.status, check.error = "failed", message.last_error
            if message.last_error != "expired before it could be sent":
                _alert(session, check, people, rotas, f"the call could not be placed ({message.last_error})", at)
            counts["failed"] += 1
            continue
        check.status, check.placed_at = "calling", message.sent_at or at
        if at - check.placed_at >= settings.reachability_timeout:
            check.status = "unconfirmed"
            minutes = int(settings.reachability_timeout.total_seconds() // 60)
            _alert(session, check, people, rotas, f"no 1 pressed within {minutes} minutes", at)
            counts["unconfirmed"] += 1
    return counts


def confirm(session: Session, check: ReachabilityCheck, call_sid: str | None, at: datetime) -> bool:
    """Record the responder's 1; tell the managers when they had already been alerted."""
    if check.confirmed_at is not None:
        return False
    check.confirmed_at, check.status = at, "confirmed"
    check.call_sid = call_sid or check.call_sid
    if check.alerted_at is not None:
        person = session.get(m.Person, check.person_id)
        name = person.name if person else check.person_id
        alert_managers(session, key=make_key("reach-late", check.id), purpose="reachability", at=at,
                       text=f"voiceline: {name} has now confirmed reachability for rota {check.rota_id}.")
    return True
