"""Accounts, throttling, overrides and feeds on SQLite and on PostgreSQL."""

from __future__ import annotations

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
            "WTF_CSRF_ENABLED": True}


def test_login_throttle_override_and_feed(app, demo, accounts, login, as_role, post_form, csrf):
    manager = as_role("rota_manager")
    response = post_form(manager, "/rota/primary/overrides/new", data={
        "kind": "add", "person": "carol", "start": "2031-02-01T09:00", "end": "2031-02-01T17:00"})
    assert response.status_code == 302
    token = csrf(manager, "/feeds")
    html = manager.post("/feeds", data={"target": "rota:primary", "csrf_token": token}).get_data(as_text=True)
    assert "/ical/rota/" in html
    with app.app_context():
        db = appdb.session_factory(app)()
        assert db.scalar(select(func.count()).select_from(m.Override)) == 2
        db.close()
    client = app.test_client()  # last: the address is throttled afterwards
    for _ in range(5):
        login(client, "reviewer", "wrong password here")
    assert login(client, "reviewer").status_code == 429
    with app.app_context():
        db = appdb.session_factory(app)()
        assert db.scalar(select(func.count()).select_from(LoginAttempt)) == 5
        db.close()
