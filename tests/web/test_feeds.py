"""iCalendar feeds: secret revocable tokens, UTC events, stable UIDs, shifts after overrides."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from icalendar import Calendar
from sqlalchemy import select

from voiceline import appdb
from voiceline import models as m
from voiceline.models.web import FeedToken
from voiceline.web.ical import new_feed_token, person_calendar, rota_calendar

START = datetime(2026, 12, 14, tzinfo=UTC)
END = datetime(2027, 1, 4, tzinfo=UTC)
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _events(cal: Calendar):
    return [(str(e["uid"]), e.decoded("dtstart"), e.decoded("dtend"), str(e["summary"]))
            for e in cal.walk("VEVENT")]


def test_person_feed_shows_shifts_after_overrides(demo, session):
    # Week 51 from the anchor (Mon 2026-12-21 09:00 New York = 14:00Z) is grace's;
    # carol replaces her for one day in the middle.
    session.add(m.Override(rota_id="primary", kind="replace", person_id="carol", replaces_id="grace",
                           start=datetime(2026, 12, 22, tzinfo=UTC), end=datetime(2026, 12, 23, tzinfo=UTC)))
    session.commit()
    grace = _events(person_calendar(session, session.get(m.Person, "grace"), START, END, NOW))
    assert [(u, s, e) for u, s, e, _ in grace] == [
        ("primary-grace-20261221T140000Z@voiceline", datetime(2026, 12, 21, 14, tzinfo=UTC),
         datetime(2026, 12, 22, tzinfo=UTC)),
        ("primary-grace-20261223T000000Z@voiceline", datetime(2026, 12, 23, tzinfo=UTC),
         datetime(2026, 12, 28, 14, tzinfo=UTC)),
    ]
    assert grace[0][3] == "On duty: Primary liaison (weekly)"
    carol = _events(person_calendar(session, session.get(m.Person, "carol"), START, END, NOW))
    assert ("primary-carol-20261222T000000Z@voiceline", datetime(2026, 12, 22, tzinfo=UTC),
            datetime(2026, 12, 23, tzinfo=UTC), "On duty: Primary liaison (weekly)") in carol
    for _, start, _, _ in grace + carol:
        assert start.utcoffset().total_seconds() == 0


def test_uids_are_stable_across_fetches(demo, session):
    grace = session.get(m.Person, "grace")
    first = [u for u, *_ in _events(person_calendar(session, grace, START, END, NOW))]
    later = [u for u, *_ in _events(person_calendar(session, grace, START, END,
                                                    datetime(2026, 12, 5, tzinfo=UTC)))]
    assert first == later and len(set(first)) == len(first)


def test_rota_feed_marks_gaps(demo, session):
    session.add(m.Override(rota_id="primary", kind="remove", person_id="alice",  # her week
                           start=datetime(2026, 12, 30, tzinfo=UTC), end=datetime(2026, 12, 31, tzinfo=UTC)))
    session.commit()
    events = _events(rota_calendar(session, session.get(m.Rota, "primary"), START, END, NOW))
    gaps = [e for e in events if e[3] == "GAP: nobody on duty"]
    assert [(g[1], g[2]) for g in gaps] == [(datetime(2026, 12, 30, tzinfo=UTC),
                                             datetime(2026, 12, 31, tzinfo=UTC))]


def test_feed_url_token_and_revocation(demo, as_role, csrf):
    client = as_role("responder")  # linked to alice
    page = client.get("/feeds").get_data(as_text=True)
    assert "person:alice" in page and "person:grace" not in page
    token = csrf(client, "/feeds")
    html = client.post("/feeds", data={"target": "person:alice", "csrf_token": token}).get_data(as_text=True)
    url = re.search(r'<code class="secret">([^<]+)</code>', html).group(1)
    path = url.split("hotline.example.org")[-1] if "hotline.example.org" in url else url.split("localhost")[-1]
    assert path.startswith("/ical/person/") and path.endswith(".ics")
    anonymous = demo.test_client()
    response = anonymous.get(path)
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    cal = Calendar.from_ical(response.data)
    assert str(cal["x-wr-calname"]) == "Alice Smith: on duty"
    with demo.app_context():
        db = appdb.session_factory(demo)()
        row = db.scalar(select(FeedToken))
        assert row.token_hash != path.split("/")[-1].removesuffix(".ics")  # only the hash is stored
        db.close()
    client.post(f"/feeds/{row.id}/revoke", data={"csrf_token": token})
    assert anonymous.get(path).status_code == 404
    assert anonymous.get("/ical/person/not-a-token.ics").status_code == 404
    assert anonymous.get(path.replace("/person/", "/rota/")).status_code == 404


def test_responder_cannot_make_a_feed_of_someone_else(demo, as_role, csrf):
    client = as_role("responder")
    token = csrf(client, "/feeds")
    response = client.post("/feeds", data={"target": "person:grace", "csrf_token": token})
    assert "Not a valid choice" in response.get_data(as_text=True)


def test_rota_feed_by_token(demo, session):
    row, token = new_feed_token(session, "rota", "backup", "test")
    session.commit()
    response = demo.test_client().get(f"/ical/rota/{token}.ics")
    cal = Calendar.from_ical(response.data)
    assert len(cal.walk("VEVENT")) > 100  # two shifts a day over ~15 weeks
    assert all(str(e["uid"]).startswith("backup-") for e in cal.walk("VEVENT"))


def test_a_shift_cut_by_the_window_keeps_its_real_start_uid_and_end(demo, session):
    # The feed's window starts "two weeks ago", so on every fetch it cuts the shift then in
    # progress at a different instant. Week 51 (grace) runs Mon 2026-12-21 14:00Z to 12-28 14:00Z.
    grace = session.get(m.Person, "grace")
    rota = session.get(m.Rota, "primary")
    real = ("primary-grace-20261221T140000Z@voiceline", datetime(2026, 12, 21, 14, tzinfo=UTC),
            datetime(2026, 12, 28, 14, tzinfo=UTC))
    for cut in (datetime(2026, 12, 22, tzinfo=UTC), datetime(2026, 12, 24, 7, 30, tzinfo=UTC)):
        first = _events(person_calendar(session, grace, cut, END, NOW))[0]
        assert first[:3] == real
        rota_first = _events(rota_calendar(session, rota, cut, datetime(2026, 12, 25, tzinfo=UTC),
                                           NOW))
        assert [(u, s, e) for u, s, e, _ in rota_first] == [
            ("primary-20261221T140000Z@voiceline", real[1], real[2])]
