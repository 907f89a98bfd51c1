"""Undoing a removed override or an ended layer from the flash message (web/confirm.py).

The snapshot taken before the change is what the undo writes back: the same override row
(id, times, note, author, the swaps it cancelled), or the layer's versions as they were.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, flash, redirect, url_for
from sqlalchemy import select

from voiceline import appdb, audit
from voiceline import models as m
from voiceline.web.auth import actor, role_required
from voiceline.web.confirm import take_undo
from voiceline.web.rota.common import bp, watch

MANAGE = ("rota_manager",)
_OVERRIDE = ("kind", "person_id", "replaces_id", "note", "created_by")
_VERSION = ("members", "anchor", "period", "windows", "priority", "timezone", "created_by")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def override_snapshot(db, row: m.Override) -> dict[str, Any]:
    """Everything retire_override may change: the row and the swaps it would cancel."""
    swaps = [s.id for s in db.scalars(select(m.Swap).where(m.Swap.override_id == row.id))
             if s.status != "cancelled"]
    return {"rota": row.rota_id, "id": row.id, "start": _iso(row.start), "end": _iso(row.end),
            "created_at": _iso(row.created_at), "swaps": swaps,
            **{k: getattr(row, k) for k in _OVERRIDE}}


def layer_snapshot(layer: m.Layer) -> dict[str, Any]:
    """The layer's versions before end_layer cuts or drops them."""
    return {"rota": layer.rota_id, "layer": layer.id, "versions": [
        {"id": v.id, "valid_from": _iso(v.valid_from), "valid_until": _iso(v.valid_until),
         "created_at": _iso(v.created_at), **{k: getattr(v, k) for k in _VERSION}}
        for v in layer.versions]}


def _restore_override(db, snap: dict[str, Any]) -> str:
    rota = db.get(m.Rota, snap["rota"])
    if rota is None:
        abort(404)
    row = db.get(m.Override, snap["id"])
    if row is None:
        row = m.Override(id=snap["id"], **{k: snap[k] for k in _OVERRIDE},
                         created_at=_instant(snap["created_at"]))
        rota.overrides.append(row)
    row.start, row.end = _instant(snap["start"]), _instant(snap["end"])
    for swap in db.scalars(select(m.Swap).where(m.Swap.id.in_(snap["swaps"] or [-1]))):
        swap.status, swap.override_id = "taken", row.id
    db.flush()
    audit.record(db, actor(), "override.restore", f"rota {rota.id} override {row.id}",
                 after={k: snap[k] for k in ("kind", "person_id", "replaces_id", "start", "end",
                                             "note")}, swaps=snap["swaps"])
    return rota.id


def _restore_layer(db, snap: dict[str, Any]) -> str:
    layer = db.get(m.Layer, snap["layer"])
    if layer is None or layer.rota_id != snap["rota"]:
        abort(404)
    present = {v.id: v for v in layer.versions}
    for saved in snap["versions"]:
        row = present.get(saved["id"])
        if row is None:
            row = m.LayerVersion(id=saved["id"], **{k: saved.get(k) for k in _VERSION},
                                 created_at=_instant(saved["created_at"]))
            layer.versions.append(row)
        row.valid_from, row.valid_until = _instant(saved["valid_from"]), _instant(saved["valid_until"])
    db.flush()
    audit.record(db, actor(), "layer.restore", f"rota {layer.rota_id} layer {layer.id}",
                 after=snap["versions"])
    return layer.rota_id


@bp.post("/undo/<token>", endpoint="undo")
@role_required(*MANAGE)
def undo(token: str):
    """Put back what an override removal or a layer end changed, within the undo window."""
    taken = take_undo(token)
    if taken is None:
        flash("Nothing to undo: the undo window has passed.", "error")
        return redirect(url_for("rota.rotas"))
    kind, snap = taken
    db = appdb.db_session()
    ruled = db.get(m.Rota, snap.get("rota"))
    if ruled is not None and ruled.two_person:  # the rule was turned on since the edit
        flash("Not undone: this rota has the two-person rule; propose the change again "
              "instead.", "error")
        return redirect(url_for("rota.rota", rota_id=ruled.id))
    watch()  # the snapshot names its rota inside; every rota is as good and as cheap here
    rota_id = (_restore_override if kind == "override" else _restore_layer)(db, snap)
    db.commit()
    flash("Undone: restored as it was.")
    return redirect(url_for("rota.rota", rota_id=rota_id))
