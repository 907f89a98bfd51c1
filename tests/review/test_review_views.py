"""Reviewer pages over HTTP: roles, filters, the call page, CSV, recordings, metrics, audit."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from voiceline.models.shared import AuditEntry
from voiceline.web.review import recording

REC_URL = "https://api.twilio.com/2010-04-01/Accounts/AC123/Recordings/RE123"


def audits(session, action):
    session.expire_all()
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                .order_by(AuditEntry.id)))


def rows_of(html: str) -> list[str]:
    return re.findall(r'data-sid="(CA\d+)"', html)


@pytest.fixture
def calls(demo, session, mk):
    mk(1, legs=[("alice", "declined", "completed"), ("grace", "accepted", "completed")],
       answered_by="grace")
    mk(2, outcome="voicemail", recording_url=REC_URL, legs=[("alice", None, "no-answer")])
    mk(3, outcome="missed", duress=True, priority=1)
    session.commit()
    return session


@pytest.mark.parametrize("role, status", [("responder", 403), ("rota_manager", 403),
                                          ("reviewer", 200), ("admin", 200)])
def test_only_reviewers_and_admins_read_the_log(client, calls, login, role, status):
    login(role)
    for path in ("/calls", f"/calls/CA{1:032d}", "/calls.csv", "/metrics", "/metrics.json"):
        assert client.get(path).status_code == status, path


def test_anonymous_is_sent_to_login(client, calls):
    response = client.get("/calls")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_list_filters_and_audits_each_view(client, calls, login):
    login("reviewer", "rita")
    html = client.get("/calls").get_data(as_text=True)
    assert rows_of(html) == [f"CA{n:032d}" for n in (3, 2, 1)]
    html = client.get("/calls?outcome=missed&duress=yes&priority=1").get_data(as_text=True)
    assert rows_of(html) == [f"CA{3:032d}"]
    assert "DURESS" in html
    entries = audits(calls, "calls.view")
    assert [e.actor for e in entries] == ["user:rita", "user:rita"]
    assert entries[-1].detail["filter"] == {"outcomes": ["missed"], "priority": 1, "duress": True}


def test_bad_filters_show_a_message_not_a_500(client, calls, login):
    login("reviewer")
    response = client.get("/calls?from=soon&hotline=zzz&before=garbage")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "from: &#39;soon&#39; is not a date" in html and "no hotline" in html
    assert rows_of(html) == []
    response = client.get("/calls?before=garbage")
    assert response.status_code == 400 and "is not a page cursor" in response.get_data(as_text=True)
    assert audits(calls, "calls.view") == []


def test_paging_links_keep_the_filters(client, demo, session, mk, login, monkeypatch):
    from voiceline.web.review import views
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for n in range(5):
        mk(n, outcome="missed")
    mk(9, outcome="answered")
    session.commit()
    login("reviewer")
    html = client.get("/calls?outcome=missed").get_data(as_text=True)
    assert rows_of(html) == [f"CA{n:032d}" for n in (4, 3)]
    older = re.search(r'id="older" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "outcome=missed" in older
    html2 = client.get(older).get_data(as_text=True)
    assert rows_of(html2) == [f"CA{n:032d}" for n in (2, 1)]
    newer = re.search(r'id="newer" href="([^"]+)"', html2).group(1).replace("&amp;", "&")
    assert rows_of(client.get(newer).get_data(as_text=True)) == rows_of(html)


def test_call_page_shows_the_timeline_and_audits(client, calls, login):
    login("reviewer", "rita")
    html = client.get(f"/calls/CA{1:032d}").get_data(as_text=True)
    timeline = html[html.index('id="timeline"'):html.index('id="legs"')]
    whats = re.findall(r'<td class="what">([^<]+)</td>\s*<td class="who">([^<]*)</td>', timeline)
    assert ("rang", "Alice Smith") in whats and ("declined", "Alice Smith") in whats
    assert ("accepted", "Grace Lee") in whats
    assert whats[0] == ("caller greeted", "")
    assert "1234" not in html  # a keyed PIN in an event detail is never shown
    assert [e.target for e in audits(calls, "calls.view")] == [f"CA{1:032d}"]


def test_unknown_call_is_404(client, calls, login):
    login("reviewer")
    assert client.get("/calls/CAnope").status_code == 404
    assert client.get("/calls/CAnope/recording").status_code == 404


def test_recording_needs_credentials(client, calls, login):
    login("reviewer")
    html = client.get(f"/calls/CA{2:032d}").get_data(as_text=True)
    assert 'id="recording-unavailable"' in html and "<audio" not in html
    response = client.get(f"/calls/CA{2:032d}/recording")
    assert response.status_code == 503
    assert "TWILIO_ACCOUNT_SID" in response.get_data(as_text=True)
    assert audits(calls, "recording.listen") == []


def test_recording_streams_through_voiceline_and_audits(app, client, calls, login):
    app.config.update(TWILIO_ACCOUNT_SID="AC123", TWILIO_AUTH_TOKEN="secret-token")
    fetched = []

    def fake(url, auth):
        fetched.append((url, auth))
        return recording.Fetched(iter([b"ID3", b"audio"]), "audio/mpeg", 8)

    app.extensions[recording.EXTENSION] = fake
    login("reviewer", "rita")
    html = client.get(f"/calls/CA{2:032d}").get_data(as_text=True)
    assert f'src="/calls/CA{2:032d}/recording"' in html
    assert "secret-token" not in html and "api.twilio.com" not in html
    response = client.get(f"/calls/CA{2:032d}/recording")
    assert response.status_code == 200 and response.data == b"ID3audio"
    assert response.mimetype == "audio/mpeg" and response.headers["Cache-Control"] == "no-store"
    assert fetched == [(REC_URL + ".mp3", ("AC123", "secret-token"))]
    client.get(f"/calls/CA{2:032d}/recording")
    listens = audits(calls, "recording.listen")
    assert [(e.actor, e.target) for e in listens] == [("user:rita", f"CA{2:032d}")] * 2
    assert client.get(f"/calls/CA{1:032d}/recording").status_code == 404  # no recording


def test_recording_url_outside_twilio_is_never_fetched(app, client, demo, session, mk, login):
    mk(7, outcome="voicemail", recording_url="https://evil.example/steal")
    session.commit()
    app.config.update(TWILIO_ACCOUNT_SID="AC123", TWILIO_AUTH_TOKEN="secret-token")
    app.extensions[recording.EXTENSION] = lambda url, auth: pytest.fail("fetched")
    login("reviewer")
    response = client.get(f"/calls/CA{7:032d}/recording")
    assert response.status_code == 502 and "not a Twilio API URL" in response.get_data(as_text=True)


def test_twilio_errors_become_a_message(app, client, calls, login):
    app.config.update(TWILIO_ACCOUNT_SID="AC123", TWILIO_AUTH_TOKEN="secret-token")

    def failing(url, auth):
        raise recording.RecordingUnavailable("Twilio answered HTTP 404 for the recording")

    app.extensions[recording.EXTENSION] = failing
    login("reviewer")
    response = client.get(f"/calls/CA{2:032d}/recording")
    assert response.status_code == 502 and "HTTP 404" in response.get_data(as_text=True)


def test_csv_export_streams_filtered_rows_and_is_audited(client, calls, mk, login):
    mk(4, caller=None, from_number="=HYPERLINK(\"http://x\")", outcome="missed")
    calls.commit()
    login("reviewer", "rita")
    response = client.get("/calls.csv?outcome=missed")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    assert "attachment" in response.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["sid"] for r in table] == [f"CA{4:032d}", f"CA{3:032d}"]
    assert table[0]["from_number"].startswith("'=")  # not a live formula in a spreadsheet
    assert table[1]["from_number"] == "+12025550150" and table[1]["duress"] == "yes"
    assert table[1]["caller_name"] == "Watch Officer"
    entries = audits(calls, "calls.export")
    assert [(e.actor, e.detail["filter"]) for e in entries] == [("user:rita", {"outcomes": ["missed"]})]
    bad = client.get("/calls.csv?priority=9")
    assert bad.status_code == 400 and "priority" in bad.get_data(as_text=True)


def test_metrics_page_draws_svg_charts_and_json_matches(client, calls, mk, login):
    login("reviewer", timezone="America/New_York")
    day = mk.t0.date().isoformat()
    html = client.get(f"/metrics?from={day}&to={day}").get_data(as_text=True)
    # pygal's scripts are stripped: the page's only script is the site's own (voiceline.js).
    assert html.count("<svg") == 3
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/ui-static/voiceline.js" defer>']
    assert re.search(r'id="m-offered">3<', html) and re.search(r'id="m-rate">33.3 %<', html)
    data = client.get(f"/metrics.json?from={day}&to={day}").get_json()
    assert (data["offered"], data["answered"], data["missed"], data["voicemail"]) == (3, 1, 1, 1)
    assert data["timezone"] == "America/New_York"
    assert data["from"] == f"{day}T05:00:00Z"
    assert {r["person"]: r["declined"] for r in data["per_responder"]} == {"alice": 1, "grace": 0}
    bad = client.get("/metrics.json?from=nope")
    assert bad.status_code == 400 and "from" in bad.get_json()["error"]
    assert client.get("/metrics?to=2020-01-01&from=2021-01-01").status_code == 400


def test_metrics_default_range_is_the_last_30_days(client, demo, session, mk, login):
    from voiceline.instants import utcnow
    mk(1, at=utcnow() - timedelta(days=2))
    mk(2, at=utcnow() - timedelta(days=45))
    session.commit()
    login("reviewer")
    assert client.get("/metrics.json").get_json()["calls"] == 1
