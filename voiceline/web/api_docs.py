"""The API reference page: the OpenAPI document of voiceline/api/spec.py rendered on the server
(no renderer, nothing fetched from the internet), linked from the account page."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

from flask import Blueprint, current_app, render_template

from voiceline.api.base import api
from voiceline.api.spec import openapi
from voiceline.web.auth import login_required

bp = Blueprint("apidocs", __name__)
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class SchemaRow:
    """One property of a schema as a row: indented by depth, with its type in words."""

    depth: int
    name: str
    type: str
    required: bool
    description: str
    ref: str | None = None  # the component schema it names, linked on the page


def ref_name(ref: str) -> str:
    """#/components/schemas/Override -> Override."""
    return ref.rsplit("/", 1)[-1]


def type_words(schema: dict[str, Any]) -> str:
    """A schema's type as a short phrase: "array of Override", "integer 0–500", "one of a, b"."""
    if "$ref" in schema:
        return ref_name(schema["$ref"])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema:
            joiner = " and " if key == "allOf" else " or "
            return joiner.join(type_words(s) for s in schema[key])
    kind = schema.get("type", "any")
    words = " or ".join(kind) if isinstance(kind, list) else kind
    if kind == "array" or (isinstance(kind, list) and "array" in kind):
        words = f"array of {type_words(schema.get('items', {}))}"
    if "format" in schema:
        words += f" ({schema['format']})"
    if "enum" in schema:
        words += ": one of " + ", ".join("null" if v is None else str(v) for v in schema["enum"])
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None or high is not None:
        words += f" {'' if low is None else low}–{'' if high is None else high}"
    if isinstance(schema.get("additionalProperties"), dict):
        words += f" (map of {type_words(schema['additionalProperties'])})"
    return words


def ref_of(schema: dict[str, Any]) -> str | None:
    """The component a schema (or its items) refers to, None when it names none."""
    if "$ref" in schema:
        return ref_name(schema["$ref"])
    items = schema.get("items")
    return ref_of(items) if isinstance(items, dict) else None


def schema_rows(schema: dict[str, Any], depth: int = 0) -> list[SchemaRow]:
    """The properties of an object schema (nested objects and arrays of objects indented)."""
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return schema_rows(schema["items"], depth)
    rows: list[SchemaRow] = []
    required = set(schema.get("required", ()))
    for name, prop in (schema.get("properties") or {}).items():
        rows.append(SchemaRow(depth, name, type_words(prop), name in required,
                              prop.get("description", ""), ref_of(prop)))
        if "properties" in prop or (prop.get("type") == "array" and "properties" in prop.get("items", {})):
            rows += schema_rows(prop, depth + 1)
    return rows


def _operations(doc: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Operations grouped by tag, in the order the tags first appear."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                op = item[method]
                tag = (op.get("tags") or ["other"])[0]
                groups.setdefault(tag, []).append({**op, "method": method.upper(), "path": path})
    return list(groups.items())


@bp.get("/account/api", endpoint="reference")
@login_required
def reference():
    """The JSON API reference, generated from the same document as /api/v1/openapi.json."""
    doc = openapi(current_app, api, version=version("voiceline"))
    return render_template("api_docs.html", doc=doc, groups=_operations(doc),
                           schemas=doc["components"]["schemas"], type_words=type_words,
                           schema_rows=schema_rows, ref_of=ref_of)
