"""App-wide hooks live in create_app and on the blueprints, not in path prefixes of web/."""

from __future__ import annotations

from werkzeug.middleware.proxy_fix import ProxyFix

from voiceline import create_app
from voiceline.calls.twilio_side import call_params, sign
from voiceline.config import load_settings
from voiceline.extensions import CLOCK, HTTP_CLIENT

AUTH_TOKEN, PUBLIC_URL = "test-auth-token", "https://hotline.example.org"  # tests/conftest.py


def test_csrf_guards_ui_posts_and_exempts_the_signed_token_and_feed_blueprints(client, app):
    assert client.post("/login", data={"username": "x", "password": "y"}).status_code == 400
    params = call_params("CAhooks", "+12025550150", "+12025550100", CallStatus="completed")
    signed = {"X-Twilio-Signature": sign(AUTH_TOKEN, PUBLIC_URL + "/voice/status", params)}
    assert client.post("/voice/status", data=params, headers=signed).status_code == 200
    api = client.post("/api/v1/overrides", json={}, headers={"Authorization": "Bearer nope"})
    assert api.status_code == 401 and api.is_json  # the token check answers, not CSRF
    exempt = {bp.name for bp in app.extensions["csrf"]._exempt_blueprints}
    assert {"voice", "api", "ical", "reachability"} <= exempt


def test_security_headers_are_the_ui_pages_own(client):
    page = client.get("/login")
    assert page.headers["X-Frame-Options"] == "DENY"
    params = call_params("CAhdr", "+12025550150", "+12025550100", CallStatus="completed")
    signed = {"X-Twilio-Signature": sign(AUTH_TOKEN, PUBLIC_URL + "/voice/status", params)}
    voice = client.post("/voice/status", data=params, headers=signed)
    assert "X-Frame-Options" not in voice.headers and "Content-Security-Policy" not in voice.headers
    feed = client.get("/ical/person/no-such-token.ics")
    assert feed.status_code == 404 and "X-Frame-Options" not in feed.headers


def test_proxyfix_clock_and_http_client_are_set_up_by_create_app(app_config):
    clock, fake = (lambda: None), object()
    app = create_app({**app_config, "PROXY_HOPS": 1, "CALLS_CLOCK": clock, "TWILIO_HTTP_CLIENT": fake})
    assert isinstance(app.wsgi_app, ProxyFix) and app.wsgi_app.x_proto == 1
    assert app.extensions[CLOCK] is clock and app.extensions[HTTP_CLIENT] is fake
    assert "CALLS_CLOCK" not in app.config and "TWILIO_HTTP_CLIENT" not in app.config


def test_pin_tries_is_a_setting():
    assert load_settings({})["CALLS_PIN_TRIES"] == 3
    assert load_settings({"VOICELINE_PIN_TRIES": "5"})["CALLS_PIN_TRIES"] == 5


def test_a_gunicorn_workers_app_keeps_its_start_objects_out_of_full_collections(
        app_config, monkeypatch):
    """In a gunicorn worker the app's start-up objects are frozen out of the garbage
    collector (a full collection walking them all paused a worker 50-60 ms, with SQLite's
    write lock held at times); a test's or a command's app is left alone."""
    import gc
    import sys
    import types

    gc.unfreeze()
    create_app({**app_config, "TESTING": False})
    assert gc.get_freeze_count() == 0  # not served by gunicorn
    monkeypatch.setitem(sys.modules, "gunicorn.arbiter", types.ModuleType("gunicorn.arbiter"))
    create_app(app_config)  # TESTING
    assert gc.get_freeze_count() == 0
    try:
        create_app({**app_config, "TESTING": False})
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
