"""Write fixtures/calls/conference-*.yaml: conference-mode calls played once by
twilio_side.ConferencePlay (Twilio's side, its REST API faked), then kept as data.

    .venv/bin/python scripts/make_conference_fixtures.py
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voiceline import appdb, create_app  # noqa: E402
from voiceline.calls.replay import apply_setup, in_process_twilio, use_fake_rest  # noqa: E402
from voiceline.calls.store import call_by_sid, call_record  # noqa: E402
from voiceline.calls.twilio_side import (  # noqa: E402
    ACCEPT,
    DECLINE,
    NO_ANSWER,
    ConferencePlay,
    call_params,
)
from voiceline.extensions import CLOCK  # noqa: E402
from voiceline.instants import iso_z  # noqa: E402
from voiceline.pins import PinKeys  # noqa: E402

HOTLINE, WATCH = "+12025550100", "+12025550150"
START = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
BASE_SETUP = {"at": iso_z(START), "hotlines": {"liaison": {"caller_policy": "allowlist", "ask_priority": False}},
              "policies": {"main": {"ring": "conference", "repeat": 0}},
              "policy_steps": {"main": {1: {"rotas": [], "people": ["alice", "grace"]}}}, "rest": "fake"}


class Recorder:
    """Wraps the in-process transport: keeps every request and what it answered."""

    def __init__(self, inner, clock) -> None:
        self.inner, self.clock, self.steps = inner, clock, []

    def post(self, path, params, headers):
        answer = self.inner.post(path, params, headers)
        expect = {}
        if answer.root is not None:
            expect["verbs"] = [child.tag for child in answer.root]
            said = [say.text or "" for say in answer.root.iter("Say")]
            for phrase in ("Another officer has taken this call", "Please hold", "Connecting.",
                           "bring in a colleague", "leave a message"):
                if any(phrase in text for text in said):
                    expect["say_contains"] = [phrase]
            room = answer.root.find(".//Conference")
            if room is not None:
                expect["conference"] = {"startConferenceOnEnter": room.get("startConferenceOnEnter"),
                                        "endConferenceOnExit": room.get("endConferenceOnExit")}
        self.steps.append({"name": _name(path, params), "at": iso_z(self.clock()), "post": path,
                           "params": dict(params), "expect": expect})
        return answer


def _name(path: str, params) -> str:
    route = urlsplit(path).path.removeprefix("/voice/")
    who = params.get("To") if params.get("Direction") == "outbound-api" else "caller"
    extra = f" {params['CallStatus']}" if "status" in route else ""
    digits = f" keys {params['Digits']!r}" if params.get("Digits") else ""
    return f"{route} ({who}){extra}{digits}"


def play(name: str, title: str, choose, *, together=1, bring=None, setup=None, final=None):
    """Play one conference call and write its fixture."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/f.db", "SECRET_KEY": "fixtures",
                          "PUBLIC_URL": "https://hotline.example.org", "TWILIO_AUTH_TOKEN": "test-auth-token",
                          "INSTANCE_PATH": tmp, "LOG_LEVEL": "WARNING"})
        runner = app.test_cli_runner()
        runner.invoke(args=["db", "upgrade"])
        runner.invoke(args=["import", str(ROOT / "fixtures" / "demo.yaml")])
        fixture_setup = {**BASE_SETUP, **(setup or {})}
        with app.app_context():
            session = appdb.session_factory(app)()
            apply_setup(session, fixture_setup, PinKeys.from_config(app.config))
            session.commit()
            session.close()
        rest = use_fake_rest(app)
        now = [START]
        app.extensions[CLOCK] = lambda: now[0]
        twilio = in_process_twilio(app)
        recorder = Recorder(twilio.transport, lambda: now[0])
        twilio.transport, twilio.rest = recorder, rest
        sid = "CA7e57a1c0ffee00000000000000c0" + f"{len(name):02d}"[-2:]

        def parent(**extra):
            return call_params(sid, WATCH, HOTLINE, **extra)

        def wait(seconds):
            now[0] += timedelta(seconds=seconds)

        answer = twilio.post("/voice/incoming", parent())
        dial = answer.root.find("Dial")
        game = ConferencePlay(twilio, rest, parent, HOTLINE, wait=wait, together=together,
                              bring=bring or (lambda _leg: None))
        end = game.play(dial, choose, talk=lambda: 90)
        if end is not None and end.root is not None and end.root.find("Record") is not None:
            record = end.root.find("Record")
            wait(20)
            extra = {"RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
                     "RecordingSid": "RE" + "1" * 32, "RecordingDuration": "15"}
            twilio.post(record.get("recordingStatusCallback"), parent(CallStatus="in-progress",
                                                                      RecordingStatus="completed", **extra))
            twilio.post(record.get("action"), parent(CallStatus="in-progress", Digits="#", **extra))
        wait(2)
        twilio.post("/voice/status", parent(CallStatus="completed", CallDuration="120", SequenceNumber="3",
                                            CallbackSource="call-progress-events"))
        with app.app_context():
            session = appdb.session_factory(app)()
            record = call_record(session, call_by_sid(session, sid))
            session.close()
        fixture_final = {"call": {"outcome": record["outcome"], "answered_by": record["answered_by"]},
                         "rest_created": [str(data["To"]) for data in rest.created()], **(final or {})}
        steps = [{**step, "post": step["post"].split("#")[0]} for step in recorder.steps]
        doc = {"name": title, "setup": fixture_setup, "steps": steps, "final": fixture_final}
        header = (f"# {title}\n# Generated once with twilio_side.ConferencePlay "
                  "(scripts/make_conference_fixtures.py), then kept as data.\n")
        path = ROOT / "fixtures" / "calls" / f"{name}.yaml"
        path.write_text(header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
        print(f"{path.relative_to(ROOT)}: {len(steps)} steps, outcome {record['outcome']}")


def main() -> None:
    play("conference-accepted", "Conference mode: alice and grace are called; alice presses 1 and "
         "joins, grace's ringing call is canceled",
         lambda leg: ACCEPT if leg.to == "+12025550101" else NO_ANSWER,
         final={"events": ["step_rang", "conference_waiting", "screen_accepted", "conference_joined",
                           "bridged"]})
    play("conference-declined", "Conference mode: everyone declines or rings out, step after step; "
         "the caller is moved out of the conference to voicemail by a REST redirect",
         lambda leg: NO_ANSWER if leg.to == "+74951234567" else DECLINE,
         final={"events": ["conference_waiting", "conference_step_over", "voicemail_offered",
                           "voicemail_left"], "rest_redirected": True})
    play("conference-both-press-1", "Conference mode: alice and grace both pick up and press 1 at "
         "once; alice's claim wins and she joins, grace hears another officer has taken the call",
         lambda leg: ACCEPT, together=2,
         final={"events": ["screen_accepted", "conference_joined", "screen_declined", "bridged"]})
    play("conference-colleague", "Conference mode: alice takes the call, presses * then 3 to bring "
         "in step 3 (the duty chief), who accepts and joins the same conference",
         lambda leg: ACCEPT if leg.to in {"+12025550101", "+12025550109"} else NO_ANSWER,
         bring=lambda leg: 3 if leg.to == "+12025550101" else None,
         final={"events": ["conference_joined", "colleague_rung", "conference_joined", "bridged"]})


if __name__ == "__main__":
    main()
