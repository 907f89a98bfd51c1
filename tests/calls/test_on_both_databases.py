"""The recorded sequences give the same call records on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from voiceline.calls.replay import in_process_twilio, load_fixture, replay

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "calls"


@pytest.fixture
def app_config(tmp_path, any_db_url):
    return {"TESTING": True, "DATABASE_URL": any_db_url, "SECRET_KEY": "test-secret-key",
            "INSTANCE_PATH": str(tmp_path / "instance"), "PUBLIC_URL": "https://hotline.example.org",
            "TWILIO_AUTH_TOKEN": "test-auth-token", "TWILIO_ACCOUNT_SID": None}


@pytest.mark.parametrize("name", ["status-callbacks-duplicated-reordered", "nobody-accepts-voicemail",
                                  "wrong-pin-three-times"])
def test_fixture_on_each_database(demo, name):
    outcomes = replay(load_fixture(FIXTURES / f"{name}.yaml"), in_process_twilio(demo), app=demo)
    assert [f"{o.name}: {o.problems}" for o in outcomes if not o.ok] == []
