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
from voiceline.instants import iso_z, utcnow
from voiceline.oncall.edit import KnownPeople, draft_of
from voiceline.oncall.notify import watch_rotas
from voiceline.oncall.rules import (
    FUTURE_CORRECTION_WORDS,
    PAST_WORDS,
    Draft,
    corrects_the_future,
    first_overlap,
    from_now,
    starts_in_the_past,
)
from voiceline.rotafile import RotaFileError
from voiceline.rotafile.check import Checker, OverrideSpec
from voiceline.rotafile.put import put_entry as put_rotafile_entry
from voiceline.rotafile.put import splice, validate
from voiceline.rotafile.sections import parse_override

from .base import ApiError


def watch(*rota_ids: str) -> None:
    """Before an edit of these rotas (none: every rota): tell whoever's coverage it changes."""
    watch_rotas(db_session(), rota_ids or None, int(current_app.config.get("CHANGE_NOTICE_DAYS") or 0))


def put_entry(session: Session, section: str, entry_id: str, entry: dict[str, Any],
              actor: str, effective: datetime | None = None) -> bool:
    """Create or replace one person, caller or rota as in a rota file; True when created."""
    try:
        return put_rotafile_entry(
            session, section, entry_id, entry, actor=actor, effective=effective,
            region=current_app.config.get("DEFAULT_REGION", "US"),
            before_write=(lambda: watch(entry_id)) if section == "rotas" else None)
    except RotaFileError as exc:
        raise ApiError(422, "validation failed", exc.problems) from None


def check_entry(session: Session, section: str, entry_id: str, entry: dict[str, Any],
                effective: datetime | None) -> None:
    """Refuse (422) what `put_entry` would refuse, writing nothing (a proposal is checked so)."""
    try:
        validate(session, splice(session, section, entry_id, entry)[0],
                 current_app.config.get("DEFAULT_REGION", "US"))
    except RotaFileError as exc:
        raise ApiError(422, "validation failed", exc.problems) from None
    if effective is not None and effective < utcnow():
        raise ApiError(422, "validation failed", [f"effective: {iso_z(effective)} is in the "
                                                  "past; the past stays as it was recorded"])


def validate_override(session: Session, rota_id: str, entry: dict[str, Any], now: datetime,
                      correcting: bool = False) -> OverrideSpec:
    """Check a new override of a rota as the rota file does, against the rota's stored overrides
    (oncall.rules); return it normalised. One starting in the past is a 409, unless it is a
    correction of the record (`correcting`), which must end by `now` instead (409)."""
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
    if correcting:
        if corrects_the_future(parsed.end, now):
            raise ApiError(409, f"end: {iso_z(parsed.end)} {FUTURE_CORRECTION_WORDS}")
        return parsed
    if starts_in_the_past(parsed.start, now):
        raise ApiError(409, f"start: {iso_z(parsed.start)} {PAST_WORDS} (POST /api/v1/corrections)")
    if parsed.start is not None:
        parsed.start = from_now(parsed.start, now)
    return parsed
