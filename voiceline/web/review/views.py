"""Reviewer pages: the call log, a call's timeline, its voicemail, the CSV export, metrics."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from voiceline import audit
from voiceline import models as m
from voiceline.appdb import db_session
from voiceline.calllog import present
from voiceline.calllog import query as calllog
from voiceline.calllog.metrics import load_metrics
from voiceline.calllog.story import active_filters, call_story, rejection_reasons
from voiceline.instants import InstantRangeError, local_day_start, utcnow
from voiceline.models.calls import OUTCOMES, Call
from voiceline.oncall.history import duty_then_and_now
from voiceline.web import timefmt
from voiceline.web.auth import current_user, role_required
from voiceline.web.review import charts
from voiceline.web.review.recording import RecordingUnavailable, fetch_recording
from voiceline.webhooks.dialer import listen_in

bp = Blueprint("review", __name__, template_folder="templates")
REVIEWERS = ("reviewer",)  # admin passes every role check
PAGE_SIZE = 50


def actor() -> str:
    """The audit actor of the logged-in user."""
    user = current_user()
    assert user is not None  # only called from views behind @role_required
    return f"user:{user.username}"


def viewer_zone() -> str:
    """The zone times are shown in: a valid ?tz=, else the user's or their person's, else UTC."""
    requested = request.args.get("tz")
    if requested:
        try:
            ZoneInfo(requested)
            return requested
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return timefmt.viewer_zone().key


@bp.app_template_filter("local_time")
def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """An instant in the viewer's zone (set per request in g.zone)."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(g.get("zone", "UTC"))).strftime(fmt)


def _choices() -> dict:
    session = db_session()
    return {
        "hotlines": session.execute(select(m.Hotline.id, m.Hotline.name).order_by(m.Hotline.id)).all(),
        "callers": session.execute(select(m.Caller.id, m.Caller.name).order_by(m.Caller.name)).all(),
        "people": session.execute(select(m.Person.id, m.Person.name).order_by(m.Person.name)).all(),
        "outcomes": OUTCOMES,
    }


def _filter_or_problems() -> tuple[calllog.CallFilter | None, list[str]]:
    try:
        return calllog.parse_filter(request.args, db_session(), g.zone,
                                    current_app.config.get("DEFAULT_REGION", "US")), []
    except calllog.FilterError as exc:
        return None, exc.problems


def _selected_outcomes(f) -> set[str]:
    """The outcomes the control shows ticked: the filter's, else what the request named."""
    if f is not None:
        return set(f.outcomes)
    return {o.strip() for v in request.args.getlist("outcome") for o in v.split(",") if o.strip()}


@bp.get("/calls")
@role_required(*REVIEWERS)
def calls():
    """The call log: filters, one keyset page, links to older and newer pages."""
    g.zone = viewer_zone()
    session = db_session()
    f, problems = _filter_or_problems()
    page = None
    if f is not None:
        try:
            before = request.args.get("before")
            after = request.args.get("after")
            page = calllog.call_page(
                session, f, limit=PAGE_SIZE,
                before=calllog.Cursor.decode(before, "before") if before else None,
                after=calllog.Cursor.decode(after, "after") if after else None)
        except calllog.FilterError as exc:
            problems = exc.problems
    names = present.load_names(session)
    if page is not None:
        assert f is not None  # page is only set when the filter parsed
        audit.record(session, actor(), "calls.view", "calls", filter=f.describe(),
                     page=request.args.get("before") or request.args.get("after") or "first",
                     shown=len(page.calls))
        session.commit()
    return render_template(
        "review/calls.html", page=page, problems=problems, f=f, args=request.args,
        filter_args=f.as_args() if f else {}, names=names,
        active=active_filters(f, names), selected_outcomes=_selected_outcomes(f),
        reasons=rejection_reasons(session, page.calls) if page else {},
        zone=g.zone, **_choices(),
    ), (400 if problems else 200)


@bp.get("/calls.csv")
@role_required(*REVIEWERS)
def export():
    """Every call matching the filters as CSV, streamed (one keyset batch at a time)."""
    g.zone = viewer_zone()
    f, problems = _filter_or_problems()
    if problems:
        return Response("Bad filter: " + "; ".join(problems) + "\n", 400, mimetype="text/plain")
    assert f is not None  # no problems means the filter parsed
    session = db_session()
    audit.record(session, actor(), "calls.export", "calls", filter=f.describe(), format="csv")
    session.commit()
    names = present.load_names(session)

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(present.CSV_COLUMNS)
        for call in calllog.iter_export_rows(session, f):
            writer.writerow(present.csv_row(call, names))
            if buffer.tell() > 32_768:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(stream_with_context(rows()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="calls-{stamp}.csv"',
                             "Cache-Control": "no-store"})


def _call_or_404(sid: str) -> Call:
    call = db_session().scalar(select(Call).where(Call.sid == sid)
                               .options(selectinload(Call.events), selectinload(Call.legs)))
    if call is None:
        abort(404, description=f"No call {sid}.")
    return call


@bp.get("/calls/<sid>")
@role_required(*REVIEWERS)
def call_page(sid: str):
    """One call: details, who was rung when, who declined, who answered, the voicemail."""
    g.zone = viewer_zone()
    session = db_session()
    call = _call_or_404(sid)
    names = present.load_names(session)
    audit.record(session, actor(), "calls.view", call.sid)
    session.commit()
    config = current_app.config
    can_play = bool(config.get("TWILIO_ACCOUNT_SID") and config.get("TWILIO_AUTH_TOKEN"))
    hotline = session.get(m.Hotline, call.hotline_id) if call.hotline_id else None
    duty = duty_then_and_now(session, hotline.policy_id if hotline else None, call.started_at)
    return render_template("review/call.html", call=call, summary=present.call_summary(call, names),
                           story=call_story(call, names.person, names.caller(call.caller_id)),
                           timeline=present.timeline(call, names, local_time),
                           names=names, zone=g.zone, duty=duty,
                           can_play=can_play,
                           can_listen=(call.meta or {}).get("ring") == "conference"
                           and call.state == "connected" and call.ended_at is None)


@bp.post("/calls/<sid>/listen")
@role_required(*REVIEWERS)
def listen(sid: str):
    """A supervisor listens in, muted, to a live conference-mode call: their phone is called."""
    session = db_session()
    call = _call_or_404(sid)
    user = current_user()
    assert user is not None  # behind @role_required
    person = session.get(m.Person, user.person_id) if user.person_id else None
    if person is None or "supervisor" not in (person.roles or []) or not person.active:
        abort(403, description="Only a supervisor (a person with the supervisor role) may listen in.")
    if not (current_app.config.get("TWILIO_ACCOUNT_SID") and current_app.config.get("TWILIO_AUTH_TOKEN")):
        flash("Listening in needs Twilio credentials.")
        return redirect(url_for("review.call_page", sid=sid))
    leg = listen_in(session, call, person, actor())
    if leg is None:
        flash("The call is not live in conference mode: there is nothing to listen to.")
        return redirect(url_for("review.call_page", sid=sid))
    flash(f"Calling {person.name} at {leg.number}: press 1 to listen, muted.")
    return redirect(url_for("review.call_page", sid=sid))


@bp.get("/calls/<sid>/recording")
@role_required(*REVIEWERS)
def recording(sid: str):
    """The voicemail, streamed from Twilio through voiceline; every listen is audited."""
    session = db_session()
    call = _call_or_404(sid)
    if not call.recording_url:
        abort(404, description=f"Call {sid} has no recording.")
    try:
        fetched = fetch_recording(call.recording_url)
    except RecordingUnavailable as exc:
        status = 503 if "credentials" in str(exc) else 502
        return Response(f"{exc}.\n", status, mimetype="text/plain")
    audit.record(session, actor(), "recording.listen", call.sid, recording_sid=call.recording_sid)
    session.commit()
    headers = {"Cache-Control": "no-store", "Content-Disposition": f'inline; filename="{sid}.mp3"'}
    if fetched.length is not None:
        headers["Content-Length"] = str(fetched.length)
    return Response(fetched.chunks, mimetype=fetched.content_type, headers=headers)


def _metrics_range(zone: str) -> tuple[datetime, datetime, dict[str, str], list[str]]:
    """The [from, to) range from ?from=&to= (local dates, `to` inclusive); default: 30 days."""
    tz = ZoneInfo(zone)
    today = datetime.now(tz).date()
    raw = {"from": request.args.get("from", "").strip(), "to": request.args.get("to", "").strip()}
    problems = []
    days = {"from": today - timedelta(days=29), "to": today}
    bounds = {}
    for key in days:
        if raw[key]:
            try:
                days[key] = datetime.fromisoformat(raw[key]).date()
            except ValueError:
                problems.append(f"{key}: {raw[key]!r} is not a date (YYYY-MM-DD)")
                continue
        try:
            bounds[key] = local_day_start(days[key], tz, 1 if key == "to" else 0)
        except InstantRangeError as exc:
            problems.append(f"{key}: {exc}")
    if days["to"] < days["from"]:
        problems.append("to: must not be before from")
    if problems:
        shown = {k: raw[k] or days[k].isoformat() for k in days}
        return utcnow(), utcnow(), shown, problems
    start, end = bounds["from"], bounds["to"]
    shown = {"from": days["from"].isoformat(), "to": days["to"].isoformat()}
    return start, end, shown, problems


def _metrics() -> tuple[dict | None, dict[str, str], list[str]]:
    g.zone = viewer_zone()
    start, end, shown, problems = _metrics_range(g.zone)
    hotline = request.args.get("hotline") or None
    if hotline and db_session().get(m.Hotline, hotline) is None:
        problems.append(f"hotline: no hotline {hotline!r}")
    if problems:
        return None, shown, problems
    return load_metrics(db_session(), start, end, g.zone, hotline), shown, []


@bp.get("/metrics")
@role_required(*REVIEWERS)
def metrics():
    """Answer rate, time to answer, missed and voicemail counts, per responder and by hour."""
    data, shown, problems = _metrics()
    names = present.load_names(db_session())
    svg = {}
    if data is not None:
        svg = {"hourly": charts.hourly_chart(data), "outcomes": charts.outcome_chart(data),
               "responders": charts.responder_chart(data, names.people)}
    return render_template("review/metrics.html", data=data, shown=shown, problems=problems,
                           svg=svg, names=names, zone=g.zone, args=request.args,
                           hotlines=_choices()["hotlines"]), (400 if problems else 200)


@bp.get("/metrics.json")
@role_required(*REVIEWERS)
def metrics_json():
    """The same figures as the metrics page, as JSON."""
    data, _shown, problems = _metrics()
    if problems:
        return jsonify(error="; ".join(problems)), 400
    return jsonify(data)
