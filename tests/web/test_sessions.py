"""Server-side session ends: logout, a password change and disabling an account end every
session (copied cookies included) and revoke the account's API and feed tokens."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import select

from voiceline import appdb
from voiceline.models.web import ApiToken, FeedToken, User
from voiceline.web.auth import token_digest
from voiceline.web.ical import new_feed_token

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new password"


def _copy_cookie(source, app):
    """A second client carrying a copy of `source`'s session cookie (a stolen cookie)."""
    thief = app.test_client()
    cookie = source.get_cookie("session")
    assert cookie is not None
    thief.set_cookie("session", cookie.value, domain=cookie.domain, path=cookie.path)
    return thief


def _tokens(app, username):
    """An API token and a rota-feed token made by `username`; returns (api, feed path)."""
    with app.app_context():
        db = appdb.session_factory(app)()
        user = db.scalar(select(User).where(User.username == username))
        api = secrets.token_urlsafe(24)
        db.add(ApiToken(user_id=user.id, name="t", token_hash=token_digest(api)))
        _row, feed = new_feed_token(db, "rota", "primary", f"user:{username}")
        db.commit()
        db.close()
    return api, f"/ical/rota/{feed}.ics"


def _refused(app, cookie_client, api, feed):
    assert cookie_client.get("/calls").status_code == 302
    assert cookie_client.get("/calls").headers["Location"].startswith("/login")
    assert cookie_client.get("/calls", headers={"Accept": "application/json"}).status_code == 401
    anonymous = app.test_client()
    assert anonymous.get("/api/v1/calls", headers={"Authorization": f"Bearer {api}"}).status_code == 401
    assert anonymous.get(feed).status_code == 404


def test_a_copied_cookie_is_refused_after_logout(app, accounts, login, csrf):
    client = app.test_client()
    login(client, "reviewer")
    thief = _copy_cookie(client, app)
    assert thief.get("/calls").status_code == 200
    token = csrf(client, "/calls")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    response = thief.get("/calls")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert thief.get("/calls", headers={"Accept": "application/json"}).status_code == 401
    # Logging in again gives a fresh session that works.
    login(client, "reviewer")
    assert client.get("/calls").status_code == 200


def test_password_change_ends_cookies_api_tokens_and_feeds(demo, accounts, login, csrf):
    app = demo
    api, feed = _tokens(app, "rota-manager")
    anonymous = app.test_client()
    assert anonymous.get("/api/v1/calls", headers={"Authorization": f"Bearer {api}"}).status_code == 403
    assert anonymous.get(feed).status_code == 200
    client = app.test_client()
    login(client, "rota-manager")
    thief = _copy_cookie(client, app)
    token = csrf(client, "/account/password")
    done = client.post("/account/password", data={"current": PASSWORD, "new": NEW_PASSWORD,
                                                  "confirm": NEW_PASSWORD, "csrf_token": token})
    assert done.status_code == 302
    assert client.get("/account").status_code == 200  # the session that changed it goes on
    _refused(app, thief, api, feed)
    with app.app_context():
        db = appdb.session_factory(app)()
        assert all(t.revoked_at is not None for t in db.scalars(select(ApiToken)))
        assert all(t.revoked_at is not None for t in db.scalars(select(FeedToken)))
        db.close()


@pytest.mark.parametrize("how", ["ui", "cli"])
def test_disabling_ends_cookies_api_tokens_and_feeds(demo, accounts, login, as_role, post_form,
                                                     how):
    app = demo
    api, feed = _tokens(app, "reviewer")
    client = app.test_client()
    login(client, "reviewer")
    assert client.get("/calls").status_code == 200
    assert app.test_client().get(feed).status_code == 200
    if how == "ui":
        admin = as_role("admin")
        page = f"/admin/users/{accounts['reviewer']}"
        response = post_form(admin, page, data={"role": "reviewer", "person_id": "",
                                                "timezone": ""})
        assert response.status_code == 302
    else:
        result = app.test_cli_runner().invoke(args=["users", "disable", "reviewer"])
        assert result.exit_code == 0, result.output
    _refused(app, client, api, feed)
    # Enabling the account again does not bring the old tokens back.
    result = app.test_cli_runner().invoke(args=["users", "enable", "reviewer"])
    assert result.exit_code == 0, result.output
    assert app.test_client().get(feed).status_code == 404
    assert app.test_client().get(
        "/api/v1/calls", headers={"Authorization": f"Bearer {api}"}).status_code == 401


def test_a_feed_of_an_account_disabled_earlier_is_refused(demo, accounts):
    app = demo
    _api, feed = _tokens(app, "responder")
    with app.app_context():
        db = appdb.session_factory(app)()
        db.get(User, accounts["responder"]).active = False  # as before feeds were revoked
        db.commit()
        db.close()
    assert app.test_client().get(feed).status_code == 404
