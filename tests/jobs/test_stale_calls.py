"""A call whose final status callback never came is closed by the tick, from what it shows."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from voiceline.models.calls import Call, CallEvent


def _call(db, sid, started, **values):
    def add(session):
        call = Call(sid=sid, hotline_id=None, to_number="+12025550100", from_number="+12025550150",
                    started_at=started, state=values.pop("state", "ringing"), **values)
        session.add(call)
        session.flush()
        session.add(CallEvent(call_id=call.id, at=started + timedelta(seconds=40), kind="step_rang"))
        session.commit()
    db(add)


def test_stale_open_calls_are_closed_by_what_their_record_shows(rota, tick, db, h):
    at = h.utc("2026-03-05T20:00")
    old = at - timedelta(hours=6)
    _call(db, "CAbridged", old, state="connected", answered_at=old + timedelta(seconds=30))
    _call(db, "CArecorded", old, state="voicemail", recording_sid="RE1")
    _call(db, "CAringing", old)
    _call(db, "CArecent", at - timedelta(hours=1))
    report = tick(at)
    assert report.counts["stale_calls"] == 3

    def rows(session):
        calls = {c.sid: (c.outcome, c.state, c.ended_at) for c in session.scalars(select(Call))}
        kinds = session.scalars(select(CallEvent.kind).where(CallEvent.kind == "closed_stale")).all()
        return calls, kinds

    calls, kinds = db(rows)
    end = old + timedelta(seconds=40)  # the last thing the record shows
    assert calls["CAbridged"] == ("answered", "done", end)
    assert calls["CArecorded"] == ("voicemail", "done", end)
    assert calls["CAringing"] == ("abandoned", "done", end)
    assert calls["CArecent"] == (None, "ringing", None)
    assert len(kinds) == 3
    assert tick(at + timedelta(minutes=1)).counts["stale_calls"] == 0  # closed once
