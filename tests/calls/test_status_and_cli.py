"""Status callbacks fold in order-independently; the calls, replay and simulate commands."""

from __future__ import annotations

import json
from itertools import permutations
from pathlib import Path

from sqlalchemy import select

from voiceline import models as m
from voiceline.calls.store import call_by_sid
from voiceline.calls.twilio_side import leg_params

from .conftest import HOTLINE, OPS, allowlist, answered_call, params

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "calls"




def test_leg_callbacks_in_any_order_give_the_same_leg(hotline, twilio, db):
    allowlist(db)
    results = set()
    for n, order in enumerate(permutations(["ringing", "in-progress", "completed"])):
        sid = f"CAperm{n}"
        number, leg = answered_call(twilio, sid)
        seq = {"initiated": 0, "ringing": 1, "in-progress": 2, "completed": 3}
        for status in (*order, order[0]):  # and one duplicate
            twilio.post(number["status"], leg_params(sid, leg, HOTLINE, "+12025550101",
                                                     CallStatus=status, SequenceNumber=str(seq[status])))
        db.expire_all()
        call = call_by_sid(db, sid)
        kinds = [e.kind for e in call.events]
        results.add((call.legs[0].status, call.legs[0].last_sequence, kinds.count("leg_status"),
                     kinds.count("leg_result")))
    assert results == {("completed", 3, 3, 1)}


def test_a_late_callback_never_reopens_a_finished_call(hotline, twilio, db):
    allowlist(db)
    answered_call(twilio, "CAlate")
    twilio.post(twilio.follow("dial"), params("CAlate", OPS, DialCallStatus="completed",
                                              DialCallSid="CAlateL", DialBridged="true"))
    twilio.post("/voice/status", params("CAlate", OPS, CallStatus="completed", SequenceNumber="3",
                                        CallDuration="70"))
    for status in ("ringing", "in-progress", "busy"):
        twilio.post("/voice/status", params("CAlate", OPS, CallStatus=status, SequenceNumber="1"))
    db.expire_all()
    call = call_by_sid(db, "CAlate")
    assert (call.outcome, call.state, call.answered_by, call.duration_seconds) == (
        "answered", "done", "alice", 70)


def test_voicemail_notices_reach_every_responder_and_manager_once(hotline, twilio, db):
    path = FIXTURES / "nobody-accepts-voicemail.yaml"
    from voiceline.calls.replay import load_fixture, replay

    fixture = load_fixture(path)
    replay(fixture, twilio, app=hotline)
    replay({"steps": fixture["steps"][-2:]}, twilio, app=hotline)  # callbacks again
    messages = db.scalars(select(m.OutboxMessage).where(m.OutboxMessage.purpose == "voicemail")).all()
    assert sorted(msg.recipient for msg in messages) == ["+12025550101", "+12025550109", "+74951234567"]
    sid = fixture["steps"][0]["params"]["CallSid"]
    assert all(f"https://hotline.example.org/calls/{sid}" in msg.body for msg in messages)
    assert all(msg.key.startswith(f"voicemail:{sid}:") for msg in messages)


def test_calls_command_lists_and_shows(hotline, twilio, runner, db):
    allowlist(db)
    answered_call(twilio, "CAcli")
    twilio.post(twilio.follow("dial"), params("CAcli", OPS, DialCallStatus="completed",
                                              DialCallSid="CAcliL", DialBridged="true"))
    result = runner.invoke(args=["calls", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["sid"], r["outcome"], r["answered_by"]) for r in rows] == [("CAcli", "answered", "alice")]
    assert runner.invoke(args=["calls", "--since", "2026-03-11T00:00:00Z", "--json"]).output.strip() == "[]"
    table = runner.invoke(args=["calls"]).output
    assert "CAcli" in table and "answered" in table
    shown = runner.invoke(args=["calls", "show", "CAcli"])
    assert "screen_accepted step 1 alice" in shown.output
    record = json.loads(runner.invoke(args=["calls", "show", "CAcli", "--json"]).output)
    assert [e["kind"] for e in record["events"]][:2] == ["greeted", "allowlisted"]
    assert runner.invoke(args=["calls", "show", "CAnone"]).exit_code == 1


def test_replay_command_in_process(runner):
    files = [str(FIXTURES / "pin-caller.yaml"), str(FIXTURES / "bad-signature.yaml")]
    result = runner.invoke(args=["replay", *files, "--directory",
                                 str(FIXTURES.parent / "demo.yaml")])
    assert result.exit_code == 0, result.output
    assert "PASS  PIN keyed" in result.output and "FAIL" not in result.output
    assert "2 file(s), 0 failed step(s)." in result.output


def test_simulate_plays_a_call(demo, runner):
    keys = "\n".join(["y", "2468", "2468",  # offer to set a PIN (CliRunner feeds hidden prompts too)
                      "2468", "2",  # the caller keys the PIN, then routine
                      "v",  # alice's voicemail picks up
                      "a", "30"])  # boris accepts and talks 30 s
    result = runner.invoke(args=["simulate", "--from", "+1 202 555 0150"], input=keys + "\n")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "caller hears (en-US): Please enter your PIN" in out
    assert "responder hears (" in out and "Watch Officer" in out
    header = next(line for line in out.splitlines() if line.startswith("call CA"))
    assert header.endswith("  answered")
    assert "screen_declined step 1" in out and "screen_accepted step 2" in out and "bridged" in out
    assert "priority          2" in out


def test_replay_command_against_a_running_server(demo, runner):
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, demo, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        result = runner.invoke(args=["replay", str(FIXTURES / "bad-signature.yaml"), "--url", url])
    finally:
        server.shutdown()
    assert result.exit_code == 0, result.output
    assert result.output.count("PASS") == 3  # three refused requests, answered by the live server
    assert "skip  final call record" in result.output
    assert "note: this fixture sets up its own directory and clock (at, pins)" in result.output
