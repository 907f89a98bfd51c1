"""Export the directory and rotas in the rota-file shape (PINs never leave)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceline import models as m
from voiceline.instants import iso_z
from voiceline.rotafile.apply import active_layers, newest_version


def _compact(entry: dict[str, Any]) -> dict[str, Any]:
    """Drop keys whose value is the file's default, so exports stay readable."""
    return {k: v for k, v in entry.items() if v not in (None, [], "", False)}


def export_document(session: Session) -> dict[str, Any]:
    """The whole directory as a rota-file mapping that imports back to the same state."""
    doc: dict[str, Any] = {"timezone": "UTC"}
    doc["people"] = [
        _compact({"id": p.id, "name": p.name, "phone": p.phone, "languages": p.languages,
                  "timezone": p.timezone, "reminder_minutes": p.reminder_minutes,
                  "roles": p.roles})
        for p in session.scalars(select(m.Person).order_by(m.Person.id))
    ]
    doc["callers"] = [
        _compact({"id": c.id, "name": c.name, "org": c.org, "phones": c.numbers,
                  "language": c.language})
        for c in session.scalars(select(m.Caller).order_by(m.Caller.id))
    ]
    doc["rotas"] = [_export_rota(r) for r in session.scalars(select(m.Rota).order_by(m.Rota.id))]
    doc["policies"] = [
        {"id": p.id, "name": p.name,
         "steps": [_compact({"rotas": s.rotas, "people": s.people}) | {"ring_seconds": s.ring_seconds}
                   | _compact({"coverage": s.coverage}) for s in p.steps],
         "repeat": p.repeat} | ({"ring": p.ring} if p.ring and p.ring != "dial" else {})
        for p in session.scalars(select(m.Policy).order_by(m.Policy.id))
    ]
    doc["hotlines"] = [
        _compact({"id": h.id, "name": h.name, "number": h.number, "policy": h.policy_id,
                  "languages": h.languages, "callers": h.caller_policy,
                  "priority": h.ask_priority})
        for h in session.scalars(select(m.Hotline).order_by(m.Hotline.id))
    ]
    return doc


def _export_rota(rota: m.Rota) -> dict[str, Any]:
    layers = []
    for layer in active_layers(rota):
        v = newest_version(layer)
        layers.append(_compact({"name": layer.name, "members": v.members, "anchor": v.anchor,
                                "every": v.period, "windows": v.windows,
                                "priority": (layer.priority if v.priority is None else v.priority) or None}))
    overrides = []
    for o in rota.overrides:
        entry: dict[str, Any] = {"start": iso_z(o.start), "end": iso_z(o.end)}
        if o.kind == "replace":
            entry |= {"replace": o.replaces_id, "with": o.person_id}
        else:
            entry[o.kind] = o.person_id
        if o.note:
            entry["note"] = o.note
        overrides.append(entry)
    entry = {"id": rota.id, "name": rota.name, "timezone": rota.timezone,
             "reachability_minutes": rota.reachability_minutes,
             "notify_outgoing": rota.notify_outgoing, "coverage": rota.coverage or None,
             "swap_approval": rota.swap_approval, "two_person": rota.two_person,
             "layers": layers, "overrides": overrides}
    # `layers` is required by import, so a rota whose layers have all ended exports `[]`.
    return {k: v for k, v in entry.items() if k == "layers" or k in _compact(entry)}
