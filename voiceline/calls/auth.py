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
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, TextualSelect, bindparam, select, text, update
from sqlalchemy.orm import Session

from voiceline import directory
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
    """A plain read (no counting): the caller's lock first, else the number's.

    From the process's copy of lock-out times when the lock-out token is the one it was read
    under (no statement), else one statement for both buckets. Advisory (an early "locked"):
    a PIN step decides on the rows it holds.
    """
    keys = [key for key in (caller_key(caller_id), number) if key]
    if not keys:
        return None
    times = _lock_times(session, keys)
    for key in keys:
        until = times[key]
        if until is not None and until > at:
            scope = "caller" if key.startswith(CALLER_PREFIX) else "number"
            return Lock(scope, key, until)
    return None


class _LockTimes:
    """Each bucket's locked_until (None: unlocked or no row) as read under one lock-out token."""

    def __init__(self, token: int | None) -> None:
        self.token = token
        self.until: dict[str, datetime | None] = {}


MAX_LOCK_TIMES = 20_000  # buckets kept per process before starting again (calls from spoofed
# numbers must not grow a process without bound)
_LOCK_TIMES: weakref.WeakKeyDictionary[Any, _LockTimes] = weakref.WeakKeyDictionary()


def _lock_times(session: Session, keys: list[str]) -> dict[str, datetime | None]:
    """locked_until of each bucket: copies taken under this transaction's lock-out token (a
    lock started or ended since renews it), the others read in one statement and kept."""
    token = directory.read_tokens(session)[1]
    engine = session.get_bind()
    copies = _LOCK_TIMES.get(engine)
    if copies is None or copies.token != token:
        copies = _LockTimes(token)
        if token is not None:  # no token (an unmigrated schema): nothing is kept
            _LOCK_TIMES[engine] = copies
    times = {key: copies.until[key] for key in keys if key in copies.until}
    missing = [key for key in keys if key not in times]
    if missing:
        found = {row.number: row.locked_until
                 for row in session.execute(_LOCKS_OF, {"keys": missing})}
        if len(copies.until) >= MAX_LOCK_TIMES:
            copies.until.clear()
        for key in missing:
            times[key] = copies.until[key] = found.get(key)
    return times


_LOCKOUTS = cast(Table, PinLockout.__table__)
_LOCKS_OF = (select(_LOCKOUTS.c.number, _LOCKOUTS.c.locked_until)
             .where(_LOCKOUTS.c.number.in_(bindparam("keys", expanding=True))))

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


def _holding(count: int) -> TextualSelect:
    """INSERT `count` buckets (:k0, :k1...), or on a stored one a no-op UPDATE that locks it,
    RETURNING each as it is then. The same SQL on SQLite and PostgreSQL; written out, since
    SQLAlchemy compiles a multi-row VALUES construct again on every execution."""
    rows = ", ".join(f"(:k{i}, 0, :at)" for i in range(count))
    sql = (f"INSERT INTO pin_lockouts (number, failures, updated_at) VALUES {rows} "
           "ON CONFLICT (number) DO UPDATE SET failures = pin_lockouts.failures "
           "RETURNING number, failures, locked_until, updated_at")
    return (text(sql).bindparams(bindparam("at", type_=_LOCKOUTS.c.updated_at.type))
            .columns(_LOCKOUTS.c.number, _LOCKOUTS.c.failures, _LOCKOUTS.c.locked_until,
                     _LOCKOUTS.c.updated_at))


_HOLD = {count: _holding(count) for count in (1, 2)}  # a call has one or two buckets


_SAVE = (update(_LOCKOUTS).where(_LOCKOUTS.c.number == bindparam("key"))
         .values(failures=bindparam("n"), locked_until=bindparam("until"), updated_at=bindparam("at")))


def hold(session: Session, caller_id: str | None, number: str | None, at: datetime) -> Guard:
    """Lock the buckets of the claimed caller and of the calling number for this transaction.

    One statement, an upsert: a new bucket is inserted, a stored one gets a no-op update
    that locks its row, and RETURNING gives both as they are under the lock. On SQLite it is
    the transaction's first write and takes the database's write lock (like BEGIN
    IMMEDIATE), so no other request checks or counts until this one commits; on PostgreSQL
    the rows are locked in key order (no deadlock between two calls locking the same
    buckets), and a row another call holds is returned as that call committed it. Plain
    rows, not ORM objects: the Guard writes back only what a try changed, in one statement.
    """
    keys = sorted(k for k in (caller_key(caller_id), number) if k)
    if not keys:
        return Guard(session, None, None)
    values: dict[str, object] = {f"k{i}": key for i, key in enumerate(keys)}
    values["at"] = at
    connection = session.connection()
    found = {row.number: Bucket(row.number, row.failures, row.locked_until, row.updated_at)
             for row in connection.execute(_HOLD[len(keys)], values)}
    return Guard(session, found.get(caller_key(caller_id) or "") if caller_id else None,
                 found.get(number) if number else None)
