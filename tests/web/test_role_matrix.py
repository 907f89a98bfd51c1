"""Every route x every role -> allowed or refused, as intended.

Enumerates app.url_map, so a route added anywhere (the reviewer pages and the API
included) fails this test until its intended roles are written in EXPECTED.
Refused = 302 to /login for anonymous, 403 for a logged-in wrong role.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from voiceline import appdb
from voiceline import models as m
from voiceline.models.web import ApiToken, FeedToken
from voiceline.web.auth import create_user

ANY = {"admin", "rota_manager", "reviewer", "responder"}
ADMIN = {"admin"}
MANAGERS = {"admin", "rota_manager"}
REVIEWERS = {"admin", "reviewer"}
SWAPPERS = {"admin", "rota_manager", "responder"}

EXPECTED: dict[str, set[str]] = {
    "home": ANY, "users.account": ANY, "auth.change_password": ANY, "apidocs.reference": ANY,
    "users.create_token": ANY, "users.revoke_token": ANY,
    "users.list_users": ADMIN, "users.new_user": ADMIN, "users.edit_user": ADMIN,
    "users.reset_password": ADMIN, "audit.log": ADMIN, "audit.verify": ADMIN,
    "rota.now": ANY, "rota.coverage": ANY, "rota.rotas": ANY, "rota.rota": ANY,
    "rota.shift": ANY, "rota.my_shifts": ANY, "rota.history": ANY,
    "rota.new_rota": MANAGERS, "rota.edit_rota": MANAGERS, "rota.delete_rota": MANAGERS,
    "rota.new_layer": MANAGERS, "rota.edit_layer": MANAGERS, "rota.end_layer": MANAGERS, "rota.undo": MANAGERS,
    "rota.new_override": MANAGERS, "rota.delete_override": MANAGERS,
    "rota.proposals": MANAGERS, "rota.approve_proposal": MANAGERS,
    "rota.reject_proposal": MANAGERS, "rota.withdraw_proposal": MANAGERS,
    "rota.swaps": SWAPPERS, "rota.offer_swap": SWAPPERS, "rota.take_swap": SWAPPERS,
    "rota.cancel_swap": SWAPPERS, "rota.approve_swap": MANAGERS, "rota.refuse_swap": MANAGERS,
    "directory.people": MANAGERS, "directory.new_person": MANAGERS,
    "directory.edit_person": MANAGERS, "directory.callers": MANAGERS,
    "directory.new_caller": MANAGERS, "directory.edit_caller": MANAGERS,
    "directory.caller_pin": MANAGERS, "directory.policies": MANAGERS,
    "directory.new_policy": MANAGERS, "directory.edit_policy": MANAGERS,
    "directory.new_hotline": MANAGERS, "directory.edit_hotline": MANAGERS,
    "feeds.feeds": SWAPPERS, "feeds.revoke": SWAPPERS,
    # part B: reviewer pages
    "review.calls": REVIEWERS, "review.export": REVIEWERS, "review.call_page": REVIEWERS,
    "review.recording": REVIEWERS, "review.metrics": REVIEWERS, "review.metrics_json": REVIEWERS,
    # a reviewer who is also a supervisor (their person's role) listens in to a live call
    "review.listen": REVIEWERS,
}
# Open to anyone: the login page, logout, health and static files.
PUBLIC = {"auth.login", "auth.logout", "healthz", "static", "ui.static", "ui.favicon"}
# Not cookie-authenticated at all: signed webhooks, token API, secret-URL feeds.
OTHER_AUTH = ("/voice/", "/api/", "/ical/")
ROLES = ("anonymous", "admin", "rota_manager", "reviewer", "responder")


@pytest.fixture
def world(demo, accounts):
    """Ids for every URL variable: a layer, an override, a swap, tokens and a spare user."""
    with demo.app_context():
        db = appdb.session_factory(demo)()
        layer = db.query(m.Layer).filter_by(rota_id="primary").first()
        override = db.query(m.Override).first()
        swap = m.Swap(rota_id="primary", offered_by="alice", status="open",
                      start=datetime(2030, 1, 1, tzinfo=UTC), end=datetime(2030, 1, 2, tzinfo=UTC))
        spare = create_user(db, "spare", "spare password 123", "reviewer")
        db.add(swap)
        db.flush()
        api = ApiToken(user_id=spare.id, token_hash="0" * 64)
        feed = FeedToken(kind="rota", target_id="primary", token_hash="1" * 64)
        db.add_all([api, feed])
        db.commit()
        values = {"rota_id": "primary", "layer_id": layer.id, "override_id": override.id,
                  "swap_id": swap.id, "user_id": spare.id, "caller_id": "ops-desk",
                  "person_id": "alice", "policy_id": "main", "hotline_id": "liaison",
                  "sid": "CA00000000000000000000000000000000", "token": "not-a-token",
                  "token_id": api.id, "check_id": 1, "cid": "ops-desk", "pid": "alice",
                  "rid": "primary", "oid": override.id, "filename": "voiceline.css", "proposal_id": 1}
        db.close()
    return values


def _clients(app, login):
    clients = {"anonymous": app.test_client()}
    for role in ROLES[1:]:
        client = app.test_client()
        assert login(client, role.replace("_", "-")).status_code == 302
        clients[role] = client
    return clients


def _request(client, method, url, token):
    data = {"csrf_token": token} if method != "GET" else None
    response = client.open(url, method=method, data=data)
    response.close()  # a streamed response holds its request context until closed
    return response


def test_every_ui_route_is_in_the_table(app):
    ui = {r.endpoint for r in app.url_map.iter_rules()
          if r.endpoint not in PUBLIC and not r.rule.startswith(OTHER_AUTH)}
    assert ui - set(EXPECTED) == set(), "add the new routes' intended roles to EXPECTED"
    assert set(EXPECTED) - ui == set(), "EXPECTED names routes that no longer exist"


def test_every_route_for_every_role(app, world, login, csrf):
    clients = _clients(app, login)
    tokens = {role: csrf(client, "/login") for role, client in clients.items()}
    checked = 0
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint in PUBLIC or rule.rule.startswith(OTHER_AUTH):
            continue
        url = rule.build({k: world[k] for k in rule.arguments}, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for role in ROLES:
                response = _request(clients[role], method, url, tokens[role])
                where = f"{method} {url} as {role}"
                if role == "anonymous":
                    assert response.status_code == 302, where
                    assert response.headers["Location"].startswith("/login?next="), where
                elif role in EXPECTED[rule.endpoint]:
                    assert response.status_code not in (401, 403), where
                    assert not response.headers.get("Location", "").startswith("/login"), where
                else:
                    assert response.status_code == 403, where
                checked += 1
    assert checked > 250


def test_other_routes_ignore_the_session(app, world, login):
    """Webhooks need a Twilio signature, the API a token, feeds a live token: a cookie is not enough."""
    clients = _clients(app, login)
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(OTHER_AUTH) or rule.endpoint == "api.openapi_document":
            continue
        url = rule.build({k: world[k] for k in rule.arguments}, append_unknown=False)[1]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            for role in ("anonymous", "admin"):
                response = clients[role].open(url, method=method)
                response.close()
                status = response.status_code
                if rule.rule.startswith("/voice/"):
                    if rule.endpoint.startswith("voice.fallback"):
                        continue  # Twilio's fallback URL answers without touching anything
                    assert status == 403, f"{method} {url} as {role}"
                elif rule.rule.startswith("/api/"):
                    assert status == 401, f"{method} {url} as {role}"
                else:
                    assert status == 404, f"{method} {url} as {role}"
