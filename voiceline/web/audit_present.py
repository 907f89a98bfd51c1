"""How the audit log reads: kinds of entry, targets as links, before/after as a field diff.

Flask-free apart from `link_target`'s url builder, which the view passes in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, not_, or_

from voiceline.models.shared import AuditEntry

# Kinds of entry by action prefix; "changes" is every action none of the others names.
KIND_PREFIXES: dict[str, tuple[str, ...]] = {
    "logins": ("auth.",),
    "listens": ("recording.listen",),
    "exports": ("calls.export",),
    "views": ("calls.view",),
    "alerts": ("call.duress", "call.pin_locked", "webhook."),
}
KINDS = {"": "everything", "changes": "changes only", "logins": "logins and logouts",
         "listens": "recording listens", "exports": "exports", "views": "call log views",
         "alerts": "duress, PIN lock-outs, bad signatures"}


def kind_clause(kind: str) -> ColumnElement[bool]:
    """The WHERE clause of one kind (ValueError for an unknown kind)."""
    def prefixes(names):
        return or_(false(), *[AuditEntry.action.startswith(p, autoescape=True) for p in names])
    if kind == "changes":
        return not_(prefixes([p for ps in KIND_PREFIXES.values() for p in ps]))
    if kind not in KIND_PREFIXES:
        raise ValueError(f"kind is one of {', '.join(k for k in KINDS if k)}")
    return prefixes(KIND_PREFIXES[kind])


# --- targets and ids as links ------------------------------------------------------------------

# (pattern of a target, [(group, endpoint, argument name)]): each group becomes a link.
_TARGETS: list[tuple[re.Pattern[str], list[tuple[int, str, str]]]] = [
    (re.compile(r"^rota (\S+) layer (\d+)$"), [(1, "rota.rota", "rota_id"), (2, "rota.edit_layer", "layer_id")]),
    (re.compile(r"^rota (\S+)(?: override \d+)?$"), [(1, "rota.rota", "rota_id")]),
    (re.compile(r"^(?:call )?(CA\w+)$"), [(1, "review.call_page", "sid")]),
    (re.compile(r"^person (\S+)$"), [(1, "directory.edit_person", "person_id")]),
    (re.compile(r"^caller (\S+)$"), [(1, "directory.edit_caller", "caller_id")]),
    (re.compile(r"^policy (\S+)$"), [(1, "directory.edit_policy", "policy_id")]),
    (re.compile(r"^hotline (\S+)$"), [(1, "directory.edit_hotline", "hotline_id")]),
]
# Detail fields that hold an id of something with a page.
FIELD_LINKS = {"rota": ("rota.rota", "rota_id"), "caller": ("directory.edit_caller", "caller_id"),
               "call": ("review.call_page", "sid"), "sid": ("review.call_page", "sid")}


@dataclass(frozen=True)
class Piece:
    """A piece of text, a link when `url` is set."""

    text: str
    url: str | None = None


UrlFor = Callable[[str, dict[str, Any]], str | None]


def link_target(target: str, url_for: UrlFor) -> list[Piece]:
    """The target split into text and links (`url_for` returns None where no page is)."""
    for pattern, links in _TARGETS:
        match = pattern.match(target)
        if not match:
            continue
        pieces, at = [], 0
        for group, endpoint, arg in links:
            start, end = match.span(group)
            url = url_for(endpoint, {**_rota_arg(match, endpoint), arg: match.group(group)})
            pieces += [Piece(target[at:start]), Piece(target[start:end], url)]
            at = end
        return [p for p in [*pieces, Piece(target[at:])] if p.text]
    return [Piece(target)]


def _rota_arg(match: re.Match[str], endpoint: str) -> dict[str, str]:
    return {"rota_id": match.group(1)} if endpoint == "rota.edit_layer" else {}


def link_value(field: str, value: str, url_for: UrlFor) -> Piece:
    """A detail value, a link when its field holds the id of something with a page."""
    name = field.rsplit(".", 1)[-1].split("[", 1)[0]
    if name in FIELD_LINKS and value and " " not in value:
        endpoint, arg = FIELD_LINKS[name]
        return Piece(value, url_for(endpoint, {arg: value}))
    return Piece(value)


# --- before / after as a diff ------------------------------------------------------------------

@dataclass(frozen=True)
class Change:
    """One field that differs: its path, the value before and after (None: absent)."""

    field: str
    before: str | None
    after: str | None


def words(value: Any) -> str:
    """A value as a person reads it: yes/no, lists joined by commas, — for nothing."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return ", ".join(words(v) for v in value)
    return str(value)


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """Nested dicts and lists of dicts as path -> words ("windows[2].start")."""
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for key, inner in value.items():
            out.update(flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        out = {}
        for n, inner in enumerate(value, 1):
            out.update(flatten(inner, f"{prefix}[{n}]" if prefix else f"#{n}"))
        return out
    return {prefix or "value": words(value)}


def diff(before: Any, after: Any) -> tuple[list[Change], int]:
    """(the fields that differ, how many are the same); a side that is None has no fields."""
    old = flatten(before) if before is not None else {}
    new = flatten(after) if after is not None else {}
    order = list(new) + [k for k in old if k not in new]
    changes = [Change(k, old.get(k), new.get(k)) for k in order if old.get(k) != new.get(k)]
    return changes, sum(1 for k in order if k in old and k in new and old[k] == new[k])


def other_details(detail: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The detail's fields other than before/after, flattened, as (field, words)."""
    rest = {k: v for k, v in (detail or {}).items() if k not in ("before", "after")}
    return list(flatten(rest).items()) if rest else []
