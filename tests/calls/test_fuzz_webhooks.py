"""Tried on purpose: signed requests with arbitrary parameters, query strings and call states
to every /voice/ route, on SQLite and PostgreSQL. Never a 5xx; a 200 is well-formed TwiML whose
every <Dial callerId> and <Number> is E.164; anything else is a 4xx.

Bounded for every `make test`; `pytest --fuzz-long` runs 20 times the examples.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

import pytest
from argon2 import PasswordHasher
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from voiceline import appdb
from voiceline import models as m
from voiceline.calls.twilio_side import call_params
from voiceline.models.calls import Call

HOTLINE, WATCH, OPS = "+12025550100", "+12025550150", "+74950000001"
TOKEN, PUBLIC_URL = "test-auth-token", "https://hotline.example.org"
E164 = re.compile(r"\+[1-9][0-9]{1,14}")
ROUTES = ("incoming", "language", "identify", "pin", "priority", "dial", "voicemail", "screen",
          "screen/answer", "status", "leg-status", "recording", "fallback", "fallback/done")
STATES = ("new", "language", "identify", "pin", "priority", "ringing", "connected", "voicemail",
          "fallback", "done")
SIDS = ("CAfuzz0", "CAfuzz1", "CAfuzz2", "CAfuzz3")
CALL_STATUSES = ("queued", "initiated", "ringing", "in-progress", "completed", "busy", "failed",
                 "no-answer", "canceled")
DIAL_STATUSES = ("completed", "answered", "busy", "no-answer", "failed", "canceled")

# Any text a form can carry (no lone surrogates: they cannot be encoded), control characters too.
anything = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
numbers = st.one_of(
    st.sampled_from([HOTLINE, WATCH, OPS, "+74950000003", "anonymous", "+266696687", "+86282452253",
                     "+7378742833", "client:alice", "sip:alice@example.org", "", "+1 202 555 0100",
                     "12025550100", "garbage\x00", "+1202555010\n0"]),
    st.from_regex(r"\+[0-9]{0,17}", fullmatch=True), anything)
digits = st.one_of(st.sampled_from(["1", "2", "2468", "9753", "0000", "", "#", "*"]),
                   st.text("0123456789#*", max_size=12), anything)
ints = st.one_of(st.integers(-3, 12).map(str), st.integers(-10**30, 10**30).map(str), anything)
timestamps = st.one_of(st.sampled_from(["Tue, 10 Mar 2026 15:00:30 +0000",
                                        "Fri, 31 Dec 9999 23:59:59 +0000",
                                        "Mon, 01 Jan 0001 00:00:00 +0000", "0", ""]), anything)
sids = st.one_of(st.sampled_from(SIDS), anything)

# `To` is the number Twilio was called on: mostly the hotline, sometimes anything at all.
to_numbers = st.one_of(
    st.sampled_from([HOTLINE, HOTLINE, "+12025550111", "+442079460000", "+1 202 555 0100"]), numbers)

FORM = st.fixed_dictionaries(
    {"CallSid": sids, "From": numbers, "To": to_numbers},
    optional={
        "CallStatus": st.one_of(st.sampled_from(CALL_STATUSES), anything),
        "Digits": digits,
        "DialCallStatus": st.one_of(st.sampled_from(DIAL_STATUSES), anything),
        "DialCallSid": st.one_of(st.sampled_from(("CAleg0", "CAleg1")), anything),
        "DialCallDuration": ints, "DialBridged": st.sampled_from(("true", "false", "", "yes")),
        "ParentCallSid": sids, "SequenceNumber": ints, "Timestamp": timestamps,
        "CallDuration": ints, "RecordingUrl": st.one_of(st.just(
            "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE" + "1" * 32), anything),
        "RecordingSid": anything, "RecordingDuration": ints, "RecordingStatus": anything,
        "AnsweredBy": st.one_of(st.sampled_from(("human", "machine_start", "fax", "unknown")), anything),
        "FinishedOnKey": anything, "SpeechResult": anything, "StirVerstat": anything,
        "CallerName": anything, "Direction": anything, "ErrorCode": ints,
    })
EXTRA = st.dictionaries(anything.filter(bool), anything, max_size=3)
QUERY = st.dictionaries(st.one_of(st.sampled_from(("attempt", "leg", "step", "round", "group")),
                                  anything.filter(bool)), ints, max_size=3)
STATE = st.one_of(st.none(), st.tuples(st.sampled_from(STATES), st.one_of(st.none(), st.integers(0, 5))))


@pytest.fixture
def app_config(tmp_path, any_db_url):
    return {"TESTING": True, "DATABASE_URL": any_db_url, "SECRET_KEY": "test-secret-key",
            "INSTANCE_PATH": str(tmp_path / "instance"), "PUBLIC_URL": PUBLIC_URL,
            "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_ACCOUNT_SID": None,
            "FALLBACK_NUMBERS": ["+12025550199"]}


@pytest.fixture
def line(demo):
    """The demo hotline, PINs 2468 / duress 9753 hashed cheaply (the fuzzer is not a PIN bench)."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with appdb.session_factory(demo)() as session:
        for caller in session.scalars(select(m.Caller)):
            caller.pin_hash, caller.duress_pin_hash = cheap.hash("2468"), cheap.hash("9753")
        hotline_id = session.scalar(select(m.Hotline.id).where(m.Hotline.number == HOTLINE))
        session.commit()
    demo.config["fuzz.hotline_id"] = hotline_id
    return demo


def _put_state(app, sid: str, state: tuple[str, int | None]) -> None:
    """Force the call `sid` into a flow state (creating its record), as a racing Twilio might."""
    with appdb.session_factory(app)() as session:
        call = session.scalar(select(Call).where(Call.sid == sid))
        if call is None:
            call = Call(sid=sid, to_number=HOTLINE, from_number=WATCH,
                        hotline_id=app.config["fuzz.hotline_id"])
            session.add(call)
        call.state, call.step = state
        session.commit()


def check_answer(response) -> ET.Element | None:
    """The properties every /voice/ answer keeps; returns the parsed TwiML of a 200."""
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code != 200:
        assert 400 <= response.status_code < 500
        return None
    body = response.get_data(as_text=True)
    root = ET.fromstring(body)  # well-formed, or this raises
    assert root.tag == "Response", body
    for dial in root.iter("Dial"):
        caller_id = dial.get("callerId")
        assert caller_id is None or E164.fullmatch(caller_id), body
        for number in dial.iter("Number"):
            assert E164.fullmatch((number.text or "").strip()), body
    return root


def post(client, route: str, form: dict, query: dict):
    qs = urlencode(query)
    path = f"/voice/{route}" + (f"?{qs}" if qs else "")
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC_URL + path, form)
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature})


def test_every_voice_route_answers_arbitrary_signed_requests(line, fuzz_examples):
    client = line.test_client()
    # Some calls well into the flow first, so later examples hit calls with legs and events.
    for index, sid in enumerate(SIDS[:2]):
        assert post(client, "incoming", call_params(sid, WATCH, HOTLINE), {}).status_code == 200
        check_answer(post(client, "pin", call_params(sid, WATCH, HOTLINE, Digits="2468"),
                          {"attempt": "1"}))
        post(client, "priority", call_params(sid, WATCH, HOTLINE, Digits=str(index + 1)), {})

    @settings(max_examples=fuzz_examples(500), deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large])
    @given(route=st.sampled_from(ROUTES), form=FORM, extra=EXTRA, query=QUERY, state=STATE)
    def run(route, form, extra, query, state):
        if state is not None and form["CallSid"] in SIDS:
            _put_state(line, form["CallSid"], state)
        check_answer(post(client, route, {**extra, **form}, query))

    run()


GARBAGE_TO = ("garbage\x00", "+1202555010\n0", "sip:" + "x" * 60 + "@example.org", "anonymous")


def test_an_unparseable_to_never_becomes_the_caller_id(line):
    """What the fuzzer found with an arbitrary To before 10.5 (edge cleaning), kept as examples."""
    client = line.test_client()
    failures = []
    for to, route in ((to, route) for to in GARBAGE_TO for route in ROUTES):
        for state in (None, ("ringing", 1), ("fallback", None)):
            sid = f"CAkept{GARBAGE_TO.index(to)}-{ROUTES.index(route)}-{state[0] if state else ''}"
            post(client, "incoming", call_params(sid, WATCH, to), {})
            with appdb.session_factory(line)() as session:
                if session.scalar(select(Call.id).where(Call.sid == sid)) is None:
                    failures.append(f"incoming: no call record for To={to!r}")
            if state:
                _put_state(line, sid, state)
            try:
                check_answer(post(client, route, call_params(
                    sid, "bad\x00from", to, Digits="2468", DialCallStatus="no-answer"),
                    {"attempt": "1"}))
            except (AssertionError, ET.ParseError) as exc:
                failures.append(f"To={to!r} {route} {state}: {type(exc).__name__}")
    assert failures == []
