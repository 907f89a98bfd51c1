"""Tables every area writes to: the hash-chained audit log and the outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from voiceline.db import Base, UTCDateTime
from voiceline.instants import utcnow


class AuditEntry(Base):
    """One audited action; `hash` covers this entry and the previous entry's hash."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))  # "user:alice", "cli", "twilio", "scheduler"
    action: Mapped[str] = mapped_column(String(64), index=True)  # e.g. "rota.import", "webhook.bad_signature"
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)  # {"before": ..., "after": ...} or context
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditAnchor(Base):
    """The chain's head (one row, id 1), moved on with every append in the same transaction.

    `signature` is an HMAC of (entry_id, count, hash) under a key derived from the secret
    key, so deleting the newest entries and rewriting the anchor needs that key too.
    """

    __tablename__ = "audit_anchor"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column()
    count: Mapped[int] = mapped_column()
    hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(Base):
    """An outgoing SMS or call; `key` makes each message exactly-once."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # sms | call
    recipient: Mapped[str] = mapped_column(String(20))  # E.164
    body: Mapped[str] = mapped_column(Text)  # SMS text, or TwiML / purpose for calls
    purpose: Mapped[str] = mapped_column(String(32), default="")  # handoff, reminder, voicemail, duress ...
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending|held|sending|sent|failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_sid: Mapped[str | None] = mapped_column(String(64))
    meta: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
