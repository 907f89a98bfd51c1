"""Telling people when the rota changes under them: one SMS per person per edit, exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml
from sqlalchemy import select

from voiceline import appdb
from voiceline import models as m
from voiceline.instants import utcnow
from voiceline.oncall.notify import changes, describe_range, message
from voiceline.oncall.store import load_rotas
from voiceline.rota import on_duty


def _notices(app):
    with appdb.session_factory(app)() as db:
        rows = db.scalars(select(m.OutboxMessage).where(m.OutboxMessage.purpose == "rota_change")
                          .order_by(m.OutboxMessage.id)).all()
        return [(r.key, r.recipient, r.body) for r in rows]


def _who(app, rota_id, at):
    with appdb.session_factory(app)() as db:
        return on_duty(load_rotas(db, [rota_id])[rota_id], at).people


def test_ranges_read_as_people_read_them():
    utc = lambda *a: datetime(*a, tzinfo=UTC)  # noqa: E731
    assert describe_range(utc(2026, 12, 5, 17), utc(2026, 12, 6, 5), "Europe/Moscow") == "Sat 5 Dec 20:00–Sun 08:00"
    assert describe_range(utc(2026, 12, 7, 21), utc(2026, 12, 8, 21), "Europe/Moscow") == "Tue 8 Dec"
    assert describe_range(utc(2026, 12, 8, 9), utc(2026, 12, 8, 17), "UTC") == "Tue 8 Dec 09:00–17:00"
    before = {("ann", "r"): [(utc(2026, 12, 8), utc(2026, 12, 9))]}
    after = {("ann", "r"): [(utc(2026, 12, 8), utc(2026, 12, 8, 12))],
             ("bob", "r"): [(utc(2026, 12, 8, 12), utc(2026, 12, 9))]}
    assert changes(before, after) == {
        "ann": [("r", "no longer", utc(2026, 12, 8, 12), utc(2026, 12, 9))],
        "bob": [("r", "now", utc(2026, 12, 8, 12), utc(2026, 12, 9))]}
    person = m.Person(id="ann", name="Ann", phone="+12025550111", timezone="Europe/Moscow")
    rota = m.Rota(id="r", name="Backup", timezone="UTC")
    assert message(person, [("r", "now", utc(2026, 12, 5, 17), utc(2026, 12, 6, 5)),
                            ("r", "no longer", utc(2026, 12, 7, 21), utc(2026, 12, 8, 21))],
                   {"r": rota}) == (
        "voiceline: Rota Backup changed. You now cover Sat 5 Dec 20:00–Sun 08:00 (Europe/Moscow); "
        "you no longer cover Tue 8 Dec (Europe/Moscow).")


@pytest.fixture
def manager(demo, as_role):
    return as_role("rota_manager")


def test_an_override_tells_both_people_once(app, manager, post_form):
    start = (utcnow() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    end = start + timedelta(hours=6)
    [person] = _who(app, "primary", start)
    other = "dmitri" if person != "dmitri" else "grace"
    response = post_form(manager, "/rota/primary/overrides/new", data={
        "kind": "replace", "person": other, "replaces": person,
        "start": start.strftime("%Y-%m-%dT%H:%M"), "end": end.strftime("%Y-%m-%dT%H:%M"),
        "note": ""})
    assert response.status_code == 302, response.get_data(as_text=True)
    notices = _notices(app)
    assert sorted(n[0].rsplit(":", 1)[1] for n in notices) == sorted([person, other])
    assert len({n[0].split(":")[1] for n in notices}) == 1  # one edit, one key per person
    by_key = {n[0].rsplit(":", 1)[1]: n[2] for n in notices}
    with appdb.session_factory(app)() as db:
        zone_of = {p: (db.get(m.Person, p).timezone or "America/New_York") for p in (person, other)}
    # the manager has no zone: the form is read in the rota's (New York)
    assert f"You now cover {describe_range(_ny(start), _ny(end), zone_of[other])}" in by_key[other]
    assert f"You no longer cover {describe_range(_ny(start), _ny(end), zone_of[person])}" in by_key[person]


def _ny(naive_utc_as_local: datetime) -> datetime:
    """The form's local New York wall-clock time as the instant it stores."""
    from zoneinfo import ZoneInfo
    return naive_utc_as_local.replace(tzinfo=None).replace(tzinfo=ZoneInfo("America/New_York"))


def test_an_import_tells_changed_people_but_a_first_import_tells_nobody(app, demo, runner, tmp_path):
    assert _notices(app) == []  # the demo's own (first) import
    doc = yaml.safe_load(runner.invoke(args=["export"]).output)
    backup = next(r for r in doc["rotas"] if r["id"] == "backup")
    backup["overrides"] = [{"start": (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT00:00:00Z"),
                            "end": (utcnow() + timedelta(days=4)).strftime("%Y-%m-%dT00:00:00Z"),
                            "add": "grace"}]
    path = tmp_path / "rota.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert runner.invoke(args=["import", str(path)]).exit_code == 0
    [notice] = _notices(app)
    assert notice[1] == "+12025550102" and notice[2].startswith("voiceline: Rota Backup (day / night) changed. You now cover ")


def test_zero_days_tells_nobody(app_config, tmp_path):
    from voiceline import create_app
    from voiceline.oncall.notify import watch_rotas
    app = create_app({**app_config, "CHANGE_NOTICE_DAYS": 0})
    with app.app_context():
        db = appdb.session_factory(app)()
        watch_rotas(db, None, 0)
        assert "voiceline.rota_change" not in db.info
        db.close()
