"""Phone numbers: everything voiceline stores or compares is E.164, parsed by phonenumbers."""

from __future__ import annotations

import functools

import phonenumbers


class InvalidNumber(ValueError):
    """A phone number that cannot be parsed or is not a valid number."""


def to_e164(text: str, region: str = "US") -> str:
    """Parse `text` (international, or national in `region`) and return it as E.164."""
    raw = (text or "").strip()
    if not raw:
        raise InvalidNumber("empty phone number")
    try:
        number = phonenumbers.parse(raw, region.upper())
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(f"{raw!r} is not a phone number ({exc._msg})") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidNumber(f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@functools.lru_cache(maxsize=4096)
def try_e164(text: str | None, region: str = "US") -> str | None:
    """Like to_e164 but None for anything unparseable (caller IDs such as 'anonymous').

    Memoised per process (a pure function of its arguments): every webhook request parses the
    same hotline and responder numbers again, and phonenumbers is slow at it.
    """
    try:
        return to_e164(text or "", region)
    except InvalidNumber:
        return None


def region_of(e164: str | None) -> str | None:
    """The region (ISO country code, e.g. "US") a valid E.164 number belongs to, if any."""
    try:
        number = phonenumbers.parse(e164 or "", None)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.region_code_for_number(number) if phonenumbers.is_valid_number(number) else None


def pretty(e164: str) -> str:
    """Format an E.164 number for people (international format)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
