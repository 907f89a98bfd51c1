"""Select options for WTForms (which wants SelectChoice objects, not (value, label) tuples)."""

from __future__ import annotations

from collections.abc import Iterable

from wtforms.fields.choices import SelectChoice


def options(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """(value, label) pairs as SelectChoice options, in order."""
    return [SelectChoice(value, label) for value, label in pairs]
