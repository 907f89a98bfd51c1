"""PINs at rest: keyed hashes, no argon2 work on the call path, argon2 upgraded, key rotation."""

from __future__ import annotations

import argon2
import pytest

from voiceline import appdb
from voiceline import models as m
from voiceline.calls.store import call_by_sid
from voiceline.passwords import hash_secret
from voiceline.pins import PinKeys, PinMatch, hash_pin, verify_pin

from .conftest import params


def _pin(twilio, sid: str, digits: str):
    twilio.post("/voice/incoming", params(sid))
    return twilio.post(twilio.follow("gather"), params(sid, Digits=digits))


def _set(app, **hashes) -> None:
    with app.app_context():
        session = appdb.session_factory(app)()
        caller = session.get(m.Caller, "watch-officer")
        for column, value in hashes.items():
            setattr(caller, column, value)
        session.commit()
        session.close()


def test_stored_pins_are_keyed_hashes_that_another_key_cannot_check(hotline, db):
    stored = db.get(m.Caller, "watch-officer").pin_hash
    assert stored.startswith("hmac-sha256$v1$") and "2468" not in stored
    keys = PinKeys.from_config(hotline.config)
    assert verify_pin(stored, "2468", keys).ok and not verify_pin(stored, "2469", keys).ok
    stolen = PinKeys.from_config({"PIN_KEY": "a guess at the key"})
    assert not any(verify_pin(stored, f"{n:04d}", stolen).ok for n in range(10000))
    assert hash_pin("2468", keys) != hash_pin("2468", keys)  # salted: equal PINs look different


def test_pin_entry_does_no_argon2_work(hotline, twilio, db, monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("argon2 used on the call path")

    monkeypatch.setattr(argon2.PasswordHasher, "verify", refuse)
    monkeypatch.setattr(argon2.PasswordHasher, "hash", refuse)
    _pin(twilio, "CAwrong", "1357")
    _pin(twilio, "CAright", "2468")
    _pin(twilio, "CAduress", "9753")
    assert [e.kind for e in call_by_sid(db, "CAwrong").events][-1] == "pin_failed"
    assert call_by_sid(db, "CAright").verified and not call_by_sid(db, "CAright").duress
    assert call_by_sid(db, "CAduress").verified and call_by_sid(db, "CAduress").duress


def test_an_argon2_pin_is_upgraded_at_the_next_correct_entry(hotline, twilio, db):
    _set(hotline, pin_hash=hash_secret("2468"), duress_pin_hash=hash_secret("9753"))
    _pin(twilio, "CAmiss", "1357")
    db.expire_all()
    assert db.get(m.Caller, "watch-officer").pin_hash.startswith("$argon2id$")  # a miss changes nothing
    _pin(twilio, "CAup", "2468")
    db.expire_all()
    caller = db.get(m.Caller, "watch-officer")
    assert call_by_sid(db, "CAup").verified
    keys = PinKeys.from_config(hotline.config)
    assert caller.pin_hash.startswith("hmac-sha256$v1$") and verify_pin(caller.pin_hash, "2468", keys).ok
    assert caller.duress_pin_hash.startswith("$argon2id$")  # only the PIN that was keyed is known


@pytest.mark.parametrize("old", ["previous pin key", "test-secret-key"])
def test_rotation_accepts_the_old_key_and_rehashes(hotline, twilio, db, old):
    # A PIN made under the old key (an explicit one, or the secret key it was derived from)
    # still opens the line with VOICELINE_PIN_KEY_OLD set, and is rehashed under the new key.
    _set(hotline, pin_hash=hash_pin("2468", PinKeys.from_config({"PIN_KEY": old})))
    hotline.config.update(PIN_KEY="the new pin key", PIN_KEY_OLD=old)
    _pin(twilio, "CArot", "2468")
    assert call_by_sid(db, "CArot").verified
    db.expire_all()
    new = PinKeys.from_config({"PIN_KEY": "the new pin key"})
    assert verify_pin(db.get(m.Caller, "watch-officer").pin_hash, "2468", new) == PinMatch(True, stale=False)
    hotline.config.update(PIN_KEY_OLD=None)
    _set(hotline, pin_hash=hash_pin("2468", PinKeys.from_config({"PIN_KEY": old})))
    _pin(twilio, "CAgone", "2468")
    assert not call_by_sid(db, "CAgone").verified  # an old key no longer listed opens nothing


def test_an_unused_argon2_duress_pin_costs_no_argon2_work_once_the_pin_is_keyed(hotline, twilio, db,
                                                                                monkeypatch):
    keys = PinKeys.from_config(hotline.config)
    _set(hotline, pin_hash=hash_pin("2468", keys), duress_pin_hash=hash_secret("9753"))

    def refuse(*_args, **_kwargs):
        raise AssertionError("argon2 used for a keyed match")

    monkeypatch.setattr(argon2.PasswordHasher, "verify", refuse)
    _pin(twilio, "CAkeyed", "2468")
    assert call_by_sid(db, "CAkeyed").verified
    monkeypatch.undo()
    _pin(twilio, "CAold", "9753")  # the old duress PIN still works, raises the alarm, is upgraded
    db.expire_all()
    assert call_by_sid(db, "CAold").duress
    assert db.get(m.Caller, "watch-officer").duress_pin_hash.startswith("hmac-sha256$v1$")
