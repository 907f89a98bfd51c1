"""Server-rendered SVG charts of the metrics (pygal, no JavaScript, nothing from a CDN)."""

from __future__ import annotations

import re
from typing import Any

import pygal
from pygal.style import Style

_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)
_STYLE = Style(background="white", plot_background="white", font_family="system-ui, sans-serif",
               colors=("#4a78b0", "#2e9e5b", "#d0703c", "#9a9a9a", "#b03a48", "#7a5aa8"))


def _svg(chart: pygal.graph.graph.Graph) -> str:
    # pygal inlines a config <script> even with js=[]; a CSP would block it and nothing needs it.
    return _SCRIPT.sub("", chart.render(is_unicode=True))


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
    return _svg(chart)


def responder_chart(metrics: dict[str, Any], names: dict[str, str]) -> str:
    """Calls rung, answered and declined per responder."""
    chart = pygal.HorizontalBar(**_config(title="Per responder", x_title="calls"))
    rows = metrics["per_responder"]
    chart.x_labels = [names.get(r["person"], r["person"]) for r in rows]
    for key in ("rung", "answered", "declined"):
        chart.add(key, [r[key] for r in rows])
    return _svg(chart)


def outcome_chart(metrics: dict[str, Any]) -> str:
    """How the calls ended."""
    chart = pygal.Pie(**_config(title="Outcomes", inner_radius=0.45))
    for outcome, count in metrics["outcomes"].items():
        if count:
            chart.add(outcome, count)
    return _svg(chart)
