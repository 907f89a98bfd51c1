"""Priority, zone and new-layer changes take effect at the end of the current shift, never in
the past (issue 11, defect 3): rota file, API and UI alike."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime, timedelta

import pytest

from voiceline import models as m
from voiceline.instants import iso_z, utcnow
from voiceline.oncall.store import load_rotas
from voiceline.rota import on_duty
from voiceline.rotafile import RotaFileError, apply_plan, export_document, parse_document


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def base_doc(zone="UTC", anchor="2026-01-05T09:00", every="1w") -> dict:
    return {
        "timezone": "UTC",
        "people": [{"id": p, "name": p.upper(), "phone": f"+1202555010{i}"}
                   for i, p in enumerate(("a", "b", "c", "d"))],
        "rotas": [{"id": "r", "timezone": zone, "layers": [
            {"name": "main", "members": ["a", "b"], "anchor": anchor, "every": every},
            {"name": "low", "members": ["c", "d"], "anchor": anchor, "every": every,
             "priority": -1}]}],
    }


def imported(session, doc, at, effective=None):
    apply_plan(session, parse_document(doc, "US"), actor="test", at=at, effective=effective)
    session.commit()


def who(session, at) -> tuple[str, ...]:
    session.expire_all()
    return on_duty(load_rotas(session)["r"], at).people


def test_priority_change_waits_for_the_end_of_the_shift_and_keeps_the_past(app, session):
    imported(session, base_doc(), utc(2026, 3, 1))
    now = utc(2026, 3, 4, 12)  # a's week began Mon 2 Mar 09:00Z, ends Mon 9 Mar 09:00Z
    assert who(session, now) == ("a",)
    doc = base_doc()
    doc["rotas"][0]["layers"][1]["priority"] = 5
    imported(session, doc, now)
    assert who(session, now) == ("a",)                       # today's person unchanged
    assert who(session, utc(2026, 3, 9, 8, 59)) == ("a",)
    assert who(session, utc(2026, 3, 9, 9)) == ("d",)        # the low layer now leads
    assert who(session, utc(2026, 2, 10)) == ("b",)          # past shifts unchanged
    assert who(session, utc(2026, 1, 6)) == ("a",)
    layer = session.query(m.Layer).filter_by(name="low").one()
    assert layer.priority == 5
    assert sorted((v.valid_until is None, v.priority) for v in layer.versions) == [(False, -1),
                                                                                  (True, 5)]


def test_zone_change_waits_for_the_end_of_the_shift_and_keeps_the_past(app, session):
    imported(session, base_doc(), utc(2026, 3, 1))
    now = utc(2026, 3, 9, 10)  # b since 09:00Z; in New York it would still be a until 13:00Z
    assert who(session, now) == ("b",)
    doc = base_doc(zone="America/New_York")
    imported(session, doc, now)
    assert who(session, now) == ("b",)
    assert who(session, utc(2026, 3, 16, 12)) == ("b",)     # NY handoff at 09:00 EDT = 13:00Z
    assert who(session, utc(2026, 3, 16, 13)) == ("a",)
    assert who(session, utc(2026, 3, 2, 10)) == ("a",)      # in NY zone this was b: past kept
    rota = session.get(m.Rota, "r")
    assert rota.timezone == "America/New_York"
    # The export describes the rota from now on and imports back as no change.
    exported = export_document(session)
    report = apply_plan(session, parse_document(exported, "US"), actor="t", at=now)
    assert not report.changed, report


def test_layer_added_by_import_starts_at_the_end_of_the_shift(app, session):
    imported(session, base_doc(), utc(2026, 3, 1))
    now = utc(2026, 3, 4, 12)
    doc = base_doc()
    doc["rotas"][0]["layers"].append({"name": "top", "members": ["c"], "anchor": "2026-01-05T09:00",
                                      "every": "1w", "priority": 10})
    imported(session, doc, now)
    assert who(session, now) == ("a",)
    assert who(session, utc(2026, 3, 9, 9)) == ("c",)
    assert who(session, utc(2026, 2, 10)) == ("b",)
    top = session.query(m.Layer).filter_by(name="top").one()
    assert [v.valid_from for v in top.versions] == [utc(2026, 3, 9, 9)]


def test_a_new_rota_runs_from_its_anchor(app, session):
    imported(session, base_doc(), utc(2026, 3, 1))
    assert who(session, utc(2026, 1, 6)) == ("a",)  # nothing recorded to keep: from the anchor


def test_chosen_future_instant_and_a_past_one_refused(app, session):
    imported(session, base_doc(), utc(2026, 3, 1))
    now = utc(2026, 3, 4, 12)
    doc = base_doc()
    doc["rotas"][0]["layers"][1]["priority"] = 5
    with pytest.raises(RotaFileError) as caught:
        imported(session, doc, now, effective=utc(2026, 3, 4, 11))
    assert "effective" in caught.value.problems[0] and "past" in caught.value.problems[0]
    session.rollback()
    imported(session, doc, now, effective=utc(2026, 3, 5))
    assert who(session, utc(2026, 3, 4, 23, 59)) == ("a",)
    assert who(session, utc(2026, 3, 5)) == ("c",)


def test_cli_import_effective(app, runner, tmp_path, session):
    import yaml

    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(base_doc()))
    assert runner.invoke(args=["import", str(path)]).exit_code == 0
    bad = runner.invoke(args=["import", str(path), "--effective", "2020-01-01T00:00:00Z"])
    assert bad.exit_code == 1 and "in the past" in bad.output


def _shift_started(hours_ago: int) -> str:
    start = (utcnow() - timedelta(hours=hours_ago)).replace(second=0, microsecond=0)
    return start.strftime("%Y-%m-%dT%H:%M")


class _Outside:
    """A database session used outside any app context: a test holding one open would make the
    test client's requests share its `g` (and Flask-WTF would not keep the CSRF token)."""

    def __init__(self, app) -> None:
        from voiceline import appdb

        with app.app_context():
            self._db = appdb.session_factory(app)()

    def __getattr__(self, name):
        return getattr(self._db, name)


def test_ui_priority_and_zone_changes_keep_today_and_the_past(app, as_role, post_form):
    session = _Outside(app)
    doc = base_doc(anchor=_shift_started(1), every="1d")
    imported(session, doc, utcnow())
    manager = as_role("rota_manager")
    now = utcnow()
    assert who(session, now) == ("a",)
    low = session.query(m.Layer).filter_by(name="low").one().id
    fields = {"name": "low", "members": "c, d", "anchor": doc["rotas"][0]["layers"][1]["anchor"],
              "period": "1d", "windows": "", "priority": "5"}
    preview = post_form(manager, f"/rota/r/layers/{low}", data=fields)  # previewed first
    assert preview.status_code == 200
    digest = re.search(r'name="preview_of" value="(\w+)"', preview.get_data(as_text=True)).group(1)
    response = post_form(manager, f"/rota/r/layers/{low}",
                         data={**fields, "preview_of": digest, "save": "yes"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert who(session, now + timedelta(minutes=1)) == ("a",)
    assert who(session, now + timedelta(hours=23, minutes=1)) == ("d",)
    assert who(session, now - timedelta(hours=2)) == ("b",)
    # A zone five hours behind UTC would make b's shift of yesterday the current one.
    response = post_form(manager, "/rota/r/edit", data={"id": "r", "name": "r",
                                                         "timezone": "America/Bogota"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert session.get(m.Rota, "r").timezone == "America/Bogota"
    assert who(session, now + timedelta(minutes=1)) == ("a",)
    assert who(session, now - timedelta(hours=21)) == ("b",)
    past = post_form(manager, "/rota/r/edit", data={"id": "r", "name": "r", "timezone": "UTC",
                                                     "effective": "2020-01-01T00:00"})
    assert past.status_code == 200 and "in the past" in past.get_data(as_text=True)


def test_api_put_rota_zone_and_priority(app, client, accounts):
    session = _Outside(app)
    import hashlib
    import secrets

    from voiceline.models.web import ApiToken

    imported(session, base_doc(anchor=_shift_started(1), every="1d"), utcnow())
    raw = secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=accounts["rota_manager"],
                         token_hash=hashlib.sha256(raw.encode()).hexdigest(), name="t"))
    session.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    now = utcnow()
    body = copy.deepcopy(base_doc(anchor=_shift_started(1), every="1d")["rotas"][0])
    body["layers"][0]["anchor"] = session.query(m.LayerVersion).first().anchor
    body["layers"][1]["anchor"] = body["layers"][0]["anchor"]
    body["layers"][1]["priority"] = 5
    answer = client.put("/api/v1/rotas/r", json=body, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    assert who(session, now + timedelta(minutes=1)) == ("a",)
    assert who(session, now + timedelta(hours=23, minutes=1)) == ("d",)
    past = client.put(f"/api/v1/rotas/r?effective={iso_z(now - timedelta(days=1))}",
                      json={"timezone": "Asia/Tokyo"}, headers=headers)
    assert past.status_code == 422 and "past" in str(past.get_json())
