"""The webhook hot path: what was taken off it still holds (on SQLite and on PostgreSQL).

The same CallSid stored by another worker between the look-up and the insert, duplicate
events decided by the unique index, a person loaded once per request, TwiML documents
written from a per-process cache.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select

from voiceline import appdb
from voiceline.calls.twiml import Reply, Ring
from voiceline.models.calls import Call, CallEvent
from voiceline.models.directory import Person
from voiceline.phones import try_e164

from .conftest import HOTLINE, WATCH, params


@pytest.fixture
def app_config(tmp_path, any_db_url):
    return {"TESTING": True, "DATABASE_URL": any_db_url, "SECRET_KEY": "test-secret-key",
            "INSTANCE_PATH": str(tmp_path / "instance"), "PUBLIC_URL": "https://hotline.example.org",
            "TWILIO_AUTH_TOKEN": "test-auth-token", "TWILIO_ACCOUNT_SID": None}


def test_a_callsid_stored_meanwhile_by_another_worker_hears_that_calls_answer(
        hotline, twilio, db):
    """A new call is written before anything reads it: the unique CallSid finds one stored
    meanwhile (a repeat, or another worker), rolls the request's transaction back and answers
    the stored call where it stands (one record, one greeting)."""
    first = twilio.post("/voice/incoming", params("CArace1"))
    again = twilio.post("/voice/incoming", params("CArace1"))
    assert again.status == 200
    assert [c.tag for c in again.root] == [c.tag for c in first.root] == ["Gather"]
    assert again.root.find("Gather").get("action").startswith("https://hotline.example.org/voice/pin")
    assert db.scalar(select(func.count()).select_from(Call).where(Call.sid == "CArace1")) == 1
    call = db.scalar(select(Call).where(Call.sid == "CArace1"))
    kinds = db.scalars(select(CallEvent.kind).where(CallEvent.call_id == call.id)).all()
    assert kinds == ["greeted"]
    assert call.state == "pin" and call.from_number == WATCH and call.to_number == HOTLINE


def test_a_duplicate_status_callback_adds_no_event_and_changes_nothing(hotline, twilio, db):
    twilio.post("/voice/incoming", params("CAdup1"))
    done = params("CAdup1", CallStatus="completed", CallDuration="40", SequenceNumber="3")
    twilio.post("/voice/status", done)
    twilio.post("/voice/status", dict(done, CallDuration="99"))
    call = db.scalar(select(Call).where(Call.sid == "CAdup1"))
    statuses = db.scalars(select(CallEvent.detail).where(CallEvent.call_id == call.id,
                                                         CallEvent.kind == "call_status")).all()
    assert [s["status"] for s in statuses] == ["completed"]
    assert call.duration_seconds == 40 and call.outcome is not None


def test_the_people_of_a_step_are_read_in_one_statement_and_answer_as_before(hotline, twilio, db):
    """Ringing resolves the policy: everyone it names is loaded at once, each read once."""
    from sqlalchemy import event

    statements: list[str] = []
    engine = appdb.engine(hotline)

    def listener(_conn, _cursor, statement, *_args):
        statements.append(statement)
    twilio.post("/voice/incoming", params("CAppl1"))
    twilio.post(twilio.follow("gather"), params("CAppl1", Digits="2468"))
    event.listen(engine, "before_cursor_execute", listener)
    try:
        answer = twilio.post(twilio.follow("gather"), params("CAppl1", Digits="1"))
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert [c.tag for c in answer.root] == ["Say", "Dial"]
    assert len([s for s in statements if "FROM people" in s]) <= 1, statements
    # alice is on duty at the fixed clock (step 1 of the demo policy)
    alice = db.get(Person, "alice")
    assert [n["number"] for n in twilio.latest["numbers"]] == [try_e164(alice.phone)]


def test_a_reply_written_from_the_cache_equals_one_built_afresh():
    def build() -> Reply:
        return (Reply("ru-RU").say("welcome")
                .gather("https://h.example/voice/pin?attempt=2", ["enter_pin",
                        ("choose", "en-US", {"digit": 1})], timeout=10)
                .dial([Ring("+12025550101", "https://h.example/s?leg=1", "https://h.example/l?leg=1")],
                      action="https://h.example/voice/dial", caller_id=HOTLINE, timeout=25)
                .record(action="https://h.example/vm", status_url=None, max_length=60).hangup())

    fresh = build()
    fresh.response  # noqa: B018 - reaching for the SDK document: this reply is never cached
    assert str(build()) == str(build()) == str(fresh)
    root = ET.fromstring(str(build()))
    assert [child.tag for child in root] == ["Say", "Gather", "Dial", "Record", "Hangup"]
    says = root.find("Gather").findall("Say")
    assert [s.get("language") for s in says] == ["ru-RU", "en-US"]
    assert says[1].text == "For English, press 1."


def test_a_reply_extended_through_its_sdk_document_keeps_every_verb():
    reply = Reply("en-US").say("welcome")
    reply.response.pause(length=1)  # the SDK document itself, as static documents do
    reply.say("goodbye").hangup()
    assert [child.tag for child in ET.fromstring(str(reply))] == ["Say", "Pause", "Say", "Hangup"]
    # and a reply with the same helper verbs, without the pause, is not that document
    plain = Reply("en-US").say("welcome").say("goodbye").hangup()
    assert [child.tag for child in ET.fromstring(str(plain))] == ["Say", "Say", "Hangup"]


def test_values_in_a_sentence_are_part_of_the_cached_document():
    one = str(Reply("en-US").say("pin_locked", minutes=15))
    two = str(Reply("en-US").say("pin_locked", minutes=60))
    assert "15 minutes" in one and "60 minutes" in two


def test_a_webhook_opens_no_cookie_session_and_the_ui_keeps_its_own(hotline, monkeypatch):
    """Twilio's requests carry no browser session: a /voice/ request never reads or writes
    the cookie session (no Set-Cookie, not even for a request that brings a cookie), while a
    page of the UI still gets its session."""
    from flask.sessions import SecureCookieSessionInterface

    from voiceline.calls.twilio_side import sign

    opened = []
    real_open = SecureCookieSessionInterface.open_session
    monkeypatch.setattr(SecureCookieSessionInterface, "open_session",
                        lambda self, app, request: opened.append(request.path)
                        or real_open(self, app, request))
    client = hotline.test_client()
    client.set_cookie("session", "not-a-valid-cookie")
    base = hotline.config.get("PUBLIC_URL") or "http://localhost"
    body = params("CAnocookie1")
    answer = client.post("/voice/incoming", data=body, headers={
        "X-Twilio-Signature": sign(hotline.config["TWILIO_AUTH_TOKEN"], base + "/voice/incoming", body)})
    assert answer.status_code == 200
    assert [c.tag for c in ET.fromstring(answer.data)] == ["Gather"]
    assert "Set-Cookie" not in answer.headers
    assert opened == []
    page = hotline.test_client().get("/login")
    assert page.status_code == 200 and "/login" in opened
    assert "session=" in page.headers.get("Set-Cookie", "")
