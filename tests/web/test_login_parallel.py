"""20 parallel wrong logins on SQLite and on PostgreSQL: at most LOGIN_MAX_FAILURES are checked."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from voiceline import appdb
from voiceline import models as m
from voiceline.models.web import LoginAttempt


@pytest.fixture
def app_config(tmp_path, any_db_url):
    return {"TESTING": True, "DATABASE_URL": any_db_url, "SECRET_KEY": "test-secret-key",
            "INSTANCE_PATH": str(tmp_path / "instance"), "PUBLIC_URL": "https://hotline.example.org",
            "TWILIO_AUTH_TOKEN": "test-auth-token", "TWILIO_ACCOUNT_SID": None,
            "WTF_CSRF_ENABLED": False}


def _count(app, action: str) -> int:
    with app.app_context():
        db = appdb.session_factory(app)()
        try:
            return db.scalar(select(func.count()).select_from(m.AuditEntry)
                             .where(m.AuditEntry.action == action))
        finally:
            db.close()


def test_parallel_wrong_logins_check_at_most_the_limit(app, accounts):
    barrier = threading.Barrier(20)
    statuses = []

    def attempt():
        client = app.test_client()
        barrier.wait()
        response = client.post("/login", data={"username": "reviewer", "password": "wrong password!"})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(statuses) == 20 and set(statuses) <= {200, 429}
    checked = _count(app, "auth.login_failed")
    assert 1 <= checked <= app.config["LOGIN_MAX_FAILURES"]
    assert _count(app, "auth.login_throttled") == 20 - checked
    with app.app_context():
        db = appdb.session_factory(app)()
        assert db.scalar(select(func.count()).select_from(LoginAttempt)) == checked
        db.close()
