"""Phone numbers in E.164 and the hash-chained audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from voiceline import audit
from voiceline.db import make_engine, make_sessionmaker, session_scope
from voiceline.models import AuditEntry
from voiceline.phones import InvalidNumber, to_e164, try_e164


@pytest.mark.parametrize(("raw", "region", "e164"), [
    ("+1 202 555 0101", "US", "+12025550101"),
    ("(202) 555-0199", "US", "+12025550199"),
    ("+7 495 123-45-67", "US", "+74951234567"),
    ("8 (495) 123-45-67", "RU", "+74951234567"),
    ("020 7946 0018", "GB", "+442079460018"),
])
def test_numbers_become_e164(raw, region, e164):
    assert to_e164(raw, region) == e164


@pytest.mark.parametrize("raw", ["", "12", "+1 202 555", "not a number", "+999 1234 5678"])
def test_invalid_numbers_are_errors(raw):
    with pytest.raises(InvalidNumber):
        to_e164(raw)
    assert try_e164(raw) is None


def test_anonymous_caller_id_is_none():
    assert try_e164("anonymous") is None and try_e164(None) is None


def test_audit_chain_links_and_verifies(session):
    first = audit.record(session, "cli", "rota.import", "directory", created=["person a"])
    second = audit.record(session, "user:ann", "override.add", "rota primary",
                          before=None, after={"add": "boris"})
    session.commit()
    assert first.prev_hash == audit.GENESIS and second.prev_hash == first.hash
    report = audit.verify(session)
    assert report.ok and report.checked == 2


def test_audit_verify_names_first_tampered_entry(session):
    entries = [audit.record(session, "cli", "x", str(i), n=i) for i in range(5)]
    session.commit()
    session.execute(update(AuditEntry).where(AuditEntry.id == entries[2].id)
                    .values(target="forged"))
    session.commit()
    report = audit.verify(session)
    assert not report.ok and report.broken_id == entries[2].id and report.checked == 2
    assert "content" in report.reason


def test_audit_verify_detects_a_deleted_entry(session):
    entries = [audit.record(session, "cli", "x", str(i)) for i in range(4)]
    session.commit()
    session.delete(session.get(AuditEntry, entries[1].id))
    session.commit()
    report = audit.verify(session)
    assert report.broken_id == entries[2].id and "prev_hash" in report.reason


def test_cli_audit_verify(runner, app, session):
    audit.record(session, "cli", "x", "y")
    session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "intact: 1 entries" in result.output
    session.execute(update(AuditEntry).values(actor="mallory"))
    session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "BROKEN at entry" in result.output


@pytest.mark.postgres
def test_audit_chain_on_postgres_from_two_sessions(postgres_url):
    from voiceline import migrate

    engine = make_engine(postgres_url)
    migrate.upgrade(engine)
    factory = make_sessionmaker(engine)
    for i in range(3):
        with session_scope(factory) as session:
            audit.record(session, "cli", "x", str(i))
    with session_scope(factory) as session:
        assert audit.verify(session).checked == 3
        hashes = session.scalars(select(AuditEntry.prev_hash).order_by(AuditEntry.id)).all()
        assert hashes[0] == audit.GENESIS and len(set(hashes)) == 3
    engine.dispose()
