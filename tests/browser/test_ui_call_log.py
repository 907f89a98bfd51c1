"""The call log filter states itself (issue 12, item 6), and the CSV speaks words (item 8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from voiceline import appdb
from voiceline.models.calls import Call, CallEvent

from .conftest import PASSWORD


def _rejected_call(app):
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    with app.app_context():
        db = appdb.session_factory(app)()
        call = Call(sid="CArejected0000000000000000000001", hotline_id="liaison",
                    to_number="+12025550100", from_number="+12025550199", verified=False,
                    state="done", started_at=start, outcome="rejected", ended_at=start)
        call.events.append(CallEvent(at=start, kind="not_allowed", detail={"number": "+12025550199"}))
        db.add(call)
        db.commit()
        db.close()


def test_call_log_filter_shows_what_it_filters_and_why_calls_were_rejected(page, live, demo):
    _rejected_call(demo)
    page.goto(f"{live}/login")
    page.fill("input[name=username]", "reviewer")
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()

    page.goto(f"{live}/calls?outcome=answered,voicemail")
    boxes = page.locator("#call-filters input[name=outcome]")
    ticked = {boxes.nth(i).get_attribute("value") for i in range(boxes.count())
              if boxes.nth(i).is_checked()}
    assert ticked == {"answered", "voicemail"}
    assert "outcome answered or voicemail" in page.inner_text("#active-filters")
    assert set(page.locator("#call-table td.outcome").all_inner_texts()) <= {"answered", "voicemail"}
    # Submitting the form as shown keeps the same filter.
    page.click("#call-filters button[type=submit]")
    page.wait_for_load_state()
    assert "outcome answered or voicemail" in page.inner_text("#active-filters")

    # Every control has a label tied to it; every column a header.
    unlabelled = page.evaluate("""() => [...document.querySelectorAll(
        '#call-filters input, #call-filters select')].filter(c => !c.labels || !c.labels.length)
        .map(c => c.name)""")
    assert unlabelled == []
    headers = page.locator("#call-table thead th").all_inner_texts()
    assert headers and all(h.strip() for h in headers), headers

    page.goto(f"{live}/calls?outcome=rejected")
    assert page.locator("#call-table td.outcome").all_inner_texts() == [
        "rejected (not on the allowlist)"]
    page.goto(f"{live}/calls")
    assert "no filter" in page.inner_text("#active-filters")
