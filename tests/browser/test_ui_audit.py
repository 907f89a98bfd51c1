"""The audit log in a browser: kinds filter (changes only, logins, exports), the call and rota ids
are links, and before/after reads as a field diff, not JSON."""

from __future__ import annotations

SID = "CAbrowser" + "0" * 24


def test_admin_filters_by_kind_follows_links_and_reads_a_diff(page, live, log_in):
    log_in(page, "admin")
    page.goto(f"{live}/calls/{SID}")  # calls.view
    page.goto(f"{live}/rota/backup/edit")
    page.fill("input[name=name]", "Backup desk")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()

    page.goto(f"{live}/admin/audit/")
    page.select_option("#f-kind", "changes")
    page.click("#audit-filters button[type=submit]")
    page.wait_for_load_state()
    assert "kind=changes" in page.url
    actions = set(page.locator("#audit-table > tbody > tr.entry > td:nth-child(4)").all_inner_texts())
    assert "rota.update" in actions and not {a for a in actions if a.startswith(("auth.", "calls."))}
    assert "kind changes only" in page.inner_text("#active-filters")
    row = page.locator("#audit-table > tbody > tr.entry", has_text="rota.update").first
    diff = row.locator("table.diff")
    assert diff.locator("tbody tr").count() == 1  # only the name changed
    assert diff.locator("tbody th").inner_text() == "name"
    assert diff.locator("del").inner_text() == "Backup (day / night)"
    assert diff.locator("ins").inner_text() == "Backup desk"
    assert "{" not in row.inner_text()
    page.shot("changes")
    row.locator("td.target a", has_text="backup").click()
    page.wait_for_load_state()
    assert page.url == f"{live}/rota/backup"

    page.goto(f"{live}/admin/audit/?kind=logins")
    logins = set(page.locator("#audit-table > tbody > tr.entry > td:nth-child(4)").all_inner_texts())
    assert logins == {"auth.login"}
    page.goto(f"{live}/admin/audit/?kind=views")
    page.locator("#audit-table td.target a", has_text=SID).first.click()
    page.wait_for_load_state()
    assert page.url == f"{live}/calls/{SID}"

    page.goto(f"{live}/admin/audit/")
    page.locator("#audit-table td.who a", has_text="user:admin").first.click()
    page.wait_for_load_state()
    assert "actor=user:admin" in page.url.replace("%3A", ":")
    assert set(page.locator("#audit-table > tbody > tr.entry > td.who").all_inner_texts()) == {"user:admin"}
