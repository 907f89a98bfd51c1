"""Logging in and out, throttling, forced password change, cookies, CSRF, roles."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from voiceline import appdb
from voiceline.instants import utcnow
from voiceline.models.shared import AuditEntry
from voiceline.models.web import LoginAttempt, User
from voiceline.web.auth import create_user

PASSWORD = "correct horse battery"


def _audit(app, action):
    with app.app_context():
        db = appdb.session_factory(app)()
        rows = db.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()
        db.close()
        return rows


def test_anonymous_is_sent_to_login_with_next(client, accounts):
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/admin/users")


def test_anonymous_json_gets_401(client, accounts):
    response = client.get("/admin/users", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.get_json() == {"error": "login required"}


def test_login_sets_a_hardened_cookie_and_follows_next(client, accounts, csrf):
    token = csrf(client, "/login?next=/admin/users")
    response = client.post("/login?next=/admin/users",
                           data={"username": "admin", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" in cookie  # PUBLIC_URL is https in the tests
    assert client.get("/admin/users").status_code == 200
    assert [e.target for e in _audit(client.application, "auth.login")] == ["user admin"]


def test_login_refuses_an_offsite_next(client, accounts, csrf):
    token = csrf(client)
    response = client.post("/login?next=//evil.example/x",
                           data={"username": "admin", "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/"


def test_wrong_password_is_refused_recorded_and_audited(client, accounts, login, app):
    response = login(client, "admin", "wrong password!")
    assert response.status_code == 200
    assert "Wrong username or password." in response.get_data(as_text=True)
    with app.app_context():
        db = appdb.session_factory(app)()
        assert db.scalar(select(func.count()).select_from(LoginAttempt)) == 1
        db.close()
    failed = _audit(app, "auth.login_failed")
    assert len(failed) == 1 and failed[0].target == "user admin"
    assert "wrong password" not in str(failed[0].detail)
    assert client.get("/admin/users").status_code == 302


def test_unknown_user_gets_the_same_answer(client, accounts, login):
    response = login(client, "nobody", "whatever-password")
    assert "Wrong username or password." in response.get_data(as_text=True)


def test_throttling_after_five_failures_even_with_the_right_password(client, accounts, login, app):
    for _ in range(5):
        login(client, "reviewer", "nope nope nope")
    response = login(client, "reviewer")
    assert response.status_code == 429
    assert "Too many failed logins" in response.get_data(as_text=True)
    assert len(_audit(app, "auth.login_throttled")) == 1
    # Another username from the same address is refused as well (per-address limit).
    assert login(client, "admin").status_code == 429


def test_old_failures_fall_out_of_the_window(client, accounts, login, app):
    with app.app_context():
        db = appdb.session_factory(app)()
        old = utcnow() - timedelta(minutes=16)
        db.add_all(LoginAttempt(username="reviewer", remote_addr="127.0.0.1", at=old)
                   for _ in range(5))
        db.commit()
        db.close()
    assert login(client, "reviewer").status_code == 302


def test_disabled_user_cannot_log_in_and_is_logged_out(app, accounts, login):
    client = app.test_client()
    assert login(client, "reviewer").status_code == 302
    with app.app_context():
        db = appdb.session_factory(app)()
        db.get(User, accounts["reviewer"]).active = False
        db.commit()
        db.close()
    assert client.get("/account").status_code == 302  # the session ended
    assert "Wrong username" in login(client, "reviewer").get_data(as_text=True)


def test_wrong_role_gets_403(as_role):
    client = as_role("reviewer")
    assert client.get("/admin/users").status_code == 403


def test_logout_needs_post_and_csrf(as_role, csrf):
    client = as_role("reviewer")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token
    token = csrf(client, "/account")
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/account").status_code == 302


def test_forged_form_without_csrf_is_refused(as_role, app):
    client = as_role("admin")
    response = client.post("/admin/users/new", data={"username": "mallory", "role": "admin"})
    assert response.status_code == 400
    with app.app_context():
        db = appdb.session_factory(app)()
        assert db.scalar(select(User).where(User.username == "mallory")) is None
        db.close()


def test_one_time_password_forces_a_change(app, login, csrf):
    with app.app_context():
        db = appdb.session_factory(app)()
        create_user(db, "newbie", "one-time-secret", "reviewer", must_change_password=True)
        db.commit()
        db.close()
    client = app.test_client()
    login(client, "newbie", "one-time-secret")
    response = client.get("/account")
    assert response.status_code == 302 and response.headers["Location"] == "/account/password"
    token = csrf(client, "/account/password")
    short = client.post("/account/password", data={"current": "one-time-secret", "new": "short",
                                                   "confirm": "short", "csrf_token": token})
    assert "at least 10 characters" in short.get_data(as_text=True)
    done = client.post("/account/password", data={
        "current": "one-time-secret", "new": "my own good password",
        "confirm": "my own good password", "csrf_token": token})
    assert done.status_code == 302
    assert client.get("/account").status_code == 200
    with app.app_context():
        db = appdb.session_factory(app)()
        assert db.scalar(select(User).where(User.username == "newbie")).must_change_password is False
        db.close()


def test_password_change_ends_other_sessions(app, accounts, login, csrf):
    first, second = app.test_client(), app.test_client()
    login(first, "reviewer")
    login(second, "reviewer")
    token = csrf(first, "/account/password")
    first.post("/account/password", data={"current": PASSWORD, "new": "a brand new password",
                                          "confirm": "a brand new password", "csrf_token": token})
    assert first.get("/account").status_code == 200
    assert second.get("/account").status_code == 302


def test_html_in_username_is_escaped(app, login):
    with app.app_context():
        db = appdb.session_factory(app)()
        db.add(User(username="<b>x</b>", password_hash="x", role="admin", active=True,
                    must_change_password=False))
        create_user(db, "boss", PASSWORD, "admin")
        db.commit()
        db.close()
    client = app.test_client()
    login(client, "boss")
    html = client.get("/admin/users").get_data(as_text=True)
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html


def test_security_headers_on_pages(client):
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_login_refuses_next_with_control_characters(client, accounts, csrf):
    # Browsers drop tabs and newlines from URLs: "/\t/evil.example" becomes "//evil.example".
    for target in ("/%09/evil.example/x", "/%0A/evil.example/x", "/%0D%0A/evil.example"):
        fresh = client.application.test_client()
        token = csrf(fresh)
        response = fresh.post(f"/login?next={target}",
                              data={"username": "admin", "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 302, target
        assert response.headers["Location"] == "/", target


def test_own_login_does_not_reset_failures_against_another_account(client, accounts, login, app):
    # An insider must not clear the per-address count (and the admin's) by logging in as themself.
    for _ in range(4):
        login(client, "admin", "guess guess guess")
    assert login(client, "reviewer").status_code == 302
    other = app.test_client()
    login(other, "admin", "guess guess guess")
    assert login(app.test_client(), "admin").status_code == 429
