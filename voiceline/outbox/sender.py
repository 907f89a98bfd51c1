"""The outbox sender: deliver due SMS and calls through Twilio's REST API, with retries.

Each message is claimed with a conditional UPDATE (pending/held -> sending), so two
senders never both send it. Errors that name a bad recipient fail the message at once;
anything else is retried with exponential backoff up to OUTBOX_MAX_ATTEMPTS. Without
credentials (or without a number to send from) messages are "held" and go out later.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker
from twilio.base.exceptions import TwilioRestException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from voiceline import models as m
from voiceline.db import rowcount, session_scope
from voiceline.instants import iso_z, parse_instant
from voiceline.jobs.settings import JobSettings
from voiceline.jobs.state import get_state, set_state

log = logging.getLogger(__name__)

# Twilio error codes that mean this recipient can never be reached this way: no retry.
RECIPIENT_ERRORS = frozenset({
    13223, 13224, 13225,  # voice: invalid / forbidden number
    21211, 21214, 21215, 21217, 21401, 21407, 21408, 21421,  # invalid, unreachable, no permission
    21610, 21612, 21614,  # unsubscribed, not reachable by SMS, not a mobile number
})
# Twilio refused the account itself (bad token, suspended account): hold, never fail, and pause.
CREDENTIAL_ERRORS = frozenset({20003, 20005})
CREDENTIAL_PAUSE = timedelta(minutes=10)
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(minutes=30)
SENDING_LEASE = timedelta(minutes=5)  # a claim older than this was interrupted (crash)
NO_CREDENTIALS = "held: Twilio credentials not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN)"
NO_SENDER = "held: no number to send from (set VOICELINE_SMS_FROM / VOICELINE_CALL_FROM or add a hotline)"


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after `attempts` failed ones: 30 s, 1, 2, 4 ... min, at most 30."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def twilio_client(settings: JobSettings, http_client: HttpClient | None = None) -> Client:
    """A REST client; `http_client` lets tests (and proxies) replace the transport."""
    transport = http_client or TwilioHttpClient(timeout=15)  # the default waits forever
    return Client(settings.account_sid, settings.auth_token, http_client=transport)


@dataclass(frozen=True)
class Outgoing:
    """What Twilio is asked to deliver, detached from the database session."""

    kind: str
    recipient: str
    body: str
    sender: str


def _deliver(client: Client, out: Outgoing) -> str:
    """Hand one message to Twilio; returns the provider SID."""
    if out.kind == "call":
        return client.calls.create(to=out.recipient, from_=out.sender, twiml=out.body).sid
    kwargs: dict[str, Any] = {"to": out.recipient, "body": out.body}
    if out.sender.startswith("MG"):
        kwargs["messaging_service_sid"] = out.sender
    else:
        kwargs["from_"] = out.sender
    return client.messages.create(**kwargs).sid


def _sender(session: Session, settings: JobSettings, message: m.OutboxMessage) -> str | None:
    meta = message.meta or {}
    configured = settings.call_from if message.kind == "call" else settings.sms_from
    if meta.get("from") or configured:
        return meta.get("from") or configured
    return session.scalar(select(m.Hotline.number).order_by(m.Hotline.id).limit(1))


def _expired(message: m.OutboxMessage, at: datetime) -> bool:
    expires = (message.meta or {}).get("expires_at")
    return bool(expires) and parse_instant(str(expires)) <= at


def _error_text(exc: Exception) -> str:
    if isinstance(exc, TwilioRestException):
        return f"Twilio {exc.code or exc.status}: {exc.msg}"[:500]
    return f"{type(exc).__name__}: {exc}"[:500]


def release_interrupted(session: Session, at: datetime) -> int:
    """Return messages stuck in "sending" past their lease to "pending" (at-least-once on a crash)."""
    result = session.execute(
        update(m.OutboxMessage)
        .where(m.OutboxMessage.status == "sending", m.OutboxMessage.next_attempt_at < at)
        .values(status="pending", next_attempt_at=at,
                last_error="interrupted while sending; retried (the recipient may get it twice)"))
    return rowcount(result)


def _claim(session: Session, message_id: int, at: datetime) -> bool:
    result = session.execute(
        update(m.OutboxMessage)
        .where(m.OutboxMessage.id == message_id, m.OutboxMessage.status.in_(("pending", "held")))
        .values(status="sending", attempts=m.OutboxMessage.attempts + 1,
                next_attempt_at=at + SENDING_LEASE))
    return rowcount(result) == 1


def _settle_unclaimed(session: Session, message_id: int, **values: Any) -> bool:
    # Conditional like the claim: another sender may have claimed (even sent) it since we read it.
    result = session.execute(
        update(m.OutboxMessage)
        .where(m.OutboxMessage.id == message_id, m.OutboxMessage.status.in_(("pending", "held")))
        .values(**values))
    return rowcount(result) == 1


def send_due(factory: sessionmaker[Session], settings: JobSettings, at: datetime, *,
             http_client: HttpClient | None = None, limit: int = 200,
             client_factory: Callable[[JobSettings, HttpClient | None], Client] = twilio_client,
             ) -> Counter:
    """Deliver every due message as of `at`; returns counts by outcome."""
    counts: Counter = Counter()
    with session_scope(factory) as session:
        counts["released"] = release_interrupted(session, at)
        if not settings.has_credentials:
            held = session.execute(
                update(m.OutboxMessage).where(m.OutboxMessage.status == "pending")
                .values(status="held", last_error=NO_CREDENTIALS))
            counts["held"] = rowcount(held)
            return counts
        due = or_(m.OutboxMessage.status == "held",
                  (m.OutboxMessage.status == "pending")
                  & or_(m.OutboxMessage.attempts == 0, m.OutboxMessage.next_attempt_at.is_(None),
                        m.OutboxMessage.next_attempt_at <= at))
        refused = get_state(session, "twilio_refused").get("at")
        if refused and at - parse_instant(refused) < CREDENTIAL_PAUSE:
            return counts  # the credentials were refused a moment ago: do not hammer Twilio
        ids = list(session.scalars(select(m.OutboxMessage.id).where(due)
                                   .order_by(m.OutboxMessage.id).limit(limit)))
    if not ids:
        return counts
    client = client_factory(settings, http_client)
    for message_id in ids:
        outcome = _send_one(factory, settings, client, message_id, at)
        counts[outcome] += 1
        if outcome == "refused":
            with session_scope(factory) as session:
                set_state(session, "twilio_refused", {"at": iso_z(at)}, at)
            break
    return counts


def _send_one(factory: sessionmaker[Session], settings: JobSettings, client: Client,
              message_id: int, at: datetime) -> str:
    with session_scope(factory) as session:
        message = session.get(m.OutboxMessage, message_id)
        if message is None or message.status not in ("pending", "held"):
            return "skipped"
        if _expired(message, at):
            settled = _settle_unclaimed(session, message_id, status="failed",
                                        last_error="expired before it could be sent")
            return "expired" if settled else "skipped"
        sender = _sender(session, settings, message)
        if not sender:
            settled = _settle_unclaimed(session, message_id, status="held", last_error=NO_SENDER)
            return "held" if settled else "skipped"
        outgoing = Outgoing(message.kind, message.recipient, message.body, sender)
        key, attempts = message.key, message.attempts + 1
        if not _claim(session, message_id, at):
            return "skipped"  # another sender took it
    # No transaction is open while Twilio is called: the claim is committed first.
    try:
        sid, error, code, status = _deliver(client, outgoing), None, None, None
    except Exception as exc:  # every failure is recorded on the message, never lost
        sid, error = None, _error_text(exc)
        code, status = getattr(exc, "code", None), getattr(exc, "status", None)
    with session_scope(factory) as session:
        message = session.get(m.OutboxMessage, message_id)
        assert message is not None  # claimed above: a claimed message is never deleted
        if error is None:
            message.status, message.provider_sid, message.sent_at = "sent", sid, at
            message.last_error = None
            return "sent"
        if code in CREDENTIAL_ERRORS or status == 401:
            # Not this message's fault: keep it, uncounted, until the credentials are mended.
            message.status, message.attempts = "held", attempts - 1
            message.last_error = f"held: Twilio refused the credentials ({error})"
            log.error("outbox: Twilio refused the credentials (%s); sending paused", error)
            return "refused"
        if code in RECIPIENT_ERRORS or attempts >= settings.max_attempts:
            message.status, message.last_error = "failed", error
            log.warning("outbox %s to %s failed for good: %s", key, outgoing.recipient, error)
            return "failed"
        message.status, message.last_error = "pending", error
        message.next_attempt_at = at + backoff(attempts)
        log.info("outbox %s: attempt %d failed (%s); next try at %s",
                 key, attempts, error, message.next_attempt_at)
        return "retry"
