"""Destructive actions ask first (a server-rendered step) and undo tokens expire (issue 12, 3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from unittest import mock

from sqlalchemy import select

from voiceline import appdb
from voiceline import models as m
from voiceline.models.web import User
from voiceline.web import confirm

OFFER = {"offer-rota": "primary", "offer-person": "alice", "offer-start": "2030-01-15T09:00",
         "offer-end": "2030-01-16T09:00", "offer-note": ""}


def _db(app):
    return appdb.session_factory(app)()


class _Page(HTMLParser):
    """The page's h1, the hidden fields of the forms in <main>, and the flash forms' actions."""

    def __init__(self, html: str):
        super().__init__()
        self.h1, self.hidden, self.flash_actions = "", {}, []
        self._in_h1 = self._in_main = self._in_flash = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self._in_h1 = self._in_h1 or tag == "h1"
        self._in_main = self._in_main or tag == "main"
        if tag == "div" and "flash" in (a.get("class") or "").split():
            self._in_flash = True
        if tag == "form" and self._in_flash:
            self.flash_actions.append(a["action"])
        if tag == "input" and a.get("type") == "hidden" and self._in_main and not self._in_flash:
            self.hidden[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "h1":
            self._in_h1 = False
        if tag == "div":
            self._in_flash = False

    def handle_data(self, data):
        if self._in_h1:
            self.h1 += data


def _confirm_form(response):
    page = _Page(response.get_data(as_text=True))
    return page.h1.strip(), page.hidden


def test_reset_password_needs_the_confirmation_step(app, accounts, as_role, csrf):
    admin = as_role("admin")
    uid = accounts["reviewer"]
    with app.app_context():
        db = _db(app)
        old = db.get(User, uid).password_hash
        db.close()
    token = csrf(admin, f"/admin/users/{uid}")
    first = admin.post(f"/admin/users/{uid}/reset-password", data={"csrf_token": token})
    assert first.status_code == 200
    title, fields = _confirm_form(first)
    assert title == "Reset the password of reviewer?" and fields["confirmed"] == "yes"
    with app.app_context():
        db = _db(app)
        assert db.get(User, uid).password_hash == old
        db.close()
    second = admin.post(f"/admin/users/{uid}/reset-password", data=fields)
    assert second.status_code == 200
    with app.app_context():
        db = _db(app)
        assert db.get(User, uid).password_hash != old
        db.close()


def test_take_it_needs_the_confirmation_step(demo, as_role, csrf, app):
    manager = as_role("rota_manager")
    token = csrf(manager, "/rota/swaps")
    assert manager.post("/rota/swaps/offer", data={**OFFER, "csrf_token": token}).status_code == 302
    with app.app_context():
        db = _db(app)
        swap_id = db.scalar(select(m.Swap.id))
        db.close()
    first = manager.post(f"/rota/swaps/{swap_id}/take", data={"take-person": "carol",
                                                              "csrf_token": token})
    title, fields = _confirm_form(first)
    assert title == "Take this swap?" and fields["take-person"] == "carol"
    with app.app_context():
        db = _db(app)
        assert db.get(m.Swap, swap_id).status == "open"
        db.close()
    assert manager.post(f"/rota/swaps/{swap_id}/take", data=fields).status_code == 302
    with app.app_context():
        db = _db(app)
        assert db.get(m.Swap, swap_id).status == "taken"
        db.close()


def test_an_undo_token_expires(demo, as_role, csrf, app):
    manager = as_role("rota_manager")
    start = datetime(2031, 1, 1, tzinfo=UTC)
    with app.app_context():
        db = _db(app)
        row = m.Override(rota_id="primary", kind="add", person_id="carol", start=start,
                         end=start + timedelta(hours=1))
        db.add(row)
        db.commit()
        oid = row.id
        db.close()
    token = csrf(manager, "/rota/primary")
    removed = manager.post(f"/rota/primary/overrides/{oid}/delete",
                           data={"csrf_token": token, "confirmed": "yes"}, follow_redirects=True)
    [undo_url] = _Page(removed.get_data(as_text=True)).flash_actions
    later = datetime.now(UTC) + timedelta(minutes=confirm.UNDO_MINUTES + 1)
    with mock.patch.object(confirm, "utcnow", return_value=later):
        late = manager.post(undo_url, data={"csrf_token": token}, follow_redirects=True)
    assert "the undo window has passed" in late.get_data(as_text=True)
    with app.app_context():
        db = _db(app)
        assert db.get(m.Override, oid) is None
        db.close()
