"""The audit log for admins: filter (kind, actor, range), page through, verify the hash chain."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from sqlalchemy import select
from werkzeug.routing import BuildError

from voiceline import appdb, audit
from voiceline.ids import parse_id
from voiceline.instants import InstantRangeError, utcnow
from voiceline.models.shared import AuditEntry
from voiceline.web import audit_present
from voiceline.web.auth import can_view, role_required
from voiceline.web.timefmt import from_input, viewer_zone

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")
PAGE = 50
RANGES = {"": "any time", "24h": "last 24 hours", "7d": "last 7 days", "30d": "last 30 days"}
_RANGE_DELTAS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


def _filtered():
    args = request.args
    query = select(AuditEntry)
    if args.get("actor"):
        query = query.where(AuditEntry.actor.contains(args["actor"].strip(), autoescape=True))
    if args.get("action"):
        query = query.where(AuditEntry.action.startswith(args["action"].strip(), autoescape=True))
    if args.get("kind"):
        try:
            query = query.where(audit_present.kind_clause(args["kind"]))
        except ValueError as exc:
            abort(400, str(exc))
    if args.get("range") and not args.get("since"):
        if args["range"] not in _RANGE_DELTAS:
            abort(400, f"range is one of {', '.join(_RANGE_DELTAS)}")
        query = query.where(AuditEntry.at >= utcnow() - _RANGE_DELTAS[args["range"]])
    if args.get("target"):
        query = query.where(AuditEntry.target.contains(args["target"].strip(), autoescape=True))
    zone = viewer_zone()
    try:
        if args.get("since"):
            query = query.where(AuditEntry.at >= from_input(args["since"], zone))
        if args.get("until"):
            query = query.where(AuditEntry.at < from_input(args["until"], zone) + timedelta(minutes=1))
    except InstantRangeError as exc:
        abort(400, f"since/until: {exc}")
    except ValueError:
        abort(400, "since/until are dates and times like 2026-03-01T00:00")
    try:
        before = parse_id(args["before"], "before") if args.get("before") else None
    except ValueError as exc:
        abort(400, f"{exc} (before is an entry id)")
    if before is not None:
        query = query.where(AuditEntry.id < before)
    return query


def _page_url(endpoint: str, args: dict[str, Any]) -> str | None:
    """The URL of a page the viewer may open, None when there is no such page."""
    if not can_view(endpoint):
        return None
    try:
        return url_for(endpoint, **args)
    except BuildError:
        return None


@bp.get("/", endpoint="log")
@role_required("admin")
def log():
    """Newest entries first, 50 a page, filtered by kind, actor, action, target and range."""
    db = appdb.db_session()
    rows = db.scalars(_filtered().order_by(AuditEntry.id.desc()).limit(PAGE + 1)).all()
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    filters = {k: v for k, v in request.args.items() if k != "before" and v}
    actors = db.scalars(select(AuditEntry.actor).group_by(AuditEntry.actor)
                        .order_by(AuditEntry.actor).limit(200)).all()
    return render_template(
        "audit/log.html", rows=rows, more=more, filters=filters, actors=actors,
        kinds=audit_present.KINDS, ranges=RANGES, next_before=rows[-1].id if rows else None,
        target_links=lambda t: audit_present.link_target(t, _page_url),
        value_link=lambda f, v: audit_present.link_value(f, v, _page_url),
        diff=audit_present.diff, other_details=audit_present.other_details)


@bp.post("/verify", endpoint="verify")
@role_required("admin")
def verify():
    """Check every link of the chain; name the first broken entry."""
    report = audit.verify(appdb.db_session())
    return render_template("audit/verify.html", report=report)
