"""Retention: the tick step that forgets call records, call events and recordings past their age.

Each setting is a number of days (0 or unset: kept forever). A recording is deleted from
Twilio through the REST API when credentials are set, then its reference is cleared; a
recording Twilio could not delete keeps its reference, so the next tick tries again.
Every purge that removed anything writes one audit entry with counts, never contents.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioRestException
from twilio.http import HttpClient
from twilio.rest import Client

from voiceline import audit
from voiceline.db import rowcount
from voiceline.jobs.settings import JobSettings
from voiceline.models.calls import Call, CallEvent, CallLeg
from voiceline.outbox.sender import twilio_client

log = logging.getLogger(__name__)
ACTOR = "scheduler"
BATCH = 500  # rows per statement: a long-unpurged database is caught up over a few ticks
_RECORDING_SID = re.compile(r"RE[0-9a-fA-F]{32}")


@dataclass(frozen=True)
class Retention:
    """Days to keep each kind of record; 0 keeps it forever."""

    call_days: int = 0
    event_days: int = 0
    recording_days: int = 0

    @classmethod
    def from_config(cls, config) -> Retention:
        """Read RETENTION_* from a Flask config mapping."""
        def days(key: str) -> int:
            return max(0, int(config.get(key) or 0))
        return cls(days("RETENTION_CALL_DAYS"), days("RETENTION_EVENT_DAYS"),
                   days("RETENTION_RECORDING_DAYS"))


def recording_sid(call: Call) -> str | None:
    """The RE... SID of a call's recording, from the stored SID or its URL."""
    for text in (call.recording_sid, call.recording_url):
        match = _RECORDING_SID.search(text or "")
        if match:
            return match.group(0)
    return None


def purge_recordings(session: Session, before: datetime, client: Callable[[], Client] | None,
                     failed: set[int] | None = None) -> Counter:
    """Delete recordings of calls started before `before` (at Twilio when `client` is given);
    the ids of calls whose recording Twilio did not delete are added to `failed` (and skipped)."""
    counts: Counter = Counter()
    failed = set() if failed is None else failed
    query = select(Call).where(Call.started_at < before,
                               Call.recording_url.is_not(None) | Call.recording_sid.is_not(None))
    if failed:
        query = query.where(Call.id.not_in(failed))
    calls = list(session.scalars(query.order_by(Call.id).limit(BATCH)))
    rest = client() if (client is not None and calls) else None
    for call in calls:
        sid = recording_sid(call)
        if rest is not None and sid:
            try:
                rest.recordings(sid).delete()
                counts["deleted_at_twilio"] += 1
            except TwilioRestException as exc:
                if exc.status != 404:  # 404: already gone at Twilio; forget the reference too
                    log.warning("recording %s of call %s not deleted at Twilio: HTTP %s (retried "
                                "next tick)", sid, call.sid, exc.status)
                    counts["failed"] += 1
                    failed.add(call.id)
                    continue
                counts["already_gone"] += 1
            except Exception as exc:  # a transport fault: keep the reference, retry next tick
                log.warning("recording %s of call %s not deleted at Twilio: %s", sid, call.sid,
                            type(exc).__name__)
                counts["failed"] += 1
                failed.add(call.id)
                continue
        elif sid:
            counts["kept_at_twilio"] += 1
        call.recording_url = None
        call.recording_sid = None
        call.recording_seconds = None
        counts["references"] += 1
    return counts


def purge_events(session: Session, before: datetime) -> int:
    """Delete call events older than `before` (the calls themselves stay)."""
    ids = list(session.scalars(select(CallEvent.id).where(CallEvent.at < before)
                               .order_by(CallEvent.id).limit(BATCH * 10)))
    if ids:
        session.execute(delete(CallEvent).where(CallEvent.id.in_(ids)))
    return len(ids)


def apply_retention(session: Session, settings: JobSettings, retention: Retention, at: datetime,
                    *, http_client: HttpClient | None = None) -> Counter:
    """Purge what is past its retention as of `at`; audit each purge with its counts."""
    counts: Counter = Counter()
    client = ((lambda: twilio_client(settings, http_client)) if settings.has_credentials else None)
    failed: set[int] = set()  # calls whose recording Twilio did not delete: not retried this tick
    if retention.recording_days:
        before = at - timedelta(days=retention.recording_days)
        found = purge_recordings(session, before, client, failed)
        if found["references"] or found["failed"]:
            audit.record(session, ACTOR, "retention.recordings", "calls",
                         days=retention.recording_days, before=before.isoformat(), **found)
        counts.update({f"recordings_{k}": v for k, v in found.items()})
    if retention.event_days:
        before = at - timedelta(days=retention.event_days)
        events = purge_events(session, before)
        if events:
            audit.record(session, ACTOR, "retention.events", "call_events",
                         days=retention.event_days, before=before.isoformat(), events=events)
        counts["events"] += events
    if retention.call_days:
        before = at - timedelta(days=retention.call_days)
        # A call's recording goes with the call: delete it at Twilio first; a call whose
        # recording Twilio did not delete is kept (with its reference) until the next tick.
        earlier = len(failed) and session.scalar(select(func.count()).select_from(Call).where(
            Call.started_at < before, Call.id.in_(failed)))  # refused by Twilio a moment ago
        recordings = purge_recordings(session, before, client, failed)
        recordings["failed"] += earlier or 0
        session.flush()
        referenced = select(Call.id).where(
            Call.recording_url.is_not(None) | Call.recording_sid.is_not(None))
        ids = list(session.scalars(
            select(Call.id).where(Call.started_at < before, Call.id.not_in(referenced))
            .order_by(Call.id).limit(BATCH)))
        found = purge_calls_by_id(session, ids)
        found.update({f"recordings_{k}": v for k, v in recordings.items()})
        if found["calls"] or recordings["failed"]:
            audit.record(session, ACTOR, "retention.calls", "calls", days=retention.call_days,
                         before=before.isoformat(), **found)
        counts.update(found)
    return counts


def purge_calls_by_id(session: Session, ids: list[int]) -> Counter:
    """Delete these calls with their legs and events."""
    counts: Counter = Counter()
    if not ids:
        return counts
    counts["call_events"] = rowcount(session.execute(
        delete(CallEvent).where(CallEvent.call_id.in_(ids))))
    counts["legs"] = rowcount(session.execute(delete(CallLeg).where(CallLeg.call_id.in_(ids))))
    counts["calls"] = rowcount(session.execute(delete(Call).where(Call.id.in_(ids))))
    return counts
