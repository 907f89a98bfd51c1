"""Forms of the rota pages; each validator's message is shown beside its field."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from voiceline.oncall.coverage_rules import clean_rule
from voiceline.rota import Period, Window
from voiceline.web.choices import options

ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_WINDOW_RE = re.compile(r"^(?:(?P<days>[a-z ,]+)\s+)?(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})$")


def valid_id(_form, field):
    """Ids are lower-case letters, digits, . _ - (as in the rota file)."""
    if field.data and not ID_RE.match(field.data.strip()):
        raise ValidationError("lower-case letters, digits, . _ - (up to 64)")


def valid_zone(_form, field):
    """An IANA time zone name."""
    if field.data:
        try:
            ZoneInfo(field.data.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(f"unknown time zone {field.data!r} (e.g. Europe/Moscow)") from None


def parse_members(text: str) -> list[str | None]:
    """'alice, dmitri, -' -> ['alice', 'dmitri', None] ('-' is an empty slot)."""
    return [None if part in ("-", "(empty)") else part
            for part in (p.strip() for p in (text or "").split(",")) if part]


def format_members(members: list[str | None]) -> str:
    """The inverse of parse_members."""
    return ", ".join(m or "-" for m in members)


def parse_windows(text: str) -> list[dict]:
    """One window per line: 'mon,tue 22:00-06:00' or '08:00-20:00' (every day)."""
    windows = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip().lower()
        if not line:
            continue
        match = _WINDOW_RE.match(line)
        if not match:
            raise ValueError(f"line {number}: write it like 'mon,tue 22:00-06:00' or '08:00-20:00'")
        days = [d for d in re.split(r"[ ,]+", match.group("days") or "") if d]
        try:
            window = Window.parse({"days": days, "start": match.group("start").zfill(5),
                                   "end": match.group("end").zfill(5)})
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from None
        windows.append(window.to_dict())
    return windows


def format_windows(windows: list[dict]) -> str:
    """The inverse of parse_windows."""
    lines = []
    for w in windows or []:
        days = ",".join(w.get("days") or [])
        lines.append(f"{days} {w['start']}-{w['end']}".strip())
    return "\n".join(lines)


def coverage_fields(cls):
    """Add the coverage-rule fields (min people, max shift, min rest) to a form class."""
    cls.min_people = IntegerField("At least this many on duty", validators=[Optional(), NumberRange(1, 10)])
    cls.max_shift_hours = IntegerField("Nobody on duty longer than (hours in a row)",
                                       validators=[Optional(), NumberRange(1, 24 * 31)])
    cls.min_rest_hours = IntegerField("At least this rest between shifts (hours)",
                                      validators=[Optional(), NumberRange(1, 24 * 7)])
    return cls


def coverage_data(form) -> dict[str, int] | None:
    """The rule the form's coverage fields hold, in its stored form (None: no rule)."""
    return clean_rule({k: getattr(form, k).data for k in ("min_people", "max_shift_hours",
                                                          "min_rest_hours")})


def fill_coverage(form, rule: dict | None) -> None:
    """Put a stored rule into the form's coverage fields."""
    for key in ("min_people", "max_shift_hours", "min_rest_hours"):
        getattr(form, key).data = (rule or {}).get(key)


@coverage_fields
class RotaForm(FlaskForm):
    id = StringField("Id", validators=[DataRequired(), Length(max=64), valid_id])
    name = StringField("Name", validators=[Optional(), Length(max=200)])
    timezone = StringField("Time zone", validators=[DataRequired(), Length(max=64), valid_zone])
    reachability_minutes = IntegerField("Reachability check (minutes before a handoff)",
                                        validators=[Optional(), NumberRange(1, 24 * 60)])
    notify_outgoing = BooleanField("Tell the outgoing person at a handoff")
    swap_approval = BooleanField("Swaps need a rota manager's approval")
    two_person = BooleanField("Two-person rule: an edit waits for a second manager's approval")
    effective = StringField("A new zone takes effect", validators=[Optional()])


class LayerForm(FlaskForm):
    name = StringField("Name", validators=[Optional(), Length(max=200)])
    members = StringField("Members, in order", validators=[DataRequired()])
    anchor = StringField("Anchor (a handoff, local time in the rota's zone)",
                         validators=[DataRequired()])
    period = StringField("Every", validators=[DataRequired()])
    windows = TextAreaField("Windows", validators=[Optional()])
    priority = IntegerField("Priority", default=0, validators=[Optional(), NumberRange(-100, 100)])
    effective = StringField("Takes effect", validators=[Optional()])

    def __init__(self, *args, people: set[str] | frozenset[str] = frozenset(), **kwargs):
        super().__init__(*args, **kwargs)
        self.people = people

    def validate_members(self, field):
        members = parse_members(field.data)
        if not members:
            raise ValidationError("at least one member (or - for an empty slot)")
        unknown = [p for p in members if p is not None and p not in self.people]
        if unknown:
            raise ValidationError(f"unknown person {unknown[0]!r}")

    def validate_anchor(self, field):
        try:
            value = datetime.fromisoformat(field.data.strip())
        except ValueError:
            raise ValidationError("a local date-time like 2026-01-05T09:00") from None
        if value.tzinfo is not None:
            raise ValidationError("local time in the rota's zone: no offset")

    def validate_period(self, field):
        try:
            Period.parse(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def validate_windows(self, field):
        try:
            parse_windows(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class OverrideForm(FlaskForm):
    kind = SelectField("Kind", choices=options([("replace", "replace someone"), ("add", "add someone"),
                                                ("remove", "remove someone")]))
    person = SelectField("Person (added, removed, or taking over)", choices=[])
    replaces = SelectField("Replaces (only for replace)", choices=[], validate_choice=False)
    start = StringField("Start", validators=[DataRequired()])
    end = StringField("End", validators=[DataRequired()])
    note = StringField("Note", validators=[Optional(), Length(max=500)])
    correction = StringField("Correct the record: why (admins only)",
                             validators=[Optional(), Length(max=500)])


class SwapOfferForm(FlaskForm):
    person = SelectField("Whose duty", choices=[])
    shift = SelectField("A whole shift (or give a range below)", choices=[], validate_choice=False)
    offered_to = SelectField("Offer to", choices=[], validate_choice=False)  # checked by oncall.swaps
    start = StringField("From", validators=[Optional()])
    end = StringField("Until", validators=[Optional()])
    note = StringField("Note", validators=[Optional(), Length(max=500)])


class SwapTakeForm(FlaskForm):
    person = SelectField("Who takes it", choices=[])
