"""Validate a rota file completely, before anything is written.

`parse_document` turns the YAML/JSON mapping into a `Plan` of typed, normalised values
or raises `RotaFileError` listing every problem.
"""

from __future__ import annotations

from typing import Any

from voiceline.rotafile.check import TOP_KEYS, Checker, Names, Plan, RotaFileError
from voiceline.rotafile.sections import (
    parse_callers,
    parse_hotlines,
    parse_people,
    parse_policies,
    parse_rotas,
)


def parse_document(doc: Any, region: str = "US", stored: frozenset[tuple] = frozenset()) -> Plan:
    """Validate a whole rota file; return the plan or raise RotaFileError with every problem.

    `stored` keys the overrides the database holds already: a clash between two of them is a
    warning of the plan (the directory keeps working), not a problem."""
    check = Checker(region, stored)
    if not isinstance(doc, dict):
        raise RotaFileError(["(top): the file must be a mapping with people, rotas, ..."])
    check.keys("(top)", doc, TOP_KEYS, set())
    default_zone = check.zone("timezone", doc.get("timezone", "UTC"))
    plan = Plan()
    people = Names(parse_people(check, doc, plan))
    parse_callers(check, doc, plan)
    rotas = Names(parse_rotas(check, doc, plan, people, default_zone or "UTC"))
    policies = Names(parse_policies(check, doc, plan, people, rotas))
    parse_hotlines(check, doc, plan, policies)
    if check.problems:
        raise RotaFileError(check.problems)
    plan.warnings = check.warnings
    return plan
