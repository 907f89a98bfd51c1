"""The UI in a real browser: each role logs in, an override changes the timeline, the call log
filters and exports CSV. Screenshots are kept in test-artifacts/screenshots/."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

NAV = {  # role -> (nav links it must see, nav links it must not see)
    "admin": ({"Calls", "Metrics", "Rotas"}, set()),
    "rota_manager": ({"Rotas"}, {"Calls", "Metrics"}),
    "reviewer": ({"Calls", "Metrics"}, set()),
    "responder": (set(), {"Calls", "Metrics"}),
}


@pytest.mark.parametrize("role", list(NAV))
def test_each_role_logs_in_and_sees_its_menu(page, live, log_in, role):
    log_in(page, role)
    links = {t.strip() for t in page.locator("nav[aria-label=main] a").all_inner_texts()}
    must, must_not = NAV[role]
    assert must <= links, links
    assert not (must_not & links), links
    page.shot("home")
    response = page.goto(f"{live}/calls")
    assert response.status == (200 if role in ("admin", "reviewer") else 403)
    page.shot("calls")


def test_rota_manager_adds_an_override_and_the_timeline_changes(page, live, log_in):
    log_in(page, "rota_manager")
    page.goto(f"{live}/rota/backup")
    final = page.locator(".tl-row").last
    assert "final schedule" in final.inner_text()
    before = final.inner_html()
    assert "Duty Chief" not in before
    page.shot("before")

    page.click("text=Add an override")
    zone = ZoneInfo("Europe/Moscow")  # the rota's zone (the account has none of its own)
    start = (datetime.now(zone) + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    page.select_option("select[name=kind]", "add")
    page.select_option("select[name=person]", "duty-chief")
    page.fill("input[name=start]", start.strftime("%Y-%m-%dT%H:%M"))
    page.fill("input[name=end]", (start + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("[name=note]", "browser test cover")
    page.shot("form")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live}/rota/backup")
    assert "Override added." in page.inner_text("main")
    after = page.locator(".tl-row").last.inner_html()
    assert after != before and "Duty Chief" in after
    assert "browser test cover" in page.inner_text("main")
    page.shot("after")


def test_reviewer_filters_the_call_log_and_exports_csv(page, live, log_in):
    log_in(page, "reviewer")
    page.goto(f"{live}/calls")
    rows = page.locator("#call-table tbody tr.call")
    assert rows.count() == 6
    page.check("#call-filters input[name=outcome][value=missed]")  # checkboxes since issue 12
    page.click("#call-filters button[type=submit]")
    page.wait_for_load_state()
    assert "outcome=missed" in page.url
    assert rows.count() == 2
    assert set(page.locator("#call-table td.outcome").all_inner_texts()) == {"missed", "missed DURESS"}
    page.shot("filtered")

    with page.expect_download() as info:
        page.click("#export-csv")
    text = open(info.value.path(), encoding="utf-8").read()
    table = list(csv.DictReader(io.StringIO(text)))
    assert [r["outcome"] for r in table] == ["missed", "missed"]
    assert sorted(r["duress"] for r in table) == ["no", "yes"]

    page.locator("#call-table tbody tr.call a").first.click()
    page.wait_for_load_state()
    assert "/calls/CAbrowser" in page.url
    page.click("#timeline-details summary")  # the raw events are collapsed since issue 12
    assert page.locator("#timeline td.what").first.inner_text() == "caller greeted"
    page.shot("call")


def test_reviewer_sees_metrics_charts_and_a_bad_filter_message(page, live, log_in):
    log_in(page, "reviewer")
    page.goto(f"{live}/metrics")
    assert page.locator("figure.chart svg").count() == 3
    assert page.inner_text("#m-offered") == "6"
    assert page.inner_text("#m-rate") == "50.0 %"
    page.shot("metrics")
    response = page.goto(f"{live}/calls?from=last-tuesday")
    assert response.status == 400
    assert "is not a date" in page.inner_text("#filter-problems")
    page.shot("bad-filter")
