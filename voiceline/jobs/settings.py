"""The clock work's settings as one value, read from the app config once per run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from voiceline.phones import try_e164


@dataclass(frozen=True)
class JobSettings:
    """Everything the tick and the sender need from the configuration."""

    account_sid: str | None = None
    auth_token: str | None = None
    public_url: str | None = None
    sms_from: str | None = None
    call_from: str | None = None
    handoff_stale: timedelta = timedelta(minutes=60)
    max_attempts: int = 8
    coverage_days: int = 14
    reachability_timeout: timedelta = timedelta(minutes=10)
    linetest_from: str | None = None
    linetest_interval: timedelta = timedelta(minutes=360)
    linetest_alert: timedelta = timedelta(minutes=5)
    linetest_hotlines: tuple[str, ...] = field(default_factory=tuple)
    connection_overrides: str = ""  # the fragment put on URLs handed to Twilio

    @property
    def has_credentials(self) -> bool:
        """True when Twilio's REST API can be used."""
        return bool(self.account_sid and self.auth_token)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> JobSettings:
        """Build from a Flask config mapping (keys of voiceline.config.SETTINGS)."""
        def minutes(key: str, default: int) -> timedelta:
            value = config.get(key)
            return timedelta(minutes=default if value is None else int(value))

        region = config.get("DEFAULT_REGION") or "US"

        def number(key: str) -> str | None:
            # Twilio wants E.164 ("+1 202 555 0199" is refused); a messaging service SID stays as is.
            value = (config.get(key) or "").strip()
            if not value or value.startswith("MG"):
                return value or None
            return try_e164(value, region) or value

        return cls(
            account_sid=config.get("TWILIO_ACCOUNT_SID") or None,
            auth_token=config.get("TWILIO_AUTH_TOKEN") or None,
            public_url=(config.get("PUBLIC_URL") or "").rstrip("/") or None,
            sms_from=number("SMS_FROM"),
            call_from=number("CALL_FROM"),
            handoff_stale=minutes("HANDOFF_STALE_MINUTES", 60),
            max_attempts=max(1, int(config.get("OUTBOX_MAX_ATTEMPTS") or 8)),
            coverage_days=int(config.get("COVERAGE_DAYS") or 14),
            reachability_timeout=minutes("REACHABILITY_TIMEOUT_MINUTES", 10),
            linetest_from=number("LINETEST_FROM"),
            linetest_interval=minutes("LINETEST_INTERVAL_MINUTES", 360),
            linetest_alert=minutes("LINETEST_ALERT_MINUTES", 5),
            linetest_hotlines=tuple(config.get("LINETEST_HOTLINES") or ()),
            connection_overrides=config.get("CONNECTION_OVERRIDES") or "",
        )
