"""Destructive buttons (issue 12, item 3): a confirmation step that works without JavaScript,
and an Undo in the flash message that puts back exactly what was removed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from voiceline import appdb
from voiceline import models as m

from .conftest import PASSWORD


def _no_js_page(browser):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    return context, pg


def _login(pg, live, username="rota-manager"):
    pg.goto(f"{live}/login")
    pg.fill("input[name=username]", username)
    pg.fill("input[name=password]", PASSWORD)
    pg.click("main form button[type=submit]")
    pg.wait_for_load_state()
    assert "/login" not in pg.url


def _db(app):
    return appdb.session_factory(app)()


def test_remove_override_asks_first_and_can_be_undone(browser, live, demo):
    start = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    with demo.app_context():
        db = _db(demo)
        row = m.Override(rota_id="backup", kind="add", person_id="carol", start=start,
                         end=start + timedelta(hours=4), note="keep me", created_by="someone")
        db.add(row)
        db.commit()
        oid = row.id
        db.close()
    context, pg = _no_js_page(browser)
    try:
        _login(pg, live)
        pg.goto(f"{live}/rota/backup")
        pg.click(f"form[action$='/overrides/{oid}/delete'] button")
        pg.wait_for_load_state()
        assert pg.inner_text("h1") == "Remove this override?"
        with demo.app_context():
            db = _db(demo)
            assert db.get(m.Override, oid) is not None  # one click removed nothing
            db.close()
        pg.click("main form button[type=submit]")
        pg.wait_for_load_state()
        assert "Override removed." in pg.inner_text("main")
        with demo.app_context():
            db = _db(demo)
            assert db.get(m.Override, oid) is None
            db.close()
        pg.click(".flash form button:has-text('Undo')")
        pg.wait_for_load_state()
        assert "Undone" in pg.inner_text("main")
        with demo.app_context():
            db = _db(demo)
            back = db.get(m.Override, oid)
            assert (back.kind, back.person_id, back.start, back.end, back.note, back.created_by) == (
                "add", "carol", start, start + timedelta(hours=4), "keep me", "someone")
            actions = [e.action for e in db.scalars(select(m.AuditEntry).order_by(m.AuditEntry.id))]
            assert actions[-2:] == ["override.delete", "override.restore"]
            db.close()
    finally:
        context.close()


def test_end_layer_asks_first_and_can_be_undone(browser, live, demo):
    with demo.app_context():
        db = _db(demo)
        layer = db.scalars(select(m.Layer).where(m.Layer.rota_id == "backup")).first()
        lid = layer.id
        before = sorted((v.id, v.valid_from, v.valid_until, tuple(v.members)) for v in layer.versions)
        db.close()
    context, pg = _no_js_page(browser)
    try:
        _login(pg, live)
        pg.goto(f"{live}/rota/backup")
        pg.click(f"form[action$='/layers/{lid}/end'] button")
        pg.wait_for_load_state()
        assert "now?" in pg.inner_text("h1")
        pg.click("main form button[type=submit]")
        pg.wait_for_load_state()
        assert "Layer ended." in pg.inner_text("main")
        with demo.app_context():
            db = _db(demo)
            ended = db.get(m.Layer, lid)
            assert all(v.valid_until is not None for v in ended.versions)
            db.close()
        pg.click(".flash form button:has-text('Undo')")
        pg.wait_for_load_state()
        with demo.app_context():
            db = _db(demo)
            layer = db.get(m.Layer, lid)
            assert sorted((v.id, v.valid_from, v.valid_until, tuple(v.members))
                          for v in layer.versions) == before
            db.close()
    finally:
        context.close()


def test_delete_rota_and_take_it_ask_first(browser, live, demo):
    context, pg = _no_js_page(browser)
    try:
        _login(pg, live)
        pg.goto(f"{live}/rota/backup/edit")
        pg.click("form[action$='/rota/backup/delete'] button")
        pg.wait_for_load_state()
        assert pg.inner_text("h1") == "Delete rota backup?"
        pg.click("main a:has-text('Cancel')")
        pg.wait_for_load_state()
        with demo.app_context():
            db = _db(demo)
            assert db.get(m.Rota, "backup") is not None
            db.close()
    finally:
        context.close()
