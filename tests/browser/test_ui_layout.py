"""The site-wide layout (base.html, voiceline.css, the _forms.html macros): a skip link, a menu
that collapses into a <details> on a phone (without JavaScript), visible focus rings, an error
summary that takes the focus with every field tied to its errors, charts as wide as the phone."""

from __future__ import annotations

import pytest

PHONE = (390, 844)
DESK = (1366, 900)


def test_phone_menu_is_collapsed_and_opens_without_javascript(site_page, live, log_in):
    pg = site_page(*PHONE, java_script_enabled=False)
    log_in(pg, "admin")
    pg.goto(f"{live}/rota/")
    assert not pg.locator("nav.nav-wide").is_visible()
    menu = pg.locator("details.nav-narrow")
    assert menu.is_visible() and menu.get_attribute("open") is None
    link = menu.locator("nav a", has_text="Audit log")
    assert not link.is_visible()
    menu.locator("summary").click()
    assert link.is_visible()
    link.click()
    pg.wait_for_load_state()
    assert pg.url.endswith("/admin/audit/")
    assert pg.evaluate("() => document.documentElement.scrollWidth") <= PHONE[0]


def test_desk_menu_is_inline(site_page, live, log_in):
    pg = site_page(*DESK)
    log_in(pg, "admin")
    pg.goto(f"{live}/rota/")
    assert not pg.locator("details.nav-narrow").is_visible()
    assert pg.locator("nav.nav-wide a", has_text="Audit log").is_visible()


def test_skip_link_comes_first_and_focus_is_visible(site_page, live, log_in):
    pg = site_page(*DESK)
    log_in(pg, "admin")
    pg.goto(f"{live}/rota/")
    pg.keyboard.press("Tab")
    focused = pg.evaluate("() => [document.activeElement.className, document.activeElement.innerText]")
    assert focused == ["skip-link", "Skip to the content"]
    box = pg.locator(".skip-link").bounding_box()
    assert box and box["y"] >= 0  # on screen once focused
    pg.keyboard.press("Enter")
    assert pg.evaluate("() => document.activeElement.id") == "main"
    pg.goto(f"{live}/rota/")
    for _ in range(3):  # skip link, brand, first menu link
        pg.keyboard.press("Tab")
    ring = pg.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return [document.activeElement.tagName, s.outlineStyle, parseFloat(s.outlineWidth)]; }""")
    assert ring[0] == "A" and ring[1] == "solid" and ring[2] >= 2, ring


@pytest.mark.parametrize("size", [DESK, PHONE], ids=["desk", "phone"])
def test_form_errors_are_summarised_focused_and_tied_to_fields(site_page, live, log_in, axe, size):
    pg = site_page(*size)
    log_in(pg, "admin")
    pg.goto(f"{live}/directory/people/new")
    pg.fill("input[name=id]", "Not An Id!")
    pg.fill("input[name=name]", "Test Person")
    pg.fill("input[name=phone]", "12")
    pg.click("main form button[type=submit]")
    pg.wait_for_load_state()
    summary = pg.locator("#error-summary")
    assert summary.get_attribute("role") == "alert"
    assert pg.evaluate("() => document.activeElement.id") == "error-summary"
    links = summary.locator("a")
    targets = [h.lstrip("#") for h in links.evaluate_all("els => els.map(e => e.getAttribute('href'))")]
    assert set(targets) == {"id", "phone"}, targets
    for name in targets:
        field = pg.locator(f"#{name}")
        assert field.get_attribute("aria-invalid") == "true"
        described = field.get_attribute("aria-describedby").split()
        texts = [pg.locator(f"#{ref}").inner_text() for ref in described]
        errors = pg.locator(f".field:has(#{name}) .error").all_inner_texts()
        assert errors and set(errors) <= set(texts), (texts, errors)
        assert pg.locator(f"label[for={name}]").count() == 1
    assert pg.locator("#name").get_attribute("aria-invalid") is None
    links.first.click()
    assert pg.evaluate("() => document.activeElement.id") == targets[0]
    assert axe(pg) == []


def test_charts_scale_to_a_phone(site_page, live, log_in):
    pg = site_page(*PHONE)
    log_in(pg, "reviewer")
    pg.goto(f"{live}/metrics")
    widths = pg.locator("figure.chart svg").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().width)")
    assert len(widths) == 3
    assert all(300 <= w <= PHONE[0] for w in widths), widths
    assert pg.evaluate("() => document.documentElement.scrollWidth") <= PHONE[0]
