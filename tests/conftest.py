"""Shared fixtures: a migrated app per test (SQLite copied from a migrated template),
PostgreSQL databases when make test started a server, CLI runner, demo directory."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from voiceline import appdb, create_app, migrate
from voiceline.db import make_engine

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
AUTH_TOKEN = "test-auth-token"
PUBLIC_URL = "https://hotline.example.org"

# Tests must not pick up a developer's settings; VOICELINE_TEST_* (set by make test) stay.
for var in ("TWILIO_EDGE", "TWILIO_REGION", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
    os.environ.pop(var, None)
for var in [v for v in os.environ if v.startswith("VOICELINE_") and "_TEST_" not in v]:
    os.environ.pop(var)


def base_config(tmp_path: Path, url: str) -> dict:
    """The settings every test app starts from; tests override keys as they need."""
    return {
        "TESTING": True,
        "DATABASE_URL": url,
        "SECRET_KEY": "test-secret-key",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "PUBLIC_URL": PUBLIC_URL,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_ACCOUNT_SID": None,
        "WTF_CSRF_ENABLED": True,
    }


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file migrated to head once per run; each test copies it."""
    path = tmp_path_factory.mktemp("template") / "voiceline.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def sqlite_url(tmp_path, sqlite_template) -> str:
    """A fresh migrated SQLite database for this test."""
    path = tmp_path / "voiceline.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def app_config(tmp_path, sqlite_url) -> dict:
    """Override in a test module to change settings before the app is built."""
    return base_config(tmp_path, sqlite_url)


@pytest.fixture
def app(app_config):
    """A voiceline app on its own migrated database."""
    application = create_app(app_config)
    yield application
    appdb.engine(application).dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def session(app):
    """A database session inside an app context (closed after the test)."""
    with app.app_context():
        db = appdb.session_factory(app)()
        yield db
        db.close()


@pytest.fixture
def demo(app, runner):
    """The app with fixtures/demo.yaml imported."""
    result = runner.invoke(args=["import", str(FIXTURES / "demo.yaml")])
    assert result.exit_code == 0, result.output
    return app


# --- PostgreSQL -------------------------------------------------------------------------------

PG_ADMIN_URL = os.environ.get("VOICELINE_TEST_POSTGRES_URL")


@pytest.fixture
def postgres_url():
    """A fresh, empty PostgreSQL database (skipped when make test started no server)."""
    if not PG_ADMIN_URL:
        pytest.skip("PostgreSQL not configured (make test sets VOICELINE_TEST_POSTGRES_URL)")
    name = f"vl_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db_url(request, tmp_path, sqlite_template):
    """Run the test on SQLite and on PostgreSQL (both migrated to head)."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url


# --- property-based fuzzing -------------------------------------------------------------------

FUZZ_LONG_FACTOR = 20


def pytest_addoption(parser):
    parser.addoption("--fuzz-long", action="store_true", default=False,
                     help=f"run the fuzzing property tests with {FUZZ_LONG_FACTOR}x their examples")


@pytest.fixture
def fuzz_examples(request):
    """fuzz_examples(n): the example count for a fuzzing test (n, or n x 20 under --fuzz-long)."""
    factor = FUZZ_LONG_FACTOR if request.config.getoption("--fuzz-long") else 1
    return lambda n: n * factor
