"""DST behaviour of the rota engine, with real zones and explicit instants."""

from datetime import datetime, time, timedelta

from voiceline.rota import Layer, LayerVersion, Period, Rota, Segment, Window, on_duty, shifts

from .builders import utc

NY = "America/New_York"


def rota(members, anchor, every, *, zone=NY, windows=()) -> Rota:
    version = LayerVersion(tuple(members), anchor, Period.parse(every), tuple(windows))
    return Rota("r", zone, (Layer("l", 0, (version,)),))


def test_daily_0230_handoff_in_spring_gap_happens_at_0730z_and_shift_is_23h():
    r = rota(["a", "b"], datetime(2026, 3, 1, 2, 30), "1d")  # a: Mar 1, 3, 5, 7; b: Mar 8
    got = shifts(r, utc(2026, 3, 7, 7, 30), utc(2026, 3, 9, 12))
    assert got == [
        Segment(utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7, 30), ("a",)),  # 02:30 EST .. 02:30 "EST"
        Segment(utc(2026, 3, 8, 7, 30), utc(2026, 3, 9, 6, 30), ("b",)),  # 23 h: 02:30 EDT next day
        Segment(utc(2026, 3, 9, 6, 30), utc(2026, 3, 9, 12), ("a",)),
    ]
    assert got[1].end - got[1].start == timedelta(hours=23)


def test_spring_gap_handoff_point_queries_no_overlap():
    r = rota(["a", "b"], datetime(2026, 3, 1, 2, 30), "1d")
    assert on_duty(r, utc(2026, 3, 8, 7, 29, 59)).people == ("a",)
    assert on_duty(r, utc(2026, 3, 8, 7, 30)) == on_duty(r, utc(2026, 3, 8, 12))
    assert on_duty(r, utc(2026, 3, 8, 7, 30)).until == utc(2026, 3, 9, 6, 30)


def test_daily_0130_handoff_on_fall_back_is_first_occurrence_and_shift_is_25h():
    r = rota(["a", "b"], datetime(2026, 10, 30, 1, 30), "1d")  # a: Oct 30, b: Oct 31, a: Nov 1
    duty = on_duty(r, utc(2026, 11, 1, 5, 30))  # 01:30 EDT, the first 01:30
    assert duty.people == ("a",)
    assert duty.since == utc(2026, 11, 1, 5, 30)
    assert duty.until == utc(2026, 11, 2, 6, 30)  # 01:30 EST
    assert duty.until - duty.since == timedelta(hours=25)
    # The second 01:30 (06:30Z, EST) is not a handoff.
    assert on_duty(r, utc(2026, 11, 1, 6, 30)).people == ("a",)
    assert on_duty(r, utc(2026, 11, 1, 5, 29)).people == ("b",)


def test_weekly_monday_0900_keeps_local_time_across_spring_forward():
    r = rota(["a", "b"], datetime(2026, 3, 2, 9, 0), "1w")  # Monday
    duty = on_duty(r, utc(2026, 3, 3))
    assert duty.people == ("a",)
    assert duty.since == utc(2026, 3, 2, 14)  # 09:00 EST
    assert duty.until == utc(2026, 3, 9, 13)  # 09:00 EDT
    assert duty.until - duty.since == timedelta(hours=167)


def test_weekly_monday_0900_across_fall_back_is_169h():
    r = rota(["a", "b"], datetime(2026, 10, 26, 9, 0), "1w")
    duty = on_duty(r, utc(2026, 10, 30))
    assert (duty.since, duty.until) == (utc(2026, 10, 26, 13), utc(2026, 11, 2, 14))
    assert duty.until - duty.since == timedelta(hours=169)


def test_night_window_on_spring_forward_night_is_7h():
    night = Window(frozenset(), time(22), time(6))
    r = rota(["a"], datetime(2026, 1, 1), "1d", windows=[night])
    got = shifts(r, utc(2026, 3, 7, 12), utc(2026, 3, 8, 12))
    assert got == [
        Segment(utc(2026, 3, 7, 12), utc(2026, 3, 8, 3), ()),
        Segment(utc(2026, 3, 8, 3), utc(2026, 3, 8, 10), ("a",)),  # 22:00 EST .. 06:00 EDT
        Segment(utc(2026, 3, 8, 10), utc(2026, 3, 8, 12), ()),
    ]


def test_night_window_on_fall_back_night_is_9h():
    night = Window(frozenset(), time(22), time(6))
    r = rota(["a"], datetime(2026, 1, 1), "1d", windows=[night])
    duty = on_duty(r, utc(2026, 11, 1, 6))
    assert duty == on_duty(r, utc(2026, 11, 1, 2))
    assert (duty.since, duty.until) == (utc(2026, 11, 1, 2), utc(2026, 11, 1, 11))
    assert duty.until - duty.since == timedelta(hours=9)


def test_window_starting_in_the_spring_gap_uses_the_offset_before_it():
    # 02:30-04:00 on 2026-03-08: 02:30 does not exist -> 07:30Z; 04:00 EDT = 08:00Z.
    w = Window(frozenset({6}), time(2, 30), time(4))
    r = rota(["a"], datetime(2026, 1, 1), "1d", windows=[w])
    duty = on_duty(r, utc(2026, 3, 8, 7, 45))
    assert (duty.people, duty.since, duty.until) == (("a",), utc(2026, 3, 8, 7, 30), utc(2026, 3, 8, 8))
    assert on_duty(r, utc(2026, 3, 8, 7, 29)).people == ()


def test_monthly_anchor_on_31st_clamps_each_month_from_the_anchor():
    r = rota(["a", "b", "c", "d"], datetime(2026, 1, 31, 9, 0), "1mo", zone="UTC")
    got = shifts(r, utc(2026, 1, 31, 9), utc(2026, 5, 31, 9))
    assert [(s.start, s.people) for s in got] == [
        (utc(2026, 1, 31, 9), ("a",)),
        (utc(2026, 2, 28, 9), ("b",)),
        (utc(2026, 3, 31, 9), ("c",)),  # not Mar 28: not chained from Feb 28
        (utc(2026, 4, 30, 9), ("d",)),
    ]
    assert got[-1].end == utc(2026, 5, 31, 9)


def test_monthly_before_the_anchor_and_leap_february():
    r = rota(["a", "b"], datetime(2024, 3, 31), "1mo", zone="UTC")
    duty = on_duty(r, utc(2024, 3, 15))
    assert (duty.people, duty.since, duty.until) == (("b",), utc(2024, 2, 29), utc(2024, 3, 31))


def test_monthly_in_local_time_keeps_wall_clock_across_dst():
    r = rota(["a", "b"], datetime(2026, 2, 15, 9, 0), "1mo")
    duty = on_duty(r, utc(2026, 3, 1))
    assert (duty.since, duty.until) == (utc(2026, 2, 15, 14), utc(2026, 3, 15, 13))


def test_twelve_hour_period_steps_in_local_time():
    # 09:00/21:00 local stay put across the change; the overnight shift is 11 h.
    r = rota(["a", "b"], datetime(2026, 3, 1, 9), "12h")
    duty = on_duty(r, utc(2026, 3, 8, 5))
    assert (duty.people, duty.since, duty.until) == (("b",), utc(2026, 3, 8, 2), utc(2026, 3, 8, 13))


def test_hourly_handoffs_collapsing_in_the_gap_skip_the_empty_turn():
    # 01:30, 02:30 (gap -> 07:30Z) and 03:30 EDT (07:30Z) collide: the 02:30 turn has zero length.
    r = rota(["a", "b", "c"], datetime(2026, 3, 8, 0, 30), "1h")
    assert on_duty(r, utc(2026, 3, 8, 6, 30)).people == ("b",)  # 01:30 EST
    duty = on_duty(r, utc(2026, 3, 8, 7, 30))
    assert (duty.people, duty.since, duty.until) == (("a",), utc(2026, 3, 8, 7, 30), utc(2026, 3, 8, 8, 30))
    got = shifts(r, utc(2026, 3, 8, 5), utc(2026, 3, 8, 9))
    assert all(s.end > s.start for s in got)
    assert [(s.start, s.people) for s in got] == [
        (utc(2026, 3, 8, 5), ("c",)),
        (utc(2026, 3, 8, 5, 30), ("a",)),
        (utc(2026, 3, 8, 6, 30), ("b",)),
        (utc(2026, 3, 8, 7, 30), ("a",)),  # c's turn (02:30) lasted no time at all
        (utc(2026, 3, 8, 8, 30), ("b",)),
    ]
