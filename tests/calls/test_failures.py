"""Never an application error: a broken database under a live call, a broken rota, bad input."""

from __future__ import annotations

from sqlalchemy import select, text

from voiceline import appdb
from voiceline import models as m
from voiceline.calls.store import call_by_sid
from voiceline.db import make_engine, make_sessionmaker

from .conftest import WATCH, params

FALLBACK = "+12025550109"


def _fallback_dial(answer):
    assert answer.status == 200
    dial = answer.root.find("Dial")
    assert dial is not None, answer.text
    assert [n.text for n in dial.iter("Number")] == [FALLBACK]
    assert dial.get("callerId") == "+12025550100"
    return dial


def test_dropped_table_under_a_live_call_dials_the_fallback(hotline, twilio, caplog):
    hotline.config["FALLBACK_NUMBERS"] = [FALLBACK]
    twilio.post("/voice/incoming", params("CAdrop"))
    with appdb.engine(hotline).begin() as conn:
        conn.execute(text("DROP TABLE call_events"))
    answer = twilio.post(twilio.follow("gather"), params("CAdrop", Digits="2468"))
    _fallback_dial(answer)
    assert any("step pin failed" in r.getMessage() for r in caplog.records)


def test_unreachable_postgresql_under_a_live_call(hotline, twilio):
    hotline.config["FALLBACK_NUMBERS"] = [FALLBACK]
    twilio.post("/voice/incoming", params("CAdown"))
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none",
                         connect_args={"connect_timeout": 2})
    hotline.extensions["voiceline.db"] = (engine, make_sessionmaker(engine))
    _fallback_dial(twilio.post(twilio.follow("gather"), params("CAdown", Digits="2468")))
    _fallback_dial(twilio.post("/voice/incoming", params("CAnew")))


def test_without_fallback_numbers_it_apologises_and_records(hotline, twilio):
    hotline.config["FALLBACK_NUMBERS"] = []
    twilio.post("/voice/incoming", params("CAnofb"))
    with appdb.engine(hotline).begin() as conn:
        conn.execute(text("DROP TABLE call_events"))
    answer = twilio.post(twilio.follow("gather"), params("CAnofb", Digits="2468"))
    assert [c.tag for c in answer.root] == ["Say", "Say", "Record", "Hangup"]
    record = answer.root.find("Record")
    assert record.get("maxLength") == "300"
    assert record.get("recordingStatusCallback") == ("https://hotline.example.org/voice/recording"
                                                     "#ct=2000&rt=10000&rc=2")


def test_fallback_url_never_touches_the_database(hotline, twilio):
    hotline.config["FALLBACK_NUMBERS"] = [FALLBACK]
    engine = make_engine("sqlite:////nonexistent-dir/x.db")
    hotline.extensions["voiceline.db"] = (engine, make_sessionmaker(engine))
    _fallback_dial(twilio.post("/voice/fallback", params("CAfb", ErrorCode="11200")))
    answer = twilio.post(twilio.follow("dial"), params("CAfb", DialCallStatus="completed"))
    assert [c.tag for c in answer.root] == ["Hangup"]


def test_broken_rota_falls_back(hotline, twilio, db):
    hotline.config["FALLBACK_NUMBERS"] = [FALLBACK]
    db.get(m.PolicyStep, db.scalars(select(m.PolicyStep.id)).first()).rotas = ["no-such-rota"]
    db.commit()
    twilio.post("/voice/incoming", params("CArota"))
    twilio.post(twilio.follow("gather"), params("CArota", Digits="2468"))
    _fallback_dial(twilio.post(twilio.follow("gather"), params("CArota", Digits="1")))
    db.expire_all()
    call = call_by_sid(db, "CArota")
    assert call.state == "fallback" and "fallback" in [e.kind for e in call.events]


def test_bad_input_is_never_a_500(hotline, twilio, db):
    hotline.config["FALLBACK_NUMBERS"] = [FALLBACK]
    body = params("CAbad")
    del body["CallSid"]
    assert twilio.post("/voice/incoming", body).status == 400
    assert twilio.post("/voice/status", body).status == 400
    # unknown To: the caller still reaches a human
    answer = twilio.post("/voice/incoming", {**params("CAto"), "To": "+12025550999"})
    assert [n.text for n in answer.root.iter("Number")] == [FALLBACK]
    # unknown extra parameters are ignored; huge and non-numeric digits are wrong PINs
    twilio.post("/voice/incoming", params("CAdig", SomethingNew="x" * 500))
    answer = twilio.post(twilio.follow("gather"), params("CAdig", Digits="9" * 5000))
    assert answer.status == 200 and answer.root.find("Gather") is not None
    answer = twilio.post(twilio.follow("gather"), params("CAdig", Digits="*#abc"))
    assert answer.status == 200
    assert call_by_sid(db, "CAdig").pin_attempts == 2
    # a step for a call never seen: fallback, not an error
    _fallback = twilio.post("https://hotline.example.org/voice/pin?attempt=1", params("CAnever", Digits="1"))
    assert [n.text for n in _fallback.root.iter("Number")] == [FALLBACK]
    # a bogus leg id answers a hang-up for that leg
    answer = twilio.post("https://hotline.example.org/voice/screen?leg=abc", {"CallSid": "CAx"})
    assert [c.tag for c in answer.root] == ["Hangup"]
    # an absurd body is refused before it is parsed
    assert twilio.post("/voice/incoming", params("CAbig", Junk="x" * 70000)).status == 413
    assert call_by_sid(db, "CAbig") is None


def test_pin_never_logged(hotline, twilio, caplog):
    caplog.set_level("DEBUG")
    with appdb.engine(hotline).begin() as conn:
        conn.execute(text("DROP TABLE outbox"))
    twilio.post("/voice/incoming", params("CAlog", WATCH))
    twilio.post(twilio.follow("gather"), params("CAlog", Digits="9753"))  # duress: outbox fails
    assert "9753" not in caplog.text
