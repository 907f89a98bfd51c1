"""Web UI fixtures: one account per role and a login helper that fetches the CSRF token."""

from __future__ import annotations

import re

import pytest

from voiceline import appdb
from voiceline.web.auth import create_user

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = CSRF_RE.search(html)
    assert match, "no csrf_token on the page"
    return match.group(1)


@pytest.fixture
def csrf():
    """csrf(client, path) -> the CSRF token of the form on `path`."""
    def fetch(client, path="/login"):
        return csrf_from(client.get(path).get_data(as_text=True))
    return fetch


@pytest.fixture
def accounts(app):
    """One active account per role; responder is linked to person 'alice' when it exists."""
    from voiceline import models as m

    with app.app_context():
        db = appdb.session_factory(app)()
        person = "alice" if db.get(m.Person, "alice") else None
        made = {}
        for role in ("admin", "rota_manager", "reviewer", "responder"):
            user = create_user(db, role.replace("_", "-"), PASSWORD, role,
                               person if role == "responder" else None)
            made[role] = user.id
        db.commit()
        db.close()
    return made


@pytest.fixture
def login(csrf):
    """login(client, username, password=PASSWORD) -> the POST response (not followed)."""
    def do(client, username, password=PASSWORD):
        token = csrf(client, "/login")
        return client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": token})
    return do


@pytest.fixture
def as_role(app, accounts, login):
    """as_role("rota_manager") -> a test client logged in with that role."""
    def make(role):
        client = app.test_client()
        response = login(client, role.replace("_", "-"))
        assert response.status_code == 302, response.get_data(as_text=True)
        return client
    return make


@pytest.fixture
def post_form(csrf):
    """post_form(client, form_page, action, data) -> response; takes the token from form_page."""
    def do(client, page, action=None, data=None, **kwargs):
        token = csrf(client, page)
        return client.post(action or page, data={**(data or {}), "csrf_token": token}, **kwargs)
    return do
