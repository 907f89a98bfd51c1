"""Health report for /healthz: database reachable and migrated."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from voiceline import appdb, migrate


def health_report() -> dict[str, Any]:
    """Database reachability and schema revision; ok only when both are right."""
    report: dict[str, Any] = {"ok": True}
    try:
        with appdb.engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        current = migrate.current_revision(appdb.engine())
        report["schema"] = current
        if current != migrate.head_revision():
            report["ok"] = False
            report["error"] = "database not migrated: run `voiceline db upgrade`"
    except Exception as exc:  # health must answer, whatever broke
        report["ok"] = False
        report["error"] = f"database unreachable: {type(exc).__name__}"
    return report
