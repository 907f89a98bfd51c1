"""Validation of each section of a rota file (people, callers, rotas, policies, hotlines)."""

from __future__ import annotations

from collections.abc import Container
from collections.abc import Set as AbstractSet
from datetime import datetime
from typing import Any

from voiceline.models.directory import CALLER_POLICIES, PERSON_ROLES
from voiceline.oncall.coverage_rules import clean_rule, rule_problems
from voiceline.oncall.rules import Draft, involved, shape_problems, spans_overlap
from voiceline.rotafile.check import (
    CallerSpec,
    Checker,
    HotlineSpec,
    LayerSpec,
    OverrideSpec,
    PersonSpec,
    Plan,
    PolicySpec,
    RotaSpec,
    StepSpec,
    parse_period,
    parse_window,
)

PERSON_KEYS = {"id", "name", "phone", "languages", "timezone", "reminder_minutes", "roles"}
CALLER_KEYS = {"id", "name", "org", "phones", "language"}
ROTA_KEYS = {"id", "name", "timezone", "layers", "overrides", "reachability_minutes",
             "notify_outgoing", "coverage", "swap_approval", "two_person"}
LAYER_KEYS = {"name", "members", "anchor", "every", "windows", "priority"}
OVERRIDE_KEYS = {"start", "end", "add", "remove", "replace", "with", "note"}
POLICY_KEYS = {"id", "name", "steps", "repeat", "ring"}
RING_MODES = ("dial", "conference")
STEP_KEYS = {"rotas", "people", "ring_seconds", "coverage"}
HOTLINE_KEYS = {"id", "name", "number", "policy", "languages", "callers", "priority"}


def parse_people(check: Checker, doc: dict, plan: Plan) -> set[str]:
    """Validate people; return their ids."""
    seen: set[str] = set()
    for where, entry in check.items(doc, "people"):
        if not check.keys(where, entry, PERSON_KEYS, {"id", "name", "phone"}):
            continue
        pid = check.ident(f"{where}.id", entry.get("id"))
        check.unique(f"{where}.id", seen, pid, "person")
        person = PersonSpec(
            id=pid or "",
            name=check.text(f"{where}.name", entry.get("name")),
            phone=check.phone(f"{where}.phone", entry.get("phone")),
            languages=check.languages(f"{where}.languages", entry.get("languages")),
        )
        roles = entry.get("roles") or []
        if not isinstance(roles, list) or any(r not in PERSON_ROLES for r in roles):
            check.fail(f"{where}.roles", f"{roles!r}: a list of {', '.join(PERSON_ROLES)}")
        else:
            person.roles = sorted(set(roles))
        if not person.name:
            check.fail(f"{where}.name", "must not be empty")
        if entry.get("timezone") is not None:
            person.timezone = check.zone(f"{where}.timezone", entry["timezone"])
        if entry.get("reminder_minutes") is not None:
            person.reminder_minutes = check.integer(
                f"{where}.reminder_minutes", entry["reminder_minutes"], 1, 24 * 60)
        plan.people.append(person)
    return seen


def parse_callers(check: Checker, doc: dict, plan: Plan) -> None:
    """Validate callers; each number may belong to one caller only."""
    seen: set[str] = set()
    numbers: dict[str, str | None] = {}
    for where, entry in check.items(doc, "callers"):
        if not check.keys(where, entry, CALLER_KEYS, {"id", "name", "phones"}):
            continue
        cid = check.ident(f"{where}.id", entry.get("id"))
        check.unique(f"{where}.id", seen, cid, "caller")
        phones = entry.get("phones")
        if not isinstance(phones, list) or not phones:
            check.fail(f"{where}.phones", "must be a non-empty list of numbers")
            phones = []
        parsed = []
        for i, raw in enumerate(phones):
            number = check.phone(f"{where}.phones[{i}]", raw)
            if number is None:
                continue
            if number in numbers:
                check.fail(f"{where}.phones[{i}]", f"{number} already belongs to caller "
                           f"{numbers[number]!r}")
            numbers[number] = cid
            parsed.append(number)
        language: str | None = entry.get("language")
        if language is not None:
            spoken = check.languages(f"{where}.language", [language], full=True)
            language = spoken[0] if spoken else None
        caller = CallerSpec(id=cid or "", name=check.text(f"{where}.name", entry.get("name")),
                            org=check.text(f"{where}.org", entry.get("org")), phones=parsed,
                            language=language)
        if not caller.name:
            check.fail(f"{where}.name", "must not be empty")
        plan.callers.append(caller)


def parse_rotas(check: Checker, doc: dict, plan: Plan, people: AbstractSet[str],
                zone: str) -> set[str]:
    """Validate rotas, layers and overrides; return rota ids."""
    seen: set[str] = set()
    for where, entry in check.items(doc, "rotas"):
        if not check.keys(where, entry, ROTA_KEYS, {"id", "layers"}):
            continue
        rid = check.ident(f"{where}.id", entry.get("id"))
        check.unique(f"{where}.id", seen, rid, "rota")
        rota = RotaSpec(
            id=rid or "", name=check.text(f"{where}.name", entry.get("name"), rid or ""),
            timezone=check.zone(f"{where}.timezone", entry.get("timezone", zone)),
            notify_outgoing=bool(entry.get("notify_outgoing")),
            swap_approval=bool(entry.get("swap_approval")),
            two_person=bool(entry.get("two_person")),
        )
        if entry.get("reachability_minutes") is not None:
            rota.reachability_minutes = check.integer(
                f"{where}.reachability_minutes", entry["reachability_minutes"], 1, 24 * 60)
        rota.coverage = _parse_coverage(check, f"{where}.coverage", entry.get("coverage"))
        layers = entry.get("layers")
        if not isinstance(layers, list):
            check.fail(f"{where}.layers", "must be a list")
            layers = []
        for i, layer in enumerate(layers):
            rota.layers.append(_parse_layer(check, f"{where}.layers[{i}]", layer, people))
        overrides = entry.get("overrides") or []
        if not isinstance(overrides, list):
            check.fail(f"{where}.overrides", "must be a list")
            overrides = []
        for i, override in enumerate(overrides):
            parsed = parse_override(check, f"{where}.overrides[{i}]", override, people)
            if parsed:
                rota.overrides.append(parsed)
        _check_override_overlaps(check, rota.overrides, rota.id)
        plan.rotas.append(rota)
    return seen


def _parse_coverage(check: Checker, where: str, value: Any) -> dict[str, int] | None:
    """A coverage rule mapping (min_people, max_shift_hours, min_rest_hours), or None."""
    problems = rule_problems(value)
    for key, what in problems:
        check.fail(f"{where}.{key}" if key else where, what)
    return None if problems else clean_rule(value)


def _parse_layer(check: Checker, where: str, layer: Any, people: AbstractSet[str]) -> LayerSpec:
    out = LayerSpec()
    if not check.keys(where, layer, LAYER_KEYS, {"members", "anchor", "every"}):
        return out
    out.name = check.text(f"{where}.name", layer.get("name"))
    members = layer.get("members")
    if not isinstance(members, list) or not members:
        check.fail(f"{where}.members", "must be a non-empty list (null for an empty slot)")
        members = []
    for j, member in enumerate(members):
        if member is not None and member not in people:
            check.fail(f"{where}.members[{j}]", f"unknown person {member!r}")
        out.members.append(member)
    try:
        anchor = datetime.fromisoformat(str(layer.get("anchor")))
        if anchor.tzinfo is not None:
            check.fail(f"{where}.anchor", "is a local time in the rota's zone: give no offset")
        out.anchor = anchor.strftime("%Y-%m-%dT%H:%M")
    except ValueError:
        check.fail(f"{where}.anchor", f"{layer.get('anchor')!r} is not a local date-time "
                   "like 2026-01-05T09:00")
    out.every = parse_period(check, f"{where}.every", layer.get("every")) or ""
    windows = layer.get("windows") or []
    if not isinstance(windows, list):
        check.fail(f"{where}.windows", "must be a list")
        windows = []
    out.windows = [parse_window(check, f"{where}.windows[{k}]", w) for k, w in enumerate(windows)]
    if layer.get("priority") is not None:
        out.priority = check.integer(f"{where}.priority", layer["priority"], -100, 100) or 0
    return out


# How the rota file words a broken override rule (the person is "with" in a replace).
_FILE_WORDS = {("person", "self"): "a person cannot replace themselves",
               ("replaces", "missing"): "missing: who is replaced"}


def parse_override(check: Checker, where: str, entry: Any, people: Container[str]) -> OverrideSpec | None:
    """Validate one override entry of a rota file; None when its shape is unusable."""
    if not check.keys(where, entry, OVERRIDE_KEYS, {"start", "end"}):
        return None
    kinds = [k for k in ("add", "remove", "replace") if k in entry]
    if len(kinds) != 1:
        check.fail(where, "needs exactly one of add, remove, replace")
        return None
    kind = kinds[0]
    start = check.instant(f"{where}.start", entry.get("start"))
    end = check.instant(f"{where}.end", entry.get("end"))
    person, replaces = entry[kind], None
    if kind == "replace":
        replaces, person = entry["replace"], entry.get("with")
    person_key = "with" if kind == "replace" else kind
    named = {person_key: person, **({"replace": replaces} if kind == "replace" else {})}
    wrong = [key for key, value in named.items() if value is not None and not isinstance(value, str)]
    for key in wrong:
        check.fail(f"{where}.{key}", f"must be a person id, not {named[key]!r}")
    if wrong:
        return None
    problems = shape_problems(Draft(kind, person, replaces, start, end), people)
    for problem in problems:
        if problem.field == "end" or (problem.field == "person" and problem.rule == "missing"):
            check.fail(f"{where}.{'end' if problem.field == 'end' else person_key}",
                       "must be after start" if problem.field == "end"
                       else "missing: who replaces the person" if kind == "replace" else "missing")
    if kind != "replace" and "with" in entry:
        check.fail(f"{where}.with", "only a replace override takes 'with'")
    for problem in problems:
        if problem.field == "end" or (problem.field == "person" and problem.rule == "missing"):
            continue
        key = {"person": person_key, "replaces": "replace"}.get(problem.field, problem.field)
        check.fail(f"{where}.{key}", f"unknown person {problem.person!r}"
                   if problem.rule == "unknown" else _FILE_WORDS[problem.field, problem.rule])
    return OverrideSpec(kind=kind, person=person, replaces=replaces, start=start, end=end,
                        note=check.text(f"{where}.note", entry.get("note")), where=where)


def _check_override_overlaps(check: Checker, overrides: list[OverrideSpec], rota: str = "") -> None:
    """One person may not be in two overlapping overrides of the same rota (oncall.rules); a
    clash of two overrides both stored already is a warning (it predates the rule's lock)."""
    def stored(o: OverrideSpec) -> bool:
        return (o.start is not None and o.end is not None
                and (rota, o.kind, o.person, o.replaces, o.start.replace(microsecond=0),
                     o.end.replace(microsecond=0)) in check.stored)

    by_person: dict[str, list[tuple[datetime, datetime, OverrideSpec]]] = {}
    for o in overrides:
        if o.start is None or o.end is None:
            continue
        for pid in involved(o.kind, o.person, o.replaces):
            by_person.setdefault(pid, []).append((o.start, o.end, o))
    for pid, items in sorted(by_person.items()):
        items.sort(key=lambda item: item[0])
        for (a_start, a_end, a), (b_start, b_end, b) in zip(items, items[1:], strict=False):
            if spans_overlap(a_start, a_end, b_start, b_end):
                if stored(a) and stored(b):
                    check.warnings.append(f"{b.where}: overlaps {a.where} for person {pid!r} "
                                          "(both stored already: remove one)")
                else:
                    check.fail(b.where, f"overlaps {a.where} for person {pid!r}")


def parse_policies(check: Checker, doc: dict, plan: Plan, people: AbstractSet[str],
                   rotas: AbstractSet[str]) -> set[str]:
    """Validate escalation policies; return their ids."""
    seen: set[str] = set()
    for where, entry in check.items(doc, "policies"):
        if not check.keys(where, entry, POLICY_KEYS, {"id", "steps"}):
            continue
        pid = check.ident(f"{where}.id", entry.get("id"))
        check.unique(f"{where}.id", seen, pid, "policy")
        steps = entry.get("steps")
        if not isinstance(steps, list) or not steps:
            check.fail(f"{where}.steps", "must be a non-empty list")
            steps = []
        parsed = []
        for i, step in enumerate(steps):
            sw = f"{where}.steps[{i}]"
            if not check.keys(sw, step, STEP_KEYS, set()):
                continue
            step_rotas, step_people = step.get("rotas") or [], step.get("people") or []
            for key, value in (("rotas", step_rotas), ("people", step_people)):
                if not isinstance(value, list):
                    check.fail(f"{sw}.{key}", "must be a list of ids")
            step_rotas, step_people = (v if isinstance(v, list) else [] for v in (step_rotas, step_people))
            if not step_rotas and not step_people:
                check.fail(sw, "names no rota and no person")
            for j, rid in enumerate(step_rotas):
                if rid not in rotas:
                    check.fail(f"{sw}.rotas[{j}]", f"unknown rota {rid!r}")
            for j, person in enumerate(step_people):
                if person not in people:
                    check.fail(f"{sw}.people[{j}]", f"unknown person {person!r}")
            ring = check.integer(f"{sw}.ring_seconds", step.get("ring_seconds", 25), 5, 600)
            parsed.append(StepSpec(rotas=list(step_rotas), people=list(step_people),
                                   ring_seconds=ring or 25,
                                   coverage=_parse_coverage(check, f"{sw}.coverage",
                                                            step.get("coverage"))))
        repeat = check.integer(f"{where}.repeat", entry.get("repeat", 0), 0, 10)
        mode = entry.get("ring", "dial")
        if mode not in RING_MODES:
            check.fail(f"{where}.ring", f"{mode!r} is not one of {', '.join(RING_MODES)}")
            mode = "dial"
        plan.policies.append(PolicySpec(id=pid or "", name=check.text(f"{where}.name", entry.get("name"), pid or ""),
                                        steps=parsed, repeat=repeat or 0, ring=mode))
    return seen


def parse_hotlines(check: Checker, doc: dict, plan: Plan, policies: AbstractSet[str]) -> None:
    """Validate hotlines: number, policy, languages and caller policy."""
    seen_ids: set[str] = set()
    seen_numbers: set[str] = set()
    for where, entry in check.items(doc, "hotlines"):
        if not check.keys(where, entry, HOTLINE_KEYS, {"number", "policy"}):
            continue
        number = check.phone(f"{where}.number", entry.get("number"))
        check.unique(f"{where}.number", seen_numbers, number, "hotline number")
        hid = entry.get("id") or (number.lstrip("+") if number else None)
        if entry.get("id") is not None:
            check.ident(f"{where}.id", hid)
        check.unique(f"{where}.id", seen_ids, hid, "hotline")
        if entry.get("policy") not in policies:
            check.fail(f"{where}.policy", f"unknown policy {entry.get('policy')!r}")
        languages = check.languages(f"{where}.languages", entry.get("languages", ["en-US"]), True)
        if not languages:
            check.fail(f"{where}.languages", "must name at least one language like en-US")
        mode = entry.get("callers", "pin")
        if mode not in CALLER_POLICIES:
            check.fail(f"{where}.callers", f"{mode!r} is not one of {', '.join(CALLER_POLICIES)}")
        plan.hotlines.append(HotlineSpec(id=hid or "", number=number or "", policy=entry.get("policy") or "",
                                         name=check.text(f"{where}.name", entry.get("name")),
                                         languages=languages, caller_policy=mode,
                                         ask_priority=bool(entry.get("priority", False))))
