"""JSON Schemas of the API's bodies, registered as OpenAPI components."""

from __future__ import annotations

from .base import api

STR = {"type": "string"}
NSTR = {"type": ["string", "null"]}
INSTANT = {"type": "string", "format": "date-time"}
NINSTANT = {"type": ["string", "null"], "format": "date-time"}
NINT = {"type": ["integer", "null"]}
NNUM = {"type": ["number", "null"]}
BOOL = {"type": "boolean"}
STRS = {"type": "array", "items": STR}


def obj(required: list[str], **props) -> dict:
    """An object schema."""
    return {"type": "object", "required": required, "properties": props}


ME = api.schema("Me", obj(["username", "role"], username=STR,
                          role={"enum": ["admin", "rota_manager", "reviewer", "responder"]},
                          person=NSTR, timezone=NSTR))
ONCALL = api.schema("OnCall", obj(
    ["rota", "at", "on_duty", "until"], rota=STR, at=INSTANT,
    on_duty={"type": "array", "items": obj(["id", "name", "phone"], id=STR, name=STR, phone=NSTR)},
    until={**NINSTANT, "description": "when the set of people on duty next changes"}))
PERSON_IN = api.schema("PersonInput", obj(
    ["name", "phone"], id=STR, name=STR, phone={**STR, "description": "any format; stored E.164"},
    languages=STRS, timezone=STR, reminder_minutes={"type": "integer", "minimum": 1, "maximum": 1440},
    roles={"type": "array", "items": {"enum": ["manager", "supervisor"]}}))
PERSON = api.schema("Person", obj(
    ["id", "name", "phone"], id=STR, name=STR, phone=STR, languages=STRS, timezone=NSTR,
    reminder_minutes={**NINT, "minimum": 1, "maximum": 1440}, roles=STRS, active=BOOL))
CALLER_IN = api.schema("CallerInput", obj(["name", "phones"], id=STR, name=STR, org=STR,
                                          phones=STRS, language=STR))
CALLER = api.schema("Caller", obj(
    ["id", "name", "phones"], id=STR, name=STR, org=STR, phones=STRS, language=NSTR, active=BOOL,
    has_pin=BOOL, has_duress_pin=BOOL))
OVERRIDE_FILE = obj(["start", "end"], start=INSTANT, end=INSTANT, add=STR, remove=STR, replace=STR,
                    with_=STR, note=STR)
OVERRIDE_FILE["properties"]["with"] = OVERRIDE_FILE["properties"].pop("with_")
COVERAGE_RULE = api.schema("CoverageRule", {
    **obj([], min_people={"type": "integer", "minimum": 1, "maximum": 10},
          max_shift_hours={"type": "integer", "minimum": 1, "maximum": 744},
          min_rest_hours={"type": "integer", "minimum": 1, "maximum": 168}),
    "additionalProperties": False,
    "description": "at least min_people on duty; nobody on duty more than max_shift_hours in a "
                   "row; at least min_rest_hours between two shifts of one person"})
ROTA = api.schema("Rota", obj(
    ["id", "layers"], id=STR, name=STR, timezone=STR,
    reachability_minutes={**NINT, "minimum": 1, "maximum": 1440},
    notify_outgoing=BOOL, coverage=COVERAGE_RULE,
    swap_approval={**BOOL, "description": "swaps wait for a rota manager's approval"},
    two_person={**BOOL, "description": "the two-person rule: an edit through the UI or API is "
                "a proposal until a second rota manager or an admin approves it"},
    layers={"type": "array", "items": obj(
        ["members", "anchor", "every"], name=STR, members={"type": "array", "items": NSTR},
        anchor={**STR, "description": "local date-time of one handoff, e.g. 2026-01-05T09:00"},
        every={**STR, "description": "12h, 1d, 1w, 1mo ..."},
        windows={"type": "array", "items": obj([], days=STRS, start=STR, end=STR)},
        priority={"type": "integer", "minimum": -100, "maximum": 100})},
    overrides={"type": "array", "items": OVERRIDE_FILE}))
POLICY_STEP = obj([], rotas=STRS, people=STRS,
                  ring_seconds={"type": "integer", "minimum": 5, "maximum": 600})
POLICY_IN = api.schema("PolicyInput", obj(
    ["steps"], id=STR, name=STR, repeat={"type": "integer", "minimum": 0, "maximum": 10},
    ring={"enum": ["dial", "conference"], "default": "dial",
          "description": "conference needs Twilio credentials (served as dial without them)"},
    steps={"type": "array", "minItems": 1, "items": POLICY_STEP}))
POLICY = api.schema("Policy", obj(
    ["id", "name", "steps", "repeat", "ring", "served_as"], id=STR, name=STR,
    repeat={"type": "integer"}, ring={"enum": ["dial", "conference"]},
    served_as={"enum": ["dial", "conference"],
               "description": "how calls ring now: dial while conference lacks credentials"},
    served_note=NSTR, steps={"type": "array", "items": POLICY_STEP}))
SHIFT = api.schema("Shift", obj(["start", "end", "on_duty"], start=INSTANT, end=INSTANT,
                                on_duty=STRS))
OVERRIDE_IN = api.schema("OverrideInput", {
    **OVERRIDE_FILE, "required": ["rota", "start", "end"],
    "properties": {"rota": STR, **OVERRIDE_FILE["properties"]},
    "description": "exactly one of add, remove, replace (with `with`); UTC, half-open [start, end)"})
CORRECTION_IN = api.schema("CorrectionInput", {
    **OVERRIDE_FILE, "required": ["rota", "start", "end", "reason"],
    "properties": {"rota": STR, "reason": STR, **OVERRIDE_FILE["properties"]},
    "description": "an override as for POST /overrides, in the past allowed, and why"})
OVERRIDE = api.schema("Override", obj(
    ["id", "rota", "kind", "person", "start", "end"], id={"type": "integer"}, rota=STR,
    kind={"enum": ["add", "remove", "replace"]}, person=STR, replaces=NSTR, start=INSTANT,
    end=INSTANT, note=STR, created_at=INSTANT, created_by=NSTR))
CALL = api.schema("Call", obj(
    ["sid", "started_at", "outcome"], sid=STR, started_at=INSTANT, answered_at=NINSTANT,
    ended_at=NINSTANT, hotline=NSTR, hotline_name=NSTR, to_number=STR, from_number=STR,
    caller=NSTR, caller_name=NSTR, verified=BOOL, language=NSTR, priority=NINT, duress=BOOL,
    test=BOOL, state=STR, outcome=NSTR, answered_by=NSTR, answered_by_name=NSTR,
    seconds_to_answer=NNUM, duration_seconds=NINT, has_recording=BOOL, recording_seconds=NINT))
CALL_PAGE = api.schema("CallPage", obj(
    ["calls", "next_cursor"], calls={"type": "array", "items": CALL},
    next_cursor={**NSTR, "description": "pass as ?before= for the next (older) page"}))
CALL_DETAIL = api.schema("CallDetail", {"allOf": [CALL, obj(
    ["legs", "events"],
    legs={"type": "array", "items": obj(
        ["step", "status"], person=NSTR, person_name=NSTR, number=STR, step={"type": "integer"},
        round={"type": "integer"}, status=STR, screen=NSTR, started_at=INSTANT,
        answered_at=NINSTANT, ended_at=NINSTANT)},
    events={"type": "array", "items": obj(["at", "kind"], at=INSTANT, kind=STR, step=NINT,
                                          person=NSTR, detail={"type": "object"})})]})
HOUR = obj(["hour", "offered", "answered"], hour={"type": "integer"}, offered={"type": "integer"},
           answered={"type": "integer"}, answer_rate=NNUM)
RESPONDER = obj(["person", "rung", "answered", "declined"], person=STR, rung={"type": "integer"},
                answered={"type": "integer"}, declined={"type": "integer"},
                median_seconds_to_answer=NNUM, p90_seconds_to_answer=NNUM)
METRICS = api.schema("Metrics", obj(
    ["calls", "offered", "answered", "answer_rate"], calls={"type": "integer"},
    offered={"type": "integer"}, answered={"type": "integer"}, answer_rate=NNUM,
    median_seconds_to_answer=NNUM, p90_seconds_to_answer=NNUM, missed={"type": "integer"},
    voicemail={"type": "integer"}, in_progress={"type": "integer"},
    outcomes={"type": "object", "additionalProperties": {"type": "integer"}},
    per_responder={"type": "array", "items": RESPONDER}, by_hour={"type": "array", "items": HOUR},
    timezone=STR, hotline=NSTR, **{"from": INSTANT, "to": INSTANT}))
GAP = obj(["start", "end"], rota=STR, policy=STR, step={"type": "integer"}, start=INSTANT,
          end=INSTANT, unreachable={"type": "array", "items": obj(["id", "reason"], id=STR,
                                                                    reason=STR)})
BROKEN_RULE = obj(
    ["rule", "start", "end", "text"], rule={"enum": ["understaffed", "long_shift", "short_rest"]},
    rota=STR, policy=STR, step={"type": "integer"}, start=INSTANT, end=INSTANT,
    real_start={**NINSTANT, "description": "where the range really starts (null: over a year back)"},
    real_end={**NINSTANT, "description": "where the range really ends (null: over a year ahead)"},
    person=STR, on_duty=STRS, text=STR)
COVERAGE = api.schema("Coverage", obj(
    ["from", "to", "gaps", "rules"], **{"from": INSTANT}, to=INSTANT,
    gaps={"type": "array", "items": GAP}, rules={"type": "array", "items": BROKEN_RULE}))
SWAP_IN = api.schema("SwapInput", {
    **obj(["rota", "offered_by"], rota=STR, offered_by=STR, start=INSTANT, end=INSTANT,
          shift={**INSTANT, "description": "an instant inside one of the offerer's shifts: "
                 "the whole shift is offered (instead of start and end)"},
          offered_to={**NSTR, "description": "one person; null or absent: anyone may take it"},
          note=STR),
    "description": "a range [start, end) of the offerer's duty, or the whole shift at `shift`"})
SWAP = api.schema("Swap", obj(
    ["id", "rota", "offered_by", "start", "end", "status"], id={"type": "integer"}, rota=STR,
    offered_by=STR, offered_to=NSTR, taken_by=NSTR, start=INSTANT, end=INSTANT,
    status={"enum": ["open", "pending", "taken", "refused", "cancelled"]},
    override={**NINT, "description": "the replace override once taken (and approved)"},
    note=STR, decided_by=NSTR, decided_at=NINSTANT))
SWAP_TAKE = api.schema("SwapTake", obj([], person={**STR, "description": "who takes it "
                                                   "(default: the token's own person)"}))
ROTA_DIFF = api.schema("RotaDiff", obj(
    ["rota", "from", "to", "recorded_at", "start", "end", "changes", "duty"],
    rota=STR, **{"from": INSTANT}, to=INSTANT,
    recorded_at={**INSTANT, "description": "when the state of the rota at `from` was recorded"},
    start={**INSTANT, "description": "where the duty comparison starts"},
    end={**INSTANT, "description": "where the duty comparison ends (exclusive)"},
    changes={"type": "array", "items": obj(
        ["at", "actor", "action"], at=INSTANT,
        actor={**STR, "description": "who made the change (`user:NAME`, `cli`, ...; empty: "
               "not recorded)"},
        action={**STR, "description": "the audited action that made it, e.g. `rota.import`"})},
    duty={"type": "array", "items": obj(
        ["start", "end", "before", "after"], start=INSTANT, end=INSTANT,
        before={**STRS, "description": "on duty by the rota as it stood at `from`"},
        after={**STRS, "description": "on duty by the rota as it stood at `to`"})}))
PROPOSAL = api.schema("Proposal", obj(
    ["id", "rota", "kind", "edit", "proposed_by", "proposed_at", "status"],
    id={"type": "integer"}, rota=STR,
    kind={"enum": ["layer.create", "layer.update", "layer.end", "override.create",
                   "override.delete", "rota.update", "rota.put"]},
    edit={"type": "object", "description": "the edit as data, replayed when approved"},
    summary=STR, proposed_by=STR, proposed_at=INSTANT, via={"enum": ["web", "api"]},
    status={"enum": ["open", "approved", "rejected", "withdrawn", "stale"]},
    decided_by=NSTR, decided_at=NINSTANT,
    reason={**STR, "description": "why rejected or stale; what an approval did"},
    based_on={**STR, "description": "digest of the rota's state it was proposed against"},
    preview=obj(["refused", "changes"],
                refused={**NSTR, "description": "why it would be refused if approved now"},
                rota_changed_since=BOOL,
                changes={"type": "array", "items": obj(
                    ["at", "before", "after", "was"], at=INSTANT, before=STRS, after=STRS,
                    was={**STRS, "description": "who today's schedule has then"},
                    differs=BOOL)})))
