"""Metrics: definitions checked on hand-made rows, and the loader over real call rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from voiceline.calllog.metrics import CallRow, LegRow, load_metrics, nearest_rank, summarize

T = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # 09:00 in New York, 17:00 in Moscow


def answered(seconds: float, by: str = "alice", at: datetime = T) -> CallRow:
    return CallRow(at, at + timedelta(seconds=seconds), "answered", by)


def test_nearest_rank():
    assert nearest_rank([], 50) is None
    assert nearest_rank([7], 90) == 7
    values = list(range(1, 11))  # 1..10
    assert nearest_rank(values, 50) == 5
    assert nearest_rank(values, 90) == 9
    assert nearest_rank([3, 1, 2], 100) == 3


def test_answer_rate_leaves_out_rejected_tests_and_calls_in_progress():
    rows = [answered(10), answered(20), answered(30, by="grace"),
            CallRow(T, None, "missed", None), CallRow(T, None, "voicemail", None),
            CallRow(T, None, "rejected", None),            # never meant to reach anyone
            CallRow(T, None, None, None),                  # still ringing
            CallRow(T, T + timedelta(seconds=1), "answered", "alice", is_test=True)]
    out = summarize(rows)
    assert out["calls"] == 7
    assert out["offered"] == 5
    assert out["answered"] == 3
    assert out["answer_rate"] == 0.6
    assert out["missed"] == 1 and out["voicemail"] == 1
    assert out["in_progress"] == 1
    assert out["outcomes"]["rejected"] == 1
    assert out["median_seconds_to_answer"] == 20
    assert out["p90_seconds_to_answer"] == 30


def test_nothing_offered_has_no_rate():
    out = summarize([CallRow(T, None, "rejected", None)])
    assert out["answer_rate"] is None and out["median_seconds_to_answer"] is None


def test_per_responder_counts_rung_answered_declined():
    rows = [answered(10), answered(40), answered(5, by="grace")]
    legs = [LegRow(1, "alice", "accepted"), LegRow(1, "grace", "declined"),
            LegRow(2, "alice", "accepted"), LegRow(3, "grace", "accepted"),
            LegRow(3, "grace", None),  # rung twice in one call: still one call rung
            LegRow(4, "boris", None), LegRow(4, None, None)]
    per = {r["person"]: r for r in summarize(rows, legs)["per_responder"]}
    assert per["alice"] == {"person": "alice", "rung": 2, "answered": 2, "declined": 0,
                            "median_seconds_to_answer": 10, "p90_seconds_to_answer": 40}
    assert per["grace"]["rung"] == 2 and per["grace"]["declined"] == 1
    assert per["boris"] == {"person": "boris", "rung": 1, "answered": 0, "declined": 0,
                            "median_seconds_to_answer": None, "p90_seconds_to_answer": None}


def test_by_hour_uses_the_viewers_zone():
    rows = [answered(10), CallRow(T + timedelta(hours=1), None, "missed", None)]
    ny = {s["hour"]: s for s in summarize(rows, zone="America/New_York")["by_hour"]}
    assert ny[9] == {"hour": 9, "offered": 1, "answered": 1, "answer_rate": 1.0}
    assert ny[10] == {"hour": 10, "offered": 1, "answered": 0, "answer_rate": 0.0}
    msk = {s["hour"]: s for s in summarize(rows, zone="Europe/Moscow")["by_hour"]}
    assert msk[17]["offered"] == 1 and msk[18]["offered"] == 1 and msk[9]["offered"] == 0
    assert ny[3]["answer_rate"] is None


def test_load_metrics_over_call_rows(demo, session, mk):
    mk(1, answered_after=8, legs=[("alice", "accepted", "completed")])
    mk(2, answered_after=30, answered_by="grace",
       legs=[("alice", "declined", "completed"), ("grace", "accepted", "completed")])
    mk(3, outcome="voicemail", legs=[("alice", None, "no-answer")])
    mk(4, outcome="missed", hotline=None)
    mk(5, is_test=True, legs=[("alice", "accepted", "completed")])
    mk(6, at=T + timedelta(days=40))  # outside the range
    session.commit()
    out = load_metrics(session, T, T + timedelta(days=1), "America/New_York")
    assert (out["calls"], out["offered"], out["answered"]) == (4, 4, 2)
    assert out["answer_rate"] == 0.5
    assert (out["median_seconds_to_answer"], out["p90_seconds_to_answer"]) == (8, 30)
    per = {r["person"]: r for r in out["per_responder"]}
    assert (per["alice"]["rung"], per["alice"]["answered"], per["alice"]["declined"]) == (3, 1, 1)
    assert (per["grace"]["rung"], per["grace"]["answered"]) == (1, 1)
    assert out["from"] == "2026-03-02T14:00:00Z"
    only = load_metrics(session, T, T + timedelta(days=1), "UTC", hotline="liaison")
    assert only["calls"] == 3
