"""Caller authentication: PIN checks and lock-outs per claimed caller and per calling number.

Guessing is limited twice: a calling number gets `pin_tries` wrong PINs per window, and a
caller (whichever numbers claim it) gets `caller_lock_failures` before it is locked, so
spoofing many numbers buys nothing. A withheld number (Twilio's placeholders) has no bucket
of its own: every withheld caller would share it, and anyone could lock it for all of them.
Checking a bucket and counting in it is one atomic step: `hold` locks the rows first. The
hashing is done before (it is pure): a result is only acted on if the buckets, re-read under
the lock, still allow it, and the lock is never held while a (legacy, slow) hash runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from voiceline.models.calls import Call, PinLockout
from voiceline.models.directory import Caller
from voiceline.pins import PinKeys, hash_pin, is_legacy, verify_pin

MAX_DIGITS = 8  # a PIN is 4 to 8 digits; anything longer is wrong without hashing it
CALLER_WINDOW = timedelta(hours=24)  # a caller's failures are forgotten after a day without one
CALLER_PREFIX = "caller:"

# What Twilio sends as From when the caller ID is withheld: the words, or the words typed on
# a keypad (ANONYMOUS = +266696687, RESTRICTED, UNKNOWN, UNAVAILABLE, BLOCKED, PRIVATE).
_WITHHELD_WORDS = ("anonymous", "restricted", "unknown", "unavailable", "blocked", "private",
                   "withheld")
_KEYPAD = {c: str(d) for d, letters in enumerate(
    ("", "", "abc", "def", "ghi", "jkl", "mno", "pqrs", "tuv", "wxyz")) for c in letters}
WITHHELD = frozenset(_WITHHELD_WORDS) | frozenset(
    "+" + "".join(_KEYPAD[c] for c in word) for word in _WITHHELD_WORDS)


def is_withheld(from_number: str | None) -> bool:
    """True when the caller ID is withheld or missing (no number to hold a lock-out)."""
    text = re.sub(r"[\s\-().]", "", (from_number or "").strip().lower())
    if text.startswith("sip:") or text.startswith("client:"):
        text = text.split(":", 1)[1].split("@", 1)[0]
    return text in {"", "+"} or text in WITHHELD


@dataclass(frozen=True)
class PinCheck:
    """The result of one PIN entry."""

    ok: bool
    duress: bool = False
    rehash: tuple[tuple[str, str], ...] = ()  # (column, new hash) to store once the entry counts


def check_pin(caller: Caller | None, digits: str, keys: PinKeys | None) -> PinCheck:
    """Compare `digits` with the caller's PIN and duress PIN (keyed hashes: both always compared).

    A match against an argon2 hash (from before keyed hashes) or an old key comes with its
    keyed rehash, so the next entry costs no argon2 work. A legacy argon2 hash is compared
    only when no keyed hash matched: the PIN and the duress PIN differ, so a keyed match
    settles it, and a caller whose duress PIN was never used is not slowed down by it.
    Pure: changes nothing.
    """
    if caller is None or keys is None or not digits.isdigit() or not 4 <= len(digits) <= MAX_DIGITS:
        return PinCheck(False)
    stored = sorted([("pin_hash", caller.pin_hash), ("duress_pin_hash", caller.duress_pin_hash)],
                    key=lambda item: is_legacy(item[1]))  # keyed hashes first
    found = None
    for column, value in stored:
        if found is not None and is_legacy(value):
            break
        match = verify_pin(value, digits, keys)
        if match.ok and found is None:
            found = (column, match)
    if found is None:
        return PinCheck(False)
    column, match = found
    rehash = ((column, hash_pin(digits, keys)),) if match.stale else ()
    return PinCheck(True, duress=column == "duress_pin_hash", rehash=rehash)


def has_legacy_hash(caller: Caller | None) -> bool:
    """The caller's PIN or duress PIN is still an argon2 hash (slow to check)."""
    return caller is not None and any(value and is_legacy(value)
                                      for value in (caller.pin_hash, caller.duress_pin_hash))


def lockout_key(call: Call) -> str | None:
    """The calling number's bucket (E.164 when it parses), or None for a withheld number."""
    if is_withheld(call.from_number):
        return None
    number = (call.meta or {}).get("from_e164") or call.from_number
    # A caller's bucket is "caller:<id>"; no From may pass itself off as one.
    return f"number:{number}" if number.startswith(CALLER_PREFIX) else number


def caller_key(caller_id: str | None) -> str | None:
    """The claimed caller's bucket."""
    return f"{CALLER_PREFIX}{caller_id}" if caller_id else None


@dataclass(frozen=True)
class Lock:
    """Why a call may not try a PIN now: whose bucket is locked, and until when."""

    scope: str  # "caller" or "number"
    key: str
    until: datetime


def _lock_of(row: Bucket | None, at: datetime) -> Lock | None:
    if row is None or row.locked_until is None or row.locked_until <= at:
        return None
    scope = "caller" if row.number.startswith(CALLER_PREFIX) else "number"
    return Lock(scope, row.number, row.locked_until)


def current_lock(session: Session, caller_id: str | None, number: str | None,
                 at: datetime) -> Lock | None:
    """A plain read (no counting), one statement for both buckets: the caller's lock first,
    else the number's."""
    keys = [key for key in (caller_key(caller_id), number) if key]
    if not keys:
        return None
    rows = {row.number: row for row in session.execute(_LOCKS_OF, {"keys": keys})}
    for key in keys:
        row = rows.get(key)
        if row is not None and row.locked_until is not None and row.locked_until > at:
            scope = "caller" if key.startswith(CALLER_PREFIX) else "number"
            return Lock(scope, key, row.locked_until)
    return None


_LOCKOUTS = cast(Table, PinLockout.__table__)
_LOCKS_OF = (select(_LOCKOUTS.c.number, _LOCKOUTS.c.locked_until)
             .where(_LOCKOUTS.c.number.in_(bindparam("keys", expanding=True))))
_NEW_BUCKETS = {name: module.insert(_LOCKOUTS).on_conflict_do_nothing(index_elements=["number"])
                for name, module in (("postgresql", postgresql), ("sqlite", sqlite))}


@dataclass
class Bucket:
    """One bucket's row as read under its lock (plain values: written back by the Guard)."""

    number: str
    failures: int
    locked_until: datetime | None
    updated_at: datetime


@dataclass
class Guard:
    """The locked bucket rows of one PIN step (held until the request's transaction ends)."""

    session: Session
    caller: Bucket | None
    number: Bucket | None

    def lock(self, at: datetime) -> Lock | None:
        """The caller's or the number's lock at `at`, if any."""
        return _lock_of(self.caller, at) or _lock_of(self.number, at)

    def fail(self, at: datetime, *, tries: int, minutes: int, caller_failures: int,
             caller_minutes: int) -> list[Lock]:
        """Count one wrong try in both buckets (written at once); return the locks it starts."""
        locks = []
        if self.number is not None:
            row = self.number
            expired = row.locked_until is not None and row.locked_until <= at
            # Failures count within one lock-out window: last week's typos do not shorten today's.
            stale = row.locked_until is None and row.updated_at <= at - timedelta(minutes=minutes)
            if expired or stale:
                row.locked_until, row.failures = None, 0
            row.failures += 1
            row.updated_at = at
            if row.failures >= tries:
                row.locked_until, row.failures = at + timedelta(minutes=minutes), 0
                locks.append(Lock("number", row.number, row.locked_until))
        if self.caller is not None:
            row = self.caller
            # Not reset when a lock ends: past the limit, each wrong PIN within a day locks again,
            # so a guesser gets one try per lock period instead of a fresh allowance.
            if row.updated_at <= at - CALLER_WINDOW:
                row.failures = 0
            row.failures += 1
            row.updated_at = at
            if row.failures >= caller_failures:
                row.locked_until = at + timedelta(minutes=caller_minutes)
                locks.append(Lock("caller", row.number, row.locked_until))
        self._save([row for row in (self.number, self.caller) if row is not None])
        return locks

    def succeed(self, at: datetime) -> None:
        """A correct PIN clears both counts (a bucket with nothing counted is left unwritten:
        its updated_at only matters beside a failure count)."""
        changed = []
        for row in (self.caller, self.number):
            if row is not None and (row.failures or row.locked_until is not None):
                row.failures, row.locked_until, row.updated_at = 0, None, at
                changed.append(row)
        self._save(changed)

    def _save(self, rows: list[Bucket]) -> None:
        if rows:
            self.session.connection().execute(_SAVE, [
                {"key": r.number, "n": r.failures, "until": r.locked_until, "at": r.updated_at}
                for r in rows])


_HOLD = (select(_LOCKOUTS.c.number, _LOCKOUTS.c.failures, _LOCKOUTS.c.locked_until,
                _LOCKOUTS.c.updated_at)
         .where(_LOCKOUTS.c.number.in_(bindparam("keys", expanding=True)))
         .order_by(_LOCKOUTS.c.number).with_for_update())
_SAVE = (update(_LOCKOUTS).where(_LOCKOUTS.c.number == bindparam("key"))
         .values(failures=bindparam("n"), locked_until=bindparam("until"), updated_at=bindparam("at")))


def hold(session: Session, caller_id: str | None, number: str | None, at: datetime) -> Guard:
    """Lock the buckets of the claimed caller and of the calling number for this transaction.

    The insert comes first: on SQLite it is the transaction's first statement and takes the
    database's write lock (like BEGIN IMMEDIATE), so no other request checks or counts until
    this one commits; on PostgreSQL the rows are then locked FOR UPDATE, in key order (no
    deadlock between two calls locking the same buckets). Plain rows, not ORM objects: the
    Guard writes back only what a try changed, in one statement.
    """
    keys = sorted(k for k in (caller_key(caller_id), number) if k)
    if not keys:
        return Guard(session, None, None)
    rows = [{"number": k, "failures": 0, "updated_at": at} for k in keys]
    connection = session.connection()
    # Parameter sets, not a multi-row VALUES list: the compiled statement is cached per process.
    connection.execute(_NEW_BUCKETS[connection.dialect.name], rows)
    found = {row.number: Bucket(row.number, row.failures, row.locked_until, row.updated_at)
             for row in connection.execute(_HOLD, {"keys": keys})}
    return Guard(session, found.get(caller_key(caller_id) or "") if caller_id else None,
                 found.get(number) if number else None)
