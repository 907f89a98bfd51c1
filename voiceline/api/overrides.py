"""API: rota overrides, read and written by rota managers, validated like the rota file, audited."""

from __future__ import annotations

from flask import g, jsonify, request
from sqlalchemy import select

from voiceline import audit
from voiceline import models as m
from voiceline.appdb import db_session
from voiceline.instants import iso_z, utcnow
from voiceline.oncall.edit import OverrideIsHistory, lock_rota, retire_override

from . import schemas as s
from .base import ADMINS, MANAGERS, ApiError, actor, api, instant_arg, json_body
from .proposals import PROPOSED, propose
from .spec import INSTANT_RANGE, Param
from .writes import validate_override, watch


def present(o: m.Override) -> dict:
    """An override as JSON."""
    return {"id": o.id, "rota": o.rota_id, "kind": o.kind, "person": o.person_id,
            "replaces": o.replaces_id, "start": iso_z(o.start), "end": iso_z(o.end),
            "note": o.note, "created_at": iso_z(o.created_at), "created_by": o.created_by}


def _override_or_404(oid: int) -> m.Override:
    row = db_session().get(m.Override, oid)
    if row is None:
        raise ApiError(404, f"no override {oid}")
    return row


@api.route("/overrides", "GET", summary="Overrides that overlap a range (default: now onwards)",
           roles=MANAGERS, tag="rota", errors=(400, 404),
           query=(Param("rota", "only this rota"),
                  Param("from", f"range start, ISO 8601 (default now), {INSTANT_RANGE}"),
                  Param("to", f"range end, ISO 8601 (default: open), {INSTANT_RANGE}")),
           response={"type": "array", "items": s.OVERRIDE})
def list_overrides():
    session = db_session()
    start, end = instant_arg("from", utcnow()), instant_arg("to")
    query = select(m.Override).where(m.Override.end > start)
    if end is not None:
        query = query.where(m.Override.start < end)
    rota_id = request.args.get("rota")
    if rota_id:
        if session.get(m.Rota, rota_id) is None:
            raise ApiError(404, f"no rota {rota_id!r}")
        query = query.where(m.Override.rota_id == rota_id)
    rows = session.scalars(query.order_by(m.Override.start, m.Override.id))
    return jsonify([present(o) for o in rows])


@api.route("/overrides/<int:oid>", "GET", summary="One override", roles=MANAGERS, tag="rota",
           response=s.OVERRIDE)
def get_override(oid: int):
    return jsonify(present(_override_or_404(oid)))


@api.route("/overrides", "POST", summary="Add an override (checked like the rota file: known "
           "people, start before end, no overlap for one person in the rota; one starting in the "
           "past is refused, 409)", roles=MANAGERS,
           tag="rota", body=s.OVERRIDE_IN, response=s.OVERRIDE, status=201, errors=(400, 409, 422),
           others=(PROPOSED,))
def create_override():
    return _create(correction=None)


def _create(correction: str | None):
    session = db_session()
    body = json_body()
    rota_id = body.get("rota")
    if not isinstance(rota_id, str) or not rota_id:
        raise ApiError(422, "validation failed", ["rota: missing (the rota id)"])
    entry = {k: v for k, v in body.items() if k not in ("rota", "reason")}
    lock_rota(session, rota_id)  # check and write as one step, whatever other servers do
    o = validate_override(session, rota_id, entry, utcnow(), correcting=bool(correction))
    if not correction:
        proposed = propose(session.get(m.Rota, rota_id), "override.create", {
            "kind": o.kind, "person": o.person, "replaces": o.replaces, "start": o.start,
            "end": o.end, "note": o.note}, f"{o.kind} {o.person}"
            + (f" for {o.replaces}" if o.replaces else "") + f" {iso_z(o.start)} to {iso_z(o.end)}")
        if proposed:
            return proposed
    watch(rota_id)
    row = m.Override(rota_id=rota_id, kind=o.kind, person_id=o.person, replaces_id=o.replaces,
                     start=o.start, end=o.end, note=o.note, created_by=actor())
    session.add(row)
    session.flush()
    if correction:
        audit.record(session, actor(), "override.correct", f"rota {rota_id} override {row.id}",
                     via="api", after=present(row), reason=correction)
    else:
        audit.record(session, actor(), "override.create", f"rota {rota_id} override {row.id}",
                     via="api", after=present(row))
    session.commit()
    return jsonify(present(row)), 201


def _reason(text: object) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ApiError(422, "validation failed", ["reason: correcting the record needs a reason"])
    return text.strip()[:500]


@api.route("/corrections", "POST", summary="Admins: correct the record with an override in the "
           "past (body as POST /overrides plus `reason`); audited as override.correct",
           roles=ADMINS, tag="rota", body=s.CORRECTION_IN, response=s.OVERRIDE, status=201,
           errors=(400, 422))
def correct_record():
    return _create(correction=_reason(json_body().get("reason")))


@api.route("/overrides/<int:oid>", "DELETE", summary="Remove an override: a future one is "
           "deleted (204), one in progress ends now (200), a past one is history (409; an admin "
           "may remove it with `?correction=REASON`, audited as override.correct)",
           roles=MANAGERS, tag="rota", response=s.OVERRIDE, status=204, errors=(403, 409),
           query=(Param("correction", "admins: the reason for removing a past override"),),
           also={200: "It was in progress: it now ends now"}, others=(PROPOSED,))
def delete_override(oid: int):
    session = db_session()
    row = _override_or_404(oid)
    now = utcnow()
    before = present(row)
    watch(row.rota_id)
    if "correction" in request.args and row.end <= now:
        if g.api_user.role != "admin":
            raise ApiError(403, "only an admin can correct the record")
        reason = _reason(request.args.get("correction"))
        lock_rota(session, row.rota_id)
        session.delete(row)
        audit.record(session, actor(), "override.correct", f"rota {row.rota_id} override {oid}",
                     via="api", before=before, reason=reason)
        session.commit()
        return "", 204
    if row.end > now:
        proposed = propose(row.rota, "override.delete", {"override": oid},
                           f"remove override {oid}: {row.kind} {row.person_id} "
                           f"{iso_z(row.start)} to {iso_z(row.end)}")
        if proposed:
            return proposed
    try:
        result = retire_override(session, row, now)
    except OverrideIsHistory as exc:
        raise ApiError(409, str(exc)) from None
    if result == "ended":
        audit.record(session, actor(), "override.end", f"rota {row.rota_id} override {oid}",
                     via="api", before=before, after=present(row))
        session.commit()
        return jsonify(present(row)), 200
    audit.record(session, actor(), "override.delete", f"rota {row.rota_id} override {oid}",
                 via="api", before=before)
    session.commit()
    return "", 204
