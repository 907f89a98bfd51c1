"""The call-log query and metrics on SQLite and PostgreSQL (same answers on both)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from voiceline.calllog import query as calllog
from voiceline.calllog.metrics import load_metrics


@pytest.fixture
def app_config(app_config, any_db_url):
    return {**app_config, "DATABASE_URL": any_db_url}


def test_keyset_pages_filters_and_metrics(demo, session, mk):
    same = mk.t0 + timedelta(hours=1)
    made = {}
    for n in range(12):
        made[n] = mk(n, at=same if n in (4, 5, 6) else None, outcome="missed" if n % 4 == 0 else "answered",
           answered_after=n + 1, legs=[("alice", "declined" if n % 3 == 0 else None, "completed")])
    session.commit()
    f = calllog.parse_filter({}, session)
    seen, cursor = [], None
    while True:
        page = calllog.call_page(session, f, limit=5, before=cursor)
        seen += [int(c.sid[2:]) for c in page.calls]
        if page.older is None:
            break
        cursor = page.older
    assert seen == [6, 5, 4, 11, 10, 9, 8, 7, 3, 2, 1, 0]
    back = calllog.call_page(session, f, limit=5, after=calllog.Cursor(same, made[4].id))
    assert [int(c.sid[2:]) for c in back.calls] == [6, 5]  # newer than call 4 at the same instant
    missed = calllog.parse_filter({"outcome": "missed", "tests": "exclude"}, session)
    assert [int(c.sid[2:]) for c in calllog.iter_calls(session, missed, batch=2)] == [4, 8, 0]
    out = load_metrics(session, mk.t0, mk.t0 + timedelta(days=1), "Europe/Moscow")
    assert (out["offered"], out["answered"], out["missed"]) == (12, 9, 3)
    assert out["median_seconds_to_answer"] == 7 and out["p90_seconds_to_answer"] == 12
    assert out["per_responder"][0] == {"person": "alice", "rung": 12, "answered": 9, "declined": 4,
                                       "median_seconds_to_answer": 7, "p90_seconds_to_answer": 12}


def test_export_rows_page_like_the_log_and_give_the_same_csv(demo, session, mk):
    """The CSV export's plain-row batches cross ties on started_at like the log's pages."""
    from voiceline.calllog import present

    same = mk.t0 + timedelta(hours=1)
    for n in range(7):
        mk(n, at=same if n in (2, 3, 4) else None, outcome="missed" if n % 3 == 0 else "answered",
           answered_after=n + 1)
    session.commit()
    names = present.load_names(session)
    f = calllog.parse_filter({}, session)
    records = [present.csv_row(c, names) for c in calllog.iter_calls(session, f, batch=2)]
    rows = [present.csv_row(r, names) for r in calllog.iter_export_rows(session, f, batch=2)]
    assert [r[0] for r in rows] == [f"CA{n:032d}" for n in (4, 3, 2, 6, 5, 1, 0)]
    assert rows == records
    missed = calllog.parse_filter({"outcome": "missed"}, session)
    assert [r.sid for r in calllog.iter_export_rows(session, missed, batch=1)] == \
        [f"CA{n:032d}" for n in (3, 6, 0)]
