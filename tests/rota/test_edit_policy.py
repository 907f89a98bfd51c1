"""Rota engine: versioned layer edits and escalation policies."""

from datetime import datetime

import pytest

from voiceline.rota import (
    Gap,
    Layer,
    LayerVersion,
    Override,
    Period,
    Policy,
    PolicyStep,
    ResolvedStep,
    Rota,
    Window,
    edit_layer,
    gaps,
    on_duty,
    policy_gaps,
    real_bounds,
    resolve_policy,
)

from .builders import layer, rota, utc, version

# --- versioned edits ---------------------------------------------------------


def test_edit_mid_shift_keeps_person_on_duty_until_the_handoff():
    original = Layer("l", 0, (version(["a", "b"], anchor=datetime(2026, 1, 5, 9), every="1w"),))
    now = utc(2026, 1, 7, 15)  # Wednesday, a's week
    edited = edit_layer(original, "UTC", at=now, members=("c", "d"))
    assert edited.versions[0].valid_until == utc(2026, 1, 12, 9)
    assert edited.versions[1].valid_from == utc(2026, 1, 12, 9)
    assert edited.versions[1].members == ("c", "d")
    assert edited.versions[1].anchor == datetime(2026, 1, 5, 9)
    before, after = rota(original), Rota("r", "UTC", (edited,))
    assert on_duty(after, now) == on_duty(before, now)
    # From the handoff on, the new version decides: shift 1 -> members[1].
    assert on_duty(after, utc(2026, 1, 12, 9)).people == ("d",)
    assert on_duty(after, utc(2026, 1, 19, 9)).people == ("c",)
    assert on_duty(after, utc(2025, 12, 31)).people == ("b",)  # the past is unchanged


def test_edit_exactly_at_a_handoff_takes_effect_at_once():
    original = Layer("l", 0, (version(["a", "b"]),))
    edited = edit_layer(original, "UTC", at=utc(2026, 1, 6), members=("x",), priority=3)
    assert edited.priority == 3
    assert [v.valid_until for v in edited.versions] == [utc(2026, 1, 6), None]
    assert on_duty(Rota("r", "UTC", (edited,)), utc(2026, 1, 6)).people == ("x",)


def test_edit_in_local_zone_cuts_at_the_local_handoff():
    original = Layer("l", 0, (version(["a", "b"], anchor=datetime(2026, 3, 1, 2, 30)),))
    edited = edit_layer(original, "America/New_York", at=utc(2026, 3, 8, 12), period=Period.parse("1w"))
    assert edited.versions[0].valid_until == utc(2026, 3, 9, 6, 30)
    assert edited.versions[1].period == Period(1, "weeks")


def test_second_edit_leaves_earlier_versions_alone():
    original = Layer("l", 0, (version(["a", "b"]),))
    once = edit_layer(original, "UTC", at=utc(2026, 1, 5, 12), members=("c",))
    twice = edit_layer(once, "UTC", at=utc(2026, 1, 8, 12), members=("d",))
    assert twice.versions[:1] == once.versions[:1]
    assert [(v.members, v.valid_from, v.valid_until) for v in twice.versions] == [
        (("a", "b"), None, utc(2026, 1, 6)),
        (("c",), utc(2026, 1, 6), utc(2026, 1, 9)),
        (("d",), utc(2026, 1, 9), None),
    ]


def test_edit_of_empty_layer_needs_the_full_version():
    empty = Layer("l", 0, ())
    with pytest.raises(ValueError, match="anchor"):
        edit_layer(empty, "UTC", at=utc(2026, 1, 1), members=("a",))
    made = edit_layer(empty, "UTC", at=utc(2026, 1, 1), members=("a",), anchor=datetime(2026, 1, 1),
                      period=Period.parse("1d"))
    assert made.versions == (LayerVersion(("a",), datetime(2026, 1, 1), Period(1, "days"),
                                          valid_from=utc(2026, 1, 1)),)


# --- policies ----------------------------------------------------------------


def test_resolve_policy_order_and_dedupe():
    rotas = {
        "primary": rota(layer(["a", "b"]), rid="primary"),
        "secondary": rota(layer(["b", "c"], lid="x"), layer(["d"], lid="y"), rid="secondary"),
    }
    policy = Policy("main", (PolicyStep(rotas=("primary", "secondary"), people=("e", "a"), ring_seconds=20),
                             PolicyStep(people=("boss",), ring_seconds=40)), repeat=1)
    assert resolve_policy(policy, rotas, utc(2026, 1, 6, 12)) == [
        ResolvedStep(1, 20, ("b", "c", "d", "e", "a")),
        ResolvedStep(2, 40, ("boss",)),
    ]
    assert resolve_policy(policy, rotas, utc(2026, 1, 5, 12))[0].responders == ("a", "b", "d", "e")


def test_resolve_policy_unknown_rota():
    with pytest.raises(ValueError, match="ghost"):
        resolve_policy(Policy("p", (PolicyStep(rotas=("ghost",)),)), {}, utc(2026, 1, 1))


def test_policy_gaps_per_step():
    w1 = Window.parse({"start": "08:00", "end": "16:00"})
    w2 = Window.parse({"start": "12:00", "end": "20:00"})
    rotas = {"early": rota(layer(["a"], windows=[w1]), rid="early"),
             "late": rota(layer(["b"], windows=[w2]), rid="late")}
    policy = Policy("p", (PolicyStep(rotas=("early", "late")), PolicyStep(people=("boss",)),
                          PolicyStep(rotas=("late",))))
    assert policy_gaps(policy, rotas, utc(2026, 1, 5, 6), utc(2026, 1, 5, 22)) == [
        Gap(utc(2026, 1, 5, 6), utc(2026, 1, 5, 8), policy="p", step=1),
        Gap(utc(2026, 1, 5, 20), utc(2026, 1, 5, 22), policy="p", step=1),
        Gap(utc(2026, 1, 5, 6), utc(2026, 1, 5, 12), policy="p", step=3),
        Gap(utc(2026, 1, 5, 20), utc(2026, 1, 5, 22), policy="p", step=3),
    ]


def test_policy_step_with_nothing_is_a_gap_throughout():
    policy = Policy("p", (PolicyStep(),))
    assert policy_gaps(policy, {}, utc(2026, 1, 1), utc(2026, 1, 2)) == [
        Gap(utc(2026, 1, 1), utc(2026, 1, 2), policy="p", step=1)]


def test_a_step_whose_people_on_duty_cannot_be_rung_is_a_gap_naming_them():
    w1 = Window.parse({"start": "08:00", "end": "16:00"})
    w2 = Window.parse({"start": "12:00", "end": "20:00"})
    rotas = {"early": rota(layer(["a"], windows=[w1]), rid="early"),
             "late": rota(layer(["b"], windows=[w2]), rid="late")}
    policy = Policy("p", (PolicyStep(rotas=("early", "late")), PolicyStep(people=("boss",))))
    found = policy_gaps(policy, rotas, utc(2026, 1, 5, 6), utc(2026, 1, 5, 22),
                        unreachable={"a", "boss"})
    assert found == [
        Gap(utc(2026, 1, 5, 6), utc(2026, 1, 5, 12), policy="p", step=1, unreachable=("a",)),
        Gap(utc(2026, 1, 5, 20), utc(2026, 1, 5, 22), policy="p", step=1),
        Gap(utc(2026, 1, 5, 6), utc(2026, 1, 5, 22), policy="p", step=2, unreachable=("boss",)),
    ]


def test_real_bounds_find_a_gap_the_window_cut():
    # Nobody from Jan 4 to Feb 10: a window from Jan 11 to Jan 20 sees only part of it.
    r = rota(layer(["a"]), overrides=[Override(utc(2027, 1, 4), utc(2027, 2, 10), "remove", "a")])
    lo, hi = utc(2027, 1, 11), utc(2027, 1, 20)
    [gap] = gaps(r, lo, hi)
    assert (gap.start, gap.end) == (lo, hi)
    find = lambda a, b: gaps(r, a, b)  # noqa: E731
    assert real_bounds(find, gap, lo, hi) == (utc(2027, 1, 4), utc(2027, 2, 10))
    inside = gaps(r, utc(2027, 1, 1), utc(2027, 3, 1))[0]
    assert real_bounds(find, inside, utc(2027, 1, 1), utc(2027, 3, 1)) == (utc(2027, 1, 4),
                                                                          utc(2027, 2, 10))


def test_second_edit_in_the_same_shift_supersedes_the_pending_version():
    original = Layer("l", 0, (version(["a", "b"]),))
    once = edit_layer(original, "UTC", at=utc(2026, 1, 5, 10), members=("c",))
    twice = edit_layer(once, "UTC", at=utc(2026, 1, 5, 11), period=Period.parse("1w"))
    assert [(v.members, v.period, v.valid_from, v.valid_until) for v in twice.versions] == [
        (("a", "b"), Period(1, "days"), None, utc(2026, 1, 6)),
        (("c",), Period(1, "weeks"), utc(2026, 1, 6), None),
    ]


def test_edit_after_the_last_version_ended_starts_at_once():
    ended = Layer("l", 0, (version(["a"], valid_until=utc(2026, 1, 3)),))
    edited = edit_layer(ended, "UTC", at=utc(2026, 1, 5, 10), members=("z",))
    assert edited.versions[0] == ended.versions[0]
    assert (edited.versions[1].members, edited.versions[1].valid_from) == (("z",), utc(2026, 1, 5, 10))
