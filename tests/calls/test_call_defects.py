"""Defects found on the call path (issue 9 §3, issue 10.4): each test failed before its fix."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

from sqlalchemy import select, text

from voiceline import appdb
from voiceline import models as m
from voiceline.calls import prompts
from voiceline.calls.store import call_by_sid
from voiceline.calls.twilio_side import leg_params
from voiceline.models.calls import Call

from .conftest import AT, HOTLINE, OPS, WATCH, allowlist, answered_call, params


def _stamp(seconds: int) -> str:
    return format_datetime(AT + timedelta(seconds=seconds))




# --- 1. an older status callback never rewrites a finished call or leg -------------------------

def test_an_older_terminal_callback_keeps_the_finished_calls_figures(hotline, twilio, db):
    allowlist(db)
    answered_call(twilio, "CAold", bridged=True)
    twilio.post("/voice/status", params("CAold", OPS, CallStatus="completed", SequenceNumber="5",
                                        CallDuration="200", Timestamp=_stamp(200)))
    twilio.post("/voice/status", params("CAold", OPS, CallStatus="canceled", SequenceNumber="1",
                                        CallDuration="3", Timestamp=_stamp(3)))
    db.expire_all()
    call = call_by_sid(db, "CAold")
    assert (call.outcome, call.duration_seconds, call.ended_at) == (
        "answered", 200, AT + timedelta(seconds=200))
    # both callbacks are in the timeline all the same
    assert [e.detail["status"] for e in call.events if e.kind == "call_status"] == ["completed", "canceled"]


def test_a_newer_terminal_leg_callback_sets_the_legs_end(hotline, twilio, db):
    allowlist(db)
    number, leg = answered_call(twilio, "CAlegend", bridged=True)
    for status, seq, seconds in (("canceled", "1", 3), ("completed", "4", 90), ("busy", "2", 5)):
        twilio.post(number["status"], leg_params("CAlegend", leg, HOTLINE, "+12025550101",
                                                 CallStatus=status, SequenceNumber=seq,
                                                 Timestamp=_stamp(seconds)))
    db.expire_all()
    (row,) = call_by_sid(db, "CAlegend").legs
    assert (row.status, row.last_sequence, row.ended_at) == (
        "completed", 4, AT + timedelta(seconds=90))


# --- 10.4 an early status callback cannot skip authentication ----------------------------------

def test_a_status_callback_before_incoming_still_asks_for_the_pin(hotline, twilio, db):
    early = twilio.post("/voice/status", params("CAearly", CallStatus="ringing", SequenceNumber="0"))
    assert early.status == 200
    answer = twilio.post("/voice/incoming", params("CAearly"))
    assert answer.root.find("Dial") is None
    gather = answer.root.find("Gather")
    assert gather.get("action").split("#")[0] == "https://hotline.example.org/voice/pin?attempt=1"
    db.expire_all()
    calls = db.scalars(select(Call).where(Call.sid == "CAearly")).all()
    assert len(calls) == 1
    call = calls[0]
    assert (call.state, call.caller_id, call.hotline_id, call.verified) == (
        "pin", "watch-officer", "liaison", False)
    kinds = [e.kind for e in sorted(call.events, key=lambda e: e.id)]
    assert kinds == ["unseen_call", "call_status", "greeted"]
    # the rest of the call runs as usual: the PIN, then the policy's first step, screened
    twilio.post(twilio.follow("gather"), params("CAearly", Digits="2468", CallStatus="in-progress"))
    ringing = twilio.post(twilio.follow("gather"), params("CAearly", Digits="1", CallStatus="in-progress"))
    numbers = list(ringing.root.iter("Number"))
    assert [n.text for n in numbers] == ["+12025550101"]
    assert numbers[0].get("url").startswith("https://hotline.example.org/voice/screen?leg=")


def test_a_call_only_status_callbacks_saw_ends_failed(hotline, twilio, db):
    twilio.post("/voice/status", params("CAonly", CallStatus="completed", SequenceNumber="3",
                                        CallDuration="12"))
    db.expire_all()
    call = call_by_sid(db, "CAonly")
    assert (call.state, call.outcome, call.duration_seconds) == ("done", "failed", 12)


# --- 7. the whisper is in the caller's language when the responder speaks it ------------------

def _ring_step_two(twilio, sid, number):
    twilio.post("/voice/incoming", params(sid, number))
    twilio.post(twilio.follow("gather"), params(sid, number, Digits="2468", CallStatus="in-progress"))
    twilio.post(twilio.follow("gather"), params(sid, number, Digits="1", CallStatus="in-progress"))
    alice = twilio.latest["numbers"][0]
    twilio.post(twilio.follow("dial"), params(sid, number, DialCallStatus="no-answer",
                                              CallStatus="in-progress"))
    return alice, twilio.latest["numbers"][0]


def _whisper_languages(twilio, sid, ring, responder):
    answer = twilio.post(ring["url"], leg_params(sid, f"{sid}{responder[-4:]}", HOTLINE, responder))
    return {say.get("language") for say in answer.root.iter("Say")}


def test_a_responder_hears_the_callers_language_when_they_speak_it(hotline, twilio):
    alice, boris = _ring_step_two(twilio, "CAwen", WATCH)  # an en-US caller
    assert boris["number"] == "+74951234567"  # boris speaks [ru, en]
    assert _whisper_languages(twilio, "CAwen", boris, boris["number"]) == {"en-US"}


def test_a_responder_who_does_not_speak_the_callers_language_hears_their_own(hotline, twilio):
    alice, boris = _ring_step_two(twilio, "CAwru", OPS)  # a ru-RU caller
    assert _whisper_languages(twilio, "CAwru", boris, boris["number"]) == {"ru-RU"}
    assert _whisper_languages(twilio, "CAwru", alice, alice["number"]) == {"en-US"}  # alice: [en]


# --- 6. identify parses a keyed number in the hotline's region ----------------------------------

STRANGER = "+12025550177"  # not registered: must identify itself


def _identify(twilio, db, sid, digits):
    answer = twilio.post("/voice/incoming", params(sid, STRANGER))
    if answer.root.find("Gather").get("numDigits") == "1":  # language menu first
        twilio.post(twilio.follow("gather"), params(sid, STRANGER, Digits="1"))
    answer = twilio.post(twilio.follow("gather"), params(sid, STRANGER, Digits=digits))
    db.expire_all()
    return answer, call_by_sid(db, sid)


def test_a_caller_keys_their_national_number_in_the_hotlines_region(hotline, twilio, db):
    hotline.config["DEFAULT_REGION"] = "GB"  # the hotline's own number says US
    for n, digits in enumerate(("2025550150", "12025550150", "74950000001")):
        answer, call = _identify(twilio, db, f"CAid{n}", digits)
        assert call.state == "pin", digits
        assert call.caller_id == ("ops-desk" if digits.startswith("7") else "watch-officer")
        assert answer.root.find("Gather").get("action").split("#")[0].endswith("/voice/pin?attempt=1")


def test_a_keyed_number_nobody_is_registered_with_is_a_failed_try(hotline, twilio, db):
    # The PIN is asked whatever was keyed (an answer here would tell a prober which numbers are
    # registered); the PIN step then counts the failed try.
    answer, call = _identify(twilio, db, "CAidx", "2025550199")
    assert (call.state, call.caller_id, call.pin_attempts) == ("pin", None, 0)
    answer = twilio.post(twilio.follow("gather"), params("CAidx", STRANGER, Digits="2468"))
    db.expire_all()
    call = call_by_sid(db, "CAidx")
    assert (call.state, call.caller_id, call.pin_attempts, call.verified) == ("pin", None, 1, False)
    assert answer.root.find("Gather").get("action").split("#")[0].endswith("/voice/pin?attempt=2")


# --- 5. a registered caller without a PIN is told so, and the managers learn of it --------------

def test_a_caller_without_a_pin_is_told_plainly_and_the_managers_once_a_day(hotline, twilio, db):
    db.get(m.Caller, "watch-officer").pin_hash = None
    db.commit()
    for sid in ("CAnopin1", "CAnopin2"):
        answer = twilio.post("/voice/incoming", params(sid))
        assert [c.tag for c in answer.root] == ["Say", "Hangup"]
        assert answer.root.find("Say").text == prompts.text("en-US", "pin_not_set")
    db.expire_all()
    assert (call_by_sid(db, "CAnopin1").outcome, call_by_sid(db, "CAnopin1").state) == ("rejected", "done")
    notices = db.scalars(select(m.OutboxMessage).where(m.OutboxMessage.purpose == "pin_not_set")).all()
    assert [(n.key, n.recipient) for n in notices] == [
        ("pin_not_set:watch-officer:2026-03-10:duty-chief", "+12025550109")]
    assert "voiceline callers set-pin watch-officer" in notices[0].body
    assert "https://hotline.example.org/calls/CAnopin1" in notices[0].body


def test_the_no_pin_sentence_is_in_russian_for_a_russian_caller(hotline, twilio, db):
    db.get(m.Caller, "ops-desk").pin_hash = None
    db.commit()
    say = twilio.post("/voice/incoming", params("CAnopinru", OPS)).root.find("Say")
    assert (say.get("language"), say.text) == ("ru-RU", prompts.text("ru-RU", "pin_not_set"))
    assert say.text != prompts.text("en-US", "pin_not_set")


# --- 4. a duress PIN with no supervisor alerts the managers and admins ---------------------------

def test_duress_without_a_supervisor_alerts_managers_and_admins_and_logs(hotline, twilio, db, caplog):
    from voiceline.web.auth import create_user

    db.get(m.Person, "duty-chief").roles = ["manager"]
    create_user(db, "ada", "correct horse battery", "admin", "grace")
    db.commit()
    caplog.set_level("WARNING")
    twilio.post("/voice/incoming", params("CAduressnosup"))
    answer = twilio.post(twilio.follow("gather"), params("CAduressnosup", Digits="9753",
                                                         CallStatus="in-progress"))
    assert answer.root.find("Gather").get("action").split("#")[0].endswith("/voice/priority")  # as the real PIN
    alerts = db.scalars(select(m.OutboxMessage).where(m.OutboxMessage.purpose == "duress")).all()
    assert sorted((a.key, a.recipient) for a in alerts) == [
        ("duress:CAduressnosup:duty-chief", "+12025550109"),
        ("duress:CAduressnosup:grace", "+12025550102")]
    assert any("no active supervisor" in r.getMessage() and r.levelname == "WARNING"
               for r in caplog.records)
    assert "9753" not in caplog.text
    health = hotline.test_client().get("/healthz").get_json()
    assert health["checks"]["duress"]["warning"].startswith("duress alerts have no recipient")
    assert health["checks"]["duress"]["recipients"] == ["duty-chief", "grace"]


def test_healthz_names_the_supervisors_when_there_are_some(hotline):
    health = hotline.test_client().get("/healthz").get_json()
    assert health["checks"]["duress"] == {"ok": True, "recipients": ["duty-chief"]}


# --- 3. without the database nothing promises that the duty officers were told -----------------

def _says(answer):
    return [(s.get("language"), s.text) for s in answer.root.iter("Say")]


def test_a_message_taken_without_the_database_promises_nothing_false(hotline, twilio):
    hotline.config["FALLBACK_NUMBERS"] = []
    twilio.post("/voice/incoming", params("CAnodb"))
    with appdb.engine(hotline).begin() as conn:
        conn.execute(text("DROP TABLE call_events"))
    answer = twilio.post(twilio.follow("gather"), params("CAnodb", Digits="2468"))
    assert _says(answer) == [("en-US", prompts.text("en-US", "sorry_record")),
                             ("ru-RU", prompts.text("ru-RU", "sorry_record"))]
    assert answer.root.find("Record") is not None
    done = twilio.post(twilio.follow("record"), params(
        "CAnodb", RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
        RecordingSid="RE1", RecordingDuration="14"))
    assert _says(done) == [("en-US", prompts.text("en-US", "fallback_thanks")),
                           ("ru-RU", prompts.text("ru-RU", "fallback_thanks"))]
    assert [c.tag for c in done.root][-1] == "Hangup"
    spoken = " ".join(said for _, said in _says(answer) + _says(done))
    assert "notified" not in spoken and "оповещены" not in spoken


def test_the_voicemail_step_failing_does_not_claim_the_officers_were_told(hotline, twilio, db):
    allowlist(db)
    twilio.post("/voice/incoming", params("CAvmfail", OPS))
    for _ in range(6):  # two rounds of three steps, nobody accepts
        twilio.post(twilio.follow("dial"), params("CAvmfail", OPS, DialCallStatus="no-answer",
                                                  CallStatus="in-progress"))
    assert call_by_sid(db, "CAvmfail").state == "voicemail"
    with appdb.engine(hotline).begin() as conn:
        conn.execute(text("DROP TABLE call_events"))
    answer = twilio.post(twilio.follow("record"), params(
        "CAvmfail", OPS, RecordingUrl="https://api.twilio.com/x/RE2", RecordingDuration="9"))
    assert _says(answer)[0] == ("en-US", prompts.text("en-US", "fallback_thanks"))


# --- 2. one notice per call, the right one, whatever the order -----------------------------------

RECORDING = {"RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE9",
             "RecordingSid": "RE9", "RecordingDuration": "21"}
RESPONDERS = ["+12025550101", "+12025550109", "+74951234567"]  # alice, duty-chief, boris


def _to_voicemail(twilio, db, sid):
    allowlist(db)
    twilio.post("/voice/incoming", params(sid, OPS))
    for _ in range(6):  # two rounds of three steps, nobody accepts
        answer = twilio.post(twilio.follow("dial"), params(sid, OPS, DialCallStatus="no-answer",
                                                           CallStatus="in-progress"))
    assert answer.root.find("Record") is not None


def _notices(db):
    db.expire_all()
    rows = db.scalars(select(m.OutboxMessage).where(m.OutboxMessage.purpose.in_(["voicemail", "missed"])))
    return sorted((row.purpose, row.recipient) for row in rows)


def _completed(twilio, sid):
    twilio.post("/voice/status", params(sid, OPS, CallStatus="completed", SequenceNumber="9",
                                        CallDuration="200"))


def test_completed_before_the_recording_gives_one_voicemail_notice_each(hotline, twilio, db):
    from voiceline.jobs.tick import run_tick

    _to_voicemail(twilio, db, "CAvm1")
    recording_url = twilio.follow("recording")
    _completed(twilio, "CAvm1")
    assert _notices(db) == []  # the caller was at <Record>: wait for the recording
    twilio.post(recording_url, params("CAvm1", OPS, RecordingStatus="completed", **RECORDING))
    assert _notices(db) == [("voicemail", number) for number in RESPONDERS]
    run_tick(hotline, AT + timedelta(minutes=10))
    assert _notices(db) == [("voicemail", number) for number in RESPONDERS]
    assert call_by_sid(db, "CAvm1").outcome == "voicemail"


def test_completed_and_no_recording_gives_one_missed_notice_after_the_grace(hotline, twilio, db):
    from voiceline.jobs.tick import run_tick

    _to_voicemail(twilio, db, "CAvm2")
    _completed(twilio, "CAvm2")
    run_tick(hotline, AT + timedelta(minutes=1))
    assert _notices(db) == []
    assert call_by_sid(db, "CAvm2").outcome == "missed"
    run_tick(hotline, AT + timedelta(minutes=3))
    run_tick(hotline, AT + timedelta(minutes=4))
    assert _notices(db) == [("missed", number) for number in RESPONDERS]
    # a recording that lands later shows on the call, and the voicemail is told (once: below)
    twilio.post(twilio.follow("recording"), params("CAvm2", OPS, RecordingStatus="completed", **RECORDING))
    assert call_by_sid(db, "CAvm2").recording_sid == "RE9"


def test_a_recording_after_the_grace_still_tells_of_the_voicemail_once(hotline, twilio, db):
    """The missed-call notice went out after the grace; the recording callback comes later
    (Twilio was slow storing it): every responder still learns of the voicemail, once."""
    from voiceline.jobs.tick import run_tick

    _to_voicemail(twilio, db, "CAlate")
    recording_url = twilio.follow("recording")
    _completed(twilio, "CAlate")
    run_tick(hotline, AT + timedelta(minutes=3))
    assert _notices(db) == [("missed", number) for number in RESPONDERS]
    for _ in range(2):  # Twilio may post the callback twice
        twilio.post(recording_url, params("CAlate", OPS, RecordingStatus="completed", **RECORDING))
    run_tick(hotline, AT + timedelta(minutes=6))
    assert _notices(db) == sorted([("missed", number) for number in RESPONDERS]
                                  + [("voicemail", number) for number in RESPONDERS])
    late = db.scalars(select(m.OutboxMessage).where(m.OutboxMessage.purpose == "voicemail")).all()
    assert {row.key for row in late} == {f"voicemail:CAlate:{p}:late"
                                         for p in ("alice", "boris", "duty-chief")}
    assert all("voicemail (21 s)" in row.body and "/calls/CAlate" in row.body for row in late)
    call = call_by_sid(db, "CAlate")
    assert (call.outcome, call.recording_sid) == ("voicemail", "RE9")


def test_an_absent_recording_after_completed_sends_the_missed_notice_at_once(hotline, twilio, db):
    _to_voicemail(twilio, db, "CAvm3")
    _completed(twilio, "CAvm3")
    from voiceline.jobs.tick import run_tick

    twilio.post(twilio.follow("recording"), params("CAvm3", OPS, RecordingStatus="absent",
                                                   RecordingSid="RE8", RecordingDuration="0"))
    assert _notices(db) == [("missed", number) for number in RESPONDERS]
    run_tick(hotline, AT + timedelta(minutes=5))
    assert "notice_due" not in [e.kind for e in call_by_sid(db, "CAvm3").events]


def test_the_recording_callback_first_still_thanks_the_caller(hotline, twilio, db):
    _to_voicemail(twilio, db, "CAvm4")
    twilio.post(twilio.follow("recording"), params("CAvm4", OPS, RecordingStatus="completed", **RECORDING))
    answer = twilio.post(twilio.follow("record"), params("CAvm4", OPS, CallStatus="in-progress", **RECORDING))
    assert [(s.get("language"), s.text) for s in answer.root.iter("Say")] == [
        ("ru-RU", prompts.text("ru-RU", "voicemail_thanks"))]
    _completed(twilio, "CAvm4")
    assert _notices(db) == [("voicemail", number) for number in RESPONDERS]


def test_a_message_the_fallback_took_reaches_the_managers_once_the_database_answers(hotline, twilio, db):
    # the incoming request never reached the database; the recording callback does
    twilio.post("/voice/recording", {"CallSid": "CAgone", "AccountSid": "AC1",
                                     "RecordingStatus": "completed", **RECORDING})
    db.expire_all()
    call = call_by_sid(db, "CAgone")
    assert (call.outcome, call.recording_sid, call.recording_seconds) == ("failed", "RE9", 21)
    notices = db.scalars(select(m.OutboxMessage).where(m.OutboxMessage.purpose == "voicemail")).all()
    assert [(n.key, n.recipient) for n in notices] == [("voicemail:CAgone:duty-chief", "+12025550109")]
    assert "a number not on record" in notices[0].body


def test_a_fallback_message_recorded_after_the_calls_end_is_still_told(hotline, twilio, db):
    hotline.config["FALLBACK_NUMBERS"] = []
    db.get(m.PolicyStep, db.scalars(select(m.PolicyStep.id)).first()).rotas = ["no-such-rota"]
    db.commit()
    twilio.post("/voice/incoming", params("CAfbvm"))
    twilio.post(twilio.follow("gather"), params("CAfbvm", Digits="2468"))
    answer = twilio.post(twilio.follow("gather"), params("CAfbvm", Digits="1"))  # the rota breaks
    assert answer.root.find("Record") is not None
    twilio.post("/voice/status", params("CAfbvm", CallStatus="completed", SequenceNumber="4",
                                        CallDuration="80"))
    twilio.post(twilio.follow("recording"), params("CAfbvm", RecordingStatus="completed", **RECORDING))
    db.expire_all()
    call = call_by_sid(db, "CAfbvm")
    assert (call.outcome, call.recording_sid) == ("failed", "RE9")
    assert [n.key for n in db.scalars(select(m.OutboxMessage).where(
        m.OutboxMessage.purpose == "voicemail"))] == ["voicemail:CAfbvm:duty-chief"]


def test_every_language_speaks_every_sentence_with_the_same_blanks():
    """A sentence missing in one language fails its callers with a KeyError mid-call (the
    fallback), and a placeholder spelled differently fails .format(): every language of the
    catalogue has every key of the default one, with the same {blanks}."""
    import string

    def blanks(sentence: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(sentence) if name}

    default = prompts.CATALOGUE[prompts.DEFAULT_LANGUAGE]
    assert len(prompts.CATALOGUE) >= 2
    for language, table in prompts.CATALOGUE.items():
        assert set(table) == set(default), language
        assert {key: blanks(text) for key, text in table.items()} == {
            key: blanks(text) for key, text in default.items()}, language
