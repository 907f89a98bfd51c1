"""Warnings beside a field: things that may be slips but can be legitimate (save anyway).

A view sets `field.warnings` (a list); while any form field carries one and the manager has
not pressed "Save anyway" (save_anyway=yes), nothing is saved and the form shows them.
"""

from __future__ import annotations

from flask import request


def warn(field, message: str) -> None:
    """Add a warning beside `field`."""
    field.warnings = [*getattr(field, "warnings", []), message]


def _fields(form):
    for field in form:
        if hasattr(field, "entries"):  # FieldList
            for entry in field.entries:
                yield from (_fields(entry.form) if hasattr(entry, "form") else [entry])
        else:
            yield field


def held_back(form) -> bool:
    """True when the form has warnings the manager has not yet chosen to save past."""
    warned = any(getattr(f, "warnings", None) for f in _fields(form))
    return warned and request.form.get("save_anyway") != "yes"
