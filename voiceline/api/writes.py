"""API writes go through the rota file's validation: the entry is spliced into an export of the
directory, the whole document is validated, and only that entry is applied (and audited)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from voiceline.rotafile import RotaFileError, apply_plan, parse_document
from voiceline.rotafile.export import export_document
from voiceline.rotafile.parse import Plan

from .base import ApiError


def _validate(doc: dict[str, Any]) -> Plan:
    for rota in doc.get("rotas", []):
        rota.setdefault("layers", [])  # the export leaves out an empty list; the parser needs it
    try:
        return parse_document(doc, current_app.config.get("DEFAULT_REGION", "US"))
    except RotaFileError as exc:
        raise ApiError(422, "validation failed", exc.problems) from None


def put_entry(session: Session, section: str, entry_id: str, entry: dict[str, Any],
              actor: str) -> bool:
    """Create or replace one person, caller or rota as in a rota file; True when created."""
    if "id" in entry and entry["id"] != entry_id:
        raise ApiError(422, "validation failed", [f"id: {entry['id']!r} differs from the URL"])
    doc = export_document(session)
    items = doc.setdefault(section, [])
    entry = {**entry, "id": entry_id}
    created = True
    for i, existing in enumerate(items):
        if existing.get("id") == entry_id:
            if section == "rotas" and "overrides" not in entry:
                # Overrides have their own endpoints; a PUT without them keeps them.
                entry["overrides"] = existing.get("overrides", [])
            items[i] = entry
            created = False
            break
    else:
        items.append(entry)
    plan = _validate(doc)
    apply_plan(session, Plan(**{section: [x for x in getattr(plan, section) if x["id"] == entry_id]}),
               actor=actor)
    return created


def validate_override(session: Session, rota_id: str, entry: dict[str, Any]) -> dict[str, Any]:
    """Validate a new override of a rota against its others; return it normalised."""
    doc = export_document(session)
    rota = next((r for r in doc["rotas"] if r["id"] == rota_id), None)
    if rota is None:
        raise ApiError(422, "validation failed", [f"rota: no rota {rota_id!r}"])
    rota.setdefault("overrides", []).append(entry)
    index = len(rota["overrides"]) - 1
    plan = _validate(doc)
    parsed = next(r for r in plan.rotas if r["id"] == rota_id)["overrides"]
    return next(o for o in parsed if o["where"].endswith(f"overrides[{index}]"))
