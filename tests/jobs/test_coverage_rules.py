"""Coverage rules: broken rules alerted like gaps (once per real range), listed by `gaps`,
kept by the rota file."""

from __future__ import annotations

import json

import yaml
from sqlalchemy import select

from voiceline import models as m
from voiceline.models.jobs import CoverageGap


def set_rule(db, rule, step=None):
    def write(session):
        if step is None:
            session.get(m.Rota, "daily").coverage = rule
        else:
            session.scalars(select(m.PolicyStep).where(m.PolicyStep.policy_id == "main")
                            .order_by(m.PolicyStep.position)).all()[step - 1].coverage = rule
        session.commit()
    db(write)


def keys(db, prefix="rule"):
    return db(lambda s: sorted(g.key for g in s.scalars(select(CoverageGap))
                               if g.key.startswith(prefix)))


def test_a_long_shift_is_alerted_once_by_its_real_bounds(tick, db, h, rota):
    # daily handoffs at 09:00 New York: every shift is 24 h; the rule allows 12 h
    set_rule(db, {"max_shift_hours": 12})
    tick("2026-03-05T14:00")
    [alert] = h.outbox(rota, purpose="coverage")
    assert alert.recipient == "+12025550119"
    lines = alert.body.splitlines()
    assert lines[0] == "voiceline coverage: 15 broken coverage rule(s) within 14 days:"
    # the shift on duty at the tick began before it: "now"; mia reads Chicago time
    assert lines[1] == "- rota Daily desk: ben on duty 24 h in a row (max 12 h) from now to Fri 06 Mar 08:00 CST"
    assert lines[2] == ("- rota Daily desk: ann on duty 24 h in a row (max 12 h) "
                        "from Fri 06 Mar 08:00 CST to Sat 07 Mar 08:00 CST")
    first = keys(db)
    assert "rule:long_shift:rota:daily:ben:2026-03-05T14:00:00Z:2026-03-06T14:00:00Z" in first
    assert len(first) == 15  # every shift within 14 days, each once

    tick("2026-03-05T14:01")  # nothing changed
    tick("2026-03-06T14:05")  # the daily rescan: the window moved, one more shift came within 14 days
    assert len(h.outbox(rota, purpose="coverage")) == 2
    assert len(keys(db)) == 16
    assert set(first) < set(keys(db))


def test_a_rule_on_a_policy_step_counts_its_people(tick, db, h, rota, runner):
    set_rule(db, {"min_people": 2}, step=1)
    tick("2026-03-05T14:00")
    [alert] = h.outbox(rota, purpose="coverage")
    assert "- policy main step 1: only 1 on duty (min 2) from now to past" in alert.body
    assert keys(db) == ["rule:understaffed:policy:main:step:1:-:open:open"]
    shown = json.loads(runner.invoke(args=["gaps", "--json", "--from", "2026-03-05T14:00:00Z",
                                           "--days", "2"]).output)
    assert shown == [{"rule": "understaffed", "policy": "main", "step": 1,
                      "start": "2026-03-05T14:00:00Z", "end": "2026-03-07T14:00:00Z",
                      "real_start": None, "real_end": None, "on_duty": ["ben", "ann"],
                      "text": "only 1 on duty (min 2)"}]
    text = runner.invoke(args=["gaps", "--from", "2026-03-05T14:00:00Z", "--days", "2"]).output
    assert "policy main step 1: only 1 on duty (min 2) 2026-03-05T14:00:00Z .. 2026-03-07T14:00:00Z" in text


def test_no_rule_no_alert(tick, db, h, rota):
    tick("2026-03-05T14:00")
    assert h.outbox(rota, purpose="coverage") == []


def test_the_rota_file_carries_the_rules_and_names_a_bad_key(tmp_path, rota, runner, db):
    exported = runner.invoke(args=["export"]).output
    doc = yaml.safe_load(exported)
    doc["rotas"][0]["coverage"] = {"min_people": 1, "max_shift_hours": 24, "min_rest_hours": 10}
    doc["policies"][0]["steps"][0]["coverage"] = {"min_people": 2}
    path = tmp_path / "rota.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 0, result.output
    assert db(lambda s: s.get(m.Rota, "daily").coverage) == {
        "min_people": 1, "max_shift_hours": 24, "min_rest_hours": 10}
    again = yaml.safe_load(runner.invoke(args=["export"]).output)
    assert again["rotas"][0]["coverage"] == doc["rotas"][0]["coverage"]
    assert again["policies"][0]["steps"][0]["coverage"] == {"min_people": 2}

    doc["rotas"][0]["coverage"] = {"max_shift": "24h"}
    path.write_text(yaml.safe_dump(doc))
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code != 0
    assert "rotas[daily].coverage.max_shift: unknown key" in result.output
    assert db(lambda s: s.get(m.Rota, "daily").coverage)["max_shift_hours"] == 24  # unchanged
