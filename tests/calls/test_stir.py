"""STIR/SHAKEN: StirVerstat is stored, shown, and announced to the responder; never a PIN."""

from __future__ import annotations

from sqlalchemy import select

from voiceline.calls.store import call_by_sid
from voiceline.calls.twilio_side import leg_params
from voiceline.models.calls import Call

from .conftest import HOTLINE, OPS, params


def _ring(twilio, sid, **extra):
    twilio.post("/voice/incoming", params(sid, **extra))
    answer = twilio.post(twilio.follow("gather"), params(sid, Digits="2468", **extra))
    if answer.root.find("Dial") is None:
        answer = twilio.post(twilio.follow("gather"), params(sid, Digits="1", **extra))
    number = twilio.latest["numbers"][0]
    whisper = twilio.post(number["url"], leg_params(sid, sid + "L", HOTLINE, number["number"]))
    return [s.text for s in whisper.root.find("Gather").findall("Say")]


def test_the_status_is_stored_on_the_call(twilio, db):
    twilio.post("/voice/incoming", params("CAstir1", StirVerstat="TN-Validation-Failed-B"))
    assert call_by_sid(db, "CAstir1").stir_verstat == "TN-Validation-Failed-B"
    twilio.post("/voice/incoming", params("CAstir2", StirVerstat=""))
    assert call_by_sid(db, "CAstir2").stir_verstat is None


def test_full_attestation_from_a_known_number_is_announced(twilio):
    said = _ring(twilio, "CAstir3", StirVerstat="TN-Validation-Passed-A")
    assert len(said) == 2 and said[0] == said[1]  # the whisper, said twice
    assert said[0].startswith("Hotline call from Watch Officer, State Department Operations Center. "
                              "Priority urgent. Verified number. Press 1")


def test_the_announcement_in_russian(twilio, db):
    from voiceline import models as m

    for person in db.scalars(select(m.Person)):
        person.languages = ["ru"]  # whoever is rung hears Russian
    db.commit()
    said = _ring(twilio, "CAstir4", from_number=OPS, StirVerstat="TN-Validation-Passed-A")
    assert said[0].startswith("Звонок на горячую линию: ") and ". Номер подтверждён." in said[0]


def test_weaker_or_missing_attestation_is_not_announced(twilio):
    for sid, value in (("CAstir5", "TN-Validation-Passed-B"), ("CAstir6", "No-TN-Validation")):
        said = _ring(twilio, sid, StirVerstat=value)
        assert "Verified number" not in said[0] and said[0].startswith("Hotline call from")


def test_an_attested_number_still_has_to_key_the_pin(twilio, db):
    answer = twilio.post("/voice/incoming", params("CAstir7", StirVerstat="TN-Validation-Passed-A"))
    gather = answer.root.find("Gather")
    assert gather is not None and "/voice/pin" in gather.get("action")
    assert answer.root.find("Dial") is None
    wrong = twilio.post(twilio.follow("gather"),
                        params("CAstir7", StirVerstat="TN-Validation-Passed-A", Digits="0000"))
    assert wrong.root.find("Dial") is None
    call = db.scalar(select(Call).where(Call.sid == "CAstir7"))
    assert call.verified is False and call.state == "pin" and call.pin_attempts == 1


def test_calls_show_and_the_call_pages_show_it(hotline, twilio, runner, db):
    twilio.post("/voice/incoming", params("CAstir8", StirVerstat="TN-Validation-Passed-A"))
    result = runner.invoke(args=["calls", "show", "CAstir8"])
    assert "stir_verstat      TN-Validation-Passed-A" in result.output


def test_identify_from_another_number_is_not_announced(twilio, db):
    """An attested unknown number that identifies as a caller is not that caller's number."""
    from voiceline.calls.escalation import number_attested

    twilio.post("/voice/incoming", params("CAstir9", from_number="+12025550177",
                                          StirVerstat="TN-Validation-Passed-A"))
    call = call_by_sid(db, "CAstir9")
    from voiceline import models as m

    watch = db.get(m.Caller, "watch-officer")
    assert number_attested(call, watch) is False
