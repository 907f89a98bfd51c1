"""The hash-chained audit log: append entries, verify the chain."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from voiceline.db import utcnow
from voiceline.models.shared import AuditEntry

GENESIS = "0" * 64
_PG_LOCK_KEY = 0x766F6963  # "voic": serialises appends to the chain on PostgreSQL


def _digest(prev_hash: str, at: datetime, actor: str, action: str, target: str, detail: Any) -> str:
    payload = json.dumps(
        [prev_hash, at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), actor, action, target, detail],
        sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def record(session: Session, actor: str, action: str, target: str = "", **detail: Any) -> AuditEntry:
    """Append one entry to the chain in the session's transaction (the caller commits)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    elif dialect == "sqlite":
        # Take SQLite's write lock before reading the last hash: pysqlite runs a SELECT outside
        # any transaction, so two writers could both read the same prev_hash and fork the chain.
        session.execute(text("UPDATE audit_log SET id = id WHERE 0"))
    # Normalise through JSON so the hash is computed over exactly what is stored.
    detail = json.loads(json.dumps(detail, default=str))
    prev = session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    prev_hash = prev or GENESIS
    at = utcnow()
    entry = AuditEntry(
        at=at, actor=actor, action=action, target=target, detail=detail, prev_hash=prev_hash,
        hash=_digest(prev_hash, at, actor, action, target, detail),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class ChainReport:
    """Outcome of a chain check: entries checked and the first broken entry, if any."""

    checked: int
    broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def verify(session: Session, batch: int = 5000) -> ChainReport:
    """Walk the chain in id order; name the first entry whose link or hash is wrong."""
    prev_hash = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
        ).all()
        if not rows:
            return ChainReport(checked)
        for entry in rows:
            if entry.prev_hash != prev_hash:
                return ChainReport(checked, entry.id, "its prev_hash does not match the entry before")
            expected = _digest(entry.prev_hash, entry.at, entry.actor, entry.action, entry.target,
                               entry.detail)
            if entry.hash != expected:
                return ChainReport(checked, entry.id, "its content does not match its hash")
            prev_hash = entry.hash
            checked += 1
            last_id = entry.id
        session.expunge_all()
