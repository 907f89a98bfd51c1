"""Rota engine: records, layers, overrides and gaps."""

import sys
from datetime import datetime, time, timedelta, timezone

import pytest

from voiceline.rota import (
    Gap,
    OnDuty,
    Override,
    Period,
    Rota,
    Segment,
    Window,
    compile_rota,
    gaps,
    on_duty,
    shifts,
)

from .builders import layer, rota, utc

# --- records -----------------------------------------------------------------


@pytest.mark.parametrize(("text", "period"), [
    ("12h", Period(12, "hours")), ("1d", Period(1, "days")), ("2w", Period(2, "weeks")),
    ("1mo", Period(1, "months")), ("3 days", Period(3, "days")), (" 1 Week ", Period(1, "weeks")),
])
def test_period_parse(text, period):
    assert Period.parse(text) == period
    assert Period.parse(str(period)) == period


def test_period_str():
    assert [str(Period.parse(t)) for t in ("12 hours", "1 day", "1w", "1 month")] == ["12h", "1d", "1w", "1mo"]


@pytest.mark.parametrize(("text", "needle"), [
    ("0d", ">= 1"), ("1m", "use 'mo'"), ("d", "look like"), ("1.5d", "look like"), ("2 fortnights", "unit"),
])
def test_period_parse_rejects(text, needle):
    with pytest.raises(ValueError, match=needle):
        Period.parse(text)


def test_window_parse_and_round_trip():
    w = Window.parse({"days": ["mon", "Tue"], "start": "22:00", "end": "06:00"})
    assert w == Window(frozenset({0, 1}), time(22), time(6))
    assert w.to_dict() == {"days": ["mon", "tue"], "start": "22:00", "end": "06:00"}
    assert Window.parse(w.to_dict()) == w
    assert Window.parse({"start": "09:00", "end": "17:30"}).days == frozenset()


@pytest.mark.parametrize(("mapping", "needle"), [
    ({"days": ["mon"], "start": "22:00"}, "'end'"),
    ({"days": ["funday"], "start": "22:00", "end": "06:00"}, "funday"),
    ({"start": 1320, "end": "06:00"}, "quoted"),
    ({"start": "25:00", "end": "06:00"}, "start"),
    ({"start": "22:00", "end": "06:00", "until": "x"}, "unknown keys"),
    ({"days": "mon", "start": "22:00", "end": "06:00"}, "list"),
])
def test_window_parse_rejects(mapping, needle):
    with pytest.raises(ValueError, match=needle):
        Window.parse(mapping)


def test_override_validation():
    with pytest.raises(ValueError, match="before its end"):
        Override(utc(2026, 1, 2), utc(2026, 1, 1), "add", "a")
    with pytest.raises(ValueError, match="aware"):
        Override(datetime(2026, 1, 1), utc(2026, 1, 2), "add", "a")
    with pytest.raises(ValueError, match="replaces"):
        Override(utc(2026, 1, 1), utc(2026, 1, 2), "replace", "a")
    moscow = timezone(timedelta(hours=3))
    assert Override(datetime(2026, 1, 1, 3, tzinfo=moscow), utc(2026, 1, 2), "add", "a").start == utc(2026, 1, 1)


def test_unknown_zone_is_a_value_error():
    with pytest.raises(ValueError, match="Mars/Olympus"):
        Rota("r", "Mars/Olympus", ())


def test_engine_imports_no_web_or_db_framework():
    modules = [sys.modules[n] for n in list(sys.modules) if n.startswith("voiceline.rota.")]
    assert len(modules) >= 6
    source = "".join(open(m.__file__).read() for m in modules)
    for framework in ("flask", "twilio", "sqlalchemy"):
        assert f"import {framework}" not in source and f"from {framework}" not in source


# --- layers ------------------------------------------------------------------


def test_query_exactly_at_handoff_returns_incoming_person():
    r = rota(layer(["a", "b"]))
    assert on_duty(r, utc(2026, 1, 6)) == OnDuty(("b",), utc(2026, 1, 6), utc(2026, 1, 7))
    assert on_duty(r, utc(2026, 1, 5, 23, 59, 59, 999999)).people == ("a",)


def test_before_the_anchor_the_rotation_runs_backwards():
    r = rota(layer(["a", "b", "c"]))
    assert on_duty(r, utc(2026, 1, 4, 12)).people == ("c",)
    assert on_duty(r, utc(2026, 1, 3, 12)).people == ("b",)
    assert on_duty(r, utc(2025, 1, 5, 12)).people == ("b",)  # shift -365, and -365 % 3 == 1


def test_higher_priority_layer_hides_lower_while_it_has_someone():
    office = Window(frozenset({0, 1, 2, 3, 4}), time(9), time(17))
    r = rota(layer(["base"], priority=0, lid="base"),
             layer(["day"], priority=10, lid="day", windows=[office]))
    assert on_duty(r, utc(2026, 1, 5, 10)).people == ("day",)  # Monday 10:00
    assert on_duty(r, utc(2026, 1, 5, 17)).people == ("base",)  # window ended: base shows through
    assert on_duty(r, utc(2026, 1, 10, 10)).people == ("base",)  # Saturday
    assert shifts(r, utc(2026, 1, 5, 8), utc(2026, 1, 5, 18)) == [
        Segment(utc(2026, 1, 5, 8), utc(2026, 1, 5, 9), ("base",)),
        Segment(utc(2026, 1, 5, 9), utc(2026, 1, 5, 17), ("day",)),
        Segment(utc(2026, 1, 5, 17), utc(2026, 1, 5, 18), ("base",)),
    ]


def test_empty_slot_in_higher_layer_lets_lower_layer_show_through():
    r = rota(layer(["low"], priority=0, lid="low"), layer(["hi", None], priority=5, lid="hi"))
    assert on_duty(r, utc(2026, 1, 5, 12)).people == ("hi",)
    assert on_duty(r, utc(2026, 1, 6, 12)) == OnDuty(("low",), utc(2026, 1, 6), utc(2026, 1, 7))


def test_equal_priority_layers_union_in_layer_order():
    r = rota(layer(["x", "y"], lid="one"), layer(["y", "z"], lid="two"), layer(["low"], priority=-1, lid="low"))
    assert on_duty(r, utc(2026, 1, 5, 12)).people == ("x", "y")
    assert on_duty(r, utc(2026, 1, 6, 12)).people == ("y", "z")


def test_gap_from_empty_slot():
    r = rota(layer(["a", None, "b"]), rid="main")
    assert gaps(r, utc(2026, 1, 5), utc(2026, 1, 10)) == [
        Gap(utc(2026, 1, 6), utc(2026, 1, 7), rota="main"),
        Gap(utc(2026, 1, 9), utc(2026, 1, 10), rota="main"),
    ]
    assert on_duty(r, utc(2026, 1, 6, 3)) == OnDuty((), utc(2026, 1, 6), utc(2026, 1, 7))


def test_gaps_from_windows():
    w = Window.parse({"days": ["sat", "sun"], "start": "00:00", "end": "00:00"})  # whole weekend days
    r = rota(layer(["a"], windows=[w]), rid="wk")
    assert gaps(r, utc(2026, 1, 9), utc(2026, 1, 13)) == [
        Gap(utc(2026, 1, 9), utc(2026, 1, 10), rota="wk"),
        Gap(utc(2026, 1, 12), utc(2026, 1, 13), rota="wk"),
    ]


def test_shifts_rejects_empty_range_and_naive():
    r = rota(layer(["a"]))
    with pytest.raises(ValueError):
        shifts(r, utc(2026, 1, 2), utc(2026, 1, 2))
    with pytest.raises(ValueError, match="aware"):
        on_duty(r, datetime(2026, 1, 2))


def test_since_and_until_none_beyond_horizon():
    r = rota(layer(["solo"]))
    assert on_duty(r, utc(2026, 1, 5), horizon=timedelta(days=30)) == OnDuty(("solo",), None, None)


def test_since_until_skip_handoffs_that_keep_the_same_set():
    r = rota(layer(["a", "a", "b"]))  # a twice in a row: one two-day stretch
    assert on_duty(r, utc(2026, 1, 6, 12)) == OnDuty(("a",), utc(2026, 1, 5), utc(2026, 1, 7))


# --- overrides ---------------------------------------------------------------


def test_add_override():
    r = rota(layer(["a", "b"]), overrides=[Override(utc(2026, 1, 5, 18), utc(2026, 1, 6, 6), "add", "c")])
    assert shifts(r, utc(2026, 1, 5), utc(2026, 1, 7)) == [
        Segment(utc(2026, 1, 5), utc(2026, 1, 5, 18), ("a",)),
        Segment(utc(2026, 1, 5, 18), utc(2026, 1, 6), ("a", "c")),
        Segment(utc(2026, 1, 6), utc(2026, 1, 6, 6), ("b", "c")),
        Segment(utc(2026, 1, 6, 6), utc(2026, 1, 7), ("b",)),
    ]


def test_remove_override_makes_a_gap():
    r = rota(layer(["a", "b"]), overrides=[Override(utc(2026, 1, 5, 10), utc(2026, 1, 5, 12), "remove", "a")])
    assert gaps(r, utc(2026, 1, 5), utc(2026, 1, 6)) == [Gap(utc(2026, 1, 5, 10), utc(2026, 1, 5, 12), rota="r")]
    assert on_duty(r, utc(2026, 1, 5, 11)) == OnDuty((), utc(2026, 1, 5, 10), utc(2026, 1, 5, 12))


def test_remove_of_someone_not_on_duty_changes_nothing():
    r = rota(layer(["a", "b"]), overrides=[Override(utc(2026, 1, 5, 10), utc(2026, 1, 5, 12), "remove", "b")])
    assert on_duty(r, utc(2026, 1, 5, 11)) == OnDuty(("a",), utc(2026, 1, 5), utc(2026, 1, 6))


def test_replace_spanning_a_handoff_applies_only_while_replaced_person_is_on_duty():
    swap = Override(utc(2026, 1, 5, 12), utc(2026, 1, 7, 12), "replace", "c", replaces="a")
    r = rota(layer(["a", "b"]), overrides=[swap])
    assert shifts(r, utc(2026, 1, 5), utc(2026, 1, 8)) == [
        Segment(utc(2026, 1, 5), utc(2026, 1, 5, 12), ("a",)),
        Segment(utc(2026, 1, 5, 12), utc(2026, 1, 6), ("c",)),
        Segment(utc(2026, 1, 6), utc(2026, 1, 7), ("b",)),  # a is off: the replace does nothing
        Segment(utc(2026, 1, 7), utc(2026, 1, 7, 12), ("c",)),
        Segment(utc(2026, 1, 7, 12), utc(2026, 1, 8), ("a",)),
    ]


def test_replace_keeps_rota_order_and_added_people_come_last():
    r = rota(layer(["x"], lid="one"), layer(["y"], lid="two"), overrides=[
        Override(utc(2026, 1, 5), utc(2026, 1, 6), "add", "z"),
        Override(utc(2026, 1, 5, 1), utc(2026, 1, 6), "replace", "w", replaces="x"),
    ])
    assert on_duty(r, utc(2026, 1, 5, 2)).people == ("w", "y", "z")


def test_overrides_compose_in_start_order():
    r = rota(layer(["a"]), overrides=[
        Override(utc(2026, 1, 5, 8), utc(2026, 1, 5, 20), "replace", "b", replaces="a"),
        Override(utc(2026, 1, 5, 10), utc(2026, 1, 5, 12), "replace", "c", replaces="b"),  # b hands on to c
        Override(utc(2026, 1, 5, 14), utc(2026, 1, 5, 16), "remove", "b"),
    ])
    assert [s.people for s in shifts(r, utc(2026, 1, 5, 6), utc(2026, 1, 5, 22))] == [
        ("a",), ("b",), ("c",), ("b",), (), ("b",), ("a",)]


def test_point_query_with_many_overrides_uses_the_right_ones():
    many = [Override(utc(2026, 1, 1) + timedelta(hours=h), utc(2026, 1, 1) + timedelta(hours=h, minutes=30),
                     "add", f"p{h}") for h in range(2000)]
    r = rota(layer(["a"]), overrides=many)
    assert on_duty(r, utc(2026, 2, 1, 5, 10)) == OnDuty(
        ("a", "p749"), utc(2026, 2, 1, 5), utc(2026, 2, 1, 5, 30))
    assert compile_rota(r) is compile_rota(r)


def test_since_is_a_change_point_even_with_nothing_earlier():
    r = rota(layer(["solo"]), overrides=[Override(utc(2026, 1, 5, 10), utc(2026, 1, 5, 11), "add", "x")])
    assert on_duty(r, utc(2026, 1, 5, 10)) == OnDuty(("solo", "x"), utc(2026, 1, 5, 10), utc(2026, 1, 5, 11))
    assert on_duty(r, utc(2026, 1, 5, 12)) == OnDuty(("solo",), utc(2026, 1, 5, 11), None)
