"""API: gaps and broken coverage rules over the coming days (what `voiceline gaps --json` lists)."""

from __future__ import annotations

from datetime import timedelta

from flask import jsonify, request

from voiceline.appdb import db_session
from voiceline.instants import iso_z, utcnow
from voiceline.oncall.coverage_rules import load_rules, violation_json, violations
from voiceline.oncall.present import gap_json
from voiceline.oncall.queries import load_coverage

from . import schemas as s
from .base import EVERYONE, ApiError, api, instant_arg
from .spec import INSTANT_RANGE, Param

MAX_DAYS = 92


@api.route("/coverage", "GET", summary="Gaps and broken coverage rules over the coming days",
           roles=EVERYONE, tag="rota", errors=(400,),
           query=(Param("from", f"start, ISO 8601 (default now), {INSTANT_RANGE}", {"type": "string"}),
                  Param("days", f"how many days (default 14, at most {MAX_DAYS})",
                        {"type": "integer", "minimum": 1, "maximum": MAX_DAYS})),
           response=s.COVERAGE)
def coverage():
    start = instant_arg("from", utcnow())
    try:
        days = int(request.args.get("days") or 14)
    except ValueError:
        raise ApiError(400, f"days: a whole number from 1 to {MAX_DAYS}") from None
    if not 1 <= days <= MAX_DAYS:
        raise ApiError(400, f"days: a whole number from 1 to {MAX_DAYS}")
    end = start + timedelta(days=days)
    session = db_session()
    found = load_coverage(session)
    rules = load_rules(session)
    return jsonify({"from": iso_z(start), "to": iso_z(end),
                    "gaps": [gap_json(g, found.unreachable) for g in found.gaps(start, end)],
                    "rules": [violation_json(v, rules)
                              for v in (violations(found, rules, start, end) if rules else [])]})
