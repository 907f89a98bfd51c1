"""The rota file: import validates everything first, writes nothing on error, re-import is a no-op."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from voiceline import models as m
from voiceline.oncall.store import load_rotas
from voiceline.rota import on_duty
from voiceline.rotafile import RotaFileError, apply_plan, export_document, parse_document

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo.yaml"


@pytest.fixture
def doc():
    return yaml.safe_load(DEMO.read_text())


def counts(session) -> dict[str, int]:
    tables = [m.Person, m.Caller, m.CallerPhone, m.Rota, m.Layer, m.LayerVersion, m.Override,
              m.Policy, m.PolicyStep, m.Hotline, m.AuditEntry]
    return {t.__tablename__: session.scalar(select(func.count()).select_from(t)) for t in tables}


def write(tmp_path, doc, name="rota.yaml") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc) if name.endswith(".json") else yaml.safe_dump(doc))
    return str(path)


def test_demo_imports_with_e164_numbers(demo, session):
    people = {p.id: p for p in session.scalars(select(m.Person))}
    assert people["boris"].phone == "+74951234567"
    assert people["duty-chief"].roles == ["manager", "supervisor"]
    caller = session.get(m.Caller, "ops-desk")
    assert caller.numbers == ["+74950000001", "+74950000002"] and caller.language == "ru-RU"
    hotline = session.scalar(select(m.Hotline))
    assert (hotline.number, hotline.caller_policy, hotline.ask_priority) == ("+12025550100", "pin", True)
    assert hotline.languages == ["en-US", "ru-RU"]
    assert [s.rotas or s.people for s in session.get(m.Policy, "main").steps] == [
        ["primary"], ["backup"], ["duty-chief"]]


def test_reimport_changes_nothing(demo, runner, session):
    before = counts(session)
    stamps = {p.id: p.updated_at for p in session.scalars(select(m.Person))}
    result = runner.invoke(args=["import", str(DEMO)])
    assert result.exit_code == 0 and "no changes" in result.output
    session.expire_all()
    assert counts(session) == before
    assert {p.id: p.updated_at for p in session.scalars(select(m.Person))} == stamps


def test_export_imports_back_to_the_same_state(demo, runner, session, tmp_path):
    exported = export_document(session)
    assert "pin_hash" not in json.dumps(exported)
    before = counts(session)
    for name in ("again.yaml", "again.json"):
        result = runner.invoke(args=["import", write(tmp_path, exported, name)])
        assert result.exit_code == 0, result.output
        assert "no changes" in result.output
    session.expire_all()
    assert counts(session) == before


def test_a_rota_whose_layers_have_all_ended_exports_a_file_that_imports(demo, runner, session,
                                                                        tmp_path):
    # Every version of the backup rota ended: the export used to leave `layers` out, which
    # import refuses ("missing key").
    past = datetime(2026, 1, 1, tzinfo=UTC)
    for layer in session.get(m.Rota, "backup").layers:
        for version in layer.versions:
            version.valid_until = past
    session.commit()
    exported = export_document(session)
    backup = next(r for r in exported["rotas"] if r["id"] == "backup")
    assert backup["layers"] == []
    result = runner.invoke(args=["import", write(tmp_path, exported, "ended.yaml")])
    assert result.exit_code == 0, result.output


def test_export_command_yaml_and_json(demo, runner):
    as_yaml = yaml.safe_load(runner.invoke(args=["export"]).output)
    as_json = json.loads(runner.invoke(args=["export", "--format", "json"]).output)
    assert as_yaml == as_json
    assert [r["id"] for r in as_json["rotas"]] == ["backup", "primary"]


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d["rotas"][0]["layers"][0]["members"].append("zed"),
     "rotas[primary].layers[0].members[3]: unknown person 'zed'"),
    (lambda d: d["rotas"][0].__setitem__("timezone", "Mars/Olympus"),
     "rotas[primary].timezone: unknown time zone 'Mars/Olympus'"),
    (lambda d: d["rotas"][1]["layers"][0].__setitem__("every", "fortnightly"),
     "rotas[backup].layers[0].every: bad period 'fortnightly'"),
    (lambda d: d["people"][0].__setitem__("phone", "+1 202 555"),
     "people[alice].phone: '+1 202 555' is not a valid phone number"),
    (lambda d: d["rotas"][0]["overrides"].append(
        {"start": "2026-12-25T00:00:00Z", "end": "2026-12-26T00:00:00Z", "add": "grace"}),
     "rotas[primary].overrides[1]: overlaps rotas[primary].overrides[0] for person 'grace'"),
    (lambda d: d["policies"][0]["steps"][1].__setitem__("rotas", ["nightshift"]),
     "policies[main].steps[1].rotas[0]: unknown rota 'nightshift'"),
    (lambda d: d["rotas"][0]["overrides"][0].__setitem__("end", "2026-12-23T00:00:00Z"),
     "rotas[primary].overrides[0].end: must be after start"),
    (lambda d: d["hotlines"][0].__setitem__("callers", "everyone"),
     "hotlines[liaison].callers: 'everyone' is not one of allowlist, pin, open"),
    (lambda d: d["people"][1].__setitem__("pager", "x"),
     "people[dmitri].pager: unknown key"),
    (lambda d: d["callers"][1]["phones"].append("+7 495 000-00-01"),
     "callers[watch-officer].phones[1]: +74950000001 already belongs to caller 'ops-desk'"),
])
def test_invalid_file_names_entry_and_key_and_writes_nothing(doc, mutate, message, app, runner,
                                                             session, tmp_path):
    before = counts(session)
    mutate(doc)
    result = runner.invoke(args=["import", write(tmp_path, doc)])
    assert result.exit_code == 1
    assert "nothing was written" in result.output
    assert message in result.output
    session.expire_all()
    assert counts(session) == before


def test_every_problem_is_reported_at_once(doc):
    doc["people"][0]["phone"] = "nope"
    doc["rotas"][0]["timezone"] = "Nowhere/City"
    doc["policies"][0]["steps"][0]["rotas"] = ["ghost"]
    with pytest.raises(RotaFileError) as error:
        parse_document(doc)
    assert len(error.value.problems) == 3


def test_invalid_second_import_leaves_first_intact(demo, runner, session, doc, tmp_path):
    before = counts(session)
    doc["people"][0]["name"] = "Alice Renamed"
    doc["rotas"][0]["layers"][0]["members"] = ["alice", "nobody"]
    assert runner.invoke(args=["import", write(tmp_path, doc)]).exit_code == 1
    session.expire_all()
    assert session.get(m.Person, "alice").name == "Alice Smith"
    assert counts(session) == before


def test_national_numbers_use_default_region(app, session, doc):
    doc["people"][0]["phone"] = "(202) 555-0101"
    doc["people"][1]["phone"] = "8 916 123-45-67"
    with pytest.raises(RotaFileError) as error:
        parse_document(doc, region="US")
    assert "people[dmitri].phone" in str(error.value)
    doc["people"][1]["phone"] = "+7 916 123-45-67"
    plan = parse_document(doc, region="US")
    assert plan.people[0].phone == "+12025550101"


def test_layer_edit_keeps_todays_person_on_duty(demo, session, doc):
    now = datetime(2026, 2, 4, 12, 0, tzinfo=UTC)  # Wednesday of dmitri's week (from Mon Feb 2)
    later = datetime(2026, 2, 10, tzinfo=UTC)
    assert on_duty(load_rotas(session)["primary"], now).people == ("dmitri",)
    assert on_duty(load_rotas(session)["primary"], later).people == ("grace",)
    doc["rotas"][0]["layers"][0]["members"] = ["grace", "dmitri", "alice"]
    report = apply_plan(session, parse_document(doc), actor="test", at=now)
    session.commit()
    assert "rota primary layer 0 (new version)" in report.updated
    rota = load_rotas(session)["primary"]
    assert on_duty(rota, now).people == ("dmitri",)
    assert on_duty(rota, later).people == ("alice",)
    assert on_duty(rota, now).until == datetime(2026, 2, 9, 14, 0, tzinfo=UTC)
    versions = session.scalars(select(m.LayerVersion).order_by(m.LayerVersion.id)).all()
    primary = [v for v in versions if v.layer.rota_id == "primary"]
    assert len(primary) == 2
    assert primary[0].valid_until == primary[1].valid_from == datetime(2026, 2, 9, 14, 0, tzinfo=UTC)
    # a second identical import adds no version
    report = apply_plan(session, parse_document(doc), actor="test", at=now)
    assert not report.changed


def test_future_overrides_follow_the_file_past_ones_stay(demo, session, doc):
    now = datetime(2026, 12, 30, tzinfo=UTC)
    doc2 = copy.deepcopy(doc)
    doc2["rotas"][0]["overrides"] = [
        {"start": "2027-01-02T00:00:00Z", "end": "2027-01-03T00:00:00Z", "add": "carol"}]
    report = apply_plan(session, parse_document(doc2), actor="test", at=now)
    session.commit()
    kinds = sorted((o.kind, o.person_id) for o in session.scalars(select(m.Override)))
    # the December 24-27 replace is in the past at `now`, so it stays as history
    assert kinds == [("add", "carol"), ("replace", "grace")]
    assert any("override add carol" in c for c in report.created)


def test_import_is_audited(demo, session):
    entry = session.scalar(select(m.AuditEntry).where(m.AuditEntry.action == "rota.import"))
    assert entry.actor == "cli" and "person alice" in entry.detail["created"]


def test_dry_run_writes_nothing(app, runner, session):
    result = runner.invoke(args=["import", "--dry-run", str(DEMO)])
    assert result.exit_code == 0 and "would change" in result.output
    assert counts(session)["people"] == 0


def test_if_empty_skips_a_populated_directory(demo, runner):
    result = runner.invoke(args=["import", "--if-empty", str(DEMO)])
    assert "skipped" in result.output


def test_bad_yaml_is_a_clear_error(app, runner, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("people: [\n")
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 1 and "not valid YAML" in result.output


def test_second_edit_in_the_same_shift_replaces_the_pending_version(demo, session, doc):
    now = datetime(2026, 2, 4, 12, 0, tzinfo=UTC)
    later = datetime(2026, 2, 10, tzinfo=UTC)
    doc["rotas"][0]["layers"][0]["members"] = ["grace", "dmitri", "alice"]
    apply_plan(session, parse_document(doc), actor="test", at=now)
    doc["rotas"][0]["layers"][0]["members"] = ["alice", "grace", "dmitri"]
    apply_plan(session, parse_document(doc), actor="test",
               at=datetime(2026, 2, 5, tzinfo=UTC))
    session.commit()
    rota = load_rotas(session)["primary"]
    assert on_duty(rota, now).people == ("dmitri",)
    assert on_duty(rota, later).people == ("dmitri",)  # index 5 of the newest order
    layer = session.scalar(select(m.Layer).where(m.Layer.rota_id == "primary"))
    assert [v.members for v in sorted(layer.versions, key=lambda v: v.id)] == [
        ["alice", "dmitri", "grace"], ["alice", "grace", "dmitri"]]


def test_layer_leaving_the_file_after_a_pending_edit(demo, session, doc):
    now = datetime(2026, 2, 4, 12, 0, tzinfo=UTC)
    doc["rotas"][1]["layers"][0]["members"] = ["carol", "boris"]  # pending version from Feb 5 08:00
    apply_plan(session, parse_document(doc), actor="test", at=now)
    del doc["rotas"][1]["layers"][0]
    report = apply_plan(session, parse_document(doc), actor="test",
                        at=datetime(2026, 2, 4, 13, 0, tzinfo=UTC))
    session.commit()
    # layers are matched by name, so the remaining "nights" layer is untouched
    assert report.removed == ["rota backup layer 0"] and report.updated == []
    rota = load_rotas(session)["backup"]
    days_layer = min(rota.layers, key=lambda la: int(la.id))
    assert [v.valid_until for v in days_layer.versions] == [datetime(2026, 2, 4, 13, tzinfo=UTC)]
    # the day layer is gone after 13:00Z; the night layer (20:00-08:00 Moscow) remains
    assert on_duty(rota, datetime(2026, 2, 5, 10, tzinfo=UTC)).people == ()
    assert on_duty(rota, datetime(2026, 2, 5, 20, tzinfo=UTC)).people != ()


def test_import_ends_an_override_in_progress_instead_of_deleting_it(demo, session, doc):
    now = datetime(2026, 12, 25, 12, tzinfo=UTC)  # inside the Dec 24-27 replace
    doc["rotas"][0]["overrides"] = []
    report = apply_plan(session, parse_document(doc), actor="test", at=now)
    session.commit()
    row = session.scalar(select(m.Override))
    assert (row.start, row.end) == (datetime(2026, 12, 24, tzinfo=UTC), now)
    assert report.removed == ["rota primary override replace grace 2026-12-24T00:00Z (ended now)"]
