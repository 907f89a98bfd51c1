"""The policy form sets `ring`; the policy pages say when conference is served in dial mode."""

from __future__ import annotations

import pytest

from voiceline import appdb
from voiceline import models as m


@pytest.fixture
def manager(demo, as_role):
    return as_role("rota_manager")


def test_policy_form_sets_conference_and_the_page_says_dial_without_credentials(app, manager, post_form):
    response = post_form(manager, "/directory/policies/new", data={
        "id": "conf", "name": "Conference", "repeat": "0", "ring": "conference",
        "steps-0-people": ["alice"], "steps-0-ring_seconds": "20"})
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        db = appdb.session_factory(app)()
        assert db.get(m.Policy, "conf").ring == "conference"
        db.close()
    page = manager.get("/directory/policies").get_data(as_text=True)
    assert "served in dial mode" in page and "TWILIO_ACCOUNT_SID" in page
    form = manager.get("/directory/policies/conf").get_data(as_text=True)
    assert "Served in dial mode" in form


def _live_conference_call(app):
    from datetime import UTC, datetime

    from voiceline.models.calls import Call
    from voiceline.models.web import User

    with app.app_context():
        db = appdb.session_factory(app)()
        call = Call(sid="CAlisten", hotline_id="liaison", state="connected", answered_by="alice",
                    started_at=datetime(2026, 3, 10, 15, 0, tzinfo=UTC), step=1,
                    meta={"ring": "conference"})
        db.add(call)
        reviewer = db.query(User).filter_by(username="reviewer").one()
        reviewer.person_id = "duty-chief"  # a person with the supervisor role
        db.commit()
        db.close()


@pytest.fixture
def rest(app):
    from voiceline.calls.fake_rest import ACCOUNT_SID, FakeRest
    from voiceline.extensions import HTTP_CLIENT

    fake = FakeRest()
    app.config["TWILIO_ACCOUNT_SID"] = ACCOUNT_SID
    app.extensions[HTTP_CLIENT] = fake
    app.extensions["voiceline.dialer"] = "inline"
    return fake


def test_a_supervisor_listens_in_muted_audited_and_checked(demo, as_role, post_form, rest):
    from sqlalchemy import select

    from voiceline.models.shared import AuditEntry

    _live_conference_call(demo)
    supervisor = as_role("reviewer")
    page = supervisor.get("/calls/CAlisten").get_data(as_text=True)
    assert "Listen in, muted" in page
    assert supervisor.post("/calls/CAlisten/listen").status_code == 400  # no CSRF token
    done = post_form(supervisor, "/calls/CAlisten", "/calls/CAlisten/listen")
    assert done.status_code == 302
    created = rest.created()
    assert [c["To"] for c in created] == ["+12025550109"]
    assert "/voice/conference/screen?leg=" in created[0]["Url"]
    manager = as_role("rota_manager")
    assert manager.post("/calls/CAlisten/listen").status_code in (400, 403)
    with demo.app_context():
        db = appdb.session_factory(demo)()
        audits = db.scalars(select(AuditEntry).where(AuditEntry.action == "calls.listen")).all()
        assert len(audits) == 1 and audits[0].target == "CAlisten"
        db.close()


def test_call_page_timeline_says_who_joined_when(demo, as_role):
    from pathlib import Path

    from voiceline.calls.replay import in_process_twilio, load_fixture, replay

    fixture = load_fixture(Path(__file__).resolve().parents[2] / "fixtures" / "calls"
                           / "conference-colleague.yaml")
    outcomes = replay(fixture, in_process_twilio(demo), app=demo)
    assert all(o.ok for o in outcomes), [o.problems for o in outcomes if not o.ok]
    sid = fixture["steps"][0]["params"]["CallSid"]
    page = as_role("reviewer").get(f"/calls/{sid}").get_data(as_text=True)
    assert "Alice Smith joined (took the call)" in page
    assert "Alice Smith brought in step 3: Duty Chief Officer" in page
    assert "Duty Chief Officer joined (brought in by a colleague)" in page
