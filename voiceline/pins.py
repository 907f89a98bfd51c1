"""PINs at rest: a keyed hash (HMAC-SHA256) under a key held outside the database.

A 4-to-8-digit PIN has at most 10^8 values, so a slow hash only slows the hotline, not an
offline guesser; a secret key does stop one: without it a stolen database reveals nothing.
Stored form: ``hmac-sha256$v1$<key id>$<salt hex>$<mac hex>``. argon2 hashes from before
still verify (slowly) and are replaced by the keyed hash at the next correct entry.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from voiceline.passwords import verify_secret

SCHEME = "hmac-sha256"
VERSION = "v1"
_LABEL = b"voiceline/pin-key/v1"  # domain separation: the PIN key is never the session key


def derive_key(material: str) -> bytes:
    """The 32-byte PIN key made from a setting's text (VOICELINE_PIN_KEY or the secret key)."""
    return hmac.new(material.encode(), _LABEL, hashlib.sha256).digest()


def key_id(key: bytes) -> str:
    """A short public name of a key, stored with each hash (says which key made it)."""
    return hmac.new(key, b"key id", hashlib.sha256).hexdigest()[:8]


@dataclass(frozen=True)
class PinKeys:
    """The key new hashes are made with, and older keys still accepted (rotation)."""

    current: bytes
    old: tuple[bytes, ...] = ()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PinKeys:
        """VOICELINE_PIN_KEY (else derived from the secret key), plus VOICELINE_PIN_KEY_OLD."""
        material = config.get("PIN_KEY") or config.get("SECRET_KEY")
        if not material:
            raise RuntimeError("no PIN key: set VOICELINE_PIN_KEY (or VOICELINE_SECRET_KEY)")
        old = config.get("PIN_KEY_OLD") or ""
        return cls(derive_key(material), (derive_key(old),) if old else ())

    def by_id(self, kid: str) -> bytes | None:
        """The key named `kid`, if it is one of ours."""
        for key in (self.current, *self.old):
            if key_id(key) == kid:
                return key
        return None


@dataclass(frozen=True)
class PinMatch:
    """One comparison: whether it matched, and whether the stored hash should be replaced."""

    ok: bool
    stale: bool = False  # argon2 or an old key: rehash with the current key after a match


def _mac(key: bytes, salt: bytes, pin: str) -> str:
    return hmac.new(key, salt + pin.encode(), hashlib.sha256).hexdigest()


def is_legacy(stored: str | None) -> bool:
    """True for an argon2 PIN hash from before keyed hashes (slow to check; replaced on use)."""
    return stored is not None and stored.startswith("$argon2")


def hash_pin(pin: str, keys: PinKeys) -> str:
    """The keyed hash of `pin` to store (salted: equal PINs do not look equal)."""
    salt = secrets.token_bytes(16)
    return f"{SCHEME}${VERSION}${key_id(keys.current)}${salt.hex()}${_mac(keys.current, salt, pin)}"


def verify_pin(stored: str | None, pin: str, keys: PinKeys) -> PinMatch:
    """Compare `pin` with a stored hash in constant time; no hash or an unknown key never match."""
    if not stored:
        return PinMatch(False)
    if is_legacy(stored):
        return PinMatch(verify_secret(stored, pin), stale=True)
    parts = stored.split("$")
    if len(parts) != 5 or parts[0] != SCHEME or parts[1] != VERSION:
        return PinMatch(False)
    key = keys.by_id(parts[2])
    try:
        salt = bytes.fromhex(parts[3])
    except ValueError:
        return PinMatch(False)
    if key is None:
        return PinMatch(False)
    ok = hmac.compare_digest(_mac(key, salt, pin), parts[4])
    return PinMatch(ok, stale=ok and key != keys.current)
