"""The SQLite file replaced or moved under a running app: the hotline follows the file at its
path (not the old inode), never creates an empty database in a webhook, and /healthz says what
happened."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from voiceline import appdb

from .conftest import params

FALLBACK = "+12025550109"


def _path(app) -> Path:
    return Path(appdb.engine(app).url.database)


def _calls_in(path: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [row[0] for row in conn.execute("SELECT sid FROM calls ORDER BY id")]
    finally:
        conn.close()


def _checkpoint(app) -> None:
    """Everything committed is in the main file (what a backup copy of it holds)."""
    with appdb.engine(app).connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _normal(answer) -> bool:
    return answer.status == 200 and answer.root.find("Dial") is None and answer.root.find("Gather") is not None


@pytest.fixture
def live(hotline, twilio):
    """A running hotline whose pool holds connections to its file."""
    hotline.config["FALLBACK_NUMBERS"] = [FALLBACK]
    assert _normal(twilio.post("/voice/incoming", params("CAbefore")))
    return hotline


def test_removed_then_restored_file_is_used_again(live, twilio, tmp_path):
    path = _path(live)
    _checkpoint(live)
    backup = tmp_path / "backup.db"
    shutil.copy(path, backup)
    path.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)

    # gone: the caller gets the fallback, and no empty database appears in its place
    answer = twilio.post("/voice/incoming", params("CAgone"))
    assert [n.text for n in answer.root.find("Dial").iter("Number")] == [FALLBACK]
    assert not path.exists()
    health = live.test_client().get("/healthz")
    assert health.status_code == 503
    assert "missing" in health.get_json()["error"]
    assert "missing" in health.get_json()["checks"]["database"]["events"][0]["message"]

    shutil.copy(backup, path)  # restored: a new inode at the old path
    assert _normal(twilio.post("/voice/incoming", params("CAafter")))
    _checkpoint(live)
    assert _calls_in(path) == ["CAbefore", "CAafter"]
    body = live.test_client().get("/healthz").get_json()
    assert body["checks"]["database"]["ok"] is True and body["checks"]["schema"]["ok"] is True
    assert any("is back; reconnected" in e["message"] for e in body["checks"]["database"]["events"])


def test_replaced_file_is_reconnected_to(live, twilio, tmp_path):
    path = _path(live)
    _checkpoint(live)
    copy = tmp_path / "copy.db"
    shutil.copy(path, copy)
    copy.replace(path)  # atomically replaced, as a restore by rename does

    assert _normal(twilio.post("/voice/incoming", params("CAreplaced")))
    _checkpoint(live)
    assert _calls_in(path) == ["CAbefore", "CAreplaced"]
    body = live.test_client().get("/healthz").get_json()
    assert body["checks"]["database"]["ok"] is True and body["checks"]["schema"]["ok"] is True
    assert any("replaced; reconnected" in e["message"] for e in body["checks"]["database"]["events"])


def test_renamed_file_is_not_written_behind_the_operators_back(live, twilio, tmp_path):
    path = _path(live)
    _checkpoint(live)
    moved = tmp_path / "moved.db"
    path.rename(moved)

    answer = twilio.post("/voice/incoming", params("CAmoved"))
    assert [n.text for n in answer.root.find("Dial").iter("Number")] == [FALLBACK]
    assert not path.exists()
    assert _calls_in(moved) == ["CAbefore"]  # the moved file was not written to

    moved.rename(path)  # moved back
    assert _normal(twilio.post("/voice/incoming", params("CAback")))
    _checkpoint(live)
    assert _calls_in(path) == ["CAbefore", "CAback"]
    body = live.test_client().get("/healthz").get_json()
    assert body["checks"]["database"]["ok"] is True and body["checks"]["schema"]["ok"] is True
    missing, back = [e["message"] for e in body["checks"]["database"]["events"]]
    assert "is missing (moved or deleted)" in missing and "is back; reconnected" in back
