"""Queueing outgoing messages exactly once (sending is the clock work's job)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from voiceline.models.shared import OutboxMessage


def enqueue(
    session: Session, *, key: str, kind: str, recipient: str, body: str, purpose: str = "",
    meta: dict[str, Any] | None = None,
) -> tuple[OutboxMessage, bool]:
    """Queue a message under a unique key; return (message, created). A known key changes nothing."""
    if kind not in {"sms", "call"}:
        raise ValueError(f"unknown outbox kind {kind!r}")
    existing = session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))
    if existing is not None:
        return existing, False
    message = OutboxMessage(key=key, kind=kind, recipient=recipient, body=body, purpose=purpose,
                            meta=meta or {}, status="pending")
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        # Another process queued the same key between our check and insert.
        return session.scalars(select(OutboxMessage).where(OutboxMessage.key == key)).one(), False
    return message, True
