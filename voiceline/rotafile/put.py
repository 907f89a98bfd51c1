"""One person, caller, policy or rota written as in a rota file: the entry is spliced into an
export of the directory (a rota over its current entry: it changes only what it names), the
whole document validated and only that entry applied. Used by the API's PUTs and by the
two-person rule's replay of an approved rota PUT."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from voiceline.rotafile.apply import apply_plan, stored_overrides
from voiceline.rotafile.check import Plan, RotaFileError
from voiceline.rotafile.export import export_document
from voiceline.rotafile.parse import parse_document


def splice(session: Session, section: str, entry_id: str, entry: dict[str, Any]
           ) -> tuple[dict[str, Any], bool]:
    """The directory's document with the entry in place; True when the entry is new."""
    if "id" in entry and entry["id"] != entry_id:
        raise RotaFileError([f"id: {entry['id']!r} differs from the URL"])
    doc = export_document(session)
    items = doc.setdefault(section, [])
    entry = {**entry, "id": entry_id}
    for i, existing in enumerate(items):
        if existing.get("id") == entry_id:
            if section == "rotas":
                # A rota PUT replaces only what it names: layers, zone, overrides (which have
                # their own endpoints) and the rest stay as they are unless the body says.
                entry = {**existing, **entry}
            items[i] = entry
            return doc, False
    items.append(entry)
    return doc, True


def validate(session: Session, doc: dict[str, Any], region: str) -> Plan:
    """The document's plan, or RotaFileError with every problem."""
    # A clash the database holds already (from before writes were serialised) is not a
    # reason to refuse an unrelated write.
    return parse_document(doc, region, stored_overrides(session))


def put_entry(session: Session, section: str, entry_id: str, entry: dict[str, Any], *,
              actor: str, region: str, effective: datetime | None = None,
              before_write: Callable[[], None] | None = None) -> bool:
    """Create or replace one entry as in a rota file (RotaFileError on a problem); True when
    created. `before_write` runs after validation, before anything is written."""
    doc, created = splice(session, section, entry_id, entry)
    plan = validate(session, doc, region)
    if before_write is not None:
        before_write()
    apply_plan(session, Plan(**{section: [x for x in getattr(plan, section) if x.id == entry_id]}),
               actor=actor, effective=effective)
    return created
