"""Retention: the tick forgets old call records, events and recordings, auditing counts only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from voiceline import audit
from voiceline.models.calls import Call, CallEvent, CallLeg
from voiceline.models.shared import AuditEntry

RE_OLD = "RE" + "a" * 32
RE_NEW = "RE" + "b" * 32
RE_URL = "RE" + "c" * 32


@pytest.fixture
def app_config(app_config):
    return {**app_config, "RETENTION_CALL_DAYS": 90, "RETENTION_EVENT_DAYS": 30,
            "RETENTION_RECORDING_DAYS": 7}


def _call(db, sid, started, recording=None, url=None):
    def add(session):
        call = Call(sid=sid, to_number="+12025550100", from_number="+12025550150",
                    started_at=started, ended_at=started + timedelta(minutes=1), state="done",
                    outcome="voicemail" if (recording or url) else "answered",
                    recording_sid=recording, recording_url=url,
                    recording_seconds=12 if (recording or url) else None)
        session.add(call)
        session.flush()
        session.add(CallLeg(call_id=call.id, number="+12025550101", step=1, started_at=started))
        session.add(CallEvent(call_id=call.id, at=started, kind="greeted", detail={"secret": "x"}))
        session.commit()
    db(add)


def _state(session):
    calls = {c.sid: (c.recording_sid, c.recording_url) for c in session.scalars(select(Call))}
    events = {session.get(Call, e.call_id).sid for e in session.scalars(select(CallEvent))
              if e.kind == "greeted"}
    legs = session.scalar(select(func.count()).select_from(CallLeg))
    entries = [(e.action, e.detail) for e in session.scalars(
        select(AuditEntry).where(AuditEntry.action.like("retention.%")).order_by(AuditEntry.id))]
    return calls, events, legs, entries


def test_each_kind_is_purged_at_its_age_and_audited_with_counts(rota, tick, db, h, fake_twilio):
    at = h.utc("2026-06-01T12:00")
    _call(db, "CAancient", at - timedelta(days=100), recording=RE_OLD)
    _call(db, "CAmonth", at - timedelta(days=40))
    _call(db, "CAweek", at - timedelta(days=10),
          url=f"https://api.twilio.com/2010-04-01/Accounts/{h.ACCOUNT_SID}/Recordings/{RE_URL}")
    _call(db, "CAnew", at - timedelta(days=1), recording=RE_NEW)
    fake_twilio.script = [(204, {}), (204, {})]
    report = tick(at)

    calls, events, legs, entries = db(_state)
    assert set(calls) == {"CAmonth", "CAweek", "CAnew"}  # the 100-day-old call is gone
    assert calls["CAweek"] == (None, None) and calls["CAnew"] == (RE_NEW, None)
    assert events == {"CAweek", "CAnew"}  # events older than 30 days are gone, the call stays
    assert legs == 3
    deleted = [r["path"] for r in fake_twilio.requests if r["method"] == "DELETE"]
    assert sorted(deleted) == sorted(
        f"/2010-04-01/Accounts/{h.ACCOUNT_SID}/Recordings/{sid}.json" for sid in (RE_OLD, RE_URL))
    actions = [a for a, _ in entries]
    assert actions == ["retention.recordings", "retention.events", "retention.calls"]
    detail = dict(entries)
    assert detail["retention.recordings"]["references"] == 2
    assert detail["retention.recordings"]["deleted_at_twilio"] == 2
    assert detail["retention.events"]["events"] == 2  # the 100- and the 40-day-old call's
    assert detail["retention.calls"]["calls"] == 1 and detail["retention.calls"]["legs"] == 1
    assert "CAancient" not in str(entries) and "secret" not in str(entries)  # counts, not contents
    assert report.counts["retention.calls"] == 1

    tick(at + timedelta(minutes=1))
    assert db(_state)[3] == entries  # nothing more to purge: no new audit entry
    assert db(lambda s: audit.verify(s).ok)


def test_a_recording_twilio_refuses_to_delete_is_kept_and_retried(rota, tick, db, h, fake_twilio):
    at = h.utc("2026-06-01T12:00")
    _call(db, "CAold", at - timedelta(days=100), recording=RE_OLD)
    refused = (500, {"code": 20500, "message": "Internal Server Error", "status": 500})
    fake_twilio.script = [refused]
    tick(at)
    assert [r["method"] for r in fake_twilio.requests] == ["DELETE"]  # tried once a tick
    calls, _, _, entries = db(_state)
    assert calls["CAold"] == (RE_OLD, None)  # kept, with its reference, for the next tick
    assert entries[-1][0] == "retention.calls" and entries[-1][1]["recordings_failed"] == 1
    fake_twilio.script = [(404, {"code": 20404, "message": "not found", "status": 404})]
    tick(at + timedelta(minutes=1))
    calls, _, _, entries = db(_state)
    assert calls == {}
    assert entries[-2] == ("retention.recordings", {
        "days": 7, "before": "2026-05-25T12:01:00+00:00", "references": 1, "already_gone": 1})
    assert entries[-1][1]["calls"] == 1


def test_without_credentials_only_the_reference_is_forgotten(rota, db, h, fake_twilio):
    from voiceline.jobs.tick import run_tick

    rota.config["TWILIO_ACCOUNT_SID"] = None
    at = h.utc("2026-06-01T12:00")
    _call(db, "CAweek", at - timedelta(days=10), recording=RE_NEW)
    assert run_tick(rota, at).errors == []
    calls, _, _, entries = db(_state)
    assert calls["CAweek"] == (None, None)
    assert entries[0][1]["kept_at_twilio"] == 1
    assert fake_twilio.requests == []


def test_default_keeps_everything_forever(rota, tick, db, h):
    from voiceline.config import load_settings
    from voiceline.jobs.retention import Retention

    assert Retention.from_config(load_settings({})) == Retention(0, 0, 0)
    rota.config.update(RETENTION_CALL_DAYS=0, RETENTION_EVENT_DAYS=0, RETENTION_RECORDING_DAYS=0)
    at = h.utc("2026-06-01T12:00")
    _call(db, "CAold", at - timedelta(days=4000), recording=RE_OLD)
    tick(at)
    calls, events, legs, entries = db(_state)
    assert calls == {"CAold": (RE_OLD, None)} and events == {"CAold"} and legs == 1
    assert entries == []
