"""Editing a layer (issue 12, "Expected by users": Editing), at 1366x900 and 390x844 as a rota
manager: a member picker reordered by buttons that post (no JavaScript), a time-zone picker from
the IANA list, and a preview of the final schedule before a layer edit is saved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from sqlalchemy import select

from voiceline import models as m
from voiceline.oncall.store import load_rotas
from voiceline.rota import shifts

from .rota_helpers import WIDTHS, login, no_sideways_scroll, opened, session

IDS = ["1366", "390"]
NEW_YORK = ZoneInfo("America/New_York")


def _layer(app, rota="primary"):
    with session(app) as db:
        layer = db.scalar(select(m.Layer).where(m.Layer.rota_id == rota))
        return layer.id, len(layer.versions)


def _versions(app, layer_id):
    with session(app) as db:
        return sorted((v.members, v.valid_from) for v in db.get(m.Layer, layer_id).versions)


def _order(pg):
    return [v.get_attribute("value") for v in pg.locator("ol.members input[name=member]").all()]


@pytest.mark.parametrize("size", WIDTHS, ids=IDS)
def test_members_reordered_without_javascript_then_previewed_then_saved(browser, live, demo, size):
    layer_id, count = _layer(demo)
    before = _versions(demo, layer_id)
    with opened(browser, size, js=False) as pg:
        login(pg, live, "rota-manager")
        pg.goto(f"{live}/rota/primary/layers/{layer_id}")
        assert _order(pg) == ["alice", "dmitri", "grace"]
        pg.click("button[aria-label='Move Grace Lee up']")
        pg.wait_for_load_state()
        assert _order(pg) == ["alice", "grace", "dmitri"]
        pg.select_option("select[name=add_member]", "carol")
        pg.click("button:has-text('Add to the end')")
        pg.wait_for_load_state()
        pg.click("button[aria-label='Remove Dmitri Volkov']")
        pg.wait_for_load_state()
        assert _order(pg) == ["alice", "grace", "carol"]
        assert pg.locator("button[aria-label='Move Alice Smith up']").is_disabled()
        assert _versions(demo, layer_id) == before  # moving members writes nothing
        no_sideways_scroll(pg)
        # Preview: the engine's final schedule with the edit, nothing written
        pg.get_by_role("button", name="Preview", exact=True).click()
        pg.wait_for_load_state()
        assert pg.locator("#preview-title").is_visible()
        # without JavaScript the account took no zone from the browser: the rota's, labelled
        assert "America/New_York (the rota's zone" in pg.inner_text("#preview")
        rows = pg.locator("table.preview-changes tbody tr")
        shown = [r.locator("td").first.inner_text() for r in rows.all()]
        assert shown and rows.locator("text=changed:").count() >= 1
        assert _versions(demo, layer_id) == before
        pg.screenshot(path=f"test-artifacts/screenshots/layer-preview-{size[0]}.png", full_page=True)
        no_sideways_scroll(pg)
        # a field changed after the preview is previewed again, not saved
        pg.fill("input[name=period]", "2w")
        pg.click("button:has-text('Save this change')")
        pg.wait_for_load_state()
        assert pg.locator("#preview-title").is_visible()
        assert _versions(demo, layer_id) == before
        pg.fill("input[name=period]", "1w")
        pg.click("button:has-text('Preview again')")
        pg.wait_for_load_state()
        assert [r.locator("td").first.inner_text() for r in rows.all()] == shown
        pg.click("button:has-text('Save this change')")
        pg.wait_for_load_state()
        assert "Layer saved" in pg.inner_text("main")
        saved_at = datetime.now(UTC)
    after = _versions(demo, layer_id)
    assert len(after) == count + 1 and after[-1][0] == ["alice", "grace", "carol"]
    # what was previewed is what is now in force: the same instants of change
    with session(demo) as db:
        rota = load_rotas(db)["primary"]
    segments = shifts(rota, saved_at, saved_at + timedelta(days=14))
    changes = [s.start.astimezone(NEW_YORK).strftime("%a %d %b %H:%M") for s in segments[1:]]
    assert changes[:len(shown)] == shown


@pytest.mark.parametrize("size", WIDTHS, ids=IDS)
def test_time_zone_picker_offers_the_iana_list(browser, live, demo, size):
    with opened(browser, size) as pg:
        login(pg, live, "rota-manager")
        pg.goto(f"{live}/rota/new")
        field = pg.locator("input[name=timezone]")
        assert field.get_attribute("list") == "iana-zones"
        options = pg.locator("datalist#iana-zones option")
        values = set(options.evaluate_all("os => os.map(o => o.value)"))
        expected = {z for z in available_timezones() if not z.startswith(("Etc/", "SystemV/"))}
        assert values == expected and "Europe/Moscow" in values
        assert pg.locator("datalist#iana-zones option[value='Asia/Kolkata']").text_content() == "Asia"
        pg.fill("input[name=id]", "desk")
        field.fill("Asia/Kolkata")
        pg.click("main form button[type=submit]")
        pg.wait_for_load_state()
        assert "/rota/desk/layers/new" in pg.url
        no_sideways_scroll(pg)
    with session(demo) as db:
        assert db.get(m.Rota, "desk").timezone == "Asia/Kolkata"
