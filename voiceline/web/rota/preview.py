"""Preview of a layer edit: the final schedule's changes of duty, computed by the rota engine.

Nothing is written: the edit is applied to engine values only. The preview's digest travels in
the form, so "Save" stores exactly the edit that was previewed (a changed field previews again).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import datetime
from typing import Any

from voiceline import models as m
from voiceline.oncall.preview import PREVIEW_DAYS, Change, duty_changes
from voiceline.oncall.store import layer_to_engine, rota_to_engine
from voiceline.rota import edit_layer

__all__ = ["PREVIEW_DAYS", "Change", "digest", "preview_edit"]

def digest(changes: dict[str, Any], priority: int) -> str:
    """A short fingerprint of an edit (members, anchor, period, windows, priority)."""
    text = json.dumps({k: str(v) for k, v in sorted(changes.items())} | {"priority": priority})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def preview_edit(rota: m.Rota, layer: m.Layer, at: datetime, changes: dict[str, Any],
                 priority: int) -> tuple[datetime | None, list[Change]]:
    """(when the new version starts, the final schedule's changes over the next two weeks)."""
    old = rota_to_engine(rota)
    edited = edit_layer(layer_to_engine(layer), rota.timezone, at=at, priority=priority, **changes)
    new = replace(old, layers=tuple(edited if la.id == edited.id else la for la in old.layers))
    starts = edited.versions[-1].valid_from if edited.versions else None
    return starts, duty_changes(old, new, at)
