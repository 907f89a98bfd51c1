"""Queueing the clock work's messages: stable keys, local times, alerts to the rota managers."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from voiceline import models as m
from voiceline.directory import people_with_role
from voiceline.instants import iso_z
from voiceline.outbox.queue import enqueue
from voiceline.rota import load_zone

log = logging.getLogger(__name__)
KEY_LIMIT = 200  # OutboxMessage.key is String(200)


def make_key(*parts: object) -> str:
    """Join parts into an outbox key; instants as ISO UTC; hashed tail when too long."""
    text = ":".join(str(iso_z(p)) if isinstance(p, datetime) else str(p) for p in parts)
    if len(text) <= KEY_LIMIT:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    return f"{text[:KEY_LIMIT - 33]}~{digest}"


def local_time(instant: datetime | None, zone_name: str | None, fallback_zone: str = "UTC") -> str:
    """An instant as the reader's wall-clock time, e.g. "Mon 09 Mar 09:00 EDT"."""
    if instant is None:
        return "further notice"
    try:
        zone = load_zone(zone_name or fallback_zone)
    except ValueError:
        zone = load_zone(fallback_zone)
    return instant.astimezone(zone).strftime("%a %d %b %H:%M %Z")


def queue(session: Session, *, key: str, kind: str, recipient: str, body: str, purpose: str,
          at: datetime, expires_at: datetime | None = None,
          meta: dict[str, Any] | None = None) -> tuple[m.OutboxMessage, bool]:
    """Queue one message exactly once under `key`, due at `at`; it is not sent after `expires_at`."""
    meta = dict(meta or {})
    if expires_at is not None:
        meta["expires_at"] = iso_z(expires_at)
    message, created = enqueue(session, key=key, kind=kind, recipient=recipient, body=body,
                               purpose=purpose, meta=meta)
    if created:
        # The tick's instant, not the wall clock: ticks run "as of" an instant (--at, tests).
        message.created_at = at
        message.next_attempt_at = at
    return message, created


def alert_managers(session: Session, *, key: str, text: str | Callable[[m.Person], str],
                   purpose: str, at: datetime,
                   expires_at: datetime | None = None) -> int:
    """Send `text` (or text(manager), for local times) once to every rota manager; count new ones."""
    managers = people_with_role(session, "manager")
    if not managers:
        log.warning("no rota manager to alert (%s): %s", purpose, key)
        return 0
    created = 0
    for manager in managers:
        _, new = queue(session, key=make_key(key, "to", manager.id), kind="sms",
                       recipient=manager.phone, body=text(manager) if callable(text) else text,
                       purpose=purpose, at=at,
                       expires_at=expires_at)
        created += new
    return created


def person_zone(person: m.Person | None, rota_zone: str) -> str:
    """The zone a person reads times in: their own, else the rota's."""
    return (person.timezone if person is not None and person.timezone else None) or rota_zone
