"""Property tests: shifts tile a range exactly and agree with point queries."""

from datetime import UTC, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voiceline.rota import (
    Layer,
    LayerVersion,
    Override,
    Period,
    Rota,
    Window,
    edit_layer,
    on_duty,
    shifts,
)

ZONES = ["UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata",
         "America/Santiago"]
PEOPLE = ["a", "b", "c", "d", None]
BASE = datetime(2026, 1, 1, tzinfo=UTC)

periods = st.one_of(
    st.builds(Period, st.integers(1, 48), st.just("hours")),
    st.builds(Period, st.integers(1, 3), st.just("days")),
    st.builds(Period, st.integers(1, 2), st.just("weeks")),
    st.builds(Period, st.integers(1, 2), st.just("months")),
)
clock = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
windows = st.builds(Window, st.frozensets(st.integers(0, 6), max_size=3), clock, clock)
local_anchor = st.datetimes(datetime(2025, 6, 1), datetime(2027, 6, 1)).map(
    lambda d: d.replace(second=0, microsecond=0))
instants = st.integers(0, 365 * 24 * 60).map(lambda m: BASE + timedelta(minutes=m))


@st.composite
def layers(draw, index: int) -> Layer:
    version = LayerVersion(
        tuple(draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=4))),
        draw(local_anchor), draw(periods), tuple(draw(st.lists(windows, max_size=2))))
    return Layer(f"l{index}", draw(st.integers(0, 2)), (version,))


@st.composite
def overrides(draw) -> Override:
    start = draw(instants)
    end = start + timedelta(minutes=draw(st.integers(1, 6 * 24 * 60)))
    kind = draw(st.sampled_from(["add", "remove", "replace"]))
    person = draw(st.sampled_from(["a", "b", "c", "e"]))
    replaces = draw(st.sampled_from(["a", "b", "c"])) if kind == "replace" else None
    return Override(start, end, kind, person, replaces)


@st.composite
def rotas(draw) -> Rota:
    count = draw(st.integers(1, 3))
    return Rota("r", draw(st.sampled_from(ZONES)), tuple(draw(layers(i)) for i in range(count)),
                tuple(draw(st.lists(overrides(), max_size=5))))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rota=rotas(), start=instants, length=st.integers(1, 40 * 24 * 60),
       fractions=st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=5))
def test_shifts_tile_the_range_and_agree_with_on_duty(rota, start, length, fractions):
    end = start + timedelta(minutes=length)
    segments = shifts(rota, start, end)

    assert segments[0].start == start
    assert segments[-1].end == end
    for before, after in zip(segments, segments[1:], strict=False):
        assert before.end == after.start
        assert set(before.people) != set(after.people)
    assert all(s.start < s.end for s in segments)

    for segment in segments:
        assert on_duty(rota, segment.start).people == segment.people
        for fraction in fractions:
            at = segment.start + (segment.end - segment.start) * fraction
            at = min(at, segment.end - timedelta(microseconds=1))
            duty = on_duty(rota, at)
            assert set(duty.people) == set(segment.people)
            if segment.end != end:
                assert duty.until == segment.end
            if segment.start != start:
                assert duty.since == segment.start


@settings(max_examples=100, deadline=None)
@given(rota=rotas(), at=instants, members=st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=4),
       period=periods)
def test_edit_never_changes_who_is_on_duty_now(rota, at, members, period):
    layer = rota.layers[0]
    edited = edit_layer(layer, rota.timezone, at=at, members=tuple(members), period=period)
    after = Rota(rota.id, rota.timezone, (edited, *rota.layers[1:]), rota.overrides)
    cut = edited.versions[1].valid_from
    assert cut >= at
    if cut > at:  # mid-shift; an edit exactly at a handoff takes effect at once
        assert on_duty(after, at).people == on_duty(rota, at).people
    # Up to the cut the rota is unchanged; from the cut the new version is in force.
    assert shifts(after, at - timedelta(days=3), cut) == shifts(rota, at - timedelta(days=3), cut)
    assert edited.versions[0].valid_until == cut
    assert edited.versions[1].members == tuple(members)
    # Across the version boundary, shifts still agree with point queries.
    lo, hi = at - timedelta(days=1), cut + timedelta(days=20)
    segments = shifts(after, lo, hi)
    assert (segments[0].start, segments[-1].end) == (lo, hi)
    for before, nxt in zip(segments, segments[1:], strict=False):
        assert before.end == nxt.start and set(before.people) != set(nxt.people)
        duty = on_duty(after, nxt.start)
        assert (duty.people, duty.since) == (nxt.people, nxt.start)
        assert on_duty(after, nxt.start - timedelta(microseconds=1)).until == nxt.start


@settings(max_examples=100, deadline=None)
@given(text=st.sampled_from(["h", "d", "w", "mo"]), count=st.integers(1, 1000))
def test_period_round_trips(text, count):
    period = Period.parse(f"{count}{text}")
    assert Period.parse(str(period)) == period and period.count == count


@settings(max_examples=100, deadline=None)
@given(window=windows)
def test_window_round_trips(window):
    assert Window.parse(window.to_dict()) == window
