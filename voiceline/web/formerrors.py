"""The error summary of a form: every error, with the id of the field it belongs to."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

HIDDEN = ("CSRFTokenField", "HiddenField")


@dataclass(frozen=True)
class Problem:
    """One error: the field's id to link to (None: nothing to link), its label and the message."""

    field_id: str | None
    label: str
    message: str


def _fields(form) -> Iterator:
    for field in form:
        if hasattr(field, "entries"):  # FieldList: its entries, or the subforms of FormFields
            for entry in field.entries:
                if hasattr(entry, "form"):
                    yield from _fields(entry.form)
                else:
                    yield entry
            yield field  # the list's own errors (strings) beside its entries' ones
        else:
            yield field


def form_problems(form) -> list[Problem]:
    """Every error of `form` and its subforms in page order (form-level errors first)."""
    problems = [Problem(None, "", str(m)) for m in getattr(form, "form_errors", []) or []]
    for field in _fields(form):
        for message in getattr(field, "errors", None) or []:
            if not isinstance(message, str):
                continue  # a FieldList's per-entry errors: reported from the entries
            if field.type == "CSRFTokenField":
                problems.append(Problem(None, "", "The form had expired or came from another page: "
                                                  "please send it again."))
            elif field.type in HIDDEN:
                problems.append(Problem(None, "", message))
            else:
                problems.append(Problem(field.id, field.label.text, message))
    return problems
