"""The call page (issue 12, item 5): a summary read in five seconds, the raw events collapsed
below in plain words (rounds from 1, no internal fields, no raw ISO instants)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from voiceline import appdb
from voiceline.models.calls import Call, CallEvent, CallLeg

from .conftest import PASSWORD

SID = "CAtwostep000000000000000000000001"


def _two_step_call(app):
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    s = timedelta(seconds=1)
    with app.app_context():
        db = appdb.session_factory(app)()
        call = Call(sid=SID, hotline_id="liaison", to_number="+12025550100",
                    from_number="+12025550150", caller_id="watch-officer", verified=True,
                    priority=1, state="done", started_at=t0, outcome="answered",
                    answered_by="alice", answered_at=t0 + 40 * s, ended_at=t0 + 220 * s,
                    duration_seconds=220)
        call.events += [
            CallEvent(at=t0, kind="greeted", detail={"language": "en-US"}),
            CallEvent(at=t0 + 5 * s, kind="pin_locked",
                      detail={"scope": "number", "until": (t0 + timedelta(minutes=60, microseconds=123456)).isoformat()}),
            CallEvent(at=t0 + 10 * s, kind="step_rang", step=1, detail={
                "round": 0, "group": 0, "people": ["grace"], "together": False}),
            CallEvent(at=t0 + 10 * s, kind="leg_answered", step=1, person_id="grace",
                      detail={"leg_sid": "CAleg1"}),
            CallEvent(at=t0 + 35 * s, kind="leg_result", step=1, person_id="grace",
                      detail={"leg_sid": "CAleg1", "result": "no-answer"}),
            CallEvent(at=t0 + 35 * s, kind="step_rang", step=2, detail={
                "round": 0, "group": 0, "people": ["alice"], "together": False}),
            CallEvent(at=t0 + 40 * s, kind="screen_accepted", step=2, person_id="alice",
                      detail={"leg_sid": "CAleg2"}),
        ]
        call.legs += [
            CallLeg(sid="CAleg1", person_id="grace", number="+12025550102", step=1, round=0,
                    status="no-answer", started_at=t0 + 10 * s, ended_at=t0 + 35 * s),
            CallLeg(sid="CAleg2", person_id="alice", number="+12025550101", step=2, round=0,
                    status="completed", screen="accepted", started_at=t0 + 35 * s,
                    answered_at=t0 + 40 * s, ended_at=t0 + 220 * s),
        ]
        db.add(call)
        db.commit()
        db.close()


def test_call_page_leads_with_a_summary_and_keeps_the_events_collapsed(page, live, demo):
    _two_step_call(demo)
    page.goto(f"{live}/login")
    page.fill("input[name=username]", "reviewer")
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{live}/calls/{SID}")
    story = page.inner_text("#call-story")
    assert "Watch Officer from +12025550150, verified, priority urgent." in story
    steps = page.locator("#call-story li").all_inner_texts()
    assert steps == ["Step 1, round 1: Grace Lee rang 25 s, no answer",
                     "Step 2, round 1: Alice Smith rang 5 s, answered and accepted, talked 3 min"]
    assert "Alice Smith answered after 40 s, talked 3 min" in story
    # The raw events sit below, collapsed, each told once and in words.
    assert page.locator("#timeline-details").get_attribute("open") is None
    assert not page.locator("#timeline").is_visible()
    page.click("#timeline-details summary")
    events = page.inner_text("#timeline")
    for internal in ("group=", "together=", "round=0", "round 0", "leg_sid"):
        assert internal not in events, internal
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d{6}", events)  # no ISO with microseconds
    assert "rang Grace Lee, round 1" in events and "rung together" not in events
    assert "responder accepted" not in events and events.count("\taccepted\t") == 1  # once
    page.shot("call")
