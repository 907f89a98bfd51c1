"""argon2 hashing for account passwords and tokens-at-rest (PINs: voiceline/pins.py, keyed)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_secret(secret: str) -> str:
    """An argon2id hash of `secret` (salted; safe to store)."""
    return _hasher.hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """True when `secret` matches `stored_hash`; False for no hash or any mismatch."""
    if not stored_hash:
        return False
    try:
        return _hasher.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def valid_pin(pin: str) -> bool:
    """A PIN is 4 to 8 digits."""
    return pin.isdigit() and 4 <= len(pin) <= 8
