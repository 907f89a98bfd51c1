"""API: what changed in a rota between two instants (the rota's History page as JSON)."""

from __future__ import annotations

from datetime import timedelta

from flask import jsonify, request

from voiceline import models as m
from voiceline.appdb import db_session
from voiceline.instants import iso_z, utcnow
from voiceline.oncall.history import diff_between
from voiceline.oncall.present import diff_json

from . import schemas as s
from .base import EVERYONE, ApiError, api, instant_arg
from .spec import INSTANT_RANGE, Param

MAX_DIFF_DAYS = 31


@api.route("/rotas/<rid>/diff", "GET", summary="What changed in a rota between two instants: "
           "the recorded changes (when, who, which action) and the ranges where the rota as it "
           "stood at `from` and at `to` put different people on duty", roles=EVERYONE, tag="rota",
           errors=(400,),
           query=(Param("from", f"the first instant, ISO 8601, {INSTANT_RANGE}",
                        {"type": "string", "format": "date-time"}, required=True),
                  Param("to", f"the second instant, ISO 8601 (default now), {INSTANT_RANGE}",
                        {"type": "string", "format": "date-time"}),
                  Param("start", "where the duty comparison starts, ISO 8601 (default `from`), "
                        f"{INSTANT_RANGE}", {"type": "string", "format": "date-time"}),
                  Param("days", f"days of duty compared (default 7, 1-{MAX_DIFF_DAYS})",
                        {"type": "integer", "minimum": 1, "maximum": MAX_DIFF_DAYS})),
           response=s.ROTA_DIFF)
def rota_diff(rid: str):
    session = db_session()
    now = utcnow()
    as_of = instant_arg("from")
    if as_of is None:
        raise ApiError(400, "from: required (an ISO 8601 instant)")
    compare = instant_arg("to", now)
    start = instant_arg("start", as_of)
    text = request.args.get("days", "7")
    if not text.isdigit() or not 1 <= int(text) <= MAX_DIFF_DAYS:
        raise ApiError(400, f"days: a whole number from 1 to {MAX_DIFF_DAYS}")
    end = start + timedelta(days=int(text))
    rota = session.get(m.Rota, rid)
    if rota is None:
        raise ApiError(404, f"no rota {rid!r}")
    found = diff_between(session, rota, as_of, compare, start, end, now)
    if found is None:
        raise ApiError(404, f"no recorded state of rota {rid!r} at {iso_z(as_of)}")
    return jsonify(diff_json(rid, found, as_of, compare, start, end))
