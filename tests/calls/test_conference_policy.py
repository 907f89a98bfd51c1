"""`ring: conference` on a policy: rota file (parse, check, export round trip), API, UI, health,
and the calls-per-second pacing row every worker shares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml

from tests.conftest import FIXTURES
from voiceline import appdb
from voiceline import models as m
from voiceline.calls.dialer import reserve
from voiceline.rotafile import RotaFileError, export_document, parse_document


@pytest.fixture
def doc():
    return yaml.safe_load((FIXTURES / "demo.yaml").read_text())


def test_rota_file_ring_is_checked_and_round_trips(demo, runner, session, doc, tmp_path):
    doc["policies"][0]["ring"] = "bridge"
    with pytest.raises(RotaFileError) as error:
        parse_document(doc)
    assert error.value.problems == ["policies[main].ring: 'bridge' is not one of dial, conference"]
    doc["policies"][0]["ring"] = "conference"
    path = tmp_path / "rota.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert session.get(m.Policy, "main").ring == "conference"
    exported = export_document(session)
    assert exported["policies"][0]["ring"] == "conference"
    path.write_text(yaml.safe_dump(exported))
    again = runner.invoke(args=["import", str(path)])
    assert again.exit_code == 0 and "no changes" in again.output


def test_a_dial_policy_exports_without_ring(demo, session):
    assert "ring" not in export_document(session)["policies"][0]


def _token(app, role="rota_manager"):
    import hashlib
    import secrets

    from voiceline.models.web import ApiToken, User
    from voiceline.passwords import hash_secret

    with app.app_context():
        db = appdb.session_factory(app)()
        user = User(username="conf-api", password_hash=hash_secret("x" * 12), role=role)
        db.add(user)
        db.flush()
        raw = secrets.token_urlsafe(32)
        db.add(ApiToken(user_id=user.id, token_hash=hashlib.sha256(raw.encode()).hexdigest(), name="t"))
        db.commit()
        db.close()
    return {"Authorization": f"Bearer {raw}"}


def test_api_puts_and_serves_the_ring_mode(demo):
    client, headers = demo.test_client(), _token(demo)
    body = {"name": "Night", "ring": "conference", "repeat": 0,
            "steps": [{"people": ["alice"], "ring_seconds": 20}]}
    put = client.put("/api/v1/policies/night", json=body, headers=headers)
    assert put.status_code == 201, put.get_data(as_text=True)
    got = client.get("/api/v1/policies/night", headers=headers).get_json()
    assert (got["ring"], got["served_as"]) == ("conference", "dial")  # no credentials here
    assert "credentials" in got["served_note"]
    bad = client.put("/api/v1/policies/night", json={**body, "ring": "loud"}, headers=headers)
    assert bad.status_code in (400, 422)
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/policies/{pid}" in spec["paths"] or "/policies/{pid}" in spec["paths"]
    assert spec["components"]["schemas"]["Policy"]["properties"]["ring"]["enum"] == ["dial", "conference"]


def test_twilio_check_and_health_name_conference_without_credentials(demo, runner):
    with demo.app_context():
        db = appdb.session_factory(demo)()
        db.get(m.Policy, "main").ring = "conference"
        db.commit()
        db.close()
    result = runner.invoke(args=["twilio", "check"])
    assert "PROBLEM  conference:" in result.output and "main" in result.output
    assert result.exit_code == 1
    health = demo.test_client().get("/healthz")
    assert health.status_code == 503
    assert "dial mode" in health.get_json()["checks"]["conference"]["error"]


def test_pacing_books_one_slot_per_interval_across_sessions(app):
    at = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
    with app.app_context():
        one, two = appdb.session_factory(app)(), appdb.session_factory(app)()
        slots = [reserve(one, at, 2.0), reserve(two, at, 2.0), reserve(one, at, 2.0)]
        assert slots == [at, at + timedelta(seconds=0.5), at + timedelta(seconds=1)]
        assert reserve(two, at, 2.0, only_now=True) is None  # not free now: left to the dialer
        later = at + timedelta(seconds=5)
        assert reserve(two, later, 2.0, only_now=True) == later
        one.close()
        two.close()


def test_startup_log_names_conference_policies_without_credentials(demo, caplog):
    import logging

    from voiceline.calls.ringmode import log_startup

    with demo.app_context():
        db = appdb.session_factory(demo)()
        db.get(m.Policy, "main").ring = "conference"
        db.commit()
        db.close()
    with caplog.at_level(logging.WARNING, logger="voiceline"):
        log_startup(demo, logging.getLogger("voiceline"))
    assert any("dial mode" in r.getMessage() and "main" in r.getMessage() for r in caplog.records)
    demo.config["TWILIO_ACCOUNT_SID"] = "AC" + "1" * 32
    caplog.clear()
    log_startup(demo, logging.getLogger("voiceline"))
    assert not caplog.records
