"""API: who am I, who is on duty, people, callers, rotas and their shifts."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, g, jsonify, request
from sqlalchemy import select

from voiceline import models as m
from voiceline.appdb import db_session
from voiceline.calls.ringmode import NO_CREDENTIALS, has_rest_credentials, served
from voiceline.instants import iso_z, utcnow
from voiceline.oncall.history import rota_as_of
from voiceline.oncall.present import on_duty_json, shift_json
from voiceline.oncall.queries import UnknownRota, on_duty_now, shifts_between
from voiceline.rota import shifts
from voiceline.rotafile.export import export_document

from . import schemas as s
from .base import EVERYONE, MANAGERS, ApiError, actor, api, instant_arg, json_body
from .proposals import PROPOSED, propose
from .spec import INSTANT_RANGE, Param
from .writes import check_entry, put_entry

MAX_SHIFT_DAYS = 400


@api.route("/me", "GET", summary="The account the token belongs to", roles=EVERYONE,
           response=s.ME, tag="account")
def me():
    user = g.api_user
    return jsonify(username=user.username, role=user.role, person=user.person_id,
                   timezone=user.timezone)


@api.route("/oncall", "GET", summary="Who is on duty (same JSON as `voiceline oncall --json`)",
           roles=EVERYONE, tag="rota", errors=(400, 404),
           query=(Param("rota", "a rota id; without it, a list with every rota"),
                  Param("at", f"instant, ISO 8601 (default now; no offset = UTC), {INSTANT_RANGE}",
                        {"type": "string", "format": "date-time"}),
                  Param("as_of", "by the rotas as they stood at this instant (recorded history; "
                        f"a rota not recorded that early is left out), {INSTANT_RANGE}",
                        {"type": "string", "format": "date-time"})),
           response={"oneOf": [s.ONCALL, {"type": "array", "items": s.ONCALL}]})
def oncall():
    rota_id = request.args.get("rota") or None
    at = instant_arg("at", utcnow())
    try:
        entries = [on_duty_json(e) for e in on_duty_now(db_session(), at, rota_id,
                                                        instant_arg("as_of"))]
    except UnknownRota:
        raise ApiError(404, f"no rota {rota_id!r}") from None
    return jsonify(entries[0] if rota_id else entries)


def _person(p: m.Person) -> dict:
    return {"id": p.id, "name": p.name, "phone": p.phone, "languages": p.languages,
            "timezone": p.timezone, "reminder_minutes": p.reminder_minutes, "roles": p.roles,
            "active": p.active}


def _caller(c: m.Caller) -> dict:
    # PIN hashes never leave; has_pin tells a manager whether one is set.
    return {"id": c.id, "name": c.name, "org": c.org, "phones": c.numbers, "language": c.language,
            "active": c.active, "has_pin": bool(c.pin_hash), "has_duress_pin": bool(c.duress_pin_hash)}


def _get_or_404(model, key: str, what: str):
    row = db_session().get(model, key)
    if row is None:
        raise ApiError(404, f"no {what} {key!r}")
    return row


def _put(section: str, key: str, model, present):
    session = db_session()
    created = put_entry(session, section, key, json_body(), actor())
    session.commit()
    session.expire_all()
    return jsonify(present(session.get(model, key))), (201 if created else 200)


@api.route("/people", "GET", summary="Every responder", roles=MANAGERS, tag="directory",
           response={"type": "array", "items": s.PERSON})
def list_people():
    return jsonify([_person(p) for p in db_session().scalars(select(m.Person).order_by(m.Person.id))])


@api.route("/people/<pid>", "GET", summary="One responder", roles=MANAGERS, tag="directory",
           response=s.PERSON)
def get_person(pid: str):
    return jsonify(_person(_get_or_404(m.Person, pid, "person")))


@api.route("/people/<pid>", "PUT", summary="Create or replace a responder (rota-file shape)",
           roles=MANAGERS, tag="directory", body=s.PERSON_IN, response=s.PERSON, errors=(400, 422),
           also={201: "Created"})
def put_person(pid: str):
    return _put("people", pid, m.Person, _person)


@api.route("/callers", "GET", summary="Every caller (no PINs)", roles=MANAGERS, tag="directory",
           response={"type": "array", "items": s.CALLER})
def list_callers():
    return jsonify([_caller(c) for c in db_session().scalars(select(m.Caller).order_by(m.Caller.id))])


@api.route("/callers/<cid>", "GET", summary="One caller (no PINs)", roles=MANAGERS,
           tag="directory", response=s.CALLER)
def get_caller(cid: str):
    return jsonify(_caller(_get_or_404(m.Caller, cid, "caller")))


@api.route("/callers/<cid>", "PUT", summary="Create or replace a caller (PINs are set with the CLI)",
           roles=MANAGERS, tag="directory", body=s.CALLER_IN, response=s.CALLER, errors=(400, 422),
           also={201: "Created"})
def put_caller(cid: str):
    return _put("callers", cid, m.Caller, _caller)


def _policy(p: m.Policy) -> dict:
    can = has_rest_credentials(current_app.config)
    mode = served(p.ring, can)
    return {"id": p.id, "name": p.name, "repeat": p.repeat, "ring": p.ring or "dial",
            "served_as": mode, "served_note": NO_CREDENTIALS if mode != (p.ring or "dial") else None,
            "steps": [{"rotas": s.rotas, "people": s.people, "ring_seconds": s.ring_seconds}
                      for s in p.steps]}


@api.route("/policies", "GET", summary="Every escalation policy (rota-file shape, with how it rings now)",
           roles=MANAGERS, tag="directory", response={"type": "array", "items": s.POLICY})
def list_policies():
    return jsonify([_policy(p) for p in db_session().scalars(select(m.Policy).order_by(m.Policy.id))])


@api.route("/policies/<pid>", "GET", summary="One escalation policy", roles=MANAGERS,
           tag="directory", response=s.POLICY)
def get_policy(pid: str):
    return jsonify(_policy(_get_or_404(m.Policy, pid, "policy")))


@api.route("/policies/<pid>", "PUT", summary="Create or replace an escalation policy (rota-file "
           "shape; `ring: conference` needs Twilio credentials)", roles=MANAGERS, tag="directory",
           body=s.POLICY_IN, response=s.POLICY, errors=(400, 422), also={201: "Created"})
def put_policy(pid: str):
    return _put("policies", pid, m.Policy, _policy)


def _rotas_doc() -> dict[str, dict]:
    # The rota file leaves out an empty list of layers; the API's schema always has one.
    return {r["id"]: {**r, "layers": r.get("layers", [])} for r in export_document(db_session())["rotas"]}


@api.route("/rotas", "GET", summary="Every rota: layers in force and overrides (rota-file shape)",
           roles=EVERYONE, tag="rota", response={"type": "array", "items": s.ROTA})
def list_rotas():
    return jsonify(list(_rotas_doc().values()))


@api.route("/rotas/<rid>", "GET", summary="One rota (rota-file shape)", roles=EVERYONE, tag="rota",
           response=s.ROTA)
def get_rota(rid: str):
    rota = _rotas_doc().get(rid)
    if rota is None:
        raise ApiError(404, f"no rota {rid!r}")
    return jsonify(rota)


@api.route("/rotas/<rid>", "PUT", summary="Create or replace a rota; changed layers, priorities, "
           "the zone and new layers take effect from the end of the current shift (or `effective`)",
           roles=MANAGERS, tag="rota", body=s.ROTA, response=s.ROTA, errors=(400, 422),
           query=(Param("effective", "when the changes take effect, ISO 8601, not in the past "
                        "(default: the end of the rota's current shift)", {"type": "string"}),),
           also={201: "Created"}, others=(PROPOSED,))
def put_rota(rid: str):
    session = db_session()
    body, effective = json_body(), instant_arg("effective")
    # Only the flag is read here: the PUT below reads the rota under its lock.
    if session.scalar(select(m.Rota.two_person).where(m.Rota.id == rid)):
        check_entry(session, "rotas", rid, body, effective)
        return propose(session.get(m.Rota, rid), "rota.put", {"entry": body, "effective": effective},
                       f"PUT the rota: {', '.join(sorted(body)) or 'nothing'}")
    created = put_entry(session, "rotas", rid, body, actor(), effective)
    session.commit()
    session.expire_all()
    return jsonify(_rotas_doc()[rid]), (201 if created else 200)


@api.route("/rotas/<rid>/shifts", "GET", summary="Merged shifts of a rota over [from, to)",
           roles=EVERYONE, tag="rota", errors=(400,),
           query=(Param("from", f"range start, ISO 8601 (default now), {INSTANT_RANGE}",
                        {"type": "string"}),
                  Param("to", "range end, ISO 8601, exclusive (default from + 14 days; "
                        f"at most {MAX_SHIFT_DAYS} days after from), {INSTANT_RANGE}",
                        {"type": "string"}),
                  Param("as_of", "the rota as it stood at this instant (its recorded history), "
                        f"ISO 8601, {INSTANT_RANGE}", {"type": "string"})),
           response={"type": "array", "items": s.SHIFT})
def rota_shifts(rid: str):
    start = instant_arg("from", utcnow())
    end = instant_arg("to", start + timedelta(days=14))
    as_of = instant_arg("as_of")
    if end <= start:
        raise ApiError(400, "to: must be after from")
    if end - start > timedelta(days=MAX_SHIFT_DAYS):
        raise ApiError(400, f"to: the range may span at most {MAX_SHIFT_DAYS} days")
    if as_of is not None:
        stood = rota_as_of(db_session(), rid, as_of)
        if stood is None:
            raise ApiError(404, f"no recorded state of rota {rid!r} at {iso_z(as_of)}")
        return jsonify([shift_json(x) for x in shifts(stood[0], start, end)])
    try:
        return jsonify([shift_json(s) for s in shifts_between(db_session(), rid, start, end)])
    except UnknownRota:
        raise ApiError(404, f"no rota {rid!r}") from None
