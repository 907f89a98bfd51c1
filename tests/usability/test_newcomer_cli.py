"""What a newcomer reads from the `voiceline` command: help texts and import summaries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo.yaml"


def _voiceline(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from voiceline.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=60, check=False)


def test_top_level_help_shows_voiceline_options_only():
    result = _voiceline("--help")
    assert result.returncode == 0, result.stderr
    options = result.stdout.split("Options:", 1)[1].split("Commands:", 1)[0]
    assert "--app" not in options and "--debug" not in options and ".flaskenv" not in options
    assert "--env-file" in options and "--version" in options
    assert ".env.example" in result.stdout


def test_import_summary_counts_what_was_written(app, runner):
    result = runner.invoke(args=["import", str(DEMO)])
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert last == f"{DEMO}: 17 created, 0 updated, 0 removed."
    assert "created: person alice" in result.output


def test_dry_run_says_nothing_was_written(app, runner):
    result = runner.invoke(args=["import", "--dry-run", str(DEMO)])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert "would be created: person alice" in lines
    assert lines[-1] == f"{DEMO}: would change: 17 created, 0 updated, 0 removed (dry run, nothing was written)."


def _last_call(app):
    from sqlalchemy import select

    from voiceline import appdb
    from voiceline.models.calls import Call

    with app.app_context():
        session = appdb.session_factory(app)()
        try:
            call = session.scalar(select(Call).order_by(Call.id.desc()).limit(1))
            return call.state, call.outcome, call.ended_at
        finally:
            session.close()


def test_simulate_ended_by_ctrl_c_or_end_of_input_hangs_up(demo, runner):
    # The caller keys the PIN, then the input ends while the first responder rings.
    keys = "\n".join(["y", "2468", "2468", "2468", "1"]) + "\n"
    result = runner.invoke(args=["simulate", "--from", "+1 202 555 0150"], input=keys)
    assert result.exit_code == 0, result.output
    assert "[the caller hangs up]" in result.output
    header = next(line for line in result.output.splitlines() if line.startswith("call CA"))
    state, outcome, ended_at = _last_call(demo)
    assert (state, outcome) == ("done", "abandoned") and ended_at is not None
    assert header.endswith("  abandoned")


def test_users_list_has_a_header_row(app, runner):
    runner.invoke(args=["users", "add", "rex", "--role", "reviewer", "--generate"])
    lines = runner.invoke(args=["users", "list"]).output.splitlines()
    assert lines[0].split() == ["username", "role", "person", "state"]
    assert lines[1].split()[:4] == ["rex", "reviewer", "-", "active"]


def test_replay_names_a_missing_number_to_follow(demo):
    import pytest

    from voiceline.calls.replay import in_process_twilio

    twilio = in_process_twilio(demo)
    with pytest.raises(KeyError, match=r"no number\[0\] URL in the answers so far"):
        twilio.follow("number[0]")
