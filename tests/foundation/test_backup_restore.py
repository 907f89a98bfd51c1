"""`voiceline backup` / `restore`: a consistent copy, restored into a fresh database row for row."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import select, text

from voiceline import appdb, audit, create_app, migrate
from voiceline import models as m
from voiceline.backup import tables
from voiceline.calls.replay import in_process_twilio
from voiceline.calls.twilio_side import call_params
from voiceline.db import make_engine, session_scope
from voiceline.passwords import hash_secret

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _populated(app, runner) -> None:
    """The demo directory, a user, a call with a PIN and a voicemail, an outbox row, audit rows."""
    assert runner.invoke(args=["import", str(FIXTURES / "demo.yaml")]).exit_code == 0
    assert runner.invoke(args=["users", "add", "rita", "--role", "reviewer", "--generate"]).exit_code == 0
    # In an app context, as every writer of the audit log is: the anchor is signed with its key.
    with app.app_context(), session_scope(appdb.session_factory(app)) as session:
        for caller in session.scalars(select(m.Caller)):
            caller.pin_hash = hash_secret("2468")
        audit.record(session, "cli", "test.unicode", "Ольга", note="ünïcødé ✓")
    twilio = in_process_twilio(app)
    base = call_params("CAbackup", "+12025550150", "+12025550100")
    twilio.post("/voice/incoming", base)
    twilio.post(twilio.follow("gather"), {**base, "Digits": "2468", "CallStatus": "in-progress"})
    twilio.post("/voice/status", {**base, "CallStatus": "completed", "CallDuration": "12",
                                  "SequenceNumber": "0", "Timestamp": "Tue, 10 Mar 2026 15:00:30 +0000"})


def _rows(url: str) -> dict[str, list[tuple]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {t.name: [tuple(r) for r in conn.execute(
                select(t).order_by(*(list(t.primary_key.columns) or list(t.columns))))]
                for t in tables()}
    finally:
        engine.dispose()


def _app_on(config: dict, tmp_path: Path, url: str, name: str):
    return create_app({**config, "DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path / name)})


@pytest.fixture
def restore_url(request, tmp_path):
    """A fresh database of each kind, not even migrated."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.mark.parametrize("restore_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)
def test_backup_restored_into_a_fresh_database_has_every_row(app, runner, sqlite_url, tmp_path,
                                                              restore_url, app_config):
    _populated(app, runner)
    target = tmp_path / "backup.db"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    original = _rows(sqlite_url)
    assert sum(len(rows) for rows in original.values()) > 30
    assert original["calls"] and original["call_events"] and original["audit_log"]

    fresh = _app_on(app_config, tmp_path, restore_url, "fresh")
    result = fresh.test_cli_runner().invoke(args=["restore", str(target)])
    assert result.exit_code == 0, result.output
    assert "audit chain intact" in result.output
    restored = _rows(restore_url)
    for table in original:
        assert restored[table] == original[table], table
    # The restored database goes on: new rows get new ids, the chain continues.
    with session_scope(appdb.session_factory(fresh)) as session:
        entry = audit.record(session, "cli", "test.after_restore")
        assert entry.id == max(r[0] for r in original["audit_log"]) + 1
        session.add(m.OutboxMessage(key="after", kind="sms", recipient="+12025550101", body="x",
                                    purpose="test"))
    with session_scope(appdb.session_factory(fresh)) as session:
        assert audit.verify(session).ok
    appdb.engine(fresh).dispose()


def test_restore_refuses_a_database_that_is_not_empty_without_force(app, runner, tmp_path):
    _populated(app, runner)
    target = tmp_path / "backup.db"
    assert runner.invoke(args=["backup", str(target)]).exit_code == 0
    before = _rows(str(appdb.engine(app).url))
    result = runner.invoke(args=["restore", str(target)])
    assert result.exit_code == 1
    assert "not empty" in result.output and "--force" in result.output
    assert _rows(str(appdb.engine(app).url)) == before
    with session_scope(appdb.session_factory(app)) as session:
        audit.record(session, "cli", "test.later")  # a row the backup does not have
    result = runner.invoke(args=["restore", "--force", str(target)])
    assert result.exit_code == 0, result.output
    assert _rows(str(appdb.engine(app).url)) == before


def test_restore_names_a_broken_audit_chain(app, runner, tmp_path, app_config):
    _populated(app, runner)
    target = tmp_path / "backup.db"
    assert runner.invoke(args=["backup", str(target)]).exit_code == 0
    with sqlite3.connect(target) as conn:
        conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE id = 2")
    fresh = _app_on(app_config, tmp_path, f"sqlite:///{tmp_path / 'fresh.db'}", "fresh")
    result = fresh.test_cli_runner().invoke(args=["restore", str(target)])
    assert result.exit_code == 1
    assert "audit chain BROKEN at entry 2" in result.output
    appdb.engine(fresh).dispose()


def test_backup_is_a_consistent_snapshot_while_a_writer_holds_a_transaction(app, runner, sqlite_url,
                                                                             tmp_path):
    _populated(app, runner)
    committed = _rows(sqlite_url)
    writer = make_engine(sqlite_url)
    started, release = threading.Event(), threading.Event()

    def write():
        with writer.begin() as conn:
            conn.execute(text("INSERT INTO audit_log (at, actor, action, target, detail, prev_hash, "
                              "hash) VALUES ('2026-01-01 00:00:00', 'x', 'x', '', '{}', 'p', 'h')"))
            started.set()
            release.wait(10)
            raise RuntimeError("rolled back")  # never committed

    thread = threading.Thread(target=lambda: pytest.raises(RuntimeError, write))
    thread.start()
    assert started.wait(10)
    target = tmp_path / "backup.db"
    result = runner.invoke(args=["backup", str(target)])
    release.set()
    thread.join()
    writer.dispose()
    assert result.exit_code == 0, result.output
    assert _rows(f"sqlite:///{target}") == committed
    assert migrate.current_revision(make_engine(f"sqlite:///{target}")) == migrate.head_revision()


def test_backup_on_postgresql_prints_the_pg_dump_command(tmp_path, app_config):
    url = "postgresql+psycopg://voiceline:s3cret@db.internal:5433/hotline"
    app = _app_on(app_config, tmp_path, url, "pg")
    result = app.test_cli_runner().invoke(args=["backup", "/var/backups/hotline.dump"])
    assert result.exit_code == 2
    assert ("pg_dump --format=custom --file=/var/backups/hotline.dump "
            "postgresql://voiceline@db.internal:5433/hotline") in result.output
    assert "s3cret" not in result.output
    assert not Path("/var/backups/hotline.dump").exists()


def test_backup_will_not_overwrite_a_file_without_force(app, runner, tmp_path):
    target = tmp_path / "backup.db"
    target.write_text("precious")
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 1 and "--force" in result.output
    assert target.read_text() == "precious"
    assert runner.invoke(args=["backup", "--force", str(target)]).exit_code == 0


def test_restore_names_a_file_that_is_not_a_backup(app, runner, tmp_path):
    target = tmp_path / "dump.custom"
    target.write_bytes(b"PGDMP\x01\x0e\x00" + b"\x00" * 200)
    result = runner.invoke(args=["restore", str(target)])
    assert result.exit_code == 1 and "is not a SQLite backup" in result.output
