"""What every step of the call flow is given: a session, the instant, URL building, settings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from voiceline.pins import PinKeys

# links("pin", attempt=2) -> the absolute URL Twilio must request for that step
Links = Callable[..., str]


@dataclass(frozen=True)
class CallSettings:
    """The configuration the flow reads (from app.config in the webhook layer)."""

    fallback_numbers: tuple[str, ...] = ()
    linetest_from: str | None = None
    region: str = "US"
    public_url: str = ""
    record_max_seconds: int = 300
    pin_tries: int = 3
    lockout_minutes: int = 15
    caller_lock_failures: int = 10
    caller_lock_minutes: int = 60
    screen_seconds: int = 8
    pin_keys: PinKeys | None = None  # None: PINs cannot match (a flow without app settings)
    conference: bool = False  # conference mode can be served (Twilio REST credentials are set)
    calls_per_second: float = 1.0  # the account's calls.create pace, shared by every worker

    @classmethod
    def from_config(cls, config: Mapping[str, Any], public_url: str) -> CallSettings:
        """Settings from a Flask config mapping; `public_url` is the base for links in messages."""
        return cls(
            fallback_numbers=tuple(config.get("FALLBACK_NUMBERS") or ()),
            linetest_from=config.get("LINETEST_FROM") or None,
            region=config.get("DEFAULT_REGION") or "US",
            public_url=public_url.rstrip("/"),
            record_max_seconds=int(config.get("CALLS_RECORD_MAX_SECONDS") or 300),
            pin_tries=int(config.get("CALLS_PIN_TRIES") or 3),
            lockout_minutes=int(config.get("CALLS_LOCKOUT_MINUTES") or 15),
            caller_lock_failures=int(config.get("CALLS_CALLER_LOCK_FAILURES") or 10),
            caller_lock_minutes=int(config.get("CALLS_CALLER_LOCK_MINUTES") or 60),
            pin_keys=PinKeys.from_config(config),
            conference=bool(config.get("TWILIO_ACCOUNT_SID") and config.get("TWILIO_AUTH_TOKEN")),
            calls_per_second=float(config.get("CALLS_PER_SECOND") or 1.0),
        )


@dataclass
class Context:
    """One webhook request's view of the world, as plain values."""

    session: Session
    at: datetime
    links: Links
    settings: CallSettings = field(default_factory=CallSettings)
    # REST work (conference mode) to run once this step's answer is committed: calls/conference.py
    after: list[Any] = field(default_factory=list)

    def call_link(self, sid: str) -> str:
        """The reviewer's page of a call (served by the web area)."""
        return f"{self.settings.public_url}/calls/{sid}"
