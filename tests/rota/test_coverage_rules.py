"""Coverage rules in the engine: too few on duty, a shift too long, a rest too short."""

from __future__ import annotations

from datetime import timedelta

from tests.rota.builders import layer, rota, utc
from voiceline.oncall.coverage_rules import Rules, rule_from_json, rule_problems, violations
from voiceline.oncall.queries import Coverage
from voiceline.rota import Override, Policy, PolicyStep, shifts
from voiceline.rota.rules import CoverageRule, rule_violations


def coverage(*rotas, policies=(), unreachable=None) -> Coverage:
    return Coverage({r.id: r for r in rotas}, {p.id: p for p in policies}, unreachable or {})


def test_a_daily_rota_of_one_person_each_day_breaks_a_12h_shift_rule_every_day():
    r = rota(layer(["ann", "ben"], every="1d"))
    segments = shifts(r, utc(2026, 1, 5), utc(2026, 1, 8))
    found = rule_violations(segments, CoverageRule(max_shift=timedelta(hours=12)),
                            utc(2026, 1, 5), utc(2026, 1, 8), rota="r")
    assert [(v.kind, v.person, v.start, v.end) for v in found] == [
        ("long_shift", "ann", utc(2026, 1, 5), utc(2026, 1, 6)),
        ("long_shift", "ann", utc(2026, 1, 7), utc(2026, 1, 8)),
        ("long_shift", "ben", utc(2026, 1, 6), utc(2026, 1, 7)),
    ]


def test_a_shift_cut_by_the_window_is_judged_by_its_real_length():
    r = rota(layer(["ann", "ben"], every="1d"))
    # the window sees only 6 h of ann's 24 h shift: the rule (max 12 h) is broken all the same
    [v] = violations(coverage(r), Rules({"r": CoverageRule(max_shift=timedelta(hours=12))}, {}),
                     utc(2026, 1, 5, 18), utc(2026, 1, 6))
    assert (v.kind, v.person, v.start, v.end) == ("long_shift", "ann", utc(2026, 1, 5, 18), utc(2026, 1, 6))
    assert (v.real_start, v.real_end) == (utc(2026, 1, 5), utc(2026, 1, 6))
    # a 24 h rule is kept by the same shift
    assert violations(coverage(r), Rules({"r": CoverageRule(max_shift=timedelta(hours=24))}, {}),
                      utc(2026, 1, 5, 18), utc(2026, 1, 6)) == []


def test_a_short_rest_between_two_shifts_is_a_violation_over_the_rest():
    # ann 00-12, ben 12-20, ann again 20-08 next day: 8 h rest
    r = rota(layer(["ann", "ben"], every="12h"),
             overrides=(Override(utc(2026, 1, 5, 20), utc(2026, 1, 6), "replace", "ann", "ben"),))
    [v] = violations(coverage(r), Rules({"r": CoverageRule(min_rest=timedelta(hours=10))}, {}),
                     utc(2026, 1, 5), utc(2026, 1, 6, 12))
    assert (v.kind, v.person, v.start, v.end) == ("short_rest", "ann", utc(2026, 1, 5, 12),
                                                  utc(2026, 1, 5, 20))


def test_a_rota_with_fewer_people_than_its_minimum_is_understaffed_but_a_gap_is_not():
    r = rota(layer(["ann"], every="1d"), layer(["bob", None], every="1d", lid="m"),
             overrides=(Override(utc(2026, 1, 5, 6), utc(2026, 1, 5, 8), "remove", "ann"),))
    found = violations(coverage(r), Rules({"r": CoverageRule(min_people=2)}, {}),
                       utc(2026, 1, 5), utc(2026, 1, 7))
    # Jan 5: bob alone 06-08; Jan 6: ann alone all day (bob's empty slot)
    assert [(v.kind, v.start, v.end, v.people) for v in found] == [
        ("understaffed", utc(2026, 1, 5, 6), utc(2026, 1, 5, 8), ("bob",)),
        ("understaffed", utc(2026, 1, 6), utc(2026, 1, 7), ("ann",)),
    ]
    # the second one is cut by the window: its real bounds are searched beyond it
    assert (found[1].real_start, found[1].real_end) == (utc(2026, 1, 6), utc(2026, 1, 7))


def test_a_policy_step_counts_its_rotas_and_named_people_but_not_the_unreachable():
    a = rota(layer(["ann"], every="1d"), rid="a")
    b = rota(layer(["bob", None], every="1d"), rid="b")
    policy = Policy("p", (PolicyStep(rotas=("a", "b")), PolicyStep(rotas=("a",), people=("mia",))))
    rules = Rules({}, {("p", 1): CoverageRule(min_people=2), ("p", 2): CoverageRule(min_people=2)})
    found = violations(coverage(a, b, policies=[policy], unreachable={"bob": "no phone"}),
                       rules, utc(2026, 1, 5), utc(2026, 1, 6))
    # step 1: bob cannot be rung, so ann alone; step 2: ann and mia
    assert [(v.policy, v.step, v.kind, v.people) for v in found] == [
        ("p", 1, "understaffed", ("ann", "bob"))]


def test_named_people_of_a_step_have_no_shift_rule():
    a = rota(layer(["ann", "ben"], every="1d"), rid="a")
    policy = Policy("p", (PolicyStep(rotas=("a",), people=("mia",)),))
    rules = Rules({}, {("p", 1): CoverageRule(max_shift=timedelta(hours=30))})
    assert violations(coverage(a, policies=[policy]), rules, utc(2026, 1, 5), utc(2026, 1, 9)) == []


def test_a_person_always_on_duty_has_an_open_long_shift():
    r = rota(layer(["ann"], every="1w"))
    [v] = violations(coverage(r), Rules({"r": CoverageRule(max_shift=timedelta(hours=24))}, {}),
                     utc(2026, 3, 1), utc(2026, 3, 15))
    assert (v.kind, v.real_start, v.real_end) == ("long_shift", None, None)


def test_rule_mappings_are_checked_and_read():
    assert rule_problems({"min_people": 0, "max_shift": 3}) == [
        ("max_shift", "unknown key (use min_people, max_shift_hours, min_rest_hours)"),
        ("min_people", "0 must be a whole number from 1 to 10")]
    assert rule_from_json({"min_people": 2, "max_shift_hours": 24}) == CoverageRule(
        min_people=2, max_shift=timedelta(hours=24))
    assert rule_from_json({}) is None
