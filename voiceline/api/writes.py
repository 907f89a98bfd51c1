"""API writes validate like the rota file. A person, caller or rota is spliced into an export of
the directory (a rota PUT over the rota's current entry: it changes only what it names), the
whole document validated and only that entry applied; an override is checked
directly against the rota's stored overrides with the rules of oncall.rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from voiceline import models as m
from voiceline.appdb import db_session
from voiceline.instants import iso_z
from voiceline.oncall.edit import KnownPeople, draft_of
from voiceline.oncall.notify import watch_rotas
from voiceline.oncall.rules import PAST_WORDS, Draft, first_overlap, from_now, starts_in_the_past
from voiceline.rotafile import RotaFileError, apply_plan, parse_document
from voiceline.rotafile.apply import stored_overrides
from voiceline.rotafile.check import Checker, OverrideSpec, Plan
from voiceline.rotafile.export import export_document
from voiceline.rotafile.sections import parse_override

from .base import ApiError


def watch(*rota_ids: str) -> None:
    """Before an edit of these rotas (none: every rota): tell whoever's coverage it changes."""
    watch_rotas(db_session(), rota_ids or None, int(current_app.config.get("CHANGE_NOTICE_DAYS") or 0))


def _validate(doc: dict[str, Any], session: Session) -> Plan:
    try:
        # A clash the database holds already (from before writes were serialised) is not
        # a reason to refuse an unrelated write.
        return parse_document(doc, current_app.config.get("DEFAULT_REGION", "US"),
                              stored_overrides(session))
    except RotaFileError as exc:
        raise ApiError(422, "validation failed", exc.problems) from None


def put_entry(session: Session, section: str, entry_id: str, entry: dict[str, Any],
              actor: str, effective: datetime | None = None) -> bool:
    """Create or replace one person, caller or rota as in a rota file; True when created."""
    if "id" in entry and entry["id"] != entry_id:
        raise ApiError(422, "validation failed", [f"id: {entry['id']!r} differs from the URL"])
    doc = export_document(session)
    items = doc.setdefault(section, [])
    entry = {**entry, "id": entry_id}
    created = True
    for i, existing in enumerate(items):
        if existing.get("id") == entry_id:
            if section == "rotas":
                # A rota PUT replaces only what it names: layers, zone, overrides (which have
                # their own endpoints) and the rest stay as they are unless the body says.
                entry = {**existing, **entry}
            items[i] = entry
            created = False
            break
    else:
        items.append(entry)
    plan = _validate(doc, session)
    if section == "rotas":
        watch(entry_id)
    try:
        apply_plan(session, Plan(**{section: [x for x in getattr(plan, section) if x.id == entry_id]}),
                   actor=actor, effective=effective)
    except RotaFileError as exc:
        raise ApiError(422, "validation failed", exc.problems) from None
    return created


def validate_override(session: Session, rota_id: str, entry: dict[str, Any],
                      now: datetime | None = None) -> OverrideSpec:
    """Check a new override of a rota as the rota file does, against the rota's stored overrides
    (oncall.rules); return it normalised. With `now`, one starting in the past is a 409 (only a
    correction of the record, which passes None, may write the past)."""
    rota = session.get(m.Rota, rota_id)
    if rota is None:
        raise ApiError(422, "validation failed", [f"rota: no rota {rota_id!r}"])
    check = Checker(current_app.config.get("DEFAULT_REGION", "US"))
    where = f"rotas[{rota_id}].overrides[{len(rota.overrides)}]"
    parsed = parse_override(check, where, entry, KnownPeople(session))
    if parsed is not None and not check.problems:
        draft = Draft(parsed.kind, parsed.person, parsed.replaces, parsed.start, parsed.end)
        clash = first_overlap(draft, [(o.id, draft_of(o)) for o in rota.overrides])
        if clash is not None:
            check.fail(where, f"overlaps override {clash.other} for person {clash.person!r}")
    if check.problems or parsed is None:
        raise ApiError(422, "validation failed", check.problems)
    if now is not None and starts_in_the_past(parsed.start, now):
        raise ApiError(409, f"start: {iso_z(parsed.start)} {PAST_WORDS} (POST /api/v1/corrections)")
    if now is not None and parsed.start is not None:
        parsed.start = from_now(parsed.start, now)
    return parsed
