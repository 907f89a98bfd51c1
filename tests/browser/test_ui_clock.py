"""One clock (issue 12, items 1 and 2): the browser's zone is kept at the first login, forms read
in the zone the page shows, and every page names that zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from voiceline import appdb
from voiceline import models as m
from voiceline.models.web import User
from voiceline.oncall.store import rota_to_engine
from voiceline.rota import shifts

from .conftest import PASSWORD

BROWSER_ZONE = "Asia/Tokyo"  # neither the rotas' zones (New York, Moscow) nor UTC


def _context_page(browser, zone=BROWSER_ZONE):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id=zone)
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    return context, pg


def _login(pg, live, username):
    pg.goto(f"{live}/login")
    pg.fill("input[name=username]", username)
    pg.fill("input[name=password]", PASSWORD)
    pg.click("main form button[type=submit]")
    pg.wait_for_load_state()
    assert "/login" not in pg.url


def _on_duty_window(app, rota_id="primary"):
    """(person, start, end): two whole hours inside someone's shift in the next week."""
    with app.app_context():
        db = appdb.session_factory(app)()
        rota = rota_to_engine(db.get(m.Rota, rota_id))
        now = datetime.now(UTC)
        for seg in shifts(rota, now + timedelta(hours=3), now + timedelta(days=8)):
            start = seg.start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            if seg.people and seg.end - start >= timedelta(hours=3):
                db.close()
                return sorted(seg.people)[0], start, start + timedelta(hours=2)
        db.close()
    raise AssertionError("nobody on duty in the next week")


def test_swap_offer_is_read_and_listed_in_the_zone_the_page_names(browser, live, demo):
    person, start, end = _on_duty_window(demo)
    context, pg = _context_page(browser)
    try:
        _login(pg, live, "rota-manager")
        with demo.app_context():
            db = appdb.session_factory(demo)()
            user = db.scalar(select(User).where(User.username == "rota-manager"))
            assert user.timezone == BROWSER_ZONE  # adopted from the browser at login
            db.close()
        pg.goto(f"{live}/rota/swaps")
        assert f"Times in {BROWSER_ZONE}" in pg.inner_text("main")
        zone = ZoneInfo(BROWSER_ZONE)
        typed_start = start.astimezone(zone).strftime("%Y-%m-%dT%H:%M")
        typed_end = end.astimezone(zone).strftime("%Y-%m-%dT%H:%M")
        pg.select_option("select[name=offer-rota]", "primary")
        pg.select_option("select[name=offer-person]", person)
        pg.fill("input[name=offer-start]", typed_start)
        pg.fill("input[name=offer-end]", typed_end)
        pg.click("form[action$='/swaps/offer'] button[type=submit]")
        pg.wait_for_load_state()
        assert "Swap offered." in pg.inner_text("main"), pg.inner_text("main")
        row = pg.locator("table tbody tr").first.inner_text()
        assert typed_start.replace("T", " ") in row and typed_end.replace("T", " ") in row, row
        with demo.app_context():
            db = appdb.session_factory(demo)()
            [swap] = db.scalars(select(m.Swap)).all()
            assert (swap.start, swap.end) == (start, end)
            db.close()
    finally:
        context.close()


PAGES = ["/rota/now", "/rota/swaps", "/rota/primary", "/calls", "/metrics", "/admin/audit/",
         "/admin/users", "/account", "/feeds"]


def test_every_page_shows_times_in_the_viewers_zone_and_names_it(browser, live, demo):
    context, pg = _context_page(browser)
    try:
        _login(pg, live, "admin")
        for path in PAGES:
            response = pg.goto(f"{live}{path}")
            assert response.status == 200, path
            assert BROWSER_ZONE in pg.inner_text("main"), path
        # The same gap or shift edge reads the same on On duty and on the rota page.
        pg.goto(f"{live}/rota/primary/overrides/new")
        help_text = pg.inner_text("main form")
        assert "Your time zone" not in help_text
        assert f"Times in {BROWSER_ZONE} (your account's zone)" in help_text
    finally:
        context.close()


def test_without_javascript_the_account_keeps_no_zone_and_pages_say_utc(browser, live, demo):
    context = browser.new_context(java_script_enabled=False, timezone_id=BROWSER_ZONE)
    pg = context.new_page()
    try:
        _login(pg, live, "admin")
        pg.goto(f"{live}/calls")
        assert re.search(r"Times in UTC", pg.inner_text("main"))
        pg.goto(f"{live}/rota/swaps")
        assert "Times in UTC (UTC: your account has no zone)" in pg.inner_text("main")
    finally:
        context.close()
