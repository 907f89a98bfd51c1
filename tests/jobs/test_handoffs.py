"""On-duty history and handoff messages, driven by ticks at explicit instants."""

from __future__ import annotations

from sqlalchemy import select

from voiceline import models as m
from voiceline.models.jobs import DutyRecord


def history(db):
    return db(lambda s: [(r.person_id, r.start, r.end, r.announced) for r in
                         s.scalars(select(DutyRecord).order_by(DutyRecord.start, DutyRecord.person_id))])


def handoffs(h, app):
    return h.outbox(app, purpose="handoff")


def test_handoff_at_its_instant_messages_the_incoming_responder(tick, db, h, rota):
    tick("2026-03-05T13:59")  # ann on duty since yesterday 14:00Z: recorded, long past, silent
    assert handoffs(h, rota) == []
    tick("2026-03-05T14:00")  # 09:00 EST: ben takes over
    [msg] = handoffs(h, rota)
    assert msg.recipient == "+12025550112"
    assert msg.key == "handoff:daily:ben:2026-03-05T14:00:00Z"
    # ben reads London time: the shift ends 09:00 New York = 14:00 GMT
    assert msg.body == "voiceline: you are on duty for Daily desk until Fri 06 Mar 14:00 GMT."
    assert history(db) == [
        ("ann", h.utc("2026-03-04T14:00"), h.utc("2026-03-05T14:00"), False),
        ("ben", h.utc("2026-03-05T14:00"), None, True),
    ]


def test_spring_forward_handoff_is_an_hour_earlier_in_utc(tick, h, rota):
    tick("2026-03-08T12:59")  # ben's Saturday shift, last minute (13:00Z is 09:00 EDT)
    assert [x.recipient for x in handoffs(h, rota)] == []
    tick("2026-03-08T13:00")
    [msg] = handoffs(h, rota)
    assert msg.key == "handoff:daily:ann:2026-03-08T13:00:00Z"
    assert msg.body.endswith("until Mon 09 Mar 09:00 EDT.")


def test_fall_back_handoffs_follow_local_time(tick, h, rota, db):
    tick("2026-10-31T13:00")  # ben: Saturday 09:00 EDT
    tick("2026-11-01T13:00")  # an hour before Sunday's handoff (09:00 EST = 14:00Z): nothing
    tick("2026-11-01T14:00")
    ben, ann = handoffs(h, rota)
    assert ben.key == "handoff:daily:ben:2026-10-31T13:00:00Z"
    assert ben.body.endswith("until Sun 01 Nov 14:00 GMT.")  # a 25-hour shift
    assert ann.key == "handoff:daily:ann:2026-11-01T14:00:00Z"
    assert ann.body.endswith("until Mon 02 Nov 09:00 EST.")
    assert ("ben", h.utc("2026-10-31T13:00"), h.utc("2026-11-01T14:00"), True) in history(db)


def test_scheduler_down_ten_minutes_over_a_handoff_sends_one_message_after(tick, h, rota):
    for minute in ("13:57", "13:58", "13:59"):
        tick(f"2026-03-05T{minute}")
    # down from 13:59 to 14:10: the 14:00 handoff is missed
    tick("2026-03-05T14:10")
    tick("2026-03-05T14:11")
    tick("2026-03-05T14:12")
    [msg] = handoffs(h, rota)
    assert msg.key == "handoff:daily:ben:2026-03-05T14:00:00Z"  # the shift's instant, not the tick's
    assert msg.created_at == h.utc("2026-03-05T14:10")
    assert msg.status == "sent"


def test_repeated_tick_at_the_same_instant_sends_once(tick, h, rota, fake_twilio):
    tick("2026-03-05T14:00")
    tick("2026-03-05T14:00")
    tick("2026-03-05T14:01")
    assert len(handoffs(h, rota)) == 1
    assert [d["To"] for d in fake_twilio.sent()] == ["+12025550112"]


def test_a_day_down_records_the_stale_handoff_without_announcing_it(tick, h, rota, db):
    tick("2026-03-05T14:01")  # ben announced
    tick("2026-03-06T16:00")  # ann took over at 14:00Z, two hours ago: past the 60-minute cutoff
    assert [x.recipient for x in handoffs(h, rota)] == ["+12025550112"]
    assert history(db) == [
        ("ben", h.utc("2026-03-05T14:00"), h.utc("2026-03-06T14:00"), True),
        ("ann", h.utc("2026-03-06T14:00"), None, False),
    ]


def test_outgoing_responder_is_told_when_the_rota_says_so(tick, h, rota, db):
    def enable(session):
        session.get(m.Rota, "daily").notify_outgoing = True
        session.commit()
    db(enable)
    tick("2026-03-05T13:59")
    tick("2026-03-05T14:00")
    out = [x for x in handoffs(h, rota) if x.key.startswith("handoff-end")]
    [msg] = out
    assert msg.recipient == "+12025550111"
    assert msg.key == "handoff-end:daily:ann:2026-03-04T14:00:00Z"
    assert msg.body == ("voiceline: your duty for Daily desk ended at Thu 05 Mar 09:00 EST. "
                        "Now on duty: Ben Brown.")


def test_an_override_that_does_not_change_who_is_on_duty_sends_nothing(tick, h, rota, db):
    def add_overrides(session):
        # ben is on duty 03-05 14:00Z .. 03-06 14:00Z: adding him changes nothing, and a
        # replacement of ann applies only while ann is on duty (she is not).
        session.add(m.Override(rota_id="daily", kind="add", person_id="ben",
                               start=h.utc("2026-03-05T18:00"), end=h.utc("2026-03-05T20:00")))
        session.add(m.Override(rota_id="daily", kind="replace", person_id="cat", replaces_id="ann",
                               start=h.utc("2026-03-05T18:00"), end=h.utc("2026-03-05T20:00")))
        session.commit()
    db(add_overrides)
    tick("2026-03-05T14:00")
    before = len(h.outbox(rota))
    for when in ("17:59", "18:00", "18:01", "19:59", "20:00", "20:01"):
        tick(f"2026-03-05T{when}")
    assert len(h.outbox(rota)) == before
    assert [r[0] for r in history(db)] == ["ben"]  # one stretch, never split by the overrides


def test_an_override_adding_someone_announces_their_stretch(tick, h, rota, db):
    def add(session):
        session.add(m.Override(rota_id="daily", kind="add", person_id="cat",
                               start=h.utc("2026-03-05T18:00"), end=h.utc("2026-03-05T20:00")))
        session.commit()
    db(add)
    tick("2026-03-05T18:00")
    [msg] = [x for x in handoffs(h, rota) if x.recipient == "+12025550113"]
    assert msg.body.endswith("until Thu 05 Mar 15:00 EST.")  # cat has no zone: the rota's
    tick("2026-03-05T20:00")
    assert ("cat", h.utc("2026-03-05T18:00"), h.utc("2026-03-05T20:00"), True) in history(db)


def test_pre_shift_reminder_goes_once_n_minutes_before(tick, h, rota):
    tick("2026-03-06T13:29")  # ann (reminder_minutes 30) starts at 14:00Z
    assert h.outbox(rota, purpose="reminder") == []
    tick("2026-03-06T13:30")
    tick("2026-03-06T13:31")
    [msg] = h.outbox(rota, purpose="reminder")
    assert msg.recipient == "+12025550111"
    assert msg.key == "reminder:daily:ann:2026-03-06T14:00:00Z"
    assert msg.body == ("voiceline reminder: you go on duty for Daily desk at Fri 06 Mar 09:00 EST "
                        "until Sat 07 Mar 09:00 EST.")
    # ben has no reminder setting: none for his Saturday shift
    tick("2026-03-07T13:30")
    assert len(h.outbox(rota, purpose="reminder")) == 1


def test_a_missed_reminder_still_goes_before_the_shift_but_never_after(tick, h, rota):
    tick("2026-03-06T13:20")
    tick("2026-03-06T13:45")  # down over 13:30: late but still useful
    assert len(h.outbox(rota, purpose="reminder")) == 1
    tick("2026-03-08T12:00")  # next ann shift 03-08 13:00Z (EDT): window opens 12:30
    tick("2026-03-08T13:05")  # down over the whole window: the handoff message covers it
    assert len(h.outbox(rota, purpose="reminder")) == 1


def test_a_held_handoff_end_message_is_not_sent_days_later(tick, h, rota, db, fake_twilio):
    # Twilio credentials missing for two days: when they return, "your duty ended ... now on
    # duty: X" from two days ago is stale and must not go out (no flood of old news).
    def enable(session):
        session.get(m.Rota, "daily").notify_outgoing = True
        session.commit()
    db(enable)
    sid = rota.config["TWILIO_ACCOUNT_SID"]
    rota.config["TWILIO_ACCOUNT_SID"] = None
    tick("2026-03-05T13:59")
    tick("2026-03-05T14:00")
    [end] = [x for x in handoffs(h, rota) if x.key.startswith("handoff-end")]
    assert end.status == "held"
    rota.config["TWILIO_ACCOUNT_SID"] = sid
    tick("2026-03-07T13:00")
    [end] = [x for x in handoffs(h, rota) if x.key.startswith("handoff-end")]
    assert (end.status, end.last_error) == ("failed", "expired before it could be sent")
    assert not [d for d in fake_twilio.sent() if "ended at" in d["Body"]]
