"""Helpers shared by the rota pages: look-ups that 404, the clock, local-time fields."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, request
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from voiceline import appdb
from voiceline import models as m
from voiceline.instants import InstantRangeError, parse_instant, utcnow
from voiceline.oncall.notify import watch_rotas
from voiceline.web.choices import options
from voiceline.web.timefmt import from_input

bp = Blueprint("rota", __name__, url_prefix="/rota")


def rota_or_404(rota_id: str) -> m.Rota:
    """The stored rota or a 404."""
    rota = appdb.db_session().get(m.Rota, rota_id)
    if rota is None:
        abort(404)
    return rota


def people() -> dict[str, m.Person]:
    """Every person by id, in name order."""
    rows = appdb.db_session().scalars(select(m.Person).order_by(m.Person.name)).all()
    return {p.id: p for p in rows}


def person_choices(blank: str | None = None, active_only: bool = True) -> list[SelectChoice]:
    """Options (id, 'Name (id)') for select fields, optionally after a blank one."""
    choices = [("", blank)] if blank is not None else []
    return options(choices + [(p.id, f"{p.name} ({p.id})") for p in people().values()
                              if p.active or not active_only])


def request_instant(name: str = "at") -> datetime:
    """The instant in the query string (ISO 8601, for links and tests), else now."""
    text = request.args.get(name)
    if text:
        try:
            return parse_instant(text)
        except InstantRangeError as exc:
            abort(400, f"{name}: {exc}")
        except ValueError:
            abort(400, f"{name} must be ISO 8601, e.g. 2026-03-08T07:30:00Z")
    return utcnow()


def local_field(field, zone: ZoneInfo) -> datetime | None:
    """Read a datetime-local field in `zone`; on a bad value add the error beside it."""
    try:
        return from_input(field.data or "", zone)
    except InstantRangeError as exc:
        field.errors = [*field.errors, str(exc)]
        return None
    except ValueError:
        field.errors = [*field.errors, "a date and time like 2026-12-24T09:00"]
        return None


def watch(*rota_ids: str) -> None:
    """Before an edit of these rotas (none named: every rota): tell the people whose coverage
    it changes in the next CHANGE_NOTICE_DAYS, when the edit commits (oncall/notify.py)."""
    watch_rotas(appdb.db_session(), rota_ids or None,
                int(current_app.config.get("CHANGE_NOTICE_DAYS") or 0))
