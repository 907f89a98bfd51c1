"""Figures of the bench scripts, gathered into one report (`make bench` writes bench/REPORT.md).

Each script prints its figures as before and, when `BENCH_REPORT` names a file, also
appends them there as JSON lines through `record`. `render` turns those lines into the
markdown report: the machine it ran on, then one table per section with every figure
beside its target.
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path


def record(section: str, name: str, value: float, unit: str, *, target: str = "",
           met: bool | None = None, note: str = "") -> None:
    """Append one figure to the report file named by BENCH_REPORT (no-op without it)."""
    path = os.environ.get("BENCH_REPORT")
    if not path:
        return
    line = {"section": section, "name": name, "value": value, "unit": unit, "target": target,
            "met": met, "note": note}
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


def _first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "not found"
    return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr) else ""


def machine() -> list[str]:
    """What the figures were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    pg = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    return [
        f"- when: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- CPU: {cpu}, {os.cpu_count()} cores; memory {memory}; load average at the end "
        f"{os.getloadavg()[0]:.1f} (other work on the machine slows every absolute figure)",
        f"- {platform.python_implementation()} {platform.python_version()} on {platform.platform()}",
        f"- SQLite {sqlite3.sqlite_version}; "
        + (_first_line([str(pg[-1]), "--version"]) if pg else "PostgreSQL not installed"),
    ]


def _value(figure: dict) -> str:
    value = figure["value"]
    if isinstance(value, float):
        text = f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    else:
        text = f"{value:,}"
    return f"{text} {figure['unit']}".strip()


def _row(row: dict, name: str | None = None) -> str:
    met = {True: "yes", False: "**no**", None: ""}[row["met"]]
    return f"| {name or row['name']} | {_value(row)} | {row['target']} | {met} | {row['note']} |"


def _cell(row: dict | None) -> str:
    if row is None:
        return "–"
    met = {True: "yes", False: "**no**", None: ""}[row["met"]]
    return f"{_value(row)} {met}".strip()


def summary(figures: list[dict]) -> list[str]:
    """Every figure that has a target, SQLite beside PostgreSQL (the table the README shows)."""
    targeted = [f for f in figures if f["target"]]
    if not targeted:
        return []
    rows: dict[str, dict[str, dict]] = {}
    targets: dict[str, str] = {}
    for f in targeted:
        db = "PostgreSQL" if "PostgreSQL" in f["section"] else "SQLite"
        section = (f["section"].replace("PostgreSQL, ", "").replace("SQLite, ", "")
                   .replace(", PostgreSQL", "").replace(", SQLite", "")
                   .replace(" (PostgreSQL)", "").replace(" (SQLite)", ""))
        key = f"{section}: {f['name']}"
        rows.setdefault(key, {})[db] = f
        targets[key] = f["target"]
    met = sum(1 for f in targeted if f["met"])
    lines = [f"## Targets at a glance: {met} of {len(targeted)} met", "",
             "| figure | SQLite | PostgreSQL | target |", "|---|---|---|---|"]
    lines += [f"| {key} | {_cell(dbs.get('SQLite'))} | {_cell(dbs.get('PostgreSQL'))} | "
              f"{targets[key]} |" for key, dbs in rows.items()]
    return lines + [""]


def render(figures: Iterable[dict], failures: list[str], *, mode: str = "",
           minutes: float | None = None) -> str:
    """The markdown report: machine, the targets at a glance, then a table per section."""
    figures = list(figures)
    sections: dict[str, list[dict]] = {}
    for figure in figures:
        sections.setdefault(figure["section"], []).append(figure)
    lines = ["# voiceline bench report", "", "Written by `make bench` (bench/run_all.py). Ratios "
             "compare runs measured back to back in the same run (absolute times drift on a "
             "shared machine).", ""]
    lines += machine()
    if mode:
        lines.append(f"- run: {mode} (`make bench`{' BENCH_ARGS=--quick' if mode == 'quick' else ''})"
                     + (f", {minutes:.1f} min" if minutes is not None else ""))
    lines.append("")
    if failures:
        lines += ["Scripts that failed or have not run (their figures are missing):", ""]
        lines += [f"- {name}" for name in failures] + [""]
    lines += summary(figures)
    for section, rows in sections.items():
        lines += [f"## {section}", "", "| figure | value | target | met | note |",
                  "|---|---|---|---|---|"]
        lines += [_row(row) for row in rows]
        lines.append("")
    return "\n".join(lines)


def read(path: Path) -> list[dict]:
    """The figures recorded in `path` (JSON lines)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
