"""Destructive actions: a server-rendered confirmation step, and undo from the flash message.

A destructive button posts its form as usual; without `confirmed=yes` the view answers with a
confirmation page that re-posts the same fields (no JavaScript needed). An undoable action
keeps what it removed in the session under a random token for UNDO_MINUTES; the flash message
carries an Undo button that posts the token back.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import flash, render_template, request, session

from voiceline.instants import utcnow

UNDO_MINUTES = 5
_KEY = "undo"


def confirmed() -> bool:
    """True when the posted form is the confirmation page's (confirmed=yes)."""
    return request.form.get("confirmed") == "yes"


def confirm_page(title: str, question: str, action_label: str, cancel_url: str):
    """The confirmation step: the same POST again, with its fields and confirmed=yes."""
    fields = [(k, v) for k, vs in request.form.lists() for v in vs
              if k not in ("csrf_token", "confirmed")]
    return render_template("confirm.html", title=title, question=question,
                           action_label=action_label, cancel_url=cancel_url,
                           action=request.path, fields=fields)


def offer_undo(kind: str, payload: dict[str, Any], message: str, undo_url_for) -> None:
    """Flash `message` with an Undo button; `undo_url_for(token)` is the button's action."""
    now = utcnow()
    kept = {t: e for t, e in session.get(_KEY, {}).items()
            if datetime.fromisoformat(e["until"]) > now}
    token = secrets.token_urlsafe(16)
    kept[token] = {"kind": kind, "payload": payload,
                   "until": (now + timedelta(minutes=UNDO_MINUTES)).isoformat()}
    session[_KEY] = kept
    # base.html renders this category's message (a mapping) with an Undo button.
    flash({"text": message, "undo": undo_url_for(token), "minutes": UNDO_MINUTES},  # type: ignore[arg-type]
          "undo")


def take_undo(token: str) -> tuple[str, dict[str, Any]] | None:
    """(kind, payload) of a live undo token, removed from the session; None if gone or expired."""
    kept = dict(session.get(_KEY, {}))
    entry = kept.pop(token, None)
    session[_KEY] = kept
    if entry is None or datetime.fromisoformat(entry["until"]) <= utcnow():
        return None
    return entry["kind"], entry["payload"]
