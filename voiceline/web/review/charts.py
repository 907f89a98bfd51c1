"""Server-rendered SVG charts of the metrics (pygal, no JavaScript, nothing from a CDN)."""

from __future__ import annotations

import re
from typing import Any

import pygal
from pygal.style import Style

_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)
_STYLE = Style(background="white", plot_background="white", font_family="system-ui, sans-serif",
               colors=("#4a78b0", "#2e9e5b", "#d0703c", "#9a9a9a", "#b03a48", "#7a5aa8"))


_SERIE_ID = re.compile(r'\bid="(activate-serie-\d+)"')


def _svg(chart: pygal.graph.graph.Graph, name: str) -> str:
    # pygal inlines a config <script> even with js=[]; a CSP would block it and nothing needs it.
    svg = _SCRIPT.sub("", chart.render(is_unicode=True))
    # Its legend ids ("activate-serie-0") repeat in every chart of a page: make them the chart's.
    return _SERIE_ID.sub(lambda m: f'id="{name}-{m.group(1)}"', svg)


def _whole_ticks(values: list[int]) -> list[int]:
    """Axis ticks on whole calls (nobody answers 0.2 calls), at most about ten of them."""
    top = max(values, default=0)
    step = max(1, -(-top // 10))
    return list(range(0, max(top, 1) + step, step))


def _config(**kwargs: Any) -> dict[str, Any]:
    return {"js": [], "disable_xml_declaration": True, "style": _STYLE, "height": 320,
            "legend_at_bottom": True, "print_values": False, **kwargs}


def hourly_chart(metrics: dict[str, Any]) -> str:
    """Offered and answered calls by local hour of day."""
    chart = pygal.Bar(**_config(title=f"Calls by hour ({metrics['timezone']})",
                                x_title="hour of day", y_title="calls"))
    chart.x_labels = [f"{h:02d}" for h in range(24)]
    chart.add("offered", [slot["offered"] for slot in metrics["by_hour"]])
    chart.add("answered", [slot["answered"] for slot in metrics["by_hour"]])
    chart.y_labels = _whole_ticks([slot["offered"] for slot in metrics["by_hour"]])
    return _svg(chart, "hourly")


def responder_chart(metrics: dict[str, Any], names: dict[str, str]) -> str:
    """Calls rung, answered and declined per responder."""
    chart = pygal.HorizontalBar(**_config(title="Per responder", x_title="calls"))
    rows = metrics["per_responder"]
    chart.x_labels = [names.get(r["person"], r["person"]) for r in rows]
    for key in ("rung", "answered", "declined"):
        chart.add(key, [r[key] for r in rows])
    chart.y_labels = _whole_ticks([r[k] for r in rows for k in ("rung", "answered", "declined")])
    return _svg(chart, "responders")


def outcome_chart(metrics: dict[str, Any]) -> str:
    """How the calls ended."""
    chart = pygal.Pie(**_config(title="Outcomes", inner_radius=0.45, print_values=True,
                                value_formatter=lambda v: f"{v:.0f}"))
    for outcome, count in metrics["outcomes"].items():
        if count:
            chart.add(f"{outcome} ({count})", count)  # the number in the legend too
    return _svg(chart, "outcomes")
