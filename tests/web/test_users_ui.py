"""Admin user pages and one's own account: one-time passwords, roles, API tokens."""

from __future__ import annotations

import re

from sqlalchemy import select

from voiceline import appdb
from voiceline.models.web import ApiToken, User
from voiceline.passwords import verify_secret
from voiceline.web.auth import token_digest


def _user(app, username):
    with app.app_context():
        db = appdb.session_factory(app)()
        user = db.scalar(select(User).where(User.username == username))
        db.close()
        return user


def test_admin_adds_a_responder_with_a_one_time_password(app, demo, as_role, post_form):
    admin = as_role("admin")
    missing = post_form(admin, "/admin/users/new", data={"username": "dee", "role": "responder",
                                                         "person_id": ""})
    assert "a responder is linked to a person" in missing.get_data(as_text=True)
    response = post_form(admin, "/admin/users/new", data={"username": "dee", "role": "responder",
                                                          "person_id": "dmitri"})
    password = re.search(r'<code class="secret">([^<]+)</code>', response.get_data(as_text=True)).group(1)
    dee = _user(app, "dee")
    assert dee.must_change_password and dee.person_id == "dmitri"
    assert verify_secret(dee.password_hash, password)
    taken = post_form(admin, "/admin/users/new", data={"username": "dee", "role": "reviewer",
                                                       "person_id": ""})
    assert "is taken" in taken.get_data(as_text=True)


def test_admin_cannot_demote_or_disable_themselves(app, accounts, as_role, post_form):
    admin = as_role("admin")
    uid = accounts["admin"]
    response = post_form(admin, f"/admin/users/{uid}", data={"username": "admin", "role": "reviewer",
                                                             "person_id": "", "active": "y"})
    assert "cannot remove your own admin role" in response.get_data(as_text=True)
    assert _user(app, "admin").role == "admin"
    other = post_form(admin, f"/admin/users/{accounts['reviewer']}", f"/admin/users/{accounts['reviewer']}",
                      data={"username": "reviewer", "role": "rota_manager", "person_id": "",
                            "timezone": "Asia/Tokyo"})
    assert other.status_code == 302
    changed = _user(app, "reviewer")
    assert (changed.role, changed.timezone, changed.active) == ("rota_manager", "Asia/Tokyo", False)
    assert post_form(admin, "/admin/users/new", "/admin/users/9999").status_code == 404


def test_own_api_tokens(app, accounts, as_role, post_form):
    client = as_role("reviewer")
    response = post_form(client, "/account", "/account/tokens", data={"name": "script"})
    token = re.search(r'<code class="secret">([^<]+)</code>', response.get_data(as_text=True)).group(1)
    with app.app_context():
        db = appdb.session_factory(app)()
        row = db.scalar(select(ApiToken))
        assert row.token_hash == token_digest(token) and row.user_id == accounts["reviewer"]
        db.close()
    other = as_role("responder")
    assert post_form(other, "/account", f"/account/tokens/{row.id}/revoke").status_code == 404
    post_form(client, "/account", f"/account/tokens/{row.id}/revoke")
    with app.app_context():
        db = appdb.session_factory(app)()
        assert db.get(ApiToken, row.id).revoked_at is not None
        db.close()


def test_own_zone(app, accounts, as_role, post_form):
    client = as_role("reviewer")
    bad = post_form(client, "/account", data={"timezone": "Moon/Base"})
    assert "unknown time zone" in bad.get_data(as_text=True)
    post_form(client, "/account", data={"timezone": "Europe/Moscow"})
    assert _user(app, "reviewer").timezone == "Europe/Moscow"
