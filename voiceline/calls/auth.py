"""Caller authentication: PIN and duress PIN checks, lock-outs per calling number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from voiceline.models.calls import Call, PinLockout
from voiceline.models.directory import Caller
from voiceline.passwords import verify_secret

MAX_DIGITS = 8  # a PIN is 4 to 8 digits; anything longer is wrong without hashing it


@dataclass(frozen=True)
class PinCheck:
    """The result of one PIN entry."""

    ok: bool
    duress: bool = False


def check_pin(caller: Caller | None, digits: str) -> PinCheck:
    """Compare `digits` with the caller's PIN and duress PIN (both always hashed: equal timing)."""
    if caller is None or not digits.isdigit() or not 4 <= len(digits) <= MAX_DIGITS:
        return PinCheck(False)
    real = verify_secret(caller.pin_hash, digits)
    duress = verify_secret(caller.duress_pin_hash, digits)
    if real:
        return PinCheck(True)
    return PinCheck(duress, duress=duress)


def lockout_key(call: Call) -> str:
    """The number a lock-out applies to: the caller's number as E.164 when it parses."""
    return (call.meta or {}).get("from_e164") or call.from_number or "unknown"


def locked_until(session: Session, number: str, at: datetime) -> datetime | None:
    """When the number's lock-out ends, or None when it is not locked at `at`."""
    row = session.get(PinLockout, number)
    if row is None or row.locked_until is None or row.locked_until <= at:
        return None
    return row.locked_until


def record_failure(session: Session, number: str, at: datetime, tries: int,
                   minutes: int) -> datetime | None:
    """Count a failed try for `number`; lock it after `tries` failures. Returns the lock's end."""
    # Row lock (PostgreSQL; SQLite serialises writers anyway): parallel calls from one number
    # must not lose each other's failures.
    row = session.get(PinLockout, number, with_for_update=True)
    if row is None:
        row = PinLockout(number=number, failures=0, updated_at=at)
        session.add(row)
    expired = row.locked_until is not None and row.locked_until <= at
    # Failures count within one lock-out window: last week's typos do not shorten today's tries.
    stale = row.locked_until is None and row.updated_at <= at - timedelta(minutes=minutes)
    if expired or stale:
        row.locked_until = None
        row.failures = 0
    row.failures += 1
    row.updated_at = at
    if row.failures >= tries:
        row.locked_until = at + timedelta(minutes=minutes)
        row.failures = 0
        return row.locked_until
    return None


def record_success(session: Session, number: str, at: datetime) -> None:
    """A correct PIN clears the number's failure count."""
    row = session.get(PinLockout, number)
    if row is not None:
        row.failures = 0
        row.updated_at = at
