"""The directory blueprint and its shared form validators."""

from __future__ import annotations

import re

from flask import Blueprint, current_app
from wtforms.validators import ValidationError

from voiceline.phones import InvalidNumber, to_e164

bp = Blueprint("directory", __name__, url_prefix="/directory")
MANAGE = ("rota_manager",)
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")


def split_list(text: str | None) -> list[str]:
    """'en, ru' -> ['en', 'ru'] (commas or new lines)."""
    if not isinstance(text, str):
        return []
    return [p.strip() for p in re.split(r"[,\n]", text or "") if p.strip()]


def e164(value: str) -> str:
    """A number in E.164 (national numbers in the default region); ValueError when invalid."""
    try:
        return to_e164(value, current_app.config.get("DEFAULT_REGION") or "US")
    except InvalidNumber as exc:
        raise ValueError(str(exc)) from None


def valid_phone(_form, field):
    """One phone number."""
    if field.data:
        try:
            e164(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


def language_list(full: bool):
    """Validator: comma-separated tags like en or en-US (full: region required)."""
    def check(_form, field):
        for tag in split_list(field.data):
            if not LANGUAGE_RE.match(tag) or (full and "-" not in tag):
                raise ValidationError(f"{tag!r} is not a language tag like {'en-US' if full else 'en or en-US'}")
    return check
