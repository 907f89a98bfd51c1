"""The call state machine: states keep their stored values, stale requests never reach a handler,
and the call modules neither loop nor read Twilio's parameter names."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import pytest

from voiceline.calls import machine
from voiceline.calls.machine import CallState, Step
from voiceline.calls.store import call_by_sid

from .conftest import params

CALLS = Path(machine.__file__).parent


def test_states_are_the_stored_strings():
    assert [s.value for s in CallState] == ["new", "language", "identify", "pin", "priority",
                                            "ringing", "connected", "voicemail", "fallback", "done"]
    assert CallState.RINGING == "ringing" and f"{CallState.DONE}" == "done"


def test_every_step_has_one_rule():
    assert set(machine.STEPS) == set(Step)


def _refuse(*_args):
    raise AssertionError("a stale request reached the handler")


@pytest.mark.parametrize("step", [Step.PIN, Step.DIAL])
def test_a_repeated_step_is_answered_before_any_handler_runs(twilio, db, monkeypatch, step):
    twilio.post("/voice/incoming", params("CAst"))
    pin_url = twilio.follow("gather")
    twilio.post(pin_url, params("CAst", Digits="2468", CallStatus="in-progress"))
    twilio.post(twilio.follow("gather"), params("CAst", Digits="1", CallStatus="in-progress"))
    dial_url = twilio.follow("dial")
    twilio.post(dial_url, params("CAst", DialCallStatus="no-answer", CallStatus="in-progress"))
    monkeypatch.setitem(machine.STEPS, step, replace(machine.STEPS[step], handler=_refuse))
    # Twilio retries the PIN try already taken, or the first <Dial>'s action already followed
    again = twilio.post(pin_url if step == Step.PIN else dial_url,
                        params("CAst", Digits="2468", DialCallStatus="no-answer",
                               CallStatus="in-progress"))
    assert again.status == 200
    dial = again.root.find("Dial")
    assert dial is not None and dial.get("action") == twilio.follow("dial") != dial_url
    call = call_by_sid(db, "CAst")
    assert (call.state, call.step) == (CallState.RINGING, 2)


def test_a_move_the_table_does_not_allow_is_refused(twilio, db, monkeypatch):
    def jump(ctx, call, _leg, _request):
        call.state = CallState.CONNECTED  # a PIN is never the acceptance of a responder
        return "<Response/>"
    monkeypatch.setitem(machine.STEPS, Step.PIN, replace(machine.STEPS[Step.PIN], handler=jump))
    twilio.post("/voice/incoming", params("CAil"))
    answer = twilio.post(twilio.follow("gather"), params("CAil", Digits="2468"))
    assert answer.root.find("Dial") is not None or answer.root.find("Record") is not None
    assert call_by_sid(db, "CAil").state == CallState.FALLBACK


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_escalation_and_flow_import_neither_each_other_back_nor_the_machine():
    assert not {"voiceline.calls.flow", "voiceline.calls.machine"} & _imports(CALLS / "escalation.py")
    assert "voiceline.calls.machine" not in _imports(CALLS / "flow.py")
    assert "voiceline.calls.machine" not in _imports(CALLS / "status.py")


TWILIO_NAMES = ("Digits", "DialCallStatus", "DialBridged", "DialCallSid", "DialCallDuration",
                "CallStatus", "SequenceNumber", "RecordingUrl", "RecordingSid", "RecordingStatus",
                "RecordingDuration", "CallDuration", "Timestamp")


@pytest.mark.parametrize("module", ["flow.py", "escalation.py", "status.py", "machine.py", "store.py"])
def test_the_call_flow_reads_no_twilio_parameter_name(module):
    strings = {node.value for node in ast.walk(ast.parse((CALLS / module).read_text()))
               if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    assert not strings & set(TWILIO_NAMES)
