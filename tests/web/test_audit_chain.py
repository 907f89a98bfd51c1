"""The audit chain under concurrent writers: no fork, and verify names the first broken entry."""

from __future__ import annotations

import threading

from sqlalchemy import select, update

from voiceline import audit
from voiceline.db import make_engine, make_sessionmaker, session_scope
from voiceline.models.shared import AuditEntry


def test_two_writers_cannot_fork_the_chain(any_db_url, monkeypatch):
    engine = make_engine(any_db_url)
    factory = make_sessionmaker(engine)
    # Both writers pause after reading the previous hash (if the lock lets them both that far).
    gate = threading.Barrier(2, timeout=1)
    real_now = audit.utcnow

    def paused_now():
        try:
            gate.wait()
        except threading.BrokenBarrierError:
            pass  # the other writer is waiting for the lock, as it should
        return real_now()

    monkeypatch.setattr(audit, "utcnow", paused_now)
    errors: list[BaseException] = []

    def append(name: str) -> None:
        try:
            with session_scope(factory) as session:
                audit.record(session, name, "test.append")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    writers = [threading.Thread(target=append, args=(f"writer{i}",)) for i in range(2)]
    for w in writers:
        w.start()
    for w in writers:
        w.join(30)
    assert errors == []
    with session_scope(factory) as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert len(rows) == 2
        assert len({r.prev_hash for r in rows}) == 2
        assert audit.verify(session).ok
    engine.dispose()


def test_verify_names_the_first_broken_entry(any_db_url):
    engine = make_engine(any_db_url)
    factory = make_sessionmaker(engine)
    with session_scope(factory) as session:
        ids = [audit.record(session, "cli", "test.append", f"n{i}").id for i in range(4)]
    with session_scope(factory) as session:
        session.execute(update(AuditEntry).where(AuditEntry.id == ids[1]).values(target="forged"))
    with session_scope(factory) as session:
        report = audit.verify(session)
    assert (report.broken_id, report.checked) == (ids[1], 1)
    assert "content" in report.reason
    engine.dispose()
