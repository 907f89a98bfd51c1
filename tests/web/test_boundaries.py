"""Boundary values (year 1, year 9999, ids past 64 bits) answer 400 with a message on every
route that takes them, for every role, on SQLite and PostgreSQL; never a 500."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, date, datetime

import pytest

from voiceline import appdb
from voiceline.ids import IdConverter, parse_id
from voiceline.instants import InstantRangeError, iso_z, local_day_start, parse_instant
from voiceline.models.web import ApiToken, User

ROLES = ("admin", "rota_manager", "reviewer", "responder")
BIG = "9" * 23
HUGE_ID = "1" + "0" * 23  # 24 digits
REVIEW = ("admin", "reviewer")
MANAGE = ("admin", "rota_manager")

# (method, path, roles that may open it, words the answer must contain)
UI = [
    ("GET", "/calls?to=9999-12-31", REVIEW, "out of range"),
    ("GET", "/calls?from=0001-01-01&tz=Asia/Tokyo", REVIEW, "out of range"),
    ("GET", "/calls.csv?to=9999-12-31", REVIEW, "out of range"),
    ("GET", "/metrics?to=9999-12-31", REVIEW, "out of range"),
    ("GET", "/metrics.json?from=0001-01-01&tz=Asia/Tokyo", REVIEW, "out of range"),
    ("GET", "/metrics.json?to=9999-12-31", REVIEW, "out of range"),
    ("GET", "/admin/audit/?until=9999-12-31T23:59", ("admin",), "out of range"),
    ("GET", "/admin/audit/?since=0001-01-01T00:00", ("admin",), "out of range"),
    ("GET", f"/admin/audit/?before={BIG}", ("admin",), "too large for an id"),
    ("GET", "/rota/now?at=9999-12-31T23:59:59Z", ROLES, "out of range"),
    ("GET", "/rota/primary?start=9999-12-31", ROLES, "out of range"),
]
API = [
    ("GET", "/api/v1/calls?to=9999-12-31", REVIEW, "out of range"),
    ("GET", "/api/v1/metrics?to=9999-12-31", REVIEW, "out of range"),
    ("GET", "/api/v1/metrics?from=0001-01-01&tz=Asia/Tokyo", REVIEW, "out of range"),
    ("GET", "/api/v1/oncall?at=9999-12-31T23:59:59Z", ROLES, "out of range"),
    ("GET", "/api/v1/oncall?rota=primary&at=0001-01-01T00:00:00Z", ROLES, "out of range"),
    ("GET", "/api/v1/rotas/primary/shifts?from=9999-12-30T00:00:00Z", ROLES, "out of range"),
    ("GET", "/api/v1/rotas/primary/shifts?to=9999-12-31T23:59:59Z", ROLES, "out of range"),
    ("GET", f"/api/v1/overrides/{HUGE_ID}", MANAGE, "too large for an id"),
    ("DELETE", f"/api/v1/overrides/{HUGE_ID}", MANAGE, "too large for an id"),
]


@pytest.fixture
def app_config(app_config, any_db_url):
    return {**app_config, "DATABASE_URL": any_db_url}


def _api_headers(app, role):
    with app.app_context():
        db = appdb.session_factory(app)()
        user = db.query(User).filter_by(role=role).first()
        raw = secrets.token_urlsafe(24)
        db.add(ApiToken(user_id=user.id, name="t", token_hash=hashlib.sha256(raw.encode()).hexdigest()))
        db.commit()
        db.close()
    return {"Authorization": f"Bearer {raw}"}


def _expect(response, allowed, words):
    body = response.get_data(as_text=True)
    if allowed:
        assert response.status_code == 400, body[:400]
        assert words in body, body[:400]
    else:
        # Refused for the role; an id past 64 bits is refused before the route is known.
        assert response.status_code in ((400, 403) if "id" in words else (403,)), body[:400]


@pytest.fixture
def clients(demo, accounts, as_role):
    """A logged-in UI client and API headers for every role (made once per test)."""
    return {role: (as_role(role), _api_headers(demo, role)) for role in ROLES}


@pytest.mark.parametrize("method,path,roles,words", UI, ids=[u[1] for u in UI])
def test_ui_boundaries_answer_400(clients, method, path, roles, words):
    for role, (client, _headers) in clients.items():
        _expect(client.open(path, method=method), role in roles, words)


@pytest.mark.parametrize("method,path,roles,words", API, ids=[a[1] for a in API])
def test_api_boundaries_answer_400(demo, clients, method, path, roles, words):
    for role, (_client, headers) in clients.items():
        response = demo.test_client().open(path, method=method, headers=headers)
        _expect(response, role in roles, words)
        if response.status_code == 400:
            assert response.get_json()["error"]


def test_the_bounded_parsers():
    assert parse_instant("2999-12-31T23:59:59Z") == datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert parse_instant("1970-01-01T09:00", "Asia/Tokyo") == datetime(1970, 1, 1, tzinfo=UTC)
    for text in ("9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "1969-12-31T23:59:59Z",
                 "3000-01-01T00:00:00Z", "1970-01-01T08:59", "0001-01-01"):
        with pytest.raises(InstantRangeError, match="out of range: from 1970-01-01 to 2999-12-31"):
            parse_instant(text, "Asia/Tokyo")
    with pytest.raises(InstantRangeError):
        local_day_start(date(9999, 12, 31), "UTC", 1)
    with pytest.raises(InstantRangeError):
        local_day_start(date(1, 1, 1), "Asia/Tokyo")
    assert parse_id("9223372036854775807") == 2**63 - 1
    for text in ("9223372036854775808", BIG, "-1", "1e3", "١٢"):
        with pytest.raises(ValueError):
            parse_id(text)
    assert IdConverter(None).to_url(12) == "12"


def test_iso_z_pads_the_year():
    assert iso_z(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01T00:00:00Z"
    assert iso_z(datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)) == "0999-12-31T23:59:59Z"
    assert iso_z(datetime(2026, 3, 8, 7, 30, tzinfo=UTC)) == "2026-03-08T07:30:00Z"
