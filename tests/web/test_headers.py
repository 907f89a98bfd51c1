"""Transport headers on every answer: nosniff everywhere (/api/, /ical/, /voice/ included),
HSTS under https, and `Allow` on a 405."""

from __future__ import annotations

import pytest

from voiceline import create_app

PATHS = [
    ("GET", "/login"),
    ("GET", "/healthz"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/me"),  # 401
    ("GET", "/ical/person/not-a-token.ics"),  # 404
    ("POST", "/voice/incoming"),  # 403: unsigned
    ("POST", "/voice/fallback"),
    ("GET", "/nowhere"),
]


@pytest.mark.parametrize("method,path", PATHS)
def test_nosniff_and_hsts_on_every_answer(client, method, path):
    response = client.open(path, method=method)
    assert response.headers["X-Content-Type-Options"] == "nosniff", response.status_code
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_hsts_only_under_https(app_config):
    app = create_app({**app_config, "PUBLIC_URL": "http://127.0.0.1:5000"})
    client = app.test_client()
    plain = client.get("/login")
    assert "Strict-Transport-Security" not in plain.headers
    assert plain.headers["X-Content-Type-Options"] == "nosniff"
    secure = client.get("/login", base_url="https://hotline.example.org")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"


@pytest.mark.parametrize("method,path,allowed", [
    ("GET", "/logout", {"POST"}),
    ("PUT", "/api/v1/me", {"GET", "HEAD", "OPTIONS"}),
    ("POST", "/api/v1/openapi.json", {"GET", "HEAD", "OPTIONS"}),
    ("GET", "/voice/incoming", {"POST"}),
    ("DELETE", "/ical/person/x.ics", {"GET", "HEAD", "OPTIONS"}),
])
def test_405_says_allow(client, method, path, allowed):
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= allowed
    assert response.headers["X-Content-Type-Options"] == "nosniff"
