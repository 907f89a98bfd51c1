"""Warnings beside the field, and "Save anyway" where the slip can be legitimate (issue 12, 4)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from voiceline import appdb
from voiceline import models as m


class _Fields(HTMLParser):
    """Per field (its label's `for`): the warning and error texts shown beside it."""

    def __init__(self, html: str):
        super().__init__()
        self.warnings: dict[str, list[str]] = {}
        self.buttons: list[str] = []
        self._field = None
        self._in_warning = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "label" and a.get("for"):
            self._field = a["for"]
        if tag == "span" and a.get("class") == "warning":
            self._in_warning = True
            self.warnings.setdefault(self._field, []).append("")
        if tag == "button":
            self.buttons.append(a.get("name") or "")

    def handle_endtag(self, tag):
        if tag == "span":
            self._in_warning = False

    def handle_data(self, data):
        if self._in_warning:
            self.warnings[self._field][-1] += data


@pytest.fixture
def manager(demo, as_role):
    return as_role("rota_manager")


def _count(app, model, **where):
    with app.app_context():
        db = appdb.session_factory(app)()
        rows = db.scalars(select(model).filter_by(**where)).all()
        db.close()
        return len(rows)


def test_an_override_that_changes_nothing_is_flagged_then_saved_anyway(app, manager, post_form):
    # 2027-06-23 is dmitri's week in primary: replacing alice then changes nothing.
    data = {"kind": "replace", "person": "carol", "replaces": "alice",
            "start": "2027-06-23T09:00", "end": "2027-06-23T17:00", "note": "warned"}
    first = post_form(manager, "/rota/primary/overrides/new", data=data)
    assert first.status_code == 200
    page = _Fields(first.get_data(as_text=True))
    assert "alice is not on duty in primary in this range" in page.warnings["replaces"][0]
    assert "save_anyway" in page.buttons
    assert _count(app, m.Override, note="warned") == 0
    saved = post_form(manager, "/rota/primary/overrides/new", data={**data, "save_anyway": "yes"})
    assert saved.status_code == 302
    assert _count(app, m.Override, note="warned") == 1


def test_an_override_that_changes_someones_duty_is_saved_at_once(app, manager, post_form):
    response = post_form(manager, "/rota/primary/overrides/new", data={
        "kind": "replace", "person": "carol", "replaces": "dmitri",
        "start": "2027-06-23T09:00", "end": "2027-06-23T17:00", "note": ""})
    assert response.status_code == 302


def test_a_shared_phone_number_is_flagged_then_saved_anyway(app, manager, post_form):
    data = {"id": "desk", "name": "Night desk", "phone": "+1 202 555 0101", "languages": "en",
            "active": "y"}
    first = post_form(manager, "/directory/people/new", data=data)
    assert first.status_code == 200
    page = _Fields(first.get_data(as_text=True))
    assert "+12025550101 is also the phone of Alice Smith" in page.warnings["phone"][0]
    assert _count(app, m.Person, id="desk") == 0
    saved = post_form(manager, "/directory/people/new", data={**data, "save_anyway": "yes"})
    assert saved.status_code == 302 and _count(app, m.Person, id="desk") == 1


def test_the_same_person_in_two_policy_steps_is_flagged(app, manager, post_form):
    data = {"id": "twice", "name": "Twice", "repeat": "0",
            "steps-0-people": ["carol"], "steps-0-ring_seconds": "20",
            "steps-1-people": ["duty-chief", "carol"], "steps-1-ring_seconds": "30"}
    first = post_form(manager, "/directory/policies/new", data=data)
    assert first.status_code == 200
    page = _Fields(first.get_data(as_text=True))
    assert "carol is in step 1 already" in page.warnings["steps-1-people"][0]
    assert _count(app, m.Policy, id="twice") == 0
    saved = post_form(manager, "/directory/policies/new", data={**data, "save_anyway": "yes"})
    assert saved.status_code == 302 and _count(app, m.Policy, id="twice") == 1
