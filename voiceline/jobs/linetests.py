"""Line tests: a scheduled call into each hotline that /voice/incoming must recognise.

One test per hotline per interval slot, never stacked: while a test is still pending or
held (no Twilio credentials) no new one is queued, so an unconfigured install holds a
single test instead of alerting every interval. A failure alerts the managers, again
only after a day of continued failure; the first success after a failure says so.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from voiceline import models as m
from voiceline.jobs.messages import alert_managers, make_key, queue
from voiceline.jobs.settings import JobSettings
from voiceline.models.calls import Call
from voiceline.models.jobs import LineTest

log = logging.getLogger(__name__)
TEST_TWIML = "<Response><Pause length='5'/><Hangup/></Response>"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
REALERT_AFTER = timedelta(hours=24)
OPEN = ("pending", "held")


def slot_start(at: datetime, interval: timedelta) -> datetime:
    """The start of the interval slot containing `at` (slots count from the Unix epoch, UTC)."""
    return EPOCH + interval * ((at - EPOCH) // interval)


def _hotlines(session: Session, settings: JobSettings) -> list[m.Hotline]:
    rows = list(session.scalars(select(m.Hotline).order_by(m.Hotline.id)))
    if settings.linetest_hotlines:
        wanted = set(settings.linetest_hotlines)
        rows = [h for h in rows if h.id in wanted or h.number in wanted]
    return rows


def _latest(session: Session, hotline_id: str) -> LineTest | None:
    return session.scalar(select(LineTest).where(LineTest.hotline_id == hotline_id)
                          .order_by(LineTest.scheduled_at.desc()).limit(1))


def schedule_tests(session: Session, settings: JobSettings, at: datetime) -> int:
    """Queue this slot's test call for every hotline under test; returns how many were queued."""
    if not settings.linetest_from or settings.linetest_interval <= timedelta(0):
        return 0
    slot = slot_start(at, settings.linetest_interval)
    queued = 0
    for hotline in _hotlines(session, settings):
        latest = _latest(session, hotline.id)
        if latest is not None and (latest.scheduled_at >= slot or latest.status in OPEN):
            continue
        key = make_key("linetest", hotline.id, slot)
        test = LineTest(hotline_id=hotline.id, number=hotline.number, scheduled_at=slot,
                        queued_at=at, status="pending", outbox_key=key)
        try:
            with session.begin_nested():
                session.add(test)
        except IntegrityError:
            continue
        queue(session, key=key, kind="call", recipient=hotline.number, body=TEST_TWIML,
              purpose="linetest", at=at, expires_at=slot + settings.linetest_interval,
              meta={"from": settings.linetest_from, "line_test": test.id, "hotline": hotline.id})
        queued += 1
    return queued


def _arrival(session: Session, test: LineTest) -> Call | None:
    """The first test call into this hotline since the test was queued, not claimed by another test."""
    claimed = select(LineTest.call_sid).where(LineTest.call_sid.is_not(None))
    return session.scalar(
        select(Call).where(Call.is_test.is_(True), Call.started_at >= test.queued_at,
                           (Call.hotline_id == test.hotline_id) | (Call.to_number == test.number),
                           Call.sid.not_in(claimed))
        .order_by(Call.started_at, Call.id).limit(1))


def _previous_done(session: Session, test: LineTest) -> LineTest | None:
    return session.scalar(select(LineTest).where(
        LineTest.hotline_id == test.hotline_id, LineTest.scheduled_at < test.scheduled_at,
        LineTest.status.in_(("ok", "failed"))).order_by(LineTest.scheduled_at.desc()).limit(1))


def _fail(session: Session, test: LineTest, error: str, at: datetime) -> None:
    test.status, test.error = "failed", error
    previous = _previous_done(session, test)
    last_alert = previous.alerted_at if previous is not None and previous.status == "failed" else None
    if last_alert is not None and at - last_alert < REALERT_AFTER:
        test.alerted_at = last_alert  # still failing: the managers already know, since then
        return
    alert_managers(session, key=make_key("linetest-alert", test.id), purpose="linetest", at=at,
                   text=f"voiceline LINE TEST FAILED for hotline {test.hotline_id} ({test.number}): "
                        f"{error}. Callers may not get through.")
    test.alerted_at = at


def follow_up(session: Session, settings: JobSettings, at: datetime) -> Counter:
    """Settle open tests: arrived -> ok; call failed or no arrival in time -> failed and alert."""
    counts: Counter = Counter()
    for test in session.scalars(select(LineTest).where(LineTest.status.in_(OPEN))
                                .order_by(LineTest.scheduled_at)):
        message = session.scalar(select(m.OutboxMessage).where(m.OutboxMessage.key == test.outbox_key))
        if message is None:
            continue
        if message.status in ("held", "pending", "sending"):
            test.status = "held" if message.status == "held" else "pending"
            continue
        if message.status == "failed":
            if message.last_error == "expired before it could be sent":
                test.status, test.error = "expired", message.last_error
            else:
                _fail(session, test, f"the test call could not be placed ({message.last_error})", at)
            counts[test.status] += 1
            continue
        test.placed_at = message.sent_at or at
        call = _arrival(session, test)
        if call is not None:
            test.status, test.arrived_at, test.call_sid = "ok", call.started_at, call.sid
            previous = _previous_done(session, test)
            if previous is not None and previous.status == "failed":
                alert_managers(session, key=make_key("linetest-ok", test.id), purpose="linetest",
                               at=at, text=f"voiceline line test OK again for hotline "
                                           f"{test.hotline_id} ({test.number}).")
            counts["ok"] += 1
        elif at - test.placed_at >= settings.linetest_alert:
            minutes = int(settings.linetest_alert.total_seconds() // 60)
            _fail(session, test, f"the test call did not reach /voice/incoming within {minutes} minutes", at)
            counts["failed"] += 1
    return counts
