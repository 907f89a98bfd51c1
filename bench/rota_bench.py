"""Rota engine timings: point queries and a year of shifts, with 20 and 2,000 overrides."""

from __future__ import annotations

import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from voiceline.rota import (
    Layer,
    LayerVersion,
    Override,
    Period,
    Rota,
    Window,
    compile_rota,
    on_duty,
    shifts,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import record  # noqa: E402

YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
YEAR = timedelta(days=365)
LAYER_SHAPES = [  # (period, windows, priority)
    ("12h", (), 0),
    ("1d", (), 0),
    ("1w", (Window.parse({"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}),), 10),
    ("2w", (Window.parse({"start": "22:00", "end": "06:00"}),), 5),
    ("1mo", (), -1),
]


def build_rota(override_count: int, seed: int = 1) -> Rota:
    """Five layers of ten members each in New York time, plus random overrides over a year."""
    rng = random.Random(seed)
    layers = tuple(
        Layer(f"layer{i}", priority, (LayerVersion(
            tuple(f"p{i}-{m}" for m in range(10)), datetime(2025, 12, 29, 9, 0), Period.parse(every),
            windows),))
        for i, (every, windows, priority) in enumerate(LAYER_SHAPES))
    overrides = []
    for n in range(override_count):
        start = YEAR_START + timedelta(minutes=rng.randrange(365 * 24 * 60))
        end = start + timedelta(minutes=rng.randrange(30, 3 * 24 * 60))
        kind = rng.choice(["add", "remove", "replace"])
        person = f"p{rng.randrange(5)}-{rng.randrange(10)}"
        replaces = f"p{rng.randrange(5)}-{rng.randrange(10)}" if kind == "replace" else None
        overrides.append(Override(start, end, kind, person, replaces, id=f"o{n}"))
    return Rota("bench", "America/New_York", layers, tuple(overrides))


def median_seconds(fn, runs: int) -> float:
    """Median wall time of `runs` calls of fn."""
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def measure(override_count: int) -> dict[str, float]:
    """Compile time, median on_duty time and one year of shifts for one rota size."""
    rota = build_rota(override_count)
    t0 = time.perf_counter()
    compiled = compile_rota(rota)
    compile_s = time.perf_counter() - t0
    rng = random.Random(7)
    instants = [YEAR_START + timedelta(seconds=rng.randrange(365 * 86400)) for _ in range(2000)]
    it = iter(instants * 2)
    point = median_seconds(lambda: on_duty(compiled, next(it)), 2000)
    people_it = iter(instants)
    people = median_seconds(lambda: compiled.people_at(next(people_it)), 2000)
    year = median_seconds(lambda: shifts(compiled, YEAR_START, YEAR_START + YEAR), 3)
    segments = len(shifts(compiled, YEAR_START, YEAR_START + YEAR))
    return {"compile": compile_s, "on_duty": point, "people_at": people, "year": year,
            "segments": segments}


def main() -> None:
    """Print the timings for 20 and 2,000 overrides and their ratios."""
    small, large = measure(20), measure(2000)
    print(f"{'':28}{'20 overrides':>16}{'2000 overrides':>16}{'ratio':>8}")
    rows = [("compile (once)", "compile", 1e3, "ms"), ("on_duty point query (median)", "on_duty", 1e6, "us"),
            ("people_at only (median)", "people_at", 1e6, "us"), ("shifts over one year", "year", 1e3, "ms")]
    for label, key, scale, unit in rows:
        a, b = small[key] * scale, large[key] * scale
        print(f"{label:28}{a:>13.1f} {unit}{b:>13.1f} {unit}{b / a:>8.2f}")
    print(f"{'segments in the year':28}{small['segments']:>16}{large['segments']:>16}")
    section = "Rota engine (5 layers, 50 members)"
    for label, key, scale, unit in rows[1:2] + rows[3:]:
        a, b = small[key] * scale, large[key] * scale
        record(section, f"{label}, 2,000 vs 20 overrides", b / a, "x",
               note=f"{a:.1f} {unit} vs {b:.1f} {unit}")


if __name__ == "__main__":
    main()
