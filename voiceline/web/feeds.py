"""Managing calendar-feed tokens: create (shown once), list, revoke."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField

from voiceline import appdb, audit
from voiceline import models as m
from voiceline.instants import utcnow
from voiceline.models.web import FeedToken
from voiceline.web.auth import actor, current_user, has_role, role_required
from voiceline.web.choices import options
from voiceline.web.ical import new_feed_token

bp = Blueprint("feeds", __name__)
FEED_ROLES = ("responder", "rota_manager")


class FeedForm(FlaskForm):
    target = SelectField("Calendar of", choices=[])


def _targets() -> list[tuple[str, str]]:
    """What the user may subscribe to: every rota; people: all for managers, else their own."""
    db = appdb.db_session()
    user = current_user()
    assert user is not None  # the views calling this are behind @role_required
    out = [(f"rota:{r.id}", f"rota {r.name or r.id}")
           for r in db.scalars(select(m.Rota).order_by(m.Rota.id))]
    for p in db.scalars(select(m.Person).order_by(m.Person.name)):
        if has_role(user, "rota_manager") or p.id == user.person_id:
            out.append((f"person:{p.id}", f"{p.name}'s shifts"))
    return out


def _visible(row: FeedToken) -> bool:
    user = current_user()
    assert user is not None  # the views calling this are behind @role_required
    return (has_role(user, "rota_manager") or row.created_by == f"user:{user.username}"
            or (row.kind == "person" and row.target_id == user.person_id))


@bp.route("/feeds", methods=["GET", "POST"])
@role_required(*FEED_ROLES)
def feeds():
    """Calendar feeds the user may see; a new one's URL is shown once."""
    form = FeedForm()
    form.target.choices = options(_targets())
    new_url = None
    db = appdb.db_session()
    if form.validate_on_submit():
        kind, _, target = form.target.data.partition(":")
        row, token = new_feed_token(db, kind, target, actor())
        audit.record(db, actor(), "feed_token.create", f"{kind} {target}", token_id=row.id)
        db.commit()
        endpoint = "ical.person_feed" if kind == "person" else "ical.rota_feed"
        new_url = url_for(endpoint, token=token, _external=True)
    rows = [r for r in db.scalars(select(FeedToken).order_by(FeedToken.id.desc())) if _visible(r)]
    return render_template("feeds.html", form=form, rows=rows, new_url=new_url,
                           webcal=new_url and new_url.replace(request.scheme + "://", "webcal://", 1))


@bp.post("/feeds/<int:token_id>/revoke")
@role_required(*FEED_ROLES)
def revoke(token_id: int):
    """Revoke a feed token: its URL answers 404 from now on."""
    db = appdb.db_session()
    row = db.get(FeedToken, token_id)
    if row is None or not _visible(row):
        abort(404)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(db, actor(), "feed_token.revoke", f"{row.kind} {row.target_id}", token_id=row.id)
        db.commit()
    flash("Feed revoked: its URL no longer works.")
    return redirect(url_for("feeds.feeds"))
