"""Conference mode: the caller waits in a conference, responders are called through the REST API
(faked at Twilio's HTTP transport), the first 1 joins, the rest are ended or told."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from tests.calls.conftest import HOTLINE, WATCH, allowlist, params
from voiceline import models as m
from voiceline.calls.fake_rest import ACCOUNT_SID, FakeRest
from voiceline.models.calls import Call, CallEvent, CallLeg


@pytest.fixture
def fake_rest():
    return FakeRest()


@pytest.fixture
def app_config(app_config, fake_rest):
    return {**app_config, "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_HTTP_CLIENT": fake_rest,
            "CONFERENCE_DIALER": "inline", "CALLS_PER_SECOND": 1000}


@pytest.fixture
def conf(db):
    """The demo policy in conference mode, step 1 ringing alice and grace together."""
    allowlist(db)
    policy = db.get(m.Policy, "main")
    policy.ring = "conference"
    policy.steps[0].rotas, policy.steps[0].people = [], ["alice", "grace"]
    db.commit()
    return db


def leg(sid: str, leg_sid: str, to: str, **extra: str) -> dict[str, str]:
    """A REST-created responder call's parameters (no ParentCallSid: it is its own call)."""
    return {"AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01", "CallSid": leg_sid,
            "CallStatus": "in-progress", "Direction": "outbound-api", "From": HOTLINE, "To": to,
            "Called": to, "Caller": HOTLINE, **extra}


def path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def start(twilio, fake_rest, sid: str):
    """The watch officer calls: returns the caller's answer and the calls.create made."""
    answer = twilio.post("/voice/incoming", params(sid, WATCH))
    return answer, fake_rest.created()


def test_caller_waits_in_a_conference_and_each_responder_is_called(conf, twilio, fake_rest):
    answer, created = start(twilio, fake_rest, "CAconf1")
    conference = answer.root.find("Dial/Conference")
    assert conference is not None and conference.text == "vl-CAconf1"
    assert (conference.get("startConferenceOnEnter"), conference.get("endConferenceOnExit")) == ("false", "true")
    assert conference.get("beep") == "false" and "/voice/conference/wait" in conference.get("waitUrl")
    assert answer.root.find("Dial").get("action").split("#")[0].endswith("/voice/conference/end")
    assert [c["To"] for c in created] == ["+12025550101", "+12025550102"]
    first = created[0]
    assert first["From"] == HOTLINE and str(first["Timeout"]) == "25" and first["Method"] == "POST"
    assert "/voice/conference/screen?leg=" in first["Url"]
    assert "/voice/conference/leg-status?leg=" in first["StatusCallback"]
    assert list(first["StatusCallbackEvent"]) == ["initiated", "ringing", "answered", "completed"]
    wait = twilio.post(path(conference.get("waitUrl")), params("CAconf1", WATCH))
    tags = [el.tag for el in wait.root]
    assert tags == ["Say", "Pause", "Redirect"] and "hold" in wait.root.find("Say").text
    again = twilio.post(path(wait.root.find("Redirect").text), params("CAconf1", WATCH))
    assert [el.tag for el in again.root] == ["Pause", "Redirect"]


def test_first_to_press_1_joins_and_the_other_is_ended_or_told(conf, twilio, fake_rest, db):
    _, created = start(twilio, fake_rest, "CAconf2")
    sids = [sid for sid, _data in fake_rest.placed()]
    alice = twilio.post(path(created[0]["Url"]), leg("CAconf2", sids[0], "+12025550101"))
    grace = twilio.post(path(created[1]["Url"]), leg("CAconf2", sids[1], "+12025550102"))
    assert alice.root.find("Gather/Say") is not None and grace.root.find("Gather/Say") is not None
    # both press 1 "at once": one claim wins, the other hears who has it
    joined = twilio.post(path(alice.root.find("Gather").get("action")),
                         leg("CAconf2", sids[0], "+12025550101", Digits="1"))
    told = twilio.post(path(grace.root.find("Gather").get("action")),
                       leg("CAconf2", sids[1], "+12025550102", Digits="1"))
    room = joined.root.find("Dial/Conference")
    assert room.text == "vl-CAconf2" and room.get("startConferenceOnEnter") == "true"
    assert room.get("endConferenceOnExit") == "false"
    assert joined.root.find("Dial").get("hangupOnStar") == "true"
    assert "Another officer has taken this call" in told.root.find("Say").text
    assert told.root.find("Hangup") is not None
    assert (sids[1], {"Status": "completed"}) in fake_rest.updates()  # grace had picked up
    call = db.scalar(select(Call).where(Call.sid == "CAconf2"))
    db.refresh(call)
    assert (call.state, call.answered_by) == ("connected", "alice")
    kinds = [e.kind for e in call.events]
    assert "conference_joined" in kinds and kinds.count("screen_accepted") == 1
    end = twilio.post("/voice/conference/end", params("CAconf2", WATCH, CallStatus="completed"))
    assert end.root.find("Hangup") is not None
    db.refresh(call)
    assert (call.state, call.outcome) == ("done", "answered")


def test_ringing_legs_are_canceled_when_one_accepts(conf, twilio, fake_rest):
    _, created = start(twilio, fake_rest, "CAconf3")
    sids = [sid for sid, _data in fake_rest.placed()]
    screen = twilio.post(path(created[0]["Url"]), leg("CAconf3", sids[0], "+12025550101"))
    twilio.post(path(screen.root.find("Gather").get("action")),
                leg("CAconf3", sids[0], "+12025550101", Digits="1"))
    assert (sids[1], {"Status": "canceled"}) in fake_rest.updates()
    # grace's phone picks up anyway (the cancel raced): she hears it is taken
    late = twilio.post(path(created[1]["Url"]), leg("CAconf3", sids[1], "+12025550102"))
    assert "Another officer" in late.root.find("Say").text and late.root.find("Hangup") is not None


def test_declines_escalate_and_exhausted_policy_redirects_to_voicemail(conf, twilio, fake_rest, db):
    policy = db.get(m.Policy, "main")
    policy.repeat = 0
    db.commit()
    _, created = start(twilio, fake_rest, "CAconf4")
    for sid, made in fake_rest.placed():
        screen = twilio.post(path(made["Url"]), leg("CAconf4", sid, made["To"]))
        twilio.post(path(screen.root.find("Gather").get("action")), leg("CAconf4", sid, made["To"], Digits="9"))
    created = fake_rest.created()
    assert [c["To"] for c in created][2:] == ["+74951234567"]  # step 2: boris (backup rota)
    # boris's phone rings out: his status callback ends step 2; step 3 rings the duty chief
    boris = fake_rest.placed()[2][0]
    twilio.post(path(created[2]["StatusCallback"]), leg("CAconf4", boris, created[2]["To"],
                                                        CallStatus="no-answer", SequenceNumber="3"))
    created = fake_rest.created()
    assert created[-1]["To"] == "+12025550109"
    # the duty chief's calls.create answer and then a status callback arriving before any screening
    chief = fake_rest.placed()[-1][0]
    twilio.post(path(created[-1]["StatusCallback"]), leg("CAconf4", chief, created[-1]["To"],
                                                         CallStatus="busy", SequenceNumber="1"))
    redirects = [(sid, data) for sid, data in fake_rest.updates() if "Url" in data]
    assert redirects and redirects[-1][0] == "CAconf4"
    assert "/voice/conference/resume" in redirects[-1][1]["Url"]
    record = twilio.post(path(redirects[-1][1]["Url"]), params("CAconf4", WATCH))
    assert record.root.find("Record") is not None
    # Twilio requests the <Dial> action of a call moved by a REST redirect (and ignores the answer)
    twilio.post("/voice/conference/end", params("CAconf4", WATCH, CallStatus="in-progress"))
    call = db.scalar(select(Call).where(Call.sid == "CAconf4"))
    db.refresh(call)
    assert (call.state, call.outcome) == ("voicemail", None)


def test_calls_create_429_is_retried_and_a_hard_failure_ends_the_leg(conf, twilio, fake_rest, db):
    fake_rest.script = [(429, {"code": 20429, "message": "Too Many Requests", "status": 429}),
                        (400, {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400})]
    start(twilio, fake_rest, "CAconf5")
    created = fake_rest.created()
    assert [c["To"] for c in created] == ["+12025550101", "+12025550102", "+12025550101"]
    legs = {row.number: row for row in db.scalars(select(CallLeg))}
    assert legs["+12025550102"].status == "failed"
    assert legs["+12025550101"].sid is not None and legs["+12025550101"].status == "initiated"
    kinds = [e.kind for e in db.scalars(select(CallEvent).order_by(CallEvent.id))]
    assert "leg_create_retry" in kinds and "leg_create_failed" in kinds


def test_status_callback_before_the_screening_request(conf, twilio, fake_rest, db):
    _, created = start(twilio, fake_rest, "CAconf6")
    sid = fake_rest.placed()[0][0]
    twilio.post(path(created[0]["StatusCallback"]), leg("CAconf6", sid, created[0]["To"],
                                                        CallStatus="answered", SequenceNumber="2"))
    twilio.post(path(created[0]["StatusCallback"]), leg("CAconf6", sid, created[0]["To"],
                                                        CallStatus="ringing", SequenceNumber="1"))
    screen = twilio.post(path(created[0]["Url"]), leg("CAconf6", sid, created[0]["To"]))
    joined = twilio.post(path(screen.root.find("Gather").get("action")),
                         leg("CAconf6", sid, created[0]["To"], Digits="1"))
    assert joined.root.find("Dial/Conference") is not None
    row = db.scalar(select(CallLeg).where(CallLeg.sid == sid))
    assert row.status != "ringing" and row.screen == "accepted"  # the older callback did not win


def test_a_joined_responder_brings_in_a_colleague(conf, twilio, fake_rest, db):
    _, created = start(twilio, fake_rest, "CAconf7")
    sid = fake_rest.placed()[0][0]
    screen = twilio.post(path(created[0]["Url"]), leg("CAconf7", sid, created[0]["To"]))
    joined = twilio.post(path(screen.root.find("Gather").get("action")),
                         leg("CAconf7", sid, created[0]["To"], Digits="1"))
    menu = twilio.post(path(joined.root.find("Dial").get("action")), leg("CAconf7", sid, created[0]["To"]))
    gather = menu.root.find("Gather")
    assert gather is not None and menu.root.find("Dial/Conference") is not None  # silence: back in
    back = twilio.post(path(gather.get("action")), leg("CAconf7", sid, created[0]["To"], Digits="3"))
    assert back.root.find("Dial/Conference").text == "vl-CAconf7"
    colleague = fake_rest.created()[-1]
    assert colleague["To"] == "+12025550109"  # step 3: the duty chief
    chief = fake_rest.placed()[-1][0]
    whisper = twilio.post(path(colleague["Url"]), leg("CAconf7", chief, colleague["To"]))
    joins = twilio.post(path(whisper.root.find("Gather").get("action")),
                        leg("CAconf7", chief, colleague["To"], Digits="1"))
    room = joins.root.find("Dial/Conference")
    assert room.text == "vl-CAconf7" and room.get("endConferenceOnExit") == "false"
    events = [e for e in db.scalars(select(CallEvent).order_by(CallEvent.id)) if e.kind == "conference_joined"]
    assert [(e.person_id, e.detail["role"]) for e in events] == [("alice", "ring"), ("duty-chief", "colleague")]


def test_without_credentials_a_conference_policy_rings_in_dial_mode(conf, twilio, hotline, fake_rest):
    hotline.config["TWILIO_ACCOUNT_SID"] = None
    answer = twilio.post("/voice/incoming", params("CAconf8", WATCH))
    assert answer.root.find("Dial/Number") is not None and answer.root.find("Dial/Conference") is None
    assert fake_rest.created() == []
    health = hotline.test_client().get("/healthz").get_json()
    assert health["ok"] is False and health["checks"]["conference"]["policies"] == ["main"]
    assert any(p["check"] == "conference" for p in health["problems"])


def test_the_last_decline_moves_the_caller_to_voicemail_at_once(conf, twilio, fake_rest, db):
    """A decline that ends the whole policy moves the call to voicemail in that same answer
    (the step table allowed only `connected`: the decline fell to the fallback and nothing moved
    until the leg's status callback came)."""
    policy = db.get(m.Policy, "main")
    policy.repeat = 0
    policy.steps[0].people = ["alice"]
    policy.steps[1].rotas, policy.steps[1].people = [], []
    policy.steps.pop(1)
    db.commit()
    _, created = start(twilio, fake_rest, "CAconf9")
    for index in range(2):  # alice (step 1), then the duty chief (step 2 now) decline
        made = fake_rest.placed()[index]
        screen = twilio.post(path(made[1]["Url"]), leg("CAconf9", made[0], made[1]["To"]))
        answer = twilio.post(path(screen.root.find("Gather").get("action")),
                             leg("CAconf9", made[0], made[1]["To"], Digits="9"))
        assert [el.tag for el in answer.root] == ["Hangup"]
    call = db.scalar(select(Call).where(Call.sid == "CAconf9"))
    db.refresh(call)
    assert call.state == "voicemail"
    assert [sid for sid, data in fake_rest.updates() if "Url" in data] == ["CAconf9"]


def test_simulate_plays_conference_mode(conf, runner):
    keys = "\n".join(["a", "n",  # alice accepts, grace does not answer
                      "3",  # alice presses * then 3: the duty chief is called
                      "a",  # the duty chief accepts and joins
                      "30"])  # they talk 30 s
    result = runner.invoke(args=["simulate", "--from", "+1 202 555 0150"], input=keys + "\n")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "the caller waits in the conference" in out
    assert "caller hears (en-US): Please hold while the duty officer is called." in out
    assert "Alice Smith (+1 202-555-0101) joins the conference" in out
    assert "Duty Chief Officer (+1 202-555-0109) joins the conference" in out
    assert "call ended by voiceline (REST)" in out  # grace's ringing call
    header = next(line for line in out.splitlines() if line.startswith("call CA"))
    assert header.endswith("  answered")
    assert "conference_joined" in out and "colleague_rung" in out


def test_the_background_dialer_keeps_to_the_calls_per_second(conf, twilio, fake_rest, hotline, db):
    import time

    people = ["alice", "grace", "duty-chief"]
    db.get(m.Policy, "main").steps[0].people = people
    db.commit()
    hotline.extensions["voiceline.dialer"] = "thread"
    hotline.config["CALLS_PER_SECOND"] = 10.0
    answer = twilio.post("/voice/incoming", params("CAconf10", WATCH))
    answered = time.monotonic()
    assert answer.root.find("Dial/Conference") is not None
    inline = [r for r in fake_rest.requests if r["path"].endswith("/Calls.json")]
    assert len(inline) == 1 and inline[0]["at"] <= answered  # the first rang inside the webhook
    deadline = time.monotonic() + 10
    while len(fake_rest.created()) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    made = [r["at"] for r in fake_rest.requests if r["path"].endswith("/Calls.json")]
    assert len(made) == 3
    # the slots booked in the pacing row are 1/CPS apart; the requests follow them within the
    # process's own latency (tens of ms)
    assert made[-1] - made[0] >= 0.17
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        db.expire_all()
        if all(leg.sid for leg in db.scalars(select(CallLeg))):
            break
        time.sleep(0.02)
    assert sorted(leg.person_id for leg in db.scalars(select(CallLeg)) if leg.sid) == sorted(people)
    slots = sorted(datetime.fromisoformat(e.detail["slot"]) for e in db.scalars(
        select(CallEvent).where(CallEvent.kind == "leg_placed")))
    assert len(slots) == 3
    assert all((b - a).total_seconds() >= 0.1 for a, b in zip(slots, slots[1:], strict=False))


def test_the_waiturl_places_legs_a_dead_worker_left_and_says_still_trying(conf, twilio, fake_rest,
                                                                          hotline, db, monkeypatch):
    from datetime import timedelta

    from tests.calls.conftest import AT
    from voiceline.extensions import CLOCK
    from voiceline.webhooks import views

    monkeypatch.setattr(views, "run_after", lambda work: None)  # the worker dies after its answer
    answer = twilio.post("/voice/incoming", params("CAconf11", WATCH))
    monkeypatch.undo()
    assert fake_rest.created() == []
    wait_url = path(answer.root.find("Dial/Conference").get("waitUrl"))
    twilio.post(wait_url, params("CAconf11", WATCH))
    assert fake_rest.created() == []  # not overdue yet: another worker's dialer may be pacing them
    hotline.extensions[CLOCK] = lambda: AT + timedelta(seconds=10)
    again = twilio.post(path(twilio.latest["redirect"]), params("CAconf11", WATCH))
    assert [c["To"] for c in fake_rest.created()] == ["+12025550101", "+12025550102"]
    assert "Still trying" not in " ".join(s.text for s in again.root.iter("Say"))
    for sid, data in fake_rest.placed():  # both decline: step 2 rings
        screen = twilio.post(path(data["Url"]), leg("CAconf11", sid, data["To"]))
        twilio.post(path(screen.root.find("Gather").get("action")), leg("CAconf11", sid, data["To"], Digits="9"))
    later = twilio.post(path(twilio.latest["redirect"]), params("CAconf11", WATCH))
    assert "Still trying to reach the duty officer" in " ".join(s.text for s in later.root.iter("Say"))
    assert fake_rest.created()[-1]["To"] == "+74951234567"


def test_a_leg_url_answered_from_another_call_claims_nothing(conf, twilio, fake_rest, db):
    _, created = start(twilio, fake_rest, "CAconf12")
    sid = fake_rest.placed()[0][0]
    screen = twilio.post(path(created[0]["Url"]), leg("CAconf12", sid, created[0]["To"]))
    url = path(screen.root.find("Gather").get("action"))
    other = twilio.post(url, leg("CAconf12", "CA" + "9" * 32, created[0]["To"], Digits="1"))
    assert [el.tag for el in other.root] == ["Hangup"]
    call = db.scalar(select(Call).where(Call.sid == "CAconf12"))
    db.refresh(call)
    assert call.state == "ringing" and call.answered_by is None


def test_fake_rest_call_sids_never_repeat_across_instances():
    """simulate and replay run again and again against one database: a second run's first
    CallSid must not be a leg the first run stored (the unique call_legs.sid refused it)."""
    import json

    uri = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    sids = [json.loads(FakeRest(unique_sids=True).request("POST", uri, data={"To": "+12025550102"})
                       .text)["sid"] for _ in range(2)]
    assert sids[0] != sids[1]
    assert all(sid.startswith("CA") and len(sid) == 34 for sid in sids)


def _taken_by_alice(twilio, fake_rest, sid: str):
    """alice picks up and presses 1; returns alice's leg sid and her calls.create."""
    _, created = start(twilio, fake_rest, sid)
    alice = fake_rest.placed()[0][0]
    screen = twilio.post(path(created[0]["Url"]), leg(sid, alice, "+12025550101"))
    twilio.post(path(screen.root.find("Gather").get("action")),
                leg(sid, alice, "+12025550101", Digits="1"))
    return alice, created[0]


def test_the_caller_is_not_left_alone_when_the_taker_hangs_up(conf, twilio, fake_rest, db):
    """The taker does not end the room on leaving (so * can bring a colleague in): when their
    call ends and nobody else took it, the caller's call is ended too, not left in silence."""
    alice, made = _taken_by_alice(twilio, fake_rest, "CAconf9")
    assert ("CAconf9", {"Status": "completed"}) not in fake_rest.updates()
    twilio.post(path(made["StatusCallback"]), leg("CAconf9", alice, "+12025550101",
                                                  CallStatus="completed", SequenceNumber="4"))
    assert ("CAconf9", {"Status": "completed"}) in fake_rest.updates()
    call = db.scalar(select(Call).where(Call.sid == "CAconf9"))
    db.refresh(call)
    assert "taker_left" in [e.kind for e in call.events]


def test_the_caller_leaving_ends_the_takers_call(conf, twilio, fake_rest):
    """Twilio may post the taker's <Dial> action after the room ended; ending the taker's call
    when the caller leaves keeps them out of a new, empty room of the same name."""
    alice, _ = _taken_by_alice(twilio, fake_rest, "CAconf10")
    twilio.post("/voice/conference/end", params("CAconf10", WATCH, CallStatus="completed"))
    assert (alice, {"Status": "completed"}) in fake_rest.updates()


def test_a_queued_leg_of_a_group_that_is_over_is_never_placed(conf, twilio, fake_rest, db):
    """The waitUrl's backstop places queued legs: one of a step already over (left queued by a
    worker that died) is canceled instead of ringing a phone for a step nobody waits on."""
    from datetime import timedelta

    answer, _ = start(twilio, fake_rest, "CAconf11")
    for sid, made in fake_rest.placed():  # step 1 declines: step 2 rings
        screen = twilio.post(path(made["Url"]), leg("CAconf11", sid, made["To"]))
        twilio.post(path(screen.root.find("Gather").get("action")),
                    leg("CAconf11", sid, made["To"], Digits="9"))
    call = db.scalar(select(Call).where(Call.sid == "CAconf11"))
    db.refresh(call)
    assert call.step == 2
    old = CallLeg(call_id=call.id, person_id="grace", number="+12025550102", step=1, round=0,
                  dial_group=0, status="queued", purpose="ring",
                  started_at=call.started_at - timedelta(minutes=5))
    db.add(old)
    db.commit()
    before = len(fake_rest.created())
    wait = answer.root.find("Dial/Conference").get("waitUrl")
    twilio.post(path(wait), params("CAconf11", WATCH))
    assert len(fake_rest.created()) == before
    db.refresh(old)
    assert old.status == "canceled"


def test_a_leg_placed_late_rings_its_full_time_before_the_step_is_given_up(
        conf, twilio, fake_rest, hotline, db, monkeypatch):
    """The step's backstop deadline (ring time plus grace, for legs whose callbacks never come)
    counts from when a leg was placed, not from when it was queued: a leg the waitUrl placed
    20 s late (a dead worker's, or one paced behind many others) still rings its 25 s."""
    from datetime import timedelta

    from tests.calls.conftest import AT
    from voiceline.extensions import CLOCK
    from voiceline.webhooks import views

    monkeypatch.setattr(views, "run_after", lambda work: None)  # the worker dies after its answer
    answer = twilio.post("/voice/incoming", params("CAconf13", WATCH))
    monkeypatch.undo()
    wait_url = path(answer.root.find("Dial/Conference").get("waitUrl"))
    hotline.extensions[CLOCK] = lambda: AT + timedelta(seconds=20)
    twilio.post(wait_url, params("CAconf13", WATCH))
    assert [c["To"] for c in fake_rest.created()] == ["+12025550101", "+12025550102"]
    hotline.extensions[CLOCK] = lambda: AT + timedelta(seconds=41)  # queued 41 s ago, placed 21 s ago
    twilio.post(wait_url, params("CAconf13", WATCH))
    assert len(fake_rest.created()) == 2 and fake_rest.updates() == []  # still ringing them
    call = db.scalar(select(Call).where(Call.sid == "CAconf13"))
    db.refresh(call)
    assert call.step == 1 and call.state == "ringing"
    hotline.extensions[CLOCK] = lambda: AT + timedelta(seconds=61)  # placed 41 s ago, no callback
    twilio.post(wait_url, params("CAconf13", WATCH))
    assert sorted(data["Status"] for _sid, data in fake_rest.updates()) == ["canceled", "canceled"]
    assert fake_rest.created()[-1]["To"] == "+74951234567"  # step 2


def test_a_later_rounds_leg_gets_its_own_calls_create_retries(conf, twilio, fake_rest, db):
    """calls.create retries are counted per leg: the 429s of alice's leg in an earlier round
    (or group) do not use up the retries of her leg ringing now."""
    from datetime import timedelta

    from voiceline.calls import conference_legs
    from voiceline.calls.context import Context
    from voiceline.calls.dialer import MAX_RETRIES
    from voiceline.calls.store import add_event

    start(twilio, fake_rest, "CAconf14")
    call = db.scalar(select(Call).where(Call.sid == "CAconf14"))
    first = db.scalar(select(CallLeg).where(CallLeg.call_id == call.id, CallLeg.person_id == "alice"))
    ctx = Context(session=db, at=first.started_at + timedelta(seconds=1), links=lambda *a, **k: "")
    for _ in range(MAX_RETRIES):  # the earlier round's leg was retried to the limit
        add_event(db, call, "leg_create_retry", first.started_at, step=first.step,
                  person_id="alice", reason="429")
    assert conference_legs.retries(ctx, first.id) == MAX_RETRIES
    later = CallLeg(call_id=call.id, person_id="alice", number=first.number, step=first.step,
                    round=1, dial_group=0, status="queued", purpose="ring",
                    started_at=first.started_at + timedelta(minutes=2))
    db.add(later)
    db.flush()
    assert conference_legs.retries(ctx, later.id) == 0
    add_event(db, call, "leg_create_retry", later.started_at + timedelta(seconds=1), step=later.step,
              person_id="alice", reason="429")
    assert conference_legs.retries(ctx, later.id) == 1
    db.rollback()
