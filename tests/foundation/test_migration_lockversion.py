"""Migration 0013_lockversion both ways, on SQLite and on PostgreSQL: the lock-out token and
its triggers come and go, and the directory's triggers renew only their own row at head."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from voiceline import migrate
from voiceline.db import make_engine


def _tokens(engine) -> dict[int, int]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT id, token FROM directory_version")).all())


def _write(engine, statement: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement))


def test_the_lock_token_migration_goes_down_and_up_again(any_db_url):
    engine = make_engine(any_db_url)
    migrate.upgrade(engine)
    config = migrate.alembic_config(any_db_url)
    before = _tokens(engine)
    assert set(before) == {1, 2}
    _write(engine, "INSERT INTO people (id, name, phone, languages, roles, active, created_at, "
                   "updated_at) VALUES ('p1', 'P', '+12025550111', '[]', '[]', TRUE, "
                   "'2026-01-01 00:00:00', '2026-01-01 00:00:00')")  # the directory's own row only
    after = _tokens(engine)
    assert after[1] != before[1] and after[2] == before[2]

    command.downgrade(config, "0012_twoperson")
    assert set(_tokens(engine)) == {1}
    _write(engine, "INSERT INTO pin_lockouts (number, failures, updated_at, locked_until) "
                   "VALUES ('+12025550999', 0, '2026-01-01 00:00:00', '2026-01-01 00:10:00')")
    old = _tokens(engine)[1]
    _write(engine, "UPDATE people SET name = 'Q'")  # 0011's triggers are back and work
    assert _tokens(engine)[1] != old

    command.upgrade(config, "head")
    locks = _tokens(engine)[2]
    _write(engine, "UPDATE pin_lockouts SET locked_until = NULL")
    assert _tokens(engine)[2] != locks
    engine.dispose()
