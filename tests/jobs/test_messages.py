"""Message keys, local times and the line-test slot arithmetic."""

from __future__ import annotations

from datetime import timedelta

from voiceline.jobs.linetests import slot_start
from voiceline.jobs.messages import KEY_LIMIT, local_time, make_key


def test_keys_use_utc_instants_and_stay_within_the_column(h):
    assert make_key("handoff", "daily", "ann", h.utc("2026-03-08T13:00")) == \
        "handoff:daily:ann:2026-03-08T13:00:00Z"
    long_a = make_key("gap", "policy", "p" * 150, "step", 1, "x" * 60)
    long_b = make_key("gap", "policy", "p" * 150, "step", 1, "y" * 60)
    assert len(long_a) == KEY_LIMIT and len(long_b) == KEY_LIMIT
    assert long_a != long_b  # the hashed tail keeps distinct keys distinct


def test_local_time_in_the_readers_zone_with_a_fallback(h):
    at = h.utc("2026-03-08T13:00")
    assert local_time(at, "America/New_York") == "Sun 08 Mar 09:00 EDT"
    assert local_time(at, None, "Europe/Moscow") == "Sun 08 Mar 16:00 MSK"
    assert local_time(at, "Not/AZone", "UTC") == "Sun 08 Mar 13:00 UTC"
    assert local_time(None, "UTC") == "further notice"


def test_line_test_slots_are_aligned_to_the_interval(h):
    hour = timedelta(hours=1)
    assert slot_start(h.utc("2026-03-05T10:59:59"), hour) == h.utc("2026-03-05T10:00")
    assert slot_start(h.utc("2026-03-05T11:00"), hour) == h.utc("2026-03-05T11:00")
    assert slot_start(h.utc("2026-03-05T13:00"), timedelta(hours=6)) == h.utc("2026-03-05T12:00")


def test_sender_numbers_are_normalised_to_e164():
    from voiceline.jobs.settings import JobSettings

    settings = JobSettings.from_config({"LINETEST_FROM": "+1 (202) 555-0199", "SMS_FROM": "MG" + "a" * 32,
                                        "CALL_FROM": "202 555 0198", "DEFAULT_REGION": "US"})
    assert settings.linetest_from == "+12025550199"
    assert settings.sms_from == "MG" + "a" * 32
    assert settings.call_from == "+12025550198"
