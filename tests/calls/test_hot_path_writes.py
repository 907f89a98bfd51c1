"""The statements a webhook step sends, and that each one taken off still decides the same
(SQLite and PostgreSQL): the call row written without the unit of work, the tokens read with
the call, a PIN step's buckets held in one statement, and the process's copy of lock-out
times, renewed whoever starts or ends a lock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm.exc import StaleDataError

from voiceline import appdb
from voiceline.calls import store
from voiceline.models.calls import Call, CallEvent, PinLockout
from voiceline.models.directory import Caller

from .conftest import AT, WATCH, params, sql_shell, statements, version_token


@pytest.fixture
def app_config(tmp_path, any_db_url):
    return {"TESTING": True, "DATABASE_URL": any_db_url, "SECRET_KEY": "test-secret-key",
            "INSTANCE_PATH": str(tmp_path / "instance"), "PUBLIC_URL": "https://hotline.example.org",
            "TWILIO_AUTH_TOKEN": "test-auth-token", "TWILIO_ACCOUNT_SID": None}


def _starts(seen: list[str], *prefixes: str) -> list[str]:
    return [s for s in seen if s.upper().startswith(prefixes)]


def test_a_new_call_is_one_insert_with_every_default_and_nothing_read_back(hotline, twilio, db):
    twilio.post("/voice/incoming", params("CAwarm0"))  # the process's copies are warm
    with statements(hotline) as seen:
        answer = twilio.post("/voice/incoming", params("CAnew1"))
    assert answer.root.find("Gather").get("action").startswith("https://hotline.example.org/voice/pin")
    calls = [s for s in seen if " calls" in s or "FROM calls" in s]
    assert len(_starts(calls, "INSERT INTO CALLS")) == 1 and not _starts(calls, "UPDATE"), calls
    assert not _starts(calls, "SELECT"), calls
    call = db.scalar(select(Call).where(Call.sid == "CAnew1"))
    assert (call.state, call.pin_attempts, call.round, call.dial_group, call.last_sequence,
            call.verified, call.duress, call.meta["from_e164"]) == ("pin", 0, 0, 0, -1, False,
                                                                    False, WATCH)
    assert db.scalars(select(CallEvent.kind).where(CallEvent.call_id == call.id)).all() == ["greeted"]


def test_a_pin_step_reads_its_tokens_with_the_call_and_holds_its_buckets_in_one_statement(
        hotline, twilio, db):
    twilio.post("/voice/incoming", params("CApin1"))
    with statements(hotline) as seen:
        answer = twilio.post(twilio.follow("gather"), params("CApin1", Digits="2468"))
    assert answer.root.find("Gather").get("action").startswith(
        "https://hotline.example.org/voice/priority")
    # the call's SELECT brings both tokens: no statement of their own
    assert [s for s in seen if "directory_version" in s] == [
        s for s in _starts(seen, "SELECT") if "FROM calls" in s], seen
    buckets = [s for s in seen if "pin_lockouts" in s]
    assert len(buckets) == 1 and "RETURNING" in buckets[0].upper(), buckets
    updates = _starts(seen, "UPDATE CALLS")
    assert len(updates) == 1 and "pin_attempts" not in updates[0], updates  # changed columns only
    call = db.scalar(select(Call).where(Call.sid == "CApin1"))
    assert (call.state, call.verified) == ("priority", True)


def test_wrong_pins_still_lock_the_number_after_the_limit(hotline, twilio, db):
    tries = hotline.config.get("PIN_TRIES", 3)
    twilio.post("/voice/incoming", params("CAwrong1"))
    for _ in range(tries):
        answer = twilio.post(twilio.follow("gather"), params("CAwrong1", Digits="1111"))
    assert [c.tag for c in answer.root][-1] == "Hangup"
    bucket = db.get(PinLockout, WATCH)
    assert bucket is not None and bucket.locked_until is not None and bucket.locked_until > AT
    locked = twilio.post("/voice/incoming", params("CAwrong2"))
    assert "locked" in locked.text.lower() or [c.tag for c in locked.root][-1] == "Hangup"
    assert db.scalar(select(Call.outcome).where(Call.sid == "CAwrong2")) == "rejected"


def test_a_warm_incoming_call_reads_no_bucket(hotline, twilio):
    twilio.post("/voice/incoming", params("CAlk0"))
    with statements(hotline) as seen:
        twilio.post("/voice/incoming", params("CAlk1"))
    assert not [s for s in seen if "pin_lockouts" in s], seen


def test_a_lock_set_or_lifted_from_a_sql_shell_decides_the_next_call(hotline, twilio, db):
    assert twilio.post("/voice/incoming", params("CAsh1")).root.find("Gather") is not None
    until = (AT + timedelta(minutes=30)).replace(tzinfo=None).isoformat(sep=" ")
    sql_shell(hotline, "INSERT INTO pin_lockouts (number, failures, locked_until, updated_at) "
                  "VALUES (:n, 0, :u, :u)", n=WATCH, u=until)
    twilio.post("/voice/incoming", params("CAsh2"))
    assert db.scalar(select(Call.outcome).where(Call.sid == "CAsh2")) == "rejected"
    sql_shell(hotline, "UPDATE pin_lockouts SET locked_until = NULL WHERE number = :n", n=WATCH)
    again = twilio.post("/voice/incoming", params("CAsh3"))
    assert again.root.find("Gather").get("action").startswith("https://hotline.example.org/voice/pin")


def test_the_lock_token_is_renewed_only_when_a_lock_starts_or_ends(hotline, twilio):
    before = version_token(hotline, 2)
    twilio.post("/voice/incoming", params("CAtok1"))
    twilio.post(twilio.follow("gather"), params("CAtok1", Digits="1111"))  # counted, no lock
    twilio.post(twilio.follow("gather"), params("CAtok1", Digits="2468"))  # count cleared
    assert version_token(hotline, 2) == before
    sql_shell(hotline, "UPDATE pin_lockouts SET locked_until = :u WHERE number = :n", n=WATCH,
         u=(AT + timedelta(minutes=5)).replace(tzinfo=None).isoformat(sep=" "))
    locked = version_token(hotline, 2)
    assert locked != before
    sql_shell(hotline, "DELETE FROM pin_lockouts WHERE number = :n", n=WATCH)
    assert version_token(hotline, 2) != locked


def test_every_lock_trigger_is_there(hotline):
    with appdb.engine(hotline).connect() as conn:
        if conn.dialect.name == "sqlite":
            names = set(conn.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
        else:
            names = set(conn.scalars(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")))
    assert {"lock_version_insert", "lock_version_update", "lock_version_delete"} <= names


def test_a_directory_write_leaves_the_lock_token_alone(hotline):
    before = version_token(hotline, 2)
    sql_shell(hotline, "UPDATE callers SET name = name || '.' WHERE id = 'watch-officer'")
    assert version_token(hotline, 2) == before


def test_changed_calls_are_written_by_one_update_and_the_commit_has_nothing_left(hotline, twilio):
    twilio.post("/voice/incoming", params("CAupd1"))
    with hotline.app_context():
        session = appdb.session_factory(hotline)()
        call = store.call_by_sid(session, "CAupd1")
        call.state, call.priority = "ringing", 1
        with statements(hotline) as seen:
            store.write_changes(session)
            assert not session.dirty
            session.commit()
        assert len(_starts(seen, "UPDATE")) == 1 and _starts(seen, "UPDATE CALLS"), seen
        assert not _starts(seen, "INSERT", "DELETE", "SELECT"), seen
        session.close()
        with appdb.session_factory(hotline)() as fresh:
            stored = store.call_by_sid(fresh, "CAupd1")
            assert (stored.state, stored.priority) == ("ringing", 1)


def test_a_change_to_another_row_leaves_every_write_to_the_commit(hotline, twilio):
    twilio.post("/voice/incoming", params("CAupd2"))
    with hotline.app_context():
        session = appdb.session_factory(hotline)()
        call = store.call_by_sid(session, "CAupd2")
        caller = session.get(Caller, "watch-officer")
        call.state, caller.language = "ringing", "ru-RU"
        with statements(hotline) as seen:
            store.write_changes(session)
        assert seen == [] and call in session.dirty
        session.commit()
        session.close()
        with appdb.session_factory(hotline)() as fresh:
            assert store.call_by_sid(fresh, "CAupd2").state == "ringing"
            assert fresh.get(Caller, "watch-officer").language == "ru-RU"


def test_a_changed_call_deleted_meanwhile_is_an_error_not_a_silent_loss(hotline, twilio):
    twilio.post("/voice/incoming", params("CAgone1"))
    with hotline.app_context():
        session = appdb.session_factory(hotline)()
        call = store.call_by_sid(session, "CAgone1")
        session.commit()  # the row is read; another session deletes it before the change
        call.state = "ringing"
        sql_shell(hotline, "DELETE FROM call_events WHERE call_id = :i", i=call.id)
        sql_shell(hotline, "DELETE FROM calls WHERE sid = 'CAgone1'")
        with pytest.raises(StaleDataError):
            store.write_changes(session)
        session.rollback()
        session.close()


def test_a_new_call_beside_another_new_row_is_flushed_by_the_orm(hotline):
    with hotline.app_context():
        session = appdb.session_factory(hotline)()
        call = Call(sid="CAboth1", started_at=AT, state="new")
        session.add(call)
        session.add(PinLockout(number="+12025550999", failures=1, updated_at=AT))
        store.write_new(session, call)
        assert call.id is not None and not session.new
        session.commit()
        session.close()
        with appdb.session_factory(hotline)() as fresh:
            assert store.call_by_sid(fresh, "CAboth1") is not None
            assert fresh.get(PinLockout, "+12025550999").failures == 1



def test_a_call_written_then_rolled_back_leaves_the_session(hotline):
    """Like a flushed one: the same session can write a new record again (SQLite may give
    the rolled-back id again)."""
    with hotline.app_context():
        session = appdb.session_factory(hotline)()
        first = Call(sid="CAback1", started_at=AT, state="new")
        session.add(first)
        store.write_new(session, first)
        assert first in session and first.id is not None
        session.rollback()
        assert first not in session
        again = Call(sid="CAback1", started_at=AT, state="new")
        session.add(again)
        store.write_new(session, again)
        session.commit()
        session.close()
        with appdb.session_factory(hotline)() as fresh:
            assert store.call_by_sid(fresh, "CAback1").id == again.id
