"""Opt-in capture of real Twilio requests as replayable fixtures (phone numbers redactable).

PIN digits are never written, whatever the settings say.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CALLER_FIELDS = ("From", "Caller", "ForwardedFrom", "CallerName", "FromCity", "FromZip",
                 "CallerCity", "CallerZip")
CALLED_FIELDS = ("To", "Called", "ToCity", "ToZip", "CalledCity", "CalledZip")
SECRET_PATHS = ("/voice/pin", "/voice/identify")
_SAFE = re.compile(r"[^A-Za-z0-9_-]")


def _fake_number(value: str) -> str:
    """A stable fictional North American number (555-01xx) standing in for `value`."""
    digest = int(hashlib.sha256(value.encode()).hexdigest(), 16)
    return f"+1202555{digest % 100:04d}"


def redact(path: str, params: Mapping[str, str], numbers: bool) -> dict[str, str]:
    """The parameters safe to store: no PIN digits ever; caller (and leg) numbers when asked."""
    out = dict(params)
    if path.startswith(SECRET_PATHS) and "Digits" in out:
        out["Digits"] = "<redacted>"
    if numbers:
        fields = CALLER_FIELDS + (CALLED_FIELDS if params.get("ParentCallSid") else ())
        for key in fields:
            if out.get(key):
                out[key] = _fake_number(out[key]) if key in {"From", "Caller", "ForwardedFrom",
                                                             "To", "Called"} else "<redacted>"
    return out


def verbs(twiml: str) -> list[str]:
    """The top-level verbs of a TwiML document (what a captured step expects)."""
    try:
        return [child.tag for child in ET.fromstring(twiml)]
    except ET.ParseError:
        return []


def write(directory: str, path_with_query: str, params: Mapping[str, str], status: int,
          body: str, redact_numbers: bool) -> Path:
    """Append one request and what it was answered to the fixture file of its call."""
    sid = params.get("ParentCallSid") or params.get("CallSid") or "no-callsid"
    target = Path(directory) / f"captured-{_SAFE.sub('_', sid)[:64]}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {"name": f"captured call {sid}", "captured": True, "steps": []}
    if target.exists():
        document = json.loads(target.read_text(encoding="utf-8"))
    step: dict[str, Any] = {"post": path_with_query,
                            "params": redact(path_with_query, params, redact_numbers),
                            "expect": {"status": status}}
    if status == 200 and body.lstrip().startswith("<?xml"):
        step["expect"]["verbs"] = verbs(body)
    document["steps"].append(step)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return target
