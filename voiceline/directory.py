"""Directory look-ups shared by the call flow, the clock work and the UI."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import bindparam, event, inspect, select, text
from sqlalchemy.orm import Session, make_transient_to_detached, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from voiceline import models as m

T = TypeVar("T")


def people_with_role(session: Session, role: str) -> list[m.Person]:
    """Active people holding `role` ("manager" or "supervisor"), by id."""
    people = session.scalars(select(m.Person).where(m.Person.active.is_(True)).order_by(m.Person.id))
    return [p for p in people if role in (p.roles or [])]


def caller_by_number(session: Session, e164: str | None, *, shared: bool = False) -> m.Caller | None:
    """The active caller owning this E.164 number, if any (from the process's copy).

    `shared`: the process's copy itself (no per-session instance) for a caller that is only
    read; setting any of its attributes raises SharedCopyError.
    """
    if not e164:
        return None
    return _copies(session).get(session, "caller-number", e164, shared=shared)


def hotline_by_number(session: Session, e164: str | None) -> m.Hotline | None:
    """The hotline dialled at this E.164 number, if any: the process's copy itself, read
    only (webhooks never change a hotline; setting an attribute raises SharedCopyError)."""
    if not e164:
        return None
    return _copies(session).get(session, "hotline-number", e164, shared=True)


def caller(session: Session, caller_id: str | None) -> m.Caller | None:
    """The caller with this id, active or not (`session.get`, from the process's copy)."""
    if not caller_id:
        return None
    return _copies(session).get(session, "caller", caller_id)


def hotline(session: Session, hotline_id: str | None) -> m.Hotline | None:
    """The hotline with this id: the process's copy itself, read only (as hotline_by_number)."""
    if not hotline_id:
        return None
    return _copies(session).get(session, "hotline", hotline_id, shared=True)


def person(session: Session, person_id: str | None) -> m.Person | None:
    """The person with this id (`session.get`, from the process's copy)."""
    if not person_id:
        return None
    return _copies(session).get(session, "person", person_id)


def people(session: Session, ids: Iterable[str]) -> dict[str, m.Person]:
    """The people with these ids that exist, keyed by id; the ones not copied yet are read
    in one statement."""
    copies = _copies(session)._current(session)
    wanted = sorted(set(ids))
    missing = [pid for pid in wanted if ("person", pid) not in copies.rows]
    if missing:
        found = {p.id: p for p in session.scalars(select(m.Person).where(m.Person.id.in_(missing)))}
        for pid in missing:
            copies.keep("person", pid, found.get(pid))
    return {pid: p for pid in wanted if (p := copies.get(session, "person", pid)) is not None}


def cached(session: Session, kind: str, key: str, load: Callable[[], T]) -> T:
    """A pure value computed from directory and rota rows (`load`, e.g. a policy and its rotas
    as rota-engine values), kept like the rows: valid while the token is the same."""
    copies = _copies(session)._current(session)
    try:
        return copies.values[(kind, key)]
    except KeyError:
        value = load()
        if copies.token is not None:
            copies.values[(kind, key)] = value
        return value


# --- The process's copy of the directory and rota rows webhooks read -------------------------
#
# Every call step reads its hotline and caller, and ringing reads the policy, its rotas and
# the people they name; all of these change rarely. So each process keeps detached copies of
# the rows it has read (and the rota-engine values built from them), per engine, valid under
# one token of the `directory_version` row, which triggers renew on every write to any of
# those tables (migration 0011_dirversion). A session reads the token once, before any row
# (a copy taken after is then at least as new as the token says), and takes the copies only
# while the token is the one they were read under: a committed edit is seen by the next
# request, as a re-read would. The session gets its own instance (`merge(load=False)`: no
# statement), so a write to it (a PIN rehash) is flushed like any other.

_LOADERS = {
    "caller-number": (select(m.Caller).join(m.CallerPhone, m.CallerPhone.caller_id == m.Caller.id)
                      .where(m.CallerPhone.number == bindparam("key"), m.Caller.active.is_(True))
                      .options(selectinload(m.Caller.phones))),
    "hotline-number": select(m.Hotline).where(m.Hotline.number == bindparam("key")),
    "caller": select(m.Caller).where(m.Caller.id == bindparam("key"))
    .options(selectinload(m.Caller.phones)),
    "hotline": select(m.Hotline).where(m.Hotline.id == bindparam("key")),
    "person": select(m.Person).where(m.Person.id == bindparam("key")),
}
# The tables migration 0011_dirversion gave triggers (a test checks they are all there).
COPIED_TABLES = ("hotlines", "callers", "caller_phones", "people", "policies", "policy_steps",
                 "rotas", "layers", "layer_versions", "overrides")
MAX_COPIES = 20_000  # rows kept per process before starting again (a few MB at most)
_SESSION_TOKEN = "vl_directory_token"
_SESSION_LOCK_TOKEN = "vl_lock_token"  # row 2: renewed when a PIN lock-out starts or ends


class _Copies:
    """Detached copies of rows by (kind, key), all read under `token`."""

    def __init__(self, token: int | None) -> None:
        self.token = token
        self.rows: dict[tuple[str, str], Any] = {}
        self.values: dict[tuple[str, str], Any] = {}

    def keep(self, kind: str, key: str, row: Any) -> None:
        """Keep a copy of a row just read in a session (or None: there is no such row)."""
        if self.token is None:  # no token (an unmigrated schema): never kept
            return
        if len(self.rows) >= MAX_COPIES:  # unknown numbers are kept too: calls from many
            self.rows.clear()  # spoofed numbers must not grow a process without bound
        copy = _detached(row)
        self.rows[(kind, key)] = copy
        if copy is not None and kind.endswith("-number"):  # found by its id next time
            self.rows[(kind.removesuffix("-number"), copy.id)] = copy

    def get(self, session: Session, kind: str, key: str, shared: bool = False) -> Any:
        copies = self._current(session)
        try:
            row = copies.rows[(kind, key)]
        except KeyError:
            row = session.scalar(_LOADERS[kind], {"key": key})
            copies.keep(kind, key, row)
            return row
        if row is None:
            return None
        present = session.identity_map.get(inspect(row).identity_key)
        if present is not None:  # loaded (perhaps changed) in this session already: that one
            return present
        if shared:  # read only: no instance of the session's own (a merge costs 30-40 us)
            return row
        merged = session.merge(row, load=False)
        held = session.info.get("held")  # a webhook request's session: for the rest of it
        if held is not None:
            held.append(merged)
        return merged

    def _current(self, session: Session) -> _Copies:
        token = read_tokens(session)[0]  # once per transaction
        if token == self.token:
            return self
        engine = session.get_bind()
        fresh = _Copies(token)
        _BY_ENGINE[engine] = fresh
        return fresh


class SharedCopyError(RuntimeError):
    """An attribute of the process's copy of a row was set: it is shared by every request
    of the process, so a change there would be seen by all of them and written by none."""


# Every copy: hotlines and read-only callers are handed out as they are (`shared`).
_SHARED: weakref.WeakSet[Any] = weakref.WeakSet()


def _refuse_change(target: Any, value: Any, oldvalue: Any, _initiator: Any) -> Any:
    if target in _SHARED:
        raise SharedCopyError(f"{type(target).__name__} {getattr(target, 'id', '')!r} is the "
                              "process's shared copy: change a row loaded in a session instead")
    return value


for _model in (m.Hotline, m.Caller, m.CallerPhone):
    for _attr in _model.__mapper__.column_attrs:
        event.listen(getattr(_model, _attr.key), "set", _refuse_change, retval=True)


# Both tokens as columns of another read (`token_read`): the same snapshot as that read's rows.
TOKEN_COLUMNS = tuple(
    select(text("token")).select_from(text("directory_version")).where(text(f"id = {row}"))
    .scalar_subquery().label(name) for row, name in ((1, "vl_directory"), (2, "vl_locks")))
_TOKENS = select(*TOKEN_COLUMNS)


def read_tokens(session: Session) -> tuple[int | None, int | None]:
    """The directory's and the lock-outs' tokens for this transaction (read once: the first
    time, in one statement, unless a read has brought them along, see `token_read`)."""
    if _SESSION_TOKEN not in session.info:
        row = session.connection().execute(_TOKENS).one()
        token_read(session, row[0], row[1])
    return session.info[_SESSION_TOKEN], session.info[_SESSION_LOCK_TOKEN]


def token_unread(session: Session) -> bool:
    """This transaction has not read the tokens yet (see `token_read`)."""
    return _SESSION_TOKEN not in session.info


def token_read(session: Session, token: int | None, lock_token: int | None) -> None:
    """Take the tokens a session's first read of this transaction fetched beside its rows
    (`TOKEN_COLUMNS`): no statement of their own, and the copies are checked against them as
    against tokens read by themselves (a row read after is at least as new)."""
    if _SESSION_TOKEN not in session.info:
        session.info[_SESSION_TOKEN] = token
        session.info[_SESSION_LOCK_TOKEN] = lock_token


_BY_ENGINE: weakref.WeakKeyDictionary[Any, _Copies] = weakref.WeakKeyDictionary()


@event.listens_for(Session, "after_transaction_end")
def _forget_token(session: Session, transaction) -> None:
    """The next transaction reads the token again (a session may outlive a transaction)."""
    if transaction.parent is None:
        session.info.pop(_SESSION_TOKEN, None)
        session.info.pop(_SESSION_LOCK_TOKEN, None)


def _copies(session: Session) -> _Copies:
    engine = session.get_bind()
    copies = _BY_ENGINE.get(engine)
    if copies is None:
        copies = _BY_ENGINE.setdefault(engine, _Copies(None))
    return copies


def _detached(row: Any) -> Any:
    """A clean detached copy of a loaded hotline, caller (with its phones) or person."""
    if row is None:
        return None
    copy = _copy_columns(row)
    if isinstance(row, m.Caller):
        set_committed_value(copy, "phones", [_copy_columns(phone) for phone in row.phones])
    return copy


def _copy_columns(row: Any) -> Any:
    mapper = inspect(type(row))
    copy = mapper.class_manager.new_instance()
    for attr in mapper.column_attrs:
        set_committed_value(copy, attr.key, getattr(row, attr.key))
    make_transient_to_detached(copy)
    _SHARED.add(copy)
    return copy
