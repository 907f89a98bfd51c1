"""SECURITY.md names the tests that show each defence: every one it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_test_named_in_security_md_exists():
    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([\w/]+\.py)::(\w+)`", text))
    assert len(named) > 30
    missing = []
    for path, name in sorted(named):
        source = ROOT / "tests" / path
        if not source.exists() or not re.search(rf"^def {name}\(", source.read_text(), re.M):
            missing.append(f"{path}::{name}")
    assert missing == []


def test_every_threat_model_entry_names_a_test():
    """Each row of the threat model's tables ends in a test column naming `file::test`."""
    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    model = text.split("## Who attacks what", 1)[1].split("## Known limits", 1)[0]
    rows = [line for line in model.splitlines() if line.startswith("| ")
            and not line.startswith("| attack |")]
    assert len(rows) > 30
    unnamed = [row[:60] for row in rows
               if not re.search(r"`[\w/]+\.py::\w+`", row.rsplit("|", 2)[-2])]
    assert unnamed == []
