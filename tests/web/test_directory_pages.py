"""Directory pages: people, callers with PIN reset, policies and hotlines."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from voiceline import appdb
from voiceline import models as m
from voiceline.models.shared import AuditEntry
from voiceline.pins import PinKeys, verify_pin


@pytest.fixture
def manager(demo, as_role):
    return as_role("rota_manager")


def _get(app, model, key):
    with app.app_context():
        db = appdb.session_factory(app)()
        row = db.get(model, key)
        if row is not None and model is m.Caller:
            row.numbers  # noqa: B018  (load before closing)
        db.close()
        return row


def test_add_person_with_html_name_is_escaped(app, manager, post_form):
    response = post_form(manager, "/directory/people/new", data={
        "id": "zoe", "name": "<script>alert(1)</script>", "phone": "202 555 0177",
        "languages": "en, ru", "timezone": "Europe/Paris", "manager": "y", "active": "y"})
    assert response.status_code == 302
    zoe = _get(app, m.Person, "zoe")
    assert (zoe.phone, zoe.languages, zoe.roles) == ("+12025550177", ["en", "ru"], ["manager"])
    html = manager.get("/directory/people").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html


def test_person_errors_beside_fields_and_nothing_saved(app, manager, post_form):
    response = post_form(manager, "/directory/people/new", data={
        "id": "alice", "name": "Dup", "phone": "not a phone", "languages": "english"})
    html = response.get_data(as_text=True)
    assert "not a language tag" in html.split('for="languages"')[1].split("</div>")[0]
    phone = html.split('for="phone"')[1].split("</div>")[0]
    assert 'class="error"' in phone
    assert _get(app, m.Person, "alice").name == "Alice Smith"


def test_edit_person_is_audited_with_before_and_after(app, manager, post_form):
    response = post_form(manager, "/directory/people/carol", data={
        "id": "carol", "name": "Carol Jones-Smith", "phone": "+44 20 7946 0018", "languages": "en",
        "timezone": "Europe/London", "active": "y"})
    assert response.status_code == 302
    with app.app_context():
        db = appdb.session_factory(app)()
        entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "person.update"))
        assert entry.detail["before"]["name"] == "Carol Jones"
        assert entry.detail["after"]["name"] == "Carol Jones-Smith"
        db.close()


def test_caller_numbers_are_unique_and_pin_reset(app, manager, post_form):
    clash = post_form(manager, "/directory/callers/new", data={
        "id": "new-desk", "name": "New desk", "phones": "+7 495 000-00-01"})
    assert "belongs to caller &#39;ops-desk&#39;" in clash.get_data(as_text=True) or \
        "belongs to caller 'ops-desk'" in clash.get_data(as_text=True)
    assert _get(app, m.Caller, "new-desk") is None
    mismatch = post_form(manager, "/directory/callers/ops-desk/pin", data={
        "which": "pin", "pin": "1234", "confirm": "4321"})
    assert "the two entries differ" in mismatch.get_data(as_text=True)
    short = post_form(manager, "/directory/callers/ops-desk/pin", data={
        "which": "pin", "pin": "12", "confirm": "12"})
    assert "4 to 8 digits" in short.get_data(as_text=True)
    ok = post_form(manager, "/directory/callers/ops-desk/pin", data={
        "which": "pin", "pin": "2468", "confirm": "2468"})
    assert ok.status_code == 302
    assert verify_pin(_get(app, m.Caller, "ops-desk").pin_hash, "2468", PinKeys.from_config(app.config)).ok
    same = post_form(manager, "/directory/callers/ops-desk/pin", data={
        "which": "duress", "pin": "2468", "confirm": "2468"})
    assert "must differ" in same.get_data(as_text=True)
    post_form(manager, "/directory/callers/ops-desk/pin", data={"which": "pin", "clear": "y"})
    assert _get(app, m.Caller, "ops-desk").pin_hash is None
    with app.app_context():
        db = appdb.session_factory(app)()
        details = [e.detail for e in db.scalars(select(AuditEntry).where(
            AuditEntry.action.in_(["caller.set_pin", "caller.clear_pin"])))]
        assert details == [{"which": "pin"}, {"which": "pin"}]  # never the PIN
        db.close()


def test_edit_caller_phones(app, manager, post_form):
    response = post_form(manager, "/directory/callers/embassy-duty", data={
        "id": "embassy-duty", "name": "Embassy duty officer", "org": "Embassy",
        "phones": "+7 495 000-00-03\n+7 495 000-00-09", "active": "y"})
    assert response.status_code == 302
    assert _get(app, m.Caller, "embassy-duty").numbers == ["+74950000003", "+74950000009"]


def test_policy_steps_and_hotline(app, manager, post_form):
    response = post_form(manager, "/directory/policies/new", data={
        "id": "night", "name": "Night", "repeat": "2",
        "steps-0-rotas": ["backup"], "steps-0-ring_seconds": "20",
        "steps-1-people": ["duty-chief", "carol"], "steps-1-ring_seconds": "30",
        "steps-2-ring_seconds": "25"})
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        db = appdb.session_factory(app)()
        policy = db.get(m.Policy, "night")
        assert [(s.rotas, sorted(s.people), s.ring_seconds) for s in policy.steps] == [
            (["backup"], [], 20), ([], ["carol", "duty-chief"], 30)]
        db.close()
    empty = post_form(manager, "/directory/policies/new", data={"id": "empty", "steps-0-ring_seconds": "25"})
    assert "at least one step" in empty.get_data(as_text=True)
    hotline = post_form(manager, "/directory/hotlines/new", data={
        "id": "night-line", "name": "Night line", "number": "+1 202 555 0199", "policy_id": "night",
        "languages": "en-US", "caller_policy": "allowlist"})
    assert hotline.status_code == 302
    assert _get(app, m.Hotline, "night-line").policy_id == "night"
    dup = post_form(manager, "/directory/hotlines/new", data={
        "id": "dup", "number": "+1 202 555 0100", "policy_id": "main", "languages": "en-US",
        "caller_policy": "pin"})
    assert "is hotline" in dup.get_data(as_text=True)
