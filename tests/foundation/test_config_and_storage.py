"""Settings, secret key, engine set-up, migrations and /healthz."""

from __future__ import annotations

import os
import stat
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, select, text

from voiceline import appdb, create_app, migrate
from voiceline import models as m
from voiceline.config import ensure_secret_key, load_settings
from voiceline.db import make_engine, session_scope
from voiceline.extensions import STARTED


def test_settings_parse_environment_and_defaults():
    config = load_settings({"VOICELINE_FALLBACK_NUMBERS": "+12025550109, +442079460018",
                            "VOICELINE_DEFAULT_REGION": "RU"})
    assert config["FALLBACK_NUMBERS"] == ["+12025550109", "+442079460018"]
    assert config["DEFAULT_REGION"] == "RU"
    assert config["DATABASE_URL"] is None and config["TWILIO_AUTH_TOKEN"] is None


def test_secret_key_is_generated_once_with_private_mode(tmp_path):
    first = ensure_secret_key(str(tmp_path))
    assert len(first) >= 48
    assert ensure_secret_key(str(tmp_path)) == first
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600


def test_default_database_is_sqlite_wal_in_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("VOICELINE_DATABASE_URL", raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path / "inst")})
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'inst' / 'voiceline.db'}"
    assert (tmp_path / "inst" / "secret_key").exists()
    with appdb.engine(app).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    appdb.engine(app).dispose()


def test_migrations_create_every_model_table(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert migrate.current_revision(engine) is None
    assert migrate.upgrade(engine) is True
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert migrate.upgrade(engine) is False
    tables = set(inspect(engine).get_table_names())
    assert set(m.Person.metadata.tables) <= tables
    engine.dispose()


def test_utc_column_round_trips_aware_instants(session):
    moscow = timezone(timedelta(hours=3))
    session.add(m.Person(id="p", name="P", phone="+12025550101", languages=[],
                         created_at=datetime(2026, 3, 8, 10, 30, tzinfo=moscow)))
    session.commit()
    session.expire_all()
    stored = session.get(m.Person, "p").created_at
    assert stored == datetime(2026, 3, 8, 7, 30, tzinfo=UTC) and stored.tzinfo is UTC
    raw = session.execute(text("SELECT created_at FROM people")).scalar()
    assert str(raw).startswith("2026-03-08 07:30:00")


def test_naive_datetime_is_refused(session):
    session.add(m.Person(id="p", name="P", phone="+12025550101", languages=[],
                         created_at=datetime(2026, 1, 1)))
    with pytest.raises(Exception, match="naive"):
        session.commit()


def test_healthz_reports_ok_and_unmigrated(app, client, tmp_path):
    from voiceline.jobs.tick import run_tick

    app.config["FALLBACK_NUMBERS"] = ["+12025550109"]  # a complete setup (see tests/calls/test_twilio_setup.py)
    run_tick(app, datetime.now(UTC))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["schema"] == migrate.head_revision()
    app = create_app({"INSTANCE_PATH": str(tmp_path / "i2"),
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert "voiceline db upgrade" in response.get_json()["error"]


@pytest.mark.postgres
def test_postgres_migrates_and_stores_utc(postgres_url):
    engine = make_engine(postgres_url)
    assert migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    from voiceline.db import make_sessionmaker

    with session_scope(make_sessionmaker(engine)) as session:
        session.add(m.Person(id="p", name="P", phone="+12025550101", languages=["en"],
                             created_at=datetime(2026, 11, 1, 5, 30, tzinfo=UTC)))
    with session_scope(make_sessionmaker(engine)) as session:
        person = session.scalar(select(m.Person))
        assert person.created_at == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
        assert person.languages == ["en"]
    engine.dispose()


def test_healthz_reports_a_silent_scheduler(app, client):
    from voiceline.jobs.tick import run_tick

    app.config["FALLBACK_NUMBERS"] = ["+12025550109"]
    app.extensions[STARTED] = time.monotonic() - 90  # up past the scheduler's first minute
    body = client.get("/healthz").get_json()
    assert not body["ok"] and "never ticked" in body["scheduler"]["warning"]
    run_tick(app, datetime.now(UTC))
    body = client.get("/healthz").get_json()
    assert body["ok"] and body["scheduler"]["stale"] is False
    with app.app_context():
        from voiceline.jobs.state import set_state

        db = appdb.session_factory(app)()
        old = datetime.now(UTC) - timedelta(minutes=30)
        set_state(db, "tick", {"ran_at": old.strftime("%Y-%m-%dT%H:%M:%SZ")}, old)
        db.commit()
        db.close()
    response = client.get("/healthz")
    assert response.status_code == 503 and "not ticked" in response.get_json()["error"]


def test_healthz_gives_a_just_started_scheduler_its_first_minute(app, client):
    """`make run` starts the scheduler beside the server: it has not ticked in the first
    seconds, which is no failure; a minute after the start it is."""
    app.config["FALLBACK_NUMBERS"] = ["+12025550109"]
    response = client.get("/healthz")
    body = response.get_json()
    assert response.status_code == 200 and body["ok"] is True
    assert body["checks"]["scheduler"]["ok"] is True
    assert "not ticked yet" in body["scheduler"]["warning"]
    app.extensions[STARTED] = time.monotonic() - 61
    response = client.get("/healthz")
    body = response.get_json()
    assert response.status_code == 503 and body["ok"] is False
    assert "never ticked" in body["error"]
    assert body["problems"] == [{"check": "scheduler", "problem": body["error"]}]


def test_every_setting_is_documented():
    from pathlib import Path

    from voiceline.config import SETTINGS

    root = Path(__file__).resolve().parents[2]
    example = (root / ".env.example").read_text()
    readme = (root / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    missing = [s.env for s in SETTINGS if f"{s.env}=" not in example or f"`{s.env}`" not in table]
    assert missing == []


def test_migrations_match_the_models(any_db_url):
    """Autogenerate finds nothing to do: every model change has its migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from voiceline.db import Base

    engine = make_engine(any_db_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()
