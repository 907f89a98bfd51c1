"""Settings: defaults in code, values from the environment, read once in create_app.

Every setting is listed here with its environment variable, its default and a
one-line meaning; `.env.example` mirrors this table. Areas add their own
settings to their section of SETTINGS.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voiceline.phones import InvalidNumber, to_e164


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true/false, got {text!r}")


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _webhook_keys(text: str) -> dict[str, str]:
    """`id=secret,id=secret`: the SharedKeys Twilio may sign webhooks with (two during a rotation)."""
    keys: dict[str, str] = {}
    for part in _list(text):
        key_id, sep, secret = part.partition("=")
        key_id, secret = key_id.strip(), secret.strip()
        if not sep or not key_id or not secret:
            raise ValueError("expected id=secret pairs separated by commas")
        if key_id in keys:
            raise ValueError(f"key id {key_id!r} given twice")
        keys[key_id] = secret
    return keys


# Twilio's documented limits of the connection-override fragment (milliseconds, retries).
OVERRIDE_LIMITS = {"ct": (100, 10_000), "rt": (100, 15_000), "tt": (100, 15_000), "rc": (0, 5)}
OVERRIDE_FREE = {"rp", "e", "sni"}  # retry policy, edge, SNI: passed on as given
DEFAULT_CONNECTION_OVERRIDES = "ct=2000&rt=10000&rc=2"


def connection_overrides(text: str) -> str:
    """Check a `ct=..&rt=..&rc=..` fragment against Twilio's limits; `off` means none."""
    value = text.strip().lstrip("#")
    if value.lower() in {"off", "none"}:
        return ""
    pairs = []
    for part in value.split("&"):
        name, sep, raw = part.partition("=")
        name, raw = name.strip(), raw.strip()
        if not sep or not raw:
            raise ValueError(f"expected name=value pairs joined by &, got {part!r}")
        if name in OVERRIDE_LIMITS:
            low, high = OVERRIDE_LIMITS[name]
            if not raw.isdigit() or not low <= int(raw) <= high:
                raise ValueError(f"{name} must be a whole number from {low} to {high}, got {raw!r}")
            raw = str(int(raw))
        elif name not in OVERRIDE_FREE or not raw.replace("-", "").replace(",", "").isalnum():
            raise ValueError(f"unknown connection override {name!r} (known: ct, rt, tt, rc, rp, e, sni)")
        pairs.append(f"{name}={raw}")
    return "&".join(pairs)


MAX_FALLBACK_NUMBERS = 10  # one <Dial> rings at most ten <Number>s


def _fallback_numbers(text: str) -> list[str]:
    """Comma-separated numbers, each a valid international number; at most ten."""
    numbers = []
    for part in _list(text):
        if not part.startswith("+"):
            raise ValueError(f"{part!r} must be international (+ and country code)")
        try:
            numbers.append(to_e164(part))
        except InvalidNumber as exc:
            raise ValueError(str(exc)) from None
    if len(numbers) > MAX_FALLBACK_NUMBERS:
        raise ValueError(f"{len(numbers)} numbers given; Twilio rings at most "
                         f"{MAX_FALLBACK_NUMBERS} at once")
    return numbers


@dataclass(frozen=True)
class Setting:
    """One configuration key: Flask config name, environment variable, default, parser."""

    key: str
    env: str
    default: Any
    parse: Callable[[str], Any]
    help: str


SETTINGS: tuple[Setting, ...] = (
    # --- foundation ---------------------------------------------------------
    Setting("DATABASE_URL", "VOICELINE_DATABASE_URL", None, str,
            "SQLAlchemy URL; default: SQLite file instance/voiceline.db (WAL)"),
    Setting("SECRET_KEY", "VOICELINE_SECRET_KEY", None, str,
            "session signing key; default: generated into instance/secret_key on first run"),
    Setting("PUBLIC_URL", "VOICELINE_PUBLIC_URL", None, str,
            "base URL Twilio calls, e.g. https://hotline.example.org; signatures are checked against it"),
    Setting("TWILIO_ACCOUNT_SID", "TWILIO_ACCOUNT_SID", None, str,
            "Twilio account SID; without it no SMS or call leaves (the outbox holds them)"),
    Setting("TWILIO_AUTH_TOKEN", "TWILIO_AUTH_TOKEN", None, str,
            "Twilio auth token; signs and verifies webhooks"),
    Setting("FALLBACK_NUMBERS", "VOICELINE_FALLBACK_NUMBERS", [], _fallback_numbers,
            "comma-separated E.164 numbers (at most 10) dialled, screened, when anything fails, or "
            "when nobody is on duty in any step"),
    Setting("WEBHOOK_KEYS", "VOICELINE_TWILIO_WEBHOOK_KEYS", {}, _webhook_keys,
            "SharedKeys Twilio signs webhooks with, as id=secret pairs separated by commas (two "
            "during a rotation); a request naming a key uses it instead of the auth token"),
    Setting("CONNECTION_OVERRIDES", "VOICELINE_TWILIO_CONNECTION_OVERRIDES",
            DEFAULT_CONNECTION_OVERRIDES, connection_overrides,
            "connection-override fragment put on every URL voiceline hands Twilio (connect/read "
            "timeout in ms, retries); `off` for none"),
    Setting("DEFAULT_REGION", "VOICELINE_DEFAULT_REGION", "US", str,
            "region for parsing national-format phone numbers (ISO 3166 alpha-2)"),
    Setting("DB_CONNECT_TIMEOUT", "VOICELINE_DB_CONNECT_TIMEOUT", 2, float,
            "seconds to wait for a new PostgreSQL connection (libpq's minimum is 2)"),
    Setting("DB_STATEMENT_TIMEOUT_MS", "VOICELINE_DB_STATEMENT_TIMEOUT_MS", 2000, int,
            "longest wait of one statement in ms: PostgreSQL statement_timeout and lock_timeout, SQLite busy timeout"),
    Setting("DB_POOL_TIMEOUT", "VOICELINE_DB_POOL_TIMEOUT", 2, float,
            "seconds to wait for a free pooled database connection"),
    Setting("DB_REQUEST_BUDGET_MS", "VOICELINE_DB_REQUEST_BUDGET_MS", 8000, int,
            "a webhook (or /healthz) starts no database work after this many ms and answers its fallback; 0 = off (also no cut of a hung wait)"),
    Setting("LOG_LEVEL", "VOICELINE_LOG_LEVEL", "INFO", str,
            "Python logging level"),
    Setting("LINETEST_FROM", "VOICELINE_LINETEST_FROM", None, str,
            "E.164 Twilio number the scheduled line test calls from; /voice/incoming recognises it"),
    # --- calls ----------------------------------------------------------------
    Setting("CAPTURE_DIR", "VOICELINE_CAPTURE_DIR", None, str,
            "opt-in: write every signed /voice/ request and its answer as a fixture into this directory"),
    Setting("CAPTURE_REDACT", "VOICELINE_CAPTURE_REDACT", True, _bool,
            "replace callers' (and responders') phone numbers in captured fixtures; PINs are never kept"),
    Setting("CALLS_RECORD_MAX_SECONDS", "VOICELINE_RECORD_MAX_SECONDS", 300, int,
            "longest voicemail in seconds"),
    Setting("CALLS_PIN_TRIES", "VOICELINE_PIN_TRIES", 3, int,
            "wrong PINs (or unknown numbers keyed) a calling number may try before the lock-out"),
    Setting("CALLS_LOCKOUT_MINUTES", "VOICELINE_PIN_LOCKOUT_MINUTES", 15, int,
            "minutes a calling number is locked out after three wrong PINs"),
    Setting("CALLS_CALLER_LOCK_FAILURES", "VOICELINE_PIN_CALLER_LOCK_FAILURES", 10, int,
            "wrong PINs for one caller, from any numbers, before that caller is locked (forgotten after 24 h quiet)"),
    Setting("CALLS_CALLER_LOCK_MINUTES", "VOICELINE_PIN_CALLER_LOCK_MINUTES", 60, int,
            "minutes a caller is locked; each further wrong PIN within 24 h locks again"),
    Setting("CALLS_PER_SECOND", "VOICELINE_CALLS_PER_SECOND", 1.0, float,
            "conference mode: REST calls placed per second, shared by every worker and server "
            "(Twilio's account default is 1)"),
    Setting("PIN_KEY", "VOICELINE_PIN_KEY", None, str,
            "secret key of the PIN hashes (HMAC-SHA256), kept outside the database; default: derived from the secret key"),
    Setting("PIN_KEY_OLD", "VOICELINE_PIN_KEY_OLD", None, str,
            "the previous PIN key (or secret key) during a rotation; PINs made with it still verify and are rehashed"),
    # --- clock work -----------------------------------------------------------
    Setting("HANDOFF_STALE_MINUTES", "VOICELINE_HANDOFF_STALE_MINUTES", 60, int,
            "a handoff first seen more than this many minutes after it happened is recorded, not announced"),
    Setting("SMS_FROM", "VOICELINE_SMS_FROM", None, str,
            "E.164 Twilio number (or MG... messaging service SID) SMS are sent from; default: the first hotline's number"),
    Setting("CALL_FROM", "VOICELINE_CALL_FROM", None, str,
            "E.164 Twilio number reachability calls come from; default: the first hotline's number"),
    Setting("OUTBOX_MAX_ATTEMPTS", "VOICELINE_OUTBOX_MAX_ATTEMPTS", 8, int,
            "delivery attempts per outgoing message before it is marked failed"),
    Setting("TICK_SECONDS", "VOICELINE_TICK_SECONDS", 60, int,
            "for tests only: seconds between scheduler ticks (production keeps the minute tick)"),
    Setting("OUTBOX_POLL_SECONDS", "VOICELINE_OUTBOX_POLL_SECONDS", 10, int,
            "how often the scheduler sends due outbox messages (the tick also sends, once a minute)"),
    Setting("COVERAGE_DAYS", "VOICELINE_COVERAGE_DAYS", 14, int,
            "days ahead scanned for coverage gaps (after every rota change and daily)"),
    Setting("CHANGE_NOTICE_DAYS", "VOICELINE_CHANGE_NOTICE_DAYS", 14, int,
            "days ahead in which an edit that changes someone's shifts tells them by SMS (0: never)"),
    Setting("REACHABILITY_TIMEOUT_MINUTES", "VOICELINE_REACHABILITY_TIMEOUT_MINUTES", 10, int,
            "minutes after a reachability call is placed without a 1 before the managers are alerted"),
    Setting("LINETEST_INTERVAL_MINUTES", "VOICELINE_LINETEST_INTERVAL_MINUTES", 360, int,
            "minutes between scheduled line tests (0 = none; needs VOICELINE_LINETEST_FROM)"),
    Setting("LINETEST_ALERT_MINUTES", "VOICELINE_LINETEST_ALERT_MINUTES", 5, int,
            "minutes after a line test is placed without reaching /voice/incoming before the managers are alerted"),
    Setting("LINETEST_HOTLINES", "VOICELINE_LINETEST_HOTLINES", [], _list,
            "comma-separated hotline ids or numbers the line test calls; default: every hotline"),
    Setting("RETENTION_CALL_DAYS", "VOICELINE_RETENTION_CALL_DAYS", 0, int,
            "days call records (with their legs, events and recordings) are kept; 0 = forever"),
    Setting("RETENTION_EVENT_DAYS", "VOICELINE_RETENTION_EVENT_DAYS", 0, int,
            "days call events (timeline entries) are kept; the call record stays; 0 = forever"),
    Setting("RETENTION_RECORDING_DAYS", "VOICELINE_RETENTION_RECORDING_DAYS", 0, int,
            "days voicemail recordings are kept (deleted at Twilio with credentials); 0 = forever"),
    # --- web ------------------------------------------------------------------
    Setting("SECURE_COOKIES", "VOICELINE_SECURE_COOKIES", None, _bool,
            "session cookie only over https; default: on when VOICELINE_PUBLIC_URL is https"),
    Setting("SESSION_HOURS", "VOICELINE_SESSION_HOURS", 12, int,
            "web UI sessions end this many hours after login"),
    Setting("LOGIN_MAX_FAILURES", "VOICELINE_LOGIN_MAX_FAILURES", 5, int,
            "failed logins per username and per address before logins are refused for a while"),
    Setting("LOGIN_WINDOW_MINUTES", "VOICELINE_LOGIN_WINDOW_MINUTES", 15, int,
            "the window (minutes) over which failed logins are counted"),
    Setting("PROXY_HOPS", "VOICELINE_PROXY_HOPS", 0, int,
            "reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted"),
)


def load_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """Return the config mapping for every setting, parsed from `environ` or defaulted."""
    config: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.env)
        if raw is None or raw == "":
            config[setting.key] = setting.default
            continue
        try:
            config[setting.key] = setting.parse(raw)
        except ValueError as exc:
            raise ValueError(f"{setting.env}: {exc}") from None
    return config


def ensure_secret_key(instance_path: str) -> str:
    """Read instance/secret_key, creating it (mode 0600) on first use."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
