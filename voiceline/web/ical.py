"""iCalendar feeds per person and per rota behind secret, revocable tokens (/ical/...).

Events are concrete UTC instants (RFC 5545) with UIDs derived from the rota, the
person and the shift's real start, so a calendar client updates rather than duplicates:
a shift cut by the feed's window keeps its real start and end (and so its UID), whatever
day the feed is fetched.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from importlib.metadata import version

from flask import Blueprint, Response, abort
from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceline import appdb
from voiceline import models as m
from voiceline.accounts import token_digest
from voiceline.instants import utcnow
from voiceline.models.web import FeedToken, User
from voiceline.oncall.store import load_rotas
from voiceline.rota import Rota, Segment, on_duty, shifts

bp = Blueprint("ical", __name__, url_prefix="/ical")
PAST = timedelta(days=14)
AHEAD = timedelta(days=90)
_TICK = timedelta(microseconds=1)
WIDEN_LIMIT = timedelta(days=400)  # a shift longer than this is cut (and its UID moves once)


def new_feed_token(session: Session, kind: str, target_id: str, created_by: str) -> tuple[FeedToken, str]:
    """Create a feed token; returns the row and the secret (stored only as its SHA-256)."""
    if kind not in ("person", "rota"):
        raise ValueError("a feed is for a person or a rota")
    token = secrets.token_urlsafe(32)
    row = FeedToken(kind=kind, target_id=target_id, token_hash=token_digest(token),
                    created_by=created_by[:64])
    session.add(row)
    session.flush()
    return row, token


def _stamp(instant: datetime) -> str:
    return instant.strftime("%Y%m%dT%H%M%SZ")


def _calendar(name: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", f"-//voiceline//voiceline {version('voiceline')}//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    return cal


def _event(uid: str, start: datetime, end: datetime, summary: str, now: datetime,
           description: str = "") -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", now)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", summary)
    if description:
        event.add("description", description)
    return event


def person_shifts(segments: list[Segment], person_id: str) -> list[tuple[datetime, datetime]]:
    """The ranges where `person_id` is on duty, merged across changes of co-workers."""
    ranges: list[tuple[datetime, datetime]] = []
    for seg in segments:
        if person_id not in seg.people:
            continue
        if ranges and ranges[-1][1] == seg.start:
            ranges[-1] = (ranges[-1][0], seg.end)
        else:
            ranges.append((seg.start, seg.end))
    return ranges


def whole_shifts(rota: Rota, start: datetime, end: datetime,
                 person_id: str | None = None) -> tuple[datetime, datetime]:
    """[start, end) widened to the real bounds of the shifts it cuts (a person's, or the rota's)."""
    first, last = on_duty(rota, start), on_duty(rota, end - _TICK)
    lo, hi = first.since or start, last.until or end
    if person_id is None:
        return lo, hi
    # A person's shift runs on across changes of co-workers: follow it while they stay.
    while person_id in first.people and lo > start - WIDEN_LIMIT:
        first = on_duty(rota, lo - _TICK)
        if person_id not in first.people or first.since is None:
            break
        lo = first.since
    while person_id in last.people and hi < end + WIDEN_LIMIT:
        last = on_duty(rota, hi)
        if person_id not in last.people or last.until is None:
            break
        hi = last.until
    return lo, hi


def person_calendar(session: Session, person: m.Person, start: datetime, end: datetime,
                    now: datetime) -> Calendar:
    """A person's shifts in every rota, after overrides."""
    cal = _calendar(f"{person.name}: on duty")
    names = {r.id: r.name or r.id for r in session.scalars(select(m.Rota))}
    for rid, rota in load_rotas(session).items():
        segments = shifts(rota, *whole_shifts(rota, start, end, person.id))
        for lo, hi in person_shifts(segments, person.id):
            if hi <= start or lo >= end:
                continue
            cal.add_component(_event(f"{rid}-{person.id}-{_stamp(lo)}@voiceline", lo, hi,
                                     f"On duty: {names[rid]}", now))
    return cal


def rota_calendar(session: Session, rota_row: m.Rota, start: datetime, end: datetime,
                  now: datetime) -> Calendar:
    """A rota's final schedule: one event per stretch of the same people, gaps included."""
    cal = _calendar(f"{rota_row.name or rota_row.id}")
    names = {p.id: p.name for p in session.scalars(select(m.Person))}
    rota = load_rotas(session, [rota_row.id])[rota_row.id]
    for seg in shifts(rota, *whole_shifts(rota, start, end)):
        who = ", ".join(names.get(p, p) for p in seg.people)
        summary = who if who else "GAP: nobody on duty"
        cal.add_component(_event(f"{rota_row.id}-{_stamp(seg.start)}@voiceline", seg.start,
                                 seg.end, summary, now))
    return cal


def _token_row(kind: str, token: str) -> FeedToken:
    row = appdb.db_session().scalar(select(FeedToken).where(
        FeedToken.token_hash == token_digest(token), FeedToken.kind == kind))
    if row is None or row.revoked_at is not None:
        abort(404)
    # A feed lives as long as the account that made it: disabling it ends its feeds too
    # (they are also revoked then; this covers feeds of accounts disabled before that).
    username = (row.created_by or "").removeprefix("user:")
    if row.created_by != username:
        maker = appdb.db_session().scalar(select(User).where(User.username == username))
        if maker is None or not maker.active:
            abort(404)
    return row


def _ics(cal: Calendar) -> Response:
    response = Response(cal.to_ical(), mimetype="text/calendar")
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/person/<token>.ics")
def person_feed(token: str):
    """A person's shifts as iCalendar (from two weeks back to three months ahead)."""
    row = _token_row("person", token)
    db = appdb.db_session()
    person = db.get(m.Person, row.target_id)
    if person is None:
        abort(404)
    now = utcnow()
    return _ics(person_calendar(db, person, now - PAST, now + AHEAD, now))


@bp.get("/rota/<token>.ics")
def rota_feed(token: str):
    """A rota's final schedule as iCalendar."""
    row = _token_row("rota", token)
    db = appdb.db_session()
    rota = db.get(m.Rota, row.target_id)
    if rota is None:
        abort(404)
    now = utcnow()
    return _ics(rota_calendar(db, rota, now - PAST, now + AHEAD, now))
