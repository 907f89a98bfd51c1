"""The rota file: import (validate everything, then write) and export, YAML or JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from voiceline.rotafile.apply import ImportReport, apply_plan
from voiceline.rotafile.check import Checker, Plan, RotaFileError
from voiceline.rotafile.export import export_document
from voiceline.rotafile.parse import parse_document

# The demo directory in the source tree (make run loads it; replays use it by default).
DEMO_FILE = Path(__file__).resolve().parents[2] / "fixtures" / "demo.yaml"

__all__ = ["DEMO_FILE", "Checker", "ImportReport", "Plan", "RotaFileError", "apply_plan", "export_document", "load_file",
           "parse_document", "dump_document"]


def load_file(path: str | Path) -> Any:
    """Read a rota file as YAML (JSON is valid YAML, but is read as JSON when it ends in .json)."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        if str(path).endswith(".json"):
            return json.loads(text)
        return yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise RotaFileError([f"(file): not valid {'JSON' if str(path).endswith('.json') else 'YAML'}: {exc}"]) from None


def dump_document(doc: dict, fmt: str = "yaml") -> str:
    """Serialise an exported document as YAML or JSON."""
    if fmt == "json":
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
