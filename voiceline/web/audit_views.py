"""The audit log for admins: filter, page through, and verify the hash chain."""

from __future__ import annotations

import json
from datetime import timedelta

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select

from voiceline import appdb, audit
from voiceline.ids import parse_id
from voiceline.instants import InstantRangeError
from voiceline.models.shared import AuditEntry
from voiceline.web.auth import role_required
from voiceline.web.timefmt import from_input, viewer_zone

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")
PAGE = 50


def _filtered():
    args = request.args
    query = select(AuditEntry)
    if args.get("actor"):
        query = query.where(AuditEntry.actor.contains(args["actor"].strip(), autoescape=True))
    if args.get("action"):
        query = query.where(AuditEntry.action.startswith(args["action"].strip(), autoescape=True))
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


@bp.get("/", endpoint="log")
@role_required("admin")
def log():
    """Newest entries first, 50 a page, with filters on actor, action, target and time."""
    rows = appdb.db_session().scalars(
        _filtered().order_by(AuditEntry.id.desc()).limit(PAGE + 1)).all()
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    filters = {k: v for k, v in request.args.items() if k != "before" and v}
    return render_template("audit/log.html", rows=rows, more=more, filters=filters,
                           detail=lambda d: json.dumps(d, indent=1, ensure_ascii=False, sort_keys=True),
                           next_before=rows[-1].id if rows else None)


@bp.post("/verify", endpoint="verify")
@role_required("admin")
def verify():
    """Check every link of the chain; name the first broken entry."""
    report = audit.verify(appdb.db_session())
    return render_template("audit/verify.html", report=report)
