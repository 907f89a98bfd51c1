"""API routes declared with their OpenAPI description, and the document generated from them.

Each view is registered through `Api.route(...)`, which records its summary, roles,
query parameters, request body and response schema next to the code; `openapi()`
walks the app's URL map, so a route that exists is a route that is documented.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask

PREFIX = "/api/v1"
# `<int:...>` is voiceline.ids.IdConverter: digits, at most 64 bits (beyond: 400).
_CONVERTERS = {"int": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
               "string": {"type": "string"}, "default": {"type": "string"}}
# What parse_instant accepts (voiceline.oncall.EARLIEST, LATEST), said in each instant parameter.
INSTANT_RANGE = "from 1970-01-01 to 2999-12-31 UTC; outside it a 400"
_RULE_ARG = re.compile(r"<(?:(\w+):)?(\w+)>")
ERROR_CODES = {400: "Bad request (a message says which value)", 401: "No valid API token",
               403: "The token's user lacks the role", 404: "Unknown id",
               409: "Conflicts with the current state", 422: "Validation failed (problems listed)"}


@dataclass(frozen=True)
class Param:
    """A query parameter."""

    name: str
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})
    required: bool = False


@dataclass(frozen=True)
class RouteSpec:
    """What the OpenAPI document says about one route and method."""

    method: str
    summary: str
    roles: tuple[str, ...] | None  # None: no token needed
    query: tuple[Param, ...] = ()
    body: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    tag: str = ""
    also: tuple[tuple[int, str], ...] = ()  # other success codes that carry `response`
    # other success codes with their own schema: (code, description, schema)
    others: tuple[tuple[int, str, dict[str, Any]], ...] = ()


class Api:
    """A blueprint plus the registry of route specs, keyed by endpoint."""

    def __init__(self, name: str, import_name: str):
        self.bp = Blueprint(name, import_name, url_prefix=PREFIX)
        self.specs: dict[str, RouteSpec] = {}
        self.schemas: dict[str, dict[str, Any]] = {}
        self.guard: Callable[[tuple[str, ...] | None], Callable] | None = None

    def schema(self, name: str, schema: dict[str, Any]) -> dict[str, Any]:
        """Register a named component schema; returns a $ref to it."""
        self.schemas[name] = schema
        return {"$ref": f"#/components/schemas/{name}"}

    def route(self, rule: str, method: str, *, summary: str, roles: Sequence[str] | None,
              query: Sequence[Param] = (), body: dict | None = None, response: dict | None = None,
              status: int = 200, errors: Sequence[int] = (), tag: str = "",
              also: dict[int, str] | None = None,
              others: Sequence[tuple[int, str, dict[str, Any]]] = ()):
        """Register a view for one method, wrapped in the token and role check."""
        def decorator(view):
            endpoint = view.__name__
            spec = RouteSpec(method.upper(), summary, tuple(roles) if roles is not None else None,
                             tuple(query), body, response, status, tuple(errors), tag,
                             tuple((also or {}).items()), tuple(others))
            self.specs[f"{self.bp.name}.{endpoint}"] = spec
            wrapped = self.guard(spec.roles)(view) if self.guard else view
            self.bp.add_url_rule(rule, endpoint, wrapped, methods=[spec.method])
            return view
        return decorator


def path_of(rule: str) -> str:
    """The OpenAPI path of a URL rule below the prefix: /overrides/<int:oid> -> /overrides/{oid}."""
    return _path_and_params(rule[len(PREFIX):] if rule.startswith(PREFIX) else rule)[0] or "/"


def _path_and_params(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params = []
    for converter, name in _RULE_ARG.findall(rule):
        params.append({"name": name, "in": "path", "required": True,
                       "schema": _CONVERTERS.get(converter or "default", {"type": "string"})})
    return _RULE_ARG.sub(lambda match: "{" + match.group(2) + "}", rule), params


def _operation(endpoint: str, spec: RouteSpec, path_params: list[dict]) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": endpoint.split(".", 1)[1], "summary": spec.summary}
    if spec.tag:
        op["tags"] = [spec.tag]
    params = list(path_params) + [
        {"name": p.name, "in": "query", "required": p.required, "description": p.description,
         "schema": p.schema} for p in spec.query]
    if params:
        op["parameters"] = params
    if spec.body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": spec.body}}}
    words = {200: "OK", 201: "Created", 204: "No content"}
    responses: dict[str, Any] = {}
    for code, description in ((spec.status, words.get(spec.status, "OK")), *spec.also):
        responses[str(code)] = {"description": description}
        if spec.response is not None and code != 204:
            responses[str(code)]["content"] = {"application/json": {"schema": spec.response}}
    for code, description, schema in spec.others:
        responses[str(code)] = {"description": description,
                                "content": {"application/json": {"schema": schema}}}
    codes = set(spec.errors) | ({401, 403} if spec.roles is not None else set())
    if path_params:
        codes.add(404)
    if any(p["schema"].get("type") == "integer" for p in path_params) or spec.body is not None:
        codes.add(400)  # an id beyond 64 bits; a body that is not a JSON object
    for code in sorted(codes):
        responses[str(code)] = {"description": ERROR_CODES[code], "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    op["responses"] = responses
    if spec.roles is None:
        op["security"] = []
    else:
        roles = ", ".join(("admin", *spec.roles)) if spec.roles else "any role"
        op["description"] = f"Roles: {roles}."
    return op


def openapi(app: Flask, api: Api, *, version: str, server: str = PREFIX) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route of `api` registered on `app`."""
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        spec = api.specs.get(rule.endpoint)
        if spec is None or not rule.rule.startswith(PREFIX):
            continue
        path, params = _path_and_params(rule.rule[len(PREFIX):] or "/")
        paths.setdefault(path, {})[spec.method.lower()] = _operation(rule.endpoint, spec, params)
    return {
        "openapi": "3.1.0",
        "info": {"title": "voiceline API", "version": version,
                 "description": "Who is on duty, the directory, rotas, overrides and the call log. "
                                "Send `Authorization: Bearer TOKEN` (`voiceline users token NAME`)."},
        "servers": [{"url": server}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "required": ["error"], "properties": {
                "error": {"type": "string"},
                "problems": {"type": "array", "items": {"type": "string"}}}}, **api.schemas},
        },
        "security": [{"bearerAuth": []}],
    }
