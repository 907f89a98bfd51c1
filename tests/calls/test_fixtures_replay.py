"""Every recorded request sequence in fixtures/calls replays with every expectation met."""

from __future__ import annotations

from pathlib import Path

import pytest

from voiceline.calls.replay import in_process_twilio, load_fixture, replay

FIXTURES = sorted((Path(__file__).resolve().parents[2] / "fixtures" / "calls").glob("*.yaml"))
REQUIRED = {"known-caller-answered", "pin-caller", "wrong-pin-three-times", "unknown-caller-refused",
            "voicemail-picks-up-next-step-answers", "nobody-accepts-voicemail",
            "caller-hangs-up-while-ringing", "status-callbacks-duplicated-reordered", "bad-signature",
            "database-failure-fallback", "nobody-on-duty-fallback-answers",
            "conference-accepted", "conference-declined", "conference-both-press-1",
            "conference-colleague"}


def test_every_required_fixture_exists():
    assert REQUIRED <= {path.stem for path in FIXTURES}


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixture_replays(demo, path):
    fixture = load_fixture(path)
    outcomes = replay(fixture, in_process_twilio(demo), app=demo)
    failed = [f"{o.name}: {'; '.join(o.problems)}" for o in outcomes if not o.ok]
    assert not failed, "\n".join(failed)
    assert not [o for o in outcomes if o.skipped]
    assert len(outcomes) == len(fixture["steps"]) + (1 if fixture.get("final") else 0)
