"""The coverage page: gaps and broken coverage rules across rotas and policy steps, with links;
the rules are set on the rota form and the policy form."""

from __future__ import annotations

import re

import pytest

from voiceline import appdb
from voiceline import models as m
from voiceline.instants import parse_instant


@pytest.fixture
def manager(demo, as_role):
    return as_role("rota_manager")


def _get(app, model, key):
    with appdb.session_factory(app)() as db:
        row = db.get(model, key)
        db.expunge_all()
        return row


def test_the_rota_form_sets_rules_the_coverage_page_lists(app, manager, post_form):
    response = post_form(manager, "/rota/backup/edit", data={
        "id": "backup", "name": "Backup (day / night)", "timezone": "Europe/Moscow",
        "max_shift_hours": "12", "min_rest_hours": "10"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert _get(app, m.Rota, "backup").coverage == {"max_shift_hours": 12, "min_rest_hours": 10}
    form = manager.get("/rota/backup/edit").get_data(as_text=True)
    [field] = re.findall(r'<input[^>]*name="max_shift_hours"[^>]*>', form)
    assert 'value="12"' in field

    # carol has nights from Mon 20:00 and days from Tue 08:00 Moscow: 24 h in a row
    html = manager.get("/rota/coverage?at=2026-01-06T00:00:00Z&days=1").get_data(as_text=True)
    assert "Carol Jones on duty 24 h in a row (max 12 h)" in html
    assert "Boris Ivanov on duty 24 h in a row (max 12 h)" in html
    assert 'href="/rota/backup?start=2026-01-06"' in html
    assert "No gaps and no broken rules" not in html


def test_a_gap_is_listed_with_a_link_to_each_rota_of_the_step(app, manager, post_form):
    with appdb.session_factory(app)() as db:
        db.add(m.Override(rota_id="primary", kind="remove", person_id="alice",
                          start=parse_instant("2026-01-07T00:00:00Z"),
                          end=parse_instant("2026-01-07T06:00:00Z")))
        db.commit()
    html = manager.get("/rota/coverage?at=2026-01-06T00:00:00Z&days=2").get_data(as_text=True)
    rows = [r for r in html.split("<tr") if "coverage-gap" in r]
    assert len(rows) == 2  # the rota, and policy main step 1 (which rings the rota)
    assert "Rota Primary liaison (weekly)" in rows[0] + rows[1]
    assert "Policy main, step 1" in rows[0] + rows[1]
    assert all('href="/rota/primary?start=2026-01-06"' in r for r in rows)  # New York's date


def test_a_policy_step_rule_is_saved_from_the_policy_form(app, manager, post_form):
    response = post_form(manager, "/directory/policies/main", data={
        "id": "main", "name": "Main", "repeat": "1",
        "steps-0-rotas": ["primary"], "steps-0-ring_seconds": "25", "steps-0-min_people": "2",
        "steps-1-rotas": ["backup"], "steps-1-ring_seconds": "25",
        "steps-2-people": ["duty-chief"], "steps-2-ring_seconds": "30"})
    assert response.status_code == 302, response.get_data(as_text=True)
    with appdb.session_factory(app)() as db:
        steps = db.get(m.Policy, "main").steps
        assert [s.coverage for s in steps] == [{"min_people": 2}, None, None]
    html = manager.get("/rota/coverage?at=2026-01-06T00:00:00Z&days=1").get_data(as_text=True)
    assert "Policy main, step 1" in html and "Only 1 on duty (min 2)" in html


def test_days_out_of_range_is_a_400(manager):
    assert manager.get("/rota/coverage?days=0").status_code == 400
    assert manager.get("/rota/coverage?days=x").status_code == 400
