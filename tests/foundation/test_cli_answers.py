"""CLI answers: oncall, shifts, gaps, callers set-pin, and commands on a fresh database."""

from __future__ import annotations

import json
import logging

import pytest
import yaml
from sqlalchemy import select

from voiceline import create_app, migrate
from voiceline import models as m
from voiceline.db import make_engine
from voiceline.pins import PinKeys, verify_pin

DST_FILE = {
    "timezone": "America/New_York",
    "people": [
        {"id": "ann", "name": "Ann", "phone": "+1 202 555 0111"},
        {"id": "bob", "name": "Bob", "phone": "+1 202 555 0112"},
    ],
    "rotas": [
        {"id": "nightly", "layers": [{"members": ["ann", "bob"], "anchor": "2026-03-01T02:30",
                                      "every": "1d"}]},
        {"id": "holey", "layers": [{"members": ["ann", None], "anchor": "2026-03-02T00:00",
                                    "every": "1d"}]},
    ],
    "policies": [{"id": "p", "steps": [{"rotas": ["holey"], "ring_seconds": 20},
                                       {"people": ["bob"]}]}],
    "hotlines": [{"number": "+1 202 555 0100", "policy": "p"}],
}


@pytest.fixture
def dst(app, runner, tmp_path):
    path = tmp_path / "dst.yaml"
    path.write_text(yaml.safe_dump(DST_FILE))
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 0, result.output
    return app


def invoke_json(runner, *args):
    result = runner.invoke(args=[*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_oncall_json_for_one_rota_across_spring_forward(dst, runner):
    # 2026-03-08 02:30 does not exist in New York: the handoff happens at 07:30Z.
    before = invoke_json(runner, "oncall", "--rota", "nightly", "--at", "2026-03-08T07:29:59Z")
    at = invoke_json(runner, "oncall", "--rota", "nightly", "--at", "2026-03-08T07:30:00Z")
    assert before == {"rota": "nightly", "at": "2026-03-08T07:29:59Z",
                      "on_duty": [{"id": "ann", "name": "Ann", "phone": "+12025550111"}],
                      "until": "2026-03-08T07:30:00Z"}
    assert at["on_duty"][0]["id"] == "bob"
    assert at["until"] == "2026-03-09T06:30:00Z"  # a 23 h shift


def test_oncall_without_rota_lists_every_rota(dst, runner):
    answer = invoke_json(runner, "oncall", "--at", "2026-03-03T12:00:00Z")
    assert [a["rota"] for a in answer] == ["holey", "nightly"]
    assert answer[0]["on_duty"] == []  # the empty slot's day


def test_oncall_unknown_rota_and_bad_instant(dst, runner):
    result = runner.invoke(args=["oncall", "--rota", "nope"])
    assert result.exit_code == 1 and "no rota 'nope'" in result.output
    result = runner.invoke(args=["oncall", "--at", "yesterday"])
    assert result.exit_code == 2 and "not ISO 8601" in result.output


def test_shifts_json_tiles_the_range(dst, runner):
    segments = invoke_json(runner, "shifts", "--rota", "nightly", "--from", "2026-03-07T00:00:00Z",
                           "--to", "2026-03-10T00:00:00Z")
    assert segments == [
        {"start": "2026-03-07T00:00:00Z", "end": "2026-03-07T07:30:00Z", "on_duty": ["bob"]},
        {"start": "2026-03-07T07:30:00Z", "end": "2026-03-08T07:30:00Z", "on_duty": ["ann"]},
        {"start": "2026-03-08T07:30:00Z", "end": "2026-03-09T06:30:00Z", "on_duty": ["bob"]},
        {"start": "2026-03-09T06:30:00Z", "end": "2026-03-10T00:00:00Z", "on_duty": ["ann"]},
    ]


def test_gaps_json_per_rota_and_policy_step(dst, runner):
    gaps = invoke_json(runner, "gaps", "--days", "2", "--from", "2026-03-02T05:00:00Z")
    assert {"rota": "holey", "start": "2026-03-03T05:00:00Z", "end": "2026-03-04T05:00:00Z"} in gaps
    assert {"policy": "p", "step": 1, "start": "2026-03-03T05:00:00Z",
            "end": "2026-03-04T05:00:00Z"} in gaps
    assert not [g for g in gaps if g.get("rota") == "nightly" or g.get("step") == 2]
    text = runner.invoke(args=["gaps", "--days", "2", "--from", "2026-03-02T05:00:00Z"]).output
    assert "policy p step 1: nobody 2026-03-03T05:00:00Z .. 2026-03-04T05:00:00Z" in text


def test_set_pin_is_hashed_and_never_echoed(demo, runner, session, caplog):
    caplog.set_level(logging.DEBUG)
    result = runner.invoke(args=["callers", "set-pin", "ops-desk"], input="4821\n4821\n")
    assert result.exit_code == 0, result.output
    assert "4821" not in result.output and "4821" not in caplog.text
    caller = session.get(m.Caller, "ops-desk")
    keys = PinKeys.from_config(demo.config)
    assert caller.pin_hash.startswith("hmac-sha256$v1$") and verify_pin(caller.pin_hash, "4821", keys).ok
    result = runner.invoke(args=["callers", "set-pin", "ops-desk", "--duress"], input="4821\n4821\n")
    assert result.exit_code == 1 and "must differ" in result.output
    result = runner.invoke(args=["callers", "set-pin", "ops-desk", "--duress"], input="9911\n9911\n")
    assert result.exit_code == 0
    session.expire_all()
    assert verify_pin(session.get(m.Caller, "ops-desk").duress_pin_hash, "9911", keys).ok
    entries = session.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "caller.set_pin")).all()
    assert [e.detail["which"] for e in entries] == ["pin", "duress"]
    assert "4821" not in json.dumps([e.detail for e in entries])


@pytest.mark.parametrize("pin", ["12", "abcd", "123456789"])
def test_set_pin_refuses_bad_pins(demo, runner, pin):
    result = runner.invoke(args=["callers", "set-pin", "ops-desk"], input=f"{pin}\n{pin}\n")
    assert result.exit_code == 1 and "4 to 8 digits" in result.output


def test_commands_migrate_a_fresh_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path / "i")})
    result = app.test_cli_runner().invoke(args=["oncall", "--json"])
    assert result.exit_code == 0
    assert "Migrated the database" in result.output
    assert json.loads(result.output.split("\n", 1)[1]) == []
    assert migrate.current_revision(make_engine(url)) == migrate.head_revision()


@pytest.mark.postgres
def test_import_and_oncall_on_postgres(postgres_url, tmp_path):
    app = create_app({"DATABASE_URL": postgres_url, "INSTANCE_PATH": str(tmp_path / "i")})
    runner = app.test_cli_runner()
    path = tmp_path / "dst.yaml"
    path.write_text(yaml.safe_dump(DST_FILE))
    assert runner.invoke(args=["import", str(path)]).exit_code == 0
    assert "no changes" in runner.invoke(args=["import", str(path)]).output
    answer = json.loads(runner.invoke(args=["oncall", "--rota", "nightly", "--at",
                                            "2026-11-01T05:30:00Z", "--json"]).output)
    # the shift that began 2026-10-31 02:30 EDT (06:30Z) ends 2026-11-01 02:30 EST: 25 h
    assert answer["until"] == "2026-11-01T07:30:00Z"
    assert answer["on_duty"][0]["id"] == "ann"  # day 244 after the anchor
