"""The call log: look-ups, the event timeline (exactly-once by key) and JSON-ready records."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, event, func, insert, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached, selectinload
from sqlalchemy.orm.exc import StaleDataError

from voiceline import directory
from voiceline import models as m
from voiceline.calls.states import CallState
from voiceline.db import rowcount
from voiceline.instants import iso_z
from voiceline.models.calls import Call, CallEvent, CallLeg


def call_by_sid(session: Session, sid: str | None) -> Call | None:
    """The call with this Twilio CallSid, if any.

    As a transaction's first read (a webhook step's), it also fetches the directory's tokens
    (one statement, not two: every step then reads its hotline and caller copies).
    """
    if not sid:
        return None
    if not directory.token_unread(session):
        return session.scalar(_CALL_BY_SID, {"sid": sid})
    row = session.execute(_CALL_AND_TOKENS, {"sid": sid}).first()
    if row is None:
        return None
    directory.token_read(session, row[1], row[2])
    return row[0]


def leg_by_sid(session: Session, sid: str | None) -> CallLeg | None:
    """The responder leg with this child CallSid, if any."""
    if not sid:
        return None
    return session.scalar(_LEG_BY_SID, {"sid": sid})


# Built once per process: every webhook request starts with one of these.
_CALL_BY_SID = select(Call).where(Call.sid == bindparam("sid"))
_CALL_AND_TOKENS = select(Call, *directory.TOKEN_COLUMNS).where(Call.sid == bindparam("sid"))
_LEG_BY_SID = select(CallLeg).where(CallLeg.sid == bindparam("sid"))


def written(session: Session, call: Call) -> int:
    """The call's id, writing a record made in this request first (rows that refer to it need it)."""
    if call.id is None:
        session.flush()
    return call.id


def add_event(session: Session, call: Call, kind: str, at: datetime, *, step: int | None = None,
              person_id: str | None = None, leg_sid: str | None = None,
              dedupe_key: str | None = None, **detail: Any) -> CallEvent | None:
    """Append a timeline entry; with `dedupe_key`, a second entry under that key is a no-op (None).

    One statement: the unique index on `dedupe_key` decides (INSERT ... ON CONFLICT DO NOTHING),
    so a repeated or concurrent callback neither reads first nor needs a savepoint. The entry
    is written at once (not at the next flush); the returned CallEvent is a detached copy.
    An entry of a call record made in this request and not written yet waits for the flush
    that writes the call (then it is written at once, in order, before any later entry), so a
    new call is one INSERT with its final state, not an INSERT and an UPDATE.
    """
    values = dict(call_id=call.id, at=at, kind=kind, step=step, person_id=person_id,
                  leg_sid=leg_sid, detail=detail, dedupe_key=dedupe_key)
    if call.id is None:
        session.info.setdefault(_PENDING, []).append((call, values))
        return CallEvent(**values)
    # On the session's connection, not session.execute: no autoflush of the call's pending
    # changes here (they are written once, at the commit).
    if not _write(session.connection(), values):
        return None  # the same callback was stored before (or is being stored concurrently)
    return CallEvent(**values)


def _write(connection, values: dict) -> int:
    if values["dedupe_key"]:
        return rowcount(connection.execute(_DEDUPED_EVENT[connection.dialect.name], values))
    connection.execute(_PLAIN_EVENT, values)
    return 1


_PENDING = "vl_pending_events"


@event.listens_for(Session, "after_flush")
def _write_pending_events(session: Session, _flush_context) -> None:
    """The entries of new calls this flush has just written (see add_event)."""
    pending = session.info.get(_PENDING)
    if not pending:
        return
    waiting = []
    for call, values in pending:
        if call.id is None:
            waiting.append((call, values))
        else:
            _write(session.connection(), {**values, "call_id": call.id})
    session.info[_PENDING] = waiting


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending_events(session: Session, previous_transaction) -> None:
    """A rolled-back call record takes its waiting entries with it, and one write_new wrote
    leaves the session, as a flushed one would (its row is gone; its id may be given again)."""
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)
        for call in session.info.pop(_WRITTEN_NEW, ()):
            if call in session:
                session.expunge(call)


@event.listens_for(Session, "after_commit")
def _forget_written(session: Session) -> None:
    session.info.pop(_WRITTEN_NEW, None)


_WRITTEN_NEW = "vl_written_new"


_EVENTS = cast(Table, CallEvent.__table__)
_PLAIN_EVENT = insert(_EVENTS)
# INSERT ... ON CONFLICT (dedupe_key) DO NOTHING per dialect, built once per process
_DEDUPED_EVENT = {name: module.insert(_EVENTS).on_conflict_do_nothing(index_elements=["dedupe_key"])
                  for name, module in (("postgresql", postgresql), ("sqlite", sqlite))}

# --- A webhook's rows, written without the unit of work --------------------------------------
#
# A webhook request changes one call record (and perhaps its legs), so the ORM's flush (sorting
# dependencies, collecting histories, one mapper's events) costs more than the statement it
# sends. The two shapes that cover nearly every request are written here with one Core
# statement per row, through the same connection, types and defaults; anything else (a new
# leg, a deleted row, a relationship change) is left to the ORM's flush at the commit.


def write_new(session: Session, call: Call) -> None:
    """Write a call record made in this request (and its waiting timeline entries) now.

    One INSERT when the record is the only new row; the record is then persistent and clean,
    with every column as written (defaults included), and a rollback takes it out of the
    session again, as it would a flushed one. Otherwise, a flush. Either way a stored CallSid
    raises IntegrityError (the caller rolls back).
    """
    if call.id is not None:
        return
    if session.deleted or len(session.new) != 1 or call not in session.new:
        session.flush()
        return
    state = inspect(call)
    values = {key: state.dict[key] for key in _CALL_COLUMNS if key in state.dict}
    connection = session.connection()
    result = connection.execute(_INSERT_CALL, values)
    call_id = result.inserted_primary_key[0]
    written_values = result.last_inserted_params()
    session.expunge(call)
    # Every column as written, straight into the instance's dict: making it detached next
    # commits them all (no history), as a load would.
    state.dict.update({key: written_values.get(key) for key in _CALL_COLUMNS}, id=call_id)
    make_transient_to_detached(call)
    session.add(call)  # persistent, clean: the commit has nothing more to write for it
    session.info.setdefault(_WRITTEN_NEW, []).append(call)  # a rollback forgets it (below)
    pending = session.info.get(_PENDING)
    if pending:
        waiting = []
        for owner, entry in pending:
            if owner is call:
                _write(connection, {**entry, "call_id": call.id})
            else:
                waiting.append((owner, entry))
        session.info[_PENDING] = waiting


def write_changes(session: Session) -> None:
    """Write changed calls and legs with one UPDATE each (only the changed columns) before
    the commit; when anything else is pending, leave it all to the commit's flush.

    Like the ORM's, an UPDATE that matches no row (deleted meanwhile) raises StaleDataError.
    """
    if session.new or session.deleted:
        return
    changed = []
    for state in session.identity_map._modified:  # noqa: SLF001 - the ORM's own dirty list
        columns = _UPDATABLE.get(state.class_)
        keys = state.committed_state.keys()
        if columns is None or not keys <= columns:
            return  # another kind of row, or a relationship changed: the flush does it all
        changed.append(state)
    if not changed:
        return
    connection = session.connection()
    for state in changed:
        values = {key: state.dict[key] for key in state.committed_state}
        if values:  # SET the columns given, WHERE id = _id (compiled once per column set)
            values["_id"] = state.dict["id"]
            if rowcount(connection.execute(_UPDATES[state.class_], values)) != 1:
                raise StaleDataError(f"{state.class_.__tablename__} row {values['_id']} is gone")
        state._commit_all(state.dict, session.identity_map)  # noqa: SLF001 - written: clean


_CALL_TABLE = cast(Table, Call.__table__)
_INSERT_CALL = insert(_CALL_TABLE)
_CALL_COLUMNS = tuple(attr.key for attr in Call.__mapper__.column_attrs if attr.key != "id")
_UPDATABLE = {model: frozenset(attr.key for attr in model.__mapper__.column_attrs) - {"id"}
              for model in (Call, CallLeg)}
_UPDATES = {model: update(cast(Table, model.__table__))
            .where(cast(Table, model.__table__).c.id == bindparam("_id"))
            for model in (Call, CallLeg)}


def finish(call: Call, outcome: str, at: datetime) -> bool:
    """Close the call with `outcome` unless it is already closed; True when this call closed it."""
    if call.state == CallState.DONE and call.outcome:
        return False
    call.outcome = outcome
    call.state = CallState.DONE
    # Provisional end; the parent call's "completed" status callback brings the exact figures.
    if call.ended_at is None:
        call.ended_at = at
    if call.duration_seconds is None:
        call.duration_seconds = max(0, int((at - call.started_at).total_seconds()))
    return True


# Twilio ends every call within four hours (its default time limit); a call still open well
# after that lost its final status callback and would otherwise stay "in progress" for ever.
STALE_AFTER = timedelta(hours=5)


def close_stale_calls(session: Session, at: datetime, after: timedelta = STALE_AFTER) -> int:
    """Close calls with no outcome that started more than `after` before `at`; returns how many.

    The outcome follows what the record shows: answered if a responder was bridged, voicemail
    if a message was recorded, failed if it was handed to the fallback, else abandoned.
    """
    stale = session.scalars(select(Call).where(Call.outcome.is_(None),
                                               Call.started_at < at - after)).all()
    for call in stale:
        last = session.scalar(select(func.max(CallEvent.at)).where(CallEvent.call_id == call.id))
        if call.answered_at is not None:
            outcome = "answered"
        elif call.recording_sid:
            outcome = "voicemail"
        elif call.state in {CallState.FALLBACK, CallState.NEW}:  # NEW: only a status callback saw it
            outcome = "failed"
        else:
            outcome = "abandoned"
        add_event(session, call, "closed_stale", at, dedupe_key=f"stale:{call.sid}",
                  state=call.state, outcome=outcome,
                  reason=f"no final status from Twilio within {after.total_seconds() / 3600:g} h")
        call.ended_at = call.ended_at or max(last or call.started_at, call.started_at)
        finish(call, outcome, call.ended_at)
    return len(stale)


def list_calls(session: Session, since: datetime | None = None, limit: int = 200) -> list[Call]:
    """Calls newest first (started at or after `since`)."""
    query = select(Call).order_by(Call.started_at.desc(), Call.id.desc()).limit(limit)
    if since is not None:
        query = query.where(Call.started_at >= since)
    return list(session.scalars(query))


def load_call(session: Session, sid: str) -> Call | None:
    """One call with its events and legs loaded."""
    return session.scalar(select(Call).where(Call.sid == sid)
                          .options(selectinload(Call.events), selectinload(Call.legs)))


def _names(session: Session, model, ids) -> dict[str, str]:
    ids = [i for i in set(ids) if i]
    if not ids:
        return {}
    return {row.id: row.name for row in session.scalars(select(model).where(model.id.in_(ids)))}


def ring_seconds(call: Call) -> int | None:
    """Seconds from the first ring of the hotline to a responder's acceptance."""
    if call.answered_at is None:
        return None
    return max(0, int((call.answered_at - call.started_at).total_seconds()))


def call_summary(session: Session, call: Call, people: dict[str, str] | None = None,
                 callers: dict[str, str] | None = None) -> dict[str, Any]:
    """One call as a JSON-ready mapping (without its timeline)."""
    people = people if people is not None else _names(session, m.Person, [call.answered_by])
    callers = callers if callers is not None else _names(session, m.Caller, [call.caller_id])
    return {
        "sid": call.sid, "hotline": call.hotline_id, "to": call.to_number, "from": call.from_number,
        "caller": call.caller_id, "caller_name": callers.get(call.caller_id or ""),
        "verified": call.verified, "stir_verstat": call.stir_verstat,
        "language": call.language, "priority": call.priority,
        "duress": call.duress, "is_test": call.is_test, "state": call.state,
        "outcome": call.outcome, "answered_by": call.answered_by,
        "answered_by_name": people.get(call.answered_by or ""),
        "started_at": iso_z(call.started_at), "answered_at": iso_z(call.answered_at),
        "ended_at": iso_z(call.ended_at), "ring_seconds": ring_seconds(call),
        "duration_seconds": call.duration_seconds,
        "recording": ({"sid": call.recording_sid, "url": call.recording_url,
                       "seconds": call.recording_seconds} if call.recording_url else None),
    }


def summaries(session: Session, calls: list[Call]) -> list[dict[str, Any]]:
    """JSON-ready summaries of many calls with two name look-ups in all."""
    people = _names(session, m.Person, [c.answered_by for c in calls])
    callers = _names(session, m.Caller, [c.caller_id for c in calls])
    return [call_summary(session, c, people, callers) for c in calls]


def timeline(call: Call) -> list[dict[str, Any]]:
    """The call's events in the order they happened (ties: the order they were written)."""
    events = sorted(call.events, key=lambda e: (e.at, e.id))
    return [{"at": iso_z(e.at), "kind": e.kind, "step": e.step, "person": e.person_id,
             "leg": e.leg_sid, "detail": e.detail} for e in events]


def call_record(session: Session, call: Call) -> dict[str, Any]:
    """A call with its legs and timeline, JSON-ready."""
    record = call_summary(session, call)
    record["legs"] = [{"sid": leg.sid, "person": leg.person_id, "number": leg.number,
                       "step": leg.step, "round": leg.round, "status": leg.status,
                       "screen": leg.screen, "answered_at": iso_z(leg.answered_at),
                       "ended_at": iso_z(leg.ended_at)} for leg in call.legs]
    record["events"] = timeline(call)
    return record
