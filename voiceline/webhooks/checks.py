"""Twilio setup checks: misconfiguration that fails calls later, found before a call comes in.

Each check is a plain function of the config mapping returning its problems (empty when fine);
/healthz and `voiceline twilio check` run them all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from voiceline.config import MAX_FALLBACK_NUMBERS, connection_overrides
from voiceline.phones import try_e164


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the setup: which check found it and what it means for calls."""

    check: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """JSON-ready."""
        return {"check": self.check, "problem": self.message}


def check_public_url(config: Mapping[str, Any]) -> list[Problem]:
    """Without VOICELINE_PUBLIC_URL signatures depend on the Host the request claims."""
    if config.get("PUBLIC_URL"):
        return []
    return [Problem("public_url", "VOICELINE_PUBLIC_URL is unset: webhook signatures are checked "
                    "against the request's own host and scheme, which a proxy changes (every "
                    "webhook then gets 403), and links in messages have no base")]


def check_auth_token(config: Mapping[str, Any]) -> list[Problem]:
    """Without the auth token no webhook signed by Twilio's default can be verified."""
    if config.get("TWILIO_AUTH_TOKEN"):
        return []
    return [Problem("auth_token", "TWILIO_AUTH_TOKEN is unset: every webhook signed with the auth "
                    "token is refused with 403, so calls to the hotline fail")]


def check_fallback_numbers(config: Mapping[str, Any]) -> list[Problem]:
    """The numbers dialled when anything fails: present, valid E.164, at most ten."""
    numbers = list(config.get("FALLBACK_NUMBERS") or [])
    if not numbers:
        return [Problem("fallback_numbers", "VOICELINE_FALLBACK_NUMBERS is unset: when the "
                        "database or a step fails, a caller can only leave a message")]
    region = config.get("DEFAULT_REGION") or "US"
    problems = [Problem("fallback_numbers", f"VOICELINE_FALLBACK_NUMBERS: {text!r} is not a valid "
                        "phone number and is never dialled")
                for text in numbers if not try_e164(str(text), region)]
    if len(numbers) > MAX_FALLBACK_NUMBERS:
        problems.append(Problem("fallback_numbers", f"VOICELINE_FALLBACK_NUMBERS lists {len(numbers)} "
                                f"numbers; Twilio rings at most {MAX_FALLBACK_NUMBERS} at once"))
    return problems


def check_connection_overrides(config: Mapping[str, Any]) -> list[Problem]:
    """The fragment on every URL must be within Twilio's limits."""
    value = config.get("CONNECTION_OVERRIDES") or ""
    try:
        connection_overrides(value) if value else None
    except ValueError as exc:
        return [Problem("connection_overrides", f"VOICELINE_TWILIO_CONNECTION_OVERRIDES: {exc}")]
    return []


CONFIG_CHECKS: tuple[Callable[[Mapping[str, Any]], list[Problem]], ...] = (
    check_public_url, check_auth_token, check_fallback_numbers, check_connection_overrides)


def twilio_setup_problems(config: Mapping[str, Any]) -> list[Problem]:
    """Every configuration check's problems, in a fixed order."""
    return [problem for check in CONFIG_CHECKS for problem in check(config)]
