"""The rota timeline (issue 12, "Expected by users": Rota timeline), at 1366x900 and 390x844: a
now line, ticks readable at a day and 1, 2, 4 weeks, a colour per person with a legend, labels
never cut (a list row instead), start/end/zone on hover and on focus, a click on a shift to
override it or offer it as a swap, zoom by day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from voiceline import models as m
from voiceline.oncall.store import load_rotas
from voiceline.rota import on_duty
from voiceline.web.rota.scale import colour

from .rota_helpers import WIDTHS, ZONE, link_person, login, no_sideways_scroll, opened, session

TOKYO = ZoneInfo(ZONE)
IDS = ["1366", "390"]

OVERLAPS = """(sel) => {
  const boxes = [...document.querySelectorAll(sel)].map(e => e.getBoundingClientRect())
    .filter(b => b.width > 0).sort((a, b) => a.left - b.left);
  const bad = [];
  for (let i = 1; i < boxes.length; i++) if (boxes[i].left < boxes[i - 1].right) bad.push(i);
  return {count: boxes.length, bad: bad};
}"""

CUT_LABELS = """() => [...document.querySelectorAll('.timeline .tl-text')]
  .filter(t => t.getClientRects().length && t.scrollWidth > t.clientWidth + 1).map(t => t.textContent)"""


@pytest.mark.parametrize("size", WIDTHS, ids=IDS)
def test_ticks_stay_readable_and_the_now_line_sits_at_now(browser, live, demo, size):
    today = datetime.now(TOKYO).date().isoformat()
    with opened(browser, size) as pg:
        login(pg, live, "responder")
        for query, day_labels in [("days=1", 1), ("weeks=1", 7), ("weeks=2", 14), ("weeks=4", 4)]:
            pg.goto(f"{live}/rota/backup?start={today}&{query}")
            for line in (".tl-days .tl-tick-label", ".tl-hours .tl-tick-label"):
                found = pg.evaluate(OVERLAPS, line)
                assert not found["bad"], (query, line, found)
            days = pg.locator(".tl-days .tl-tick-label")
            assert days.count() >= day_labels, query
            if query == "weeks=4":  # only Mondays are named: each label is a whole "Mon 07"
                assert all(t.startswith("Mon ") for t in days.all_inner_texts())
            if query in ("days=1", "weeks=1"):
                assert pg.locator(".tl-hours .tl-tick-label").count() >= 7
            assert pg.evaluate(CUT_LABELS) == [], query
            no_sideways_scroll(pg)
            # the now line: where now is on the track, within half a percent
            line = pg.locator(".tl-now")
            assert line.count() == 1
            left = float(line.get_attribute("style").split("left:")[1].rstrip("%"))
            start = datetime.fromisoformat(today).replace(tzinfo=TOKYO)
            span = {"days=1": 1, "weeks=1": 7, "weeks=2": 14, "weeks=4": 28}[query]
            expected = (datetime.now(UTC) - start) / timedelta(days=span) * 100
            assert abs(left - expected) < 0.5, (query, left, expected)
        pg.screenshot(path=f"test-artifacts/screenshots/timeline-4w-{size[0]}.png", full_page=True)
        pg.goto(f"{live}/rota/backup?start={today}&weeks=5")  # past now: no line
        pg.goto(f"{live}/rota/backup?start=2020-01-06&weeks=1")
        assert pg.locator(".tl-now").count() == 0


@pytest.mark.parametrize("size", WIDTHS, ids=IDS)
def test_colour_per_person_is_stable_and_short_shifts_fall_back_to_a_list(browser, live, demo, size):
    with session(demo) as db:
        names = {p.id: p.name for p in db.scalars(select(m.Person))}
    with opened(browser, size) as pg:
        login(pg, live, "reviewer")
        seen: dict[str, set[str]] = {}
        for path in ("/rota/primary?weeks=4", "/rota/backup?weeks=1", "/rota/backup?weeks=4"):
            pg.goto(f"{live}{path}")
            legend = {li.get_attribute("data-person"): li.locator(".swatch").get_attribute("class")
                      for li in pg.locator(".tl-legend li[data-person]").all()}
            for pid, css in legend.items():
                assert css.split() == ["swatch", colour(pid)]
                seen.setdefault(pid, set()).add(css)
            # every final-schedule block of one person has that person's legend colour
            for block in pg.locator(".tl-row.final .tl-block").all():
                tip = block.locator(".tl-tip").inner_text()
                person = next((p for p, n in names.items() if tip.startswith(n)), None)
                if person:
                    assert colour(person) in block.get_attribute("class").split(), tip
            # no label is ever cut: bare blocks are listed whole in the row below
            assert pg.evaluate(CUT_LABELS) == [], path
            bare = pg.locator(".tl-row.final .tl-block.tl-bare")
            assert pg.evaluate("""() => [...document.querySelectorAll('.tl-bare .tl-text')]
                .every(t => t.getClientRects().length === 0)""")  # a bare block shows no text
            listed = pg.locator(".tl-row.final + .tl-listrow li")
            assert bare.count() == listed.count(), path
            if bare.count():
                assert listed.first.text_content() == bare.first.locator(".tl-tip").text_content()
        assert all(len(v) == 1 for v in seen.values()), seen
        assert {"alice", "dmitri", "grace", "boris", "carol"} <= set(seen)
        pg.goto(f"{live}/rota/backup?weeks=4")
        assert pg.locator(".tl-listrow").count() >= 1  # 12-hour shifts over four weeks
        pg.screenshot(path=f"test-artifacts/screenshots/timeline-list-{size[0]}.png", full_page=True)


@pytest.mark.parametrize("size", WIDTHS, ids=IDS)
def test_start_end_and_zone_on_hover_and_on_keyboard_focus(browser, live, demo, size):
    with opened(browser, size) as pg:
        login(pg, live, "responder")
        pg.goto(f"{live}/rota/backup?weeks=1")
        block = pg.locator(".tl-row.final .tl-block").nth(1)
        tip = block.locator(".tl-tip")
        assert not tip.is_visible()
        block.scroll_into_view_if_needed()
        block.hover()
        assert tip.is_visible()
        text = tip.inner_text()
        assert f"({ZONE})" in text and " – " in text, text
        pg.mouse.move(0, 0)
        assert not tip.is_visible()
        # keyboard: Tab from the zoom links reaches the blocks, and focus shows the same text
        pg.locator(".tl-zoom a").last.focus()
        for _ in range(60):
            pg.keyboard.press("Tab")
            if pg.evaluate("document.activeElement.classList.contains('tl-block')"):
                break
        else:
            raise AssertionError("no timeline block is reachable by Tab")
        focused = pg.locator(".tl-block:focus .tl-tip")
        assert focused.is_visible() and f"({ZONE})" in focused.inner_text()


@pytest.mark.parametrize("size", WIDTHS, ids=IDS)
def test_click_a_shift_to_override_it(browser, live, demo, size):
    at = datetime.now(UTC) + timedelta(days=2)
    with session(demo) as db:
        duty = on_duty(load_rotas(db)["primary"], at)
    [who] = duty.people
    with opened(browser, size) as pg:
        login(pg, live, "rota-manager")
        pg.goto(f"{live}/rota/primary?weeks=2")
        blocks = pg.locator(".tl-row.final .tl-block").all()
        target = next(b for b in blocks if parse_qs(urlsplit(b.get_attribute("href")).query)[
            "end"] == [duty.until.strftime("%Y-%m-%dT%H:%M:%SZ")])
        target.click()
        pg.wait_for_load_state()
        assert "/rota/primary/shift?" in pg.url
        pg.click("a.button:has-text('Override: replace')")
        pg.wait_for_load_state()
        assert pg.input_value("select[name=kind]") == "replace"
        assert pg.input_value("select[name=replaces]") == who
        end_local = duty.until.astimezone(TOKYO).strftime("%Y-%m-%dT%H:%M")
        assert pg.input_value("input[name=end]") == end_local
        pg.select_option("select[name=person]", "grace" if who != "grace" else "alice")
        pg.click("main form button[type=submit]")
        pg.wait_for_load_state()
        assert "Override added." in pg.inner_text("main"), pg.inner_text("main")
    with session(demo) as db:
        [row] = db.scalars(select(m.Override).where(m.Override.note == "")).all()
        assert (row.kind, row.replaces_id, row.end) == ("replace", who, duty.until)


@pytest.mark.parametrize("size", WIDTHS, ids=IDS)
def test_a_responder_clicks_their_shift_to_offer_it_and_zooms_to_a_day(browser, live, demo, size):
    link_person(demo, "responder", "carol")
    with opened(browser, size) as pg:
        login(pg, live, "responder")
        pg.goto(f"{live}/rota/backup?weeks=1")
        pg.locator(".tl-row.final .tl-block", has_text="Carol Jones").first.click()
        pg.wait_for_load_state()
        assert pg.locator("a.button:has-text('Override')").count() == 0  # not a manager
        pg.click("a.button:has-text('Offer it as a swap')")
        pg.wait_for_load_state()
        assert pg.input_value("select[name=offer-rota]") == "backup"
        assert pg.input_value("select[name=offer-person]") == "carol"
        assert pg.input_value("input[name=offer-start]")
        # zoom by day from a day's tick label
        pg.goto(f"{live}/rota/backup?weeks=1")
        label = pg.locator(".tl-days a.tl-tick-label").nth(2)
        label.click()
        pg.wait_for_load_state()
        assert "days=1" in pg.url
        assert pg.locator(".tl-zoom a[aria-current]").inner_text() == "1 day"
        assert pg.locator(".tl-hours .tl-tick-label").count() >= 11  # every two hours
        no_sideways_scroll(pg)
