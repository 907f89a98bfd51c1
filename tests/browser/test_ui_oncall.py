"""On duty now and next, gaps as links to the rota at that instant, a responder's My shifts
(issue 12, "Expected by users": On duty), at 1366x900 and 390x844."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from voiceline import models as m
from voiceline.models.web import FeedToken
from voiceline.oncall.store import load_policies, load_rotas
from voiceline.rota import on_duty, resolve_policy
from voiceline.web.rota.display import clock
from voiceline.web.rota.mine import own_shifts

from .rota_helpers import WIDTHS, ZONE, link_person, login, no_sideways_scroll, opened, session

TOKYO = ZoneInfo(ZONE)


def _names(app):
    with session(app) as db:
        return {p.id: p.name for p in db.scalars(select(m.Person))}


def _add_gap(app):
    """Remove whoever is on duty in primary for two hours tomorrow: a gap."""
    start = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    with session(app) as db:
        rota = load_rotas(db)["primary"]
        [who] = on_duty(rota, start).people
        db.add(m.Override(rota_id="primary", kind="remove", person_id=who, start=start,
                          end=start + timedelta(hours=2)))
        db.commit()
    return start


@pytest.mark.parametrize("size", WIDTHS, ids=["1366", "390"])
@pytest.mark.parametrize("role", ["responder", "reviewer"])
def test_on_duty_shows_now_and_next_until_in_the_viewers_zone(browser, live, demo, size, role):
    names = _names(demo)
    with opened(browser, size) as pg:
        login(pg, live, role)
        pg.goto(f"{live}/rota/now")
        at = datetime.now(UTC)
        with session(demo) as db:
            rotas, policies = load_rotas(db), load_policies(db)
        for rid, rota in rotas.items():
            now = on_duty(rota, at)
            after = on_duty(rota, now.until)
            card = pg.locator(f"[data-rota='{rid}']")
            now_text, next_text = card.locator("dd.now").inner_text(), card.locator("dd.next").inner_text()
            assert ", ".join(names[p] for p in now.people) in now_text
            assert re.search(rf"until {re.escape(clock(now.until, at, TOKYO))} \(in \d+ (min|h|days)",
                             now_text), now_text
            assert ", ".join(names[p] for p in after.people) in next_text
            assert f"until {clock(after.until, at, TOKYO)}" in next_text
        # every policy step: who it rings now, until when, and who next
        steps = resolve_policy(policies["main"], rotas, at)
        rows = pg.locator("[data-policy='main'] tbody tr")
        assert rows.count() == len(steps) == 3
        primary_change = on_duty(rotas["primary"], at).until
        first = rows.nth(0)
        assert first.locator("td.now").inner_text() == ", ".join(names[p] for p in steps[0].responders)
        assert clock(primary_change, at, TOKYO) in first.locator("td.until").inner_text()
        later = resolve_policy(policies["main"], rotas, primary_change)[0].responders
        assert first.locator("td.next").inner_text() == ", ".join(names[p] for p in later)
        assert "no change ahead" in rows.nth(2).locator("td.until").inner_text()  # a named person
        assert f"Times in {ZONE}" in pg.inner_text("main")
        no_sideways_scroll(pg)
        pg.screenshot(path=f"test-artifacts/screenshots/oncall-{role}-{size[0]}.png", full_page=True)


@pytest.mark.parametrize("size", WIDTHS, ids=["1366", "390"])
def test_a_gap_links_to_the_rota_at_that_instant(browser, live, demo, size):
    start = _add_gap(demo)
    with opened(browser, size) as pg:
        login(pg, live, "rota-manager")
        pg.goto(f"{live}/rota/now")
        card = pg.locator("[data-rota='primary']")
        link = card.locator("ul.gaps a").first
        local = start.astimezone(TOKYO)
        assert link.inner_text().startswith(f"{local:%Y-%m-%d %H:%M}")
        link.click()
        pg.wait_for_load_state()
        assert f"start={local.date().isoformat()}" in pg.url and "days=1" in pg.url
        marked = pg.locator(".tl-mark")
        assert marked.count() == 1
        # the gap block of the final schedule sits exactly under the mark
        gap = pg.locator(".tl-row.final .tl-block.gap").first
        mark_box, gap_box = marked.bounding_box(), gap.bounding_box()
        assert abs(mark_box["x"] - gap_box["x"]) <= 3, (mark_box, gap_box)
        # the policy step that rings primary links to the same instant
        pg.goto(f"{live}/rota/now")
        step_link = pg.locator("[data-policy='main'] p.nobody a").first
        assert step_link.inner_text().startswith(f"{local:%Y-%m-%d %H:%M}")
        assert "/rota/primary?" in step_link.get_attribute("href")


@pytest.mark.parametrize("size", WIDTHS, ids=["1366", "390"])
def test_my_shifts_lists_next_shifts_offers_to_me_and_my_feed(browser, live, demo, size):
    link_person(demo, "responder", "alice")
    now = datetime.now(UTC)
    with session(demo) as db:
        rotas = load_rotas(db)
        expected = own_shifts(rotas, "alice", now, now + timedelta(days=28))
        dmitri = next(s for s in own_shifts(rotas, "dmitri", now + timedelta(hours=1),
                                            now + timedelta(days=28)))
        db.add(m.Swap(rota_id="primary", offered_by="dmitri", start=dmitri["start"] + timedelta(hours=1),
                      end=dmitri["start"] + timedelta(hours=5), status="open", note="dentist"))
        db.add(m.Swap(rota_id="backup", offered_by="boris", start=now + timedelta(days=1),
                      end=now + timedelta(days=1, hours=2), status="open"))  # alice is not in backup
        db.commit()
    assert expected, "alice has shifts in the demo rota"
    with opened(browser, size) as pg:
        login(pg, live, "responder")
        pg.goto(f"{live}/rota/now")
        pg.click("#main >> text=My shifts")  # the page's own link (the menu has one too)
        pg.wait_for_load_state()
        rows = pg.locator("table.my-shifts tbody tr")
        assert rows.count() == min(len(expected), 20)
        first = rows.first.inner_text()
        assert expected[0]["end"].astimezone(TOKYO).strftime("%a %d %b %H:%M") in first
        offers = pg.locator("ul.offered li")
        assert offers.count() == 1 and "Dmitri Volkov offers" in offers.first.inner_text()
        assert "dentist" in offers.first.inner_text()
        assert offers.first.locator("button", has_text="Take it").count() == 1
        no_sideways_scroll(pg)
        pg.screenshot(path=f"test-artifacts/screenshots/my-shifts-{size[0]}.png", full_page=True)
        # "Offer as a swap" opens the Swaps form filled with that shift
        rows.first.locator("a", has_text="Offer as a swap").click()
        pg.wait_for_load_state()
        assert pg.input_value("select[name=offer-rota]") == expected[0]["rota"]
        assert pg.input_value("input[name=offer-end]") == \
            expected[0]["end"].astimezone(TOKYO).strftime("%Y-%m-%dT%H:%M")
        # the feed: made from My shifts, its URL shown once, then counted on My shifts
        pg.goto(f"{live}/rota/mine")
        pg.click("button:has-text('Make a feed of my shifts')")
        pg.wait_for_load_state()
        assert re.search(r"/ical/person/[\w-]+\.ics", pg.inner_text("main"))
        pg.goto(f"{live}/rota/mine")
        assert "You have 1 active feed" in pg.inner_text("main")
    with session(demo) as db:
        [feed] = db.scalars(select(FeedToken)).all()
        assert (feed.kind, feed.target_id) == ("person", "alice")
