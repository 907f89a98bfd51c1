"""API: the call log and metrics, for reviewers; every read is audited like the UI's."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from voiceline import audit
from voiceline.appdb import db_session
from voiceline.calllog import present
from voiceline.calllog import query as calllog
from voiceline.calllog.metrics import load_metrics
from voiceline.instants import utcnow
from voiceline.models.calls import OUTCOMES, Call

from . import schemas as s
from .base import REVIEWERS, ApiError, actor, api
from .spec import INSTANT_RANGE, Param

FILTERS = (
    Param("from", f"start: a date (whole day, in tz) or an ISO 8601 instant, {INSTANT_RANGE}"),
    Param("to", f"end: a date (inclusive day) or an ISO 8601 instant (exclusive), {INSTANT_RANGE}"),
    Param("hotline", "hotline id"), Param("caller", "caller id or calling number"),
    Param("responder", "person id of who answered"),
    Param("outcome", "one or more of " + ", ".join(OUTCOMES) + ", comma-separated"),
    Param("priority", "1 urgent, 2 routine", {"enum": ["1", "2"]}),
    Param("duress", "yes or no", {"enum": ["yes", "no"]}),
    Param("tests", "line tests: include (default), exclude, only",
          {"enum": ["include", "exclude", "only"]}),
    Param("tz", "zone for date bounds (default UTC)"),
)


def _zone() -> str:
    zone = request.args.get("tz") or "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ApiError(400, f"tz: unknown time zone {zone!r}") from None
    return zone


def _filter() -> calllog.CallFilter:
    try:
        return calllog.parse_filter(request.args, db_session(), _zone(),
                                    current_app.config.get("DEFAULT_REGION", "US"))
    except calllog.FilterError as exc:
        raise ApiError(400, "bad filter: " + "; ".join(exc.problems), exc.problems) from None


@api.route("/calls", "GET", summary="The call log, newest first, one keyset page",
           roles=REVIEWERS, tag="calls", errors=(400,), response=s.CALL_PAGE,
           query=(*FILTERS, Param("limit", f"page size, 1-{calllog.MAX_LIMIT} (default 100)",
                                  {"type": "integer", "minimum": 1,
                                   "maximum": calllog.MAX_LIMIT, "default": 100}),
                  Param("before", "the next_cursor of the previous page")))
def list_calls():
    session = db_session()
    f = _filter()
    try:
        limit = int(request.args.get("limit", 100))
    except ValueError:
        raise ApiError(400, "limit: must be a whole number") from None
    if not 1 <= limit <= calllog.MAX_LIMIT:
        raise ApiError(400, f"limit: must be from 1 to {calllog.MAX_LIMIT}")
    before = request.args.get("before")
    try:
        cursor = calllog.Cursor.decode(before, "before") if before else None
    except calllog.FilterError as exc:
        raise ApiError(400, exc.problems[0]) from None
    page = calllog.call_page(session, f, limit=limit, before=cursor)
    names = present.load_names(session)
    body = {"calls": [present.call_summary(c, names) for c in page.calls],
            "next_cursor": page.older.encode() if page.older else None}
    audit.record(session, actor(), "calls.view", "calls", via="api", filter=f.describe(),
                 page=before or "first", shown=len(page.calls))
    session.commit()
    return jsonify(body)


@api.route("/calls/<sid>", "GET", summary="One call with its legs and event timeline",
           roles=REVIEWERS, tag="calls", response=s.CALL_DETAIL)
def get_call(sid: str):
    session = db_session()
    call = session.scalar(select(Call).where(Call.sid == sid)
                          .options(selectinload(Call.events), selectinload(Call.legs)))
    if call is None:
        raise ApiError(404, f"no call {sid!r}")
    body = present.call_detail(call, present.load_names(session))
    audit.record(session, actor(), "calls.view", call.sid, via="api")
    session.commit()
    return jsonify(body)


@api.route("/metrics", "GET", summary="Answer rate, time to answer, missed, voicemail, per "
           "responder and by hour for [from, to)", roles=REVIEWERS, tag="calls", errors=(400,),
           response=s.METRICS,
           query=(Param("from", "ISO 8601 instant or date (default: 30 days before `to`), "
                        + INSTANT_RANGE),
                  Param("to", f"ISO 8601 instant or date, exclusive (default: now), {INSTANT_RANGE}"),
                  Param("hotline", "only this hotline"),
                  Param("tz", "zone for by-hour figures and date bounds (default UTC)")))
def metrics():
    session = db_session()
    zone = _zone()
    try:
        f = calllog.parse_filter({k: request.args.get(k, "") for k in ("from", "to", "hotline")},
                                 session, zone)
    except calllog.FilterError as exc:
        raise ApiError(400, "; ".join(exc.problems), exc.problems) from None
    end = f.end or utcnow()
    start = f.start or end - timedelta(days=30)
    if start >= end:
        raise ApiError(400, "from: must be before to")
    return jsonify(load_metrics(session, start, end, zone, f.hotline))
