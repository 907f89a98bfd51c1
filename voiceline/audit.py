"""The hash-chained audit log: append entries, verify the chain.

A chain alone cannot show that its newest entries were deleted, so its head is anchored
twice, both moved on with every append: a row in `audit_anchor` (entry id, count, hash)
signed with an HMAC under a key derived from the secret key (same transaction), and the
file `instance/audit-anchor.json` (written after the commit; on several web hosts each
keeps the head of its own appends). `verify` walks the chain and compares both.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import Text, cast, event, func, select, text
from sqlalchemy.orm import Session

from voiceline.instants import utcnow
from voiceline.models.shared import AuditAnchor, AuditEntry

GENESIS = "0" * 64
ANCHOR_FILE = "audit-anchor.json"
_PG_LOCK_KEY = 0x766F6963  # "voic": serialises appends to the chain on PostgreSQL
_PENDING_FILE = "voiceline.audit_anchor_file"


def anchor_key() -> bytes | None:
    """The HMAC key of the anchor, derived from the app's secret key (None outside an app)."""
    if not has_app_context() or not current_app.config.get("SECRET_KEY"):
        return None
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"voiceline audit anchor", hashlib.sha256).digest()


def anchor_path() -> Path | None:
    """instance/audit-anchor.json of the running app (None outside an app)."""
    return Path(current_app.instance_path) / ANCHOR_FILE if has_app_context() else None


def _sign(key: bytes | None, entry_id: int, count: int, head: str) -> str:
    if key is None:
        return ""
    return hmac.new(key, f"{entry_id}:{count}:{head}".encode(), hashlib.sha256).hexdigest()


def _move_anchor(session: Session, entry: AuditEntry) -> None:
    anchor = session.get(AuditAnchor, 1, populate_existing=True)
    if anchor is None:
        # The first append since anchoring began: anchor whatever chain is there.
        count = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
        anchor = AuditAnchor(id=1, entry_id=entry.id, count=count, hash=entry.hash)
        session.add(anchor)
    else:
        anchor.entry_id, anchor.count, anchor.hash = entry.id, anchor.count + 1, entry.hash
    anchor.signature = _sign(anchor_key(), anchor.entry_id, anchor.count, anchor.hash)
    anchor.updated_at = entry.at
    path = anchor_path()
    if path is not None:
        session.info[_PENDING_FILE] = (path, {"entry_id": anchor.entry_id, "count": anchor.count,
                                              "hash": anchor.hash})


@event.listens_for(Session, "after_commit")
def _write_anchor_file(session: Session) -> None:
    pending = session.info.pop(_PENDING_FILE, None)
    if pending is None:
        return
    path, head = pending
    try:
        current = read_anchor_file(path)
        if current is not None and current.get("entry_id", 0) >= head["entry_id"]:
            return  # another process of this host wrote a newer head meanwhile
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".audit-anchor-")
        with os.fdopen(fd, "w") as handle:
            json.dump(head, handle)
        os.replace(tmp, path)
    except (OSError, ValueError):
        # The row anchor is already committed; a file we cannot write only weakens the check.
        current_app.logger.exception("could not write the audit anchor file %s", path)


@event.listens_for(Session, "after_rollback")
def _forget_anchor_file(session: Session) -> None:
    session.info.pop(_PENDING_FILE, None)


def read_anchor_file(path: Path) -> dict | None:
    """The head recorded in the anchor file, None when there is none; ValueError when unreadable."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    if not (isinstance(data, dict) and isinstance(data.get("entry_id"), int)
            and isinstance(data.get("count"), int) and isinstance(data.get("hash"), str)):
        raise ValueError(f"{path}: not an audit anchor")
    return data


def _digest(prev_hash: str, at: datetime, actor: str, action: str, target: str, detail: Any) -> str:
    payload = json.dumps(
        [prev_hash, at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), actor, action, target, detail],
        sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def record(session: Session, actor: str, action: str, target: str = "", **detail: Any) -> AuditEntry:
    """Append one entry to the chain in the session's transaction (the caller commits)."""
    # Rota history (oncall.history) names who made the change and which action it was.
    session.info["actor"], session.info["action"] = actor, action
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
    _move_anchor(session, entry)
    return entry


@dataclass(frozen=True)
class ChainReport:
    """Outcome of a chain check: entries checked and the first broken entry, if any."""

    checked: int
    broken_id: int | None = None
    reason: str = ""
    anchored: str = ""  # which anchors were compared, for the report
    short: bool = False  # the chain ends short of (or cannot be held to) its anchors

    @property
    def ok(self) -> bool:
        return self.broken_id is None


@dataclass(frozen=True)
class _Anchor:
    source: str
    entry_id: int
    count: int
    hash: str


def _anchors(session: Session, key: bytes | None, path: Path | None) -> tuple[list[_Anchor], str]:
    """The anchors to compare against, or a reason why they cannot be trusted."""
    anchors = []
    row = session.get(AuditAnchor, 1)
    if row is not None:
        if key is not None and not hmac.compare_digest(
                row.signature, _sign(key, row.entry_id, row.count, row.hash)):
            return [], ("the anchor row's signature does not match: it was rewritten without the "
                        "secret key (or VOICELINE_SECRET_KEY changed)")
        anchors.append(_Anchor("the anchor row", row.entry_id, row.count, row.hash))
    if path is not None:
        try:
            data = read_anchor_file(path)
        except ValueError as exc:
            return [], f"the anchor file is unreadable ({exc})"
        if data is not None:
            anchors.append(_Anchor(f"the anchor file {path.name}", data["entry_id"],
                                   data["count"], data["hash"]))
    return anchors, ""


def _short(anchor: _Anchor, checked: int, last_id: int) -> str:
    end = f"the chain ends at entry {last_id} after {checked} entries" if checked else "the chain is empty"
    return (f"{end}; {anchor.source} says {anchor.count} entries up to entry {anchor.entry_id}, "
            f"head hash {anchor.hash[:16]}…: the newest entries were deleted")


def verify(session: Session, batch: int = 5000, *, anchored: bool = True) -> ChainReport:
    """Walk the chain in id order; name the first entry whose link or hash is wrong, and
    where the chain ends short of its anchors (the row, signed, and the file).

    Inside an app the anchor row's signature and the instance's anchor file are checked
    too; `anchored=False` checks the links only.
    """
    key, path = (anchor_key(), anchor_path()) if anchored else (None, None)
    anchors, distrust = _anchors(session, key, path) if anchored else ([], "")
    if anchored and not anchors and not distrust and key is not None:
        count = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
        if count:
            distrust = (f"the chain has {count} entries but no anchor: it was deleted (any "
                        "audited action writes a new one, anchoring the chain as it is then)")
    pending = {a.entry_id: a for a in anchors}
    names = ", ".join(a.source for a in anchors)
    prev_hash = GENESIS
    checked = 0
    last_id = 0
    columns = (AuditEntry.id, AuditEntry.at, AuditEntry.actor, AuditEntry.action,
               AuditEntry.target, cast(AuditEntry.detail, Text), AuditEntry.prev_hash,
               AuditEntry.hash)
    while True:
        # The detail is read as text and parsed here, so a row that is not JSON is named.
        rows = session.execute(
            select(*columns).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
        ).all()
        if not rows:
            break
        for entry_id, at, actor, action, target, raw, entry_prev, entry_hash in rows:
            if entry_prev != prev_hash:
                return ChainReport(checked, entry_id, "its prev_hash does not match the entry before")
            try:
                detail = json.loads(raw) if raw is not None else None
            except ValueError as exc:
                return ChainReport(checked, entry_id, f"its detail is not valid JSON ({exc})")
            if entry_hash != _digest(entry_prev, at, actor, action, target, detail):
                return ChainReport(checked, entry_id, "its content does not match its hash")
            prev_hash = entry_hash
            checked += 1
            last_id = entry_id
            for anchor in [pending.pop(entry_id)] if entry_id in pending else []:
                if anchor.hash != entry_hash or anchor.count != checked:
                    return ChainReport(checked, entry_id,
                                       f"{anchor.source} says entry {entry_id} is number "
                                       f"{anchor.count} with hash {anchor.hash[:16]}…; the chain "
                                       f"has number {checked} with hash {entry_hash[:16]}…")
    if distrust:
        return ChainReport(checked, last_id, distrust, names, short=True)
    if pending:
        anchor = max(pending.values(), key=lambda a: a.entry_id)
        return ChainReport(checked, anchor.entry_id, _short(anchor, checked, last_id), names,
                           short=True)
    return ChainReport(checked, anchored=names)
