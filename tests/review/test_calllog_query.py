"""The call-log query layer: filters, keyset pages in both directions, batched iteration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from voiceline.calllog import query as calllog


@pytest.fixture
def log(demo, session, mk):
    """40 calls one minute apart: every 5th missed, every 7th urgent, #13 duress, #20 a line test."""
    for n in range(40):
        mk(n, outcome="missed" if n % 5 == 0 else "answered",
           answered_by="grace" if n % 2 else "alice", priority=1 if n % 7 == 0 else 2,
           duress=n == 13, is_test=n == 20,
           caller="ops-desk" if n % 3 == 0 else "watch-officer")
    session.commit()
    return session


def parse(session, **args):
    return calllog.parse_filter(args, session, "America/New_York")


def sids(calls):
    return [int(c.sid[2:]) for c in calls]


def test_pages_walk_the_whole_log_newest_first_without_repeats(log):
    f = parse(log)
    seen, cursor = [], None
    while True:
        page = calllog.call_page(log, f, limit=7, before=cursor)
        seen += sids(page.calls)
        if page.older is None:
            break
        cursor = page.older
    assert seen == list(range(39, -1, -1))


def test_newer_cursor_returns_the_page_before(log):
    f = parse(log)
    first = calllog.call_page(log, f, limit=10)
    assert first.newer is None
    second = calllog.call_page(log, f, limit=10, before=first.older)
    assert sids(second.calls) == list(range(29, 19, -1))
    back = calllog.call_page(log, f, limit=10, after=second.newer)
    assert sids(back.calls) == sids(first.calls)
    assert back.newer is None  # nothing newer than the newest page


def test_ties_on_started_at_are_broken_by_id(demo, session, mk):
    same = mk.t0
    for n in range(5):
        mk(n, at=same)
    session.commit()
    f = parse(session)
    a = calllog.call_page(session, f, limit=2)
    b = calllog.call_page(session, f, limit=2, before=a.older)
    c = calllog.call_page(session, f, limit=2, before=b.older)
    assert sids(a.calls) + sids(b.calls) + sids(c.calls) == [4, 3, 2, 1, 0]
    assert c.older is None


def test_filters_combine(log):
    f = parse(log, outcome="answered", responder="grace", priority="2", tests="exclude")
    got = sids(calllog.call_page(log, f, limit=100).calls)
    assert got == [n for n in range(39, -1, -1)
                   if n % 5 and n % 2 and n % 7 and n != 20]
    assert sids(calllog.call_page(log, parse(log, duress="yes")).calls) == [13]
    assert sids(calllog.call_page(log, parse(log, tests="only")).calls) == [20]
    assert sids(calllog.call_page(log, parse(log, caller="ops-desk"), limit=100).calls) == \
        [n for n in range(39, -1, -1) if n % 3 == 0]


def test_caller_filter_accepts_a_phone_number(log, mk):
    mk(99, caller=None, from_number="+79160000000")
    log.commit()
    f = parse(log, caller="+7 916 000-00-00")
    assert f.number == "+79160000000"
    assert sids(calllog.call_page(log, f).calls) == [99]


def test_date_range_is_whole_local_days(log, mk):
    # 2026-03-03 04:30Z is still 2 March in New York (UTC-5).
    mk(100, at=datetime(2026, 3, 3, 4, 30, tzinfo=UTC))
    mk(101, at=datetime(2026, 3, 3, 5, 0, tzinfo=UTC))  # midnight 3 March in New York
    log.commit()
    f = parse(log, **{"from": "2026-03-02", "to": "2026-03-02"})
    assert f.start == datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
    assert f.end == datetime(2026, 3, 3, 5, 0, tzinfo=UTC)
    got = sids(calllog.call_page(log, f, limit=100).calls)
    assert 100 in got and 101 not in got and len(got) == 41


def test_iso_instants_are_accepted_as_bounds(log):
    f = parse(log, **{"from": "2026-03-02T14:10:00Z", "to": "2026-03-02T14:15:00Z"})
    assert sids(calllog.call_page(log, f).calls) == [14, 13, 12, 11, 10]


@pytest.mark.parametrize("args, fragment", [
    ({"from": "yesterday"}, "from: 'yesterday' is not a date"),
    ({"from": "2026-03-05", "to": "2026-03-01"}, "to: must be after from"),
    ({"hotline": "nope"}, "hotline: no hotline 'nope'"),
    ({"caller": "zed"}, "caller: no caller 'zed' and not a phone number"),
    ({"responder": "zed"}, "responder: no person 'zed'"),
    ({"outcome": "won"}, "outcome: 'won' is not one of"),
    ({"priority": "3"}, "priority: must be 1 (urgent) or 2 (routine)"),
    ({"duress": "maybe"}, "duress: must be yes or no"),
    ({"tests": "all"}, "tests: must be one of include, exclude, only"),
])
def test_bad_filter_values_name_the_field(demo, session, args, fragment):
    with pytest.raises(calllog.FilterError) as err:
        parse(session, **args)
    assert any(fragment in p for p in err.value.problems), err.value.problems


def test_cursor_round_trip_and_garbage(demo):
    c = calllog.Cursor(datetime(2026, 3, 2, 14, 0, 0, 123456, tzinfo=UTC), 42)
    assert calllog.Cursor.decode(c.encode()) == c
    for bad in ("x", "1.", "abc.1", "99999999999999999999999.1"):
        with pytest.raises(calllog.FilterError):
            calllog.Cursor.decode(bad)


def test_iter_calls_streams_every_match_in_batches(log):
    f = parse(log, tests="exclude")
    got = [int(c.sid[2:]) for c in calllog.iter_calls(log, f, batch=6)]
    assert got == [n for n in range(39, -1, -1) if n != 20]


def test_describe_is_json_ready_for_the_audit(log):
    f = parse(log, outcome="missed,voicemail", **{"from": "2026-03-01"})
    assert f.describe() == {"start": "2026-03-01T05:00:00Z", "outcomes": ["missed", "voicemail"]}
    assert f.as_args() == {"outcome": "missed,voicemail", "from": "2026-03-01"}
    assert timedelta(0) < f.start - datetime(2026, 3, 1, tzinfo=UTC)
