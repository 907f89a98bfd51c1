"""The policy page warns when duress alerts have no supervisor to reach (issue 9 §3)."""

from __future__ import annotations

from voiceline import appdb
from voiceline import models as m


def test_policy_page_warns_when_no_supervisor_would_get_a_duress_alert(demo, as_role):
    client = as_role("rota_manager")
    page = client.get("/directory/policies")
    assert page.status_code == 200 and "Escalation policies" in page.get_data(as_text=True)
    assert "duress alerts have no recipient" not in page.get_data(as_text=True)
    with demo.app_context():
        db = appdb.session_factory(demo)()
        db.get(m.Person, "duty-chief").roles = ["manager"]
        db.commit()
        db.close()
    html = client.get("/directory/policies").get_data(as_text=True)
    assert "duress alerts have no recipient" in html
