"""Rota history (issue 11, feature): every committed change is kept; `shifts --as-of` reads the
rota as it stood at a past instant."""

from __future__ import annotations

import json

import yaml

from voiceline.instants import utcnow


def _doc(extra_override: bool) -> dict:
    rota = {"id": "r", "timezone": "UTC", "layers": [
        {"name": "main", "members": ["a", "b"], "anchor": "2030-01-07T09:00", "every": "1w"}]}
    if extra_override:
        rota["overrides"] = [{"start": "2030-01-08T00:00:00Z", "end": "2030-01-09T00:00:00Z",
                              "replace": "a", "with": "b"}]
    return {"people": [{"id": "a", "name": "A", "phone": "+12025550101"},
                       {"id": "b", "name": "B", "phone": "+12025550102"}], "rotas": [rota]}


def test_shifts_as_of_reads_the_rota_as_it_stood(app, runner, tmp_path):
    first, second = tmp_path / "1.yaml", tmp_path / "2.yaml"
    first.write_text(yaml.safe_dump(_doc(False)))
    second.write_text(yaml.safe_dump(_doc(True)))
    assert runner.invoke(args=["import", str(first)]).exit_code == 0
    between = utcnow().isoformat()
    assert runner.invoke(args=["import", str(second)]).exit_code == 0
    args = ["shifts", "--rota", "r", "--from", "2030-01-07T09:00Z", "--to", "2030-01-10T00:00Z",
            "--json"]
    now = json.loads(runner.invoke(args=args).output)
    stood = json.loads(runner.invoke(args=[*args, "--as-of", between]).output)
    assert [s["on_duty"] for s in now] == [["a"], ["b"], ["a"]]
    assert [s["on_duty"] for s in stood] == [["a"]]
    early = runner.invoke(args=[*args, "--as-of", "2000-01-01T00:00Z"])
    assert early.exit_code != 0 and "no recorded state" in early.output


def test_api_shifts_as_of(app, runner, tmp_path, client, accounts):
    import hashlib
    import secrets

    from voiceline import appdb
    from voiceline.models.web import ApiToken

    first, second = tmp_path / "1.yaml", tmp_path / "2.yaml"
    first.write_text(yaml.safe_dump(_doc(False)))
    second.write_text(yaml.safe_dump(_doc(True)))
    assert runner.invoke(args=["import", str(first)]).exit_code == 0
    between = utcnow().isoformat().replace("+00:00", "Z")
    assert runner.invoke(args=["import", str(second)]).exit_code == 0
    raw = secrets.token_urlsafe(32)
    with app.app_context():
        db = appdb.session_factory(app)()
        db.add(ApiToken(user_id=accounts["reviewer"], name="t",
                        token_hash=hashlib.sha256(raw.encode()).hexdigest()))
        db.commit()
        db.close()
    headers = {"Authorization": f"Bearer {raw}"}
    url = "/api/v1/rotas/r/shifts?from=2030-01-07T09:00:00Z&to=2030-01-10T00:00:00Z"
    now = client.get(url, headers=headers).get_json()
    stood = client.get(f"{url}&as_of={between}", headers=headers).get_json()
    assert [s["on_duty"] for s in now] == [["a"], ["b"], ["a"]]
    assert [s["on_duty"] for s in stood] == [["a"]]
    assert client.get(f"{url}&as_of=2001-01-01T00:00:00Z", headers=headers).status_code == 404


def test_a_rota_from_before_history_gets_its_stored_state_as_a_baseline(app, runner, tmp_path):
    from sqlalchemy import delete, select

    from voiceline import appdb
    from voiceline import models as m

    first, second = tmp_path / "1.yaml", tmp_path / "2.yaml"
    first.write_text(yaml.safe_dump(_doc(False)))
    second.write_text(yaml.safe_dump(_doc(True)))
    assert runner.invoke(args=["import", str(first)]).exit_code == 0
    with app.app_context():
        db = appdb.session_factory(app)()
        db.execute(delete(m.RotaState))  # as if stored before this version kept history
        db.commit()
        db.close()
    between = utcnow().isoformat()
    assert runner.invoke(args=["import", str(second)]).exit_code == 0
    with app.app_context():
        db = appdb.session_factory(app)()
        actions = db.scalars(select(m.RotaState.action).order_by(m.RotaState.id)).all()
        db.close()
    assert actions[0] == "baseline" and len(actions) == 2
    stood = runner.invoke(args=["shifts", "--rota", "r", "--from", "2030-01-07T09:00Z",
                                "--to", "2030-01-10T00:00Z", "--json", "--as-of", between])
    assert [s["on_duty"] for s in json.loads(stood.output)] == [["a"]]


def test_each_state_names_who_changed_it(app, runner, tmp_path):
    from sqlalchemy import select

    from voiceline import appdb
    from voiceline import models as m

    first, second = tmp_path / "1.yaml", tmp_path / "2.yaml"
    first.write_text(yaml.safe_dump(_doc(False)))
    second.write_text(yaml.safe_dump(_doc(True)))
    for path in (first, second, second):
        assert runner.invoke(args=["import", str(path)]).exit_code == 0
    with app.app_context():
        db = appdb.session_factory(app)()
        rows = db.scalars(select(m.RotaState).order_by(m.RotaState.id)).all()
        assert [(r.actor, r.action) for r in rows] == [("cli", "rota.import")] * 2  # no-op kept none
        assert len(rows[1].state["overrides"]) == 1 and not rows[0].state["overrides"]
        db.close()


def test_oncall_as_of(app, runner, tmp_path):
    first, second = tmp_path / "1.yaml", tmp_path / "2.yaml"
    first.write_text(yaml.safe_dump(_doc(False)))
    second.write_text(yaml.safe_dump(_doc(True)))
    assert runner.invoke(args=["import", str(first)]).exit_code == 0
    between = utcnow().isoformat()
    assert runner.invoke(args=["import", str(second)]).exit_code == 0
    args = ["oncall", "--rota", "r", "--at", "2030-01-08T12:00Z", "--json"]
    assert [p["id"] for p in json.loads(runner.invoke(args=args).output)["on_duty"]] == ["b"]
    stood = runner.invoke(args=[*args, "--as-of", between])
    assert [p["id"] for p in json.loads(stood.output)["on_duty"]] == ["a"]
    early = runner.invoke(args=[*args, "--as-of", "2001-01-01T00:00Z"])
    assert early.exit_code != 0 and "recorded that early" in early.output


def test_history_page_shows_the_schedule_then_and_who_changed_what(app, runner, tmp_path,
                                                                    as_role):
    import re

    first, second = tmp_path / "1.yaml", tmp_path / "2.yaml"
    first.write_text(yaml.safe_dump(_doc(False)))
    second.write_text(yaml.safe_dump(_doc(True)))
    assert runner.invoke(args=["import", str(first)]).exit_code == 0
    between = utcnow().strftime("%Y-%m-%dT%H:%M:%S.%f")
    assert runner.invoke(args=["import", str(second)]).exit_code == 0
    viewer = as_role("reviewer")
    html = viewer.get(f"/rota/r/history?as_of={between}&from=2030-01-07T09:00&days=3"
                      ).get_data(as_text=True)
    changes = html[html.index('id="changes"'):html.index('id="duty-diff"')]
    assert "cli" in changes and "rota.import" in changes
    diff = html[html.index('id="duty-diff"'):html.index('id="stood"')]
    assert re.findall(r"<td>([AB])</td>", diff) == ["A", "B"]  # then A, now B (the override)
    assert "2030-01-08 00:00" in diff


def _two_imports(runner, tmp_path) -> str:
    """Import the rota, then (after the instant returned) an edit that gives b 2030-01-08."""
    first, second = tmp_path / "1.yaml", tmp_path / "2.yaml"
    first.write_text(yaml.safe_dump(_doc(False)))
    second.write_text(yaml.safe_dump(_doc(True)))
    assert runner.invoke(args=["import", str(first)]).exit_code == 0
    between = utcnow().isoformat().replace("+00:00", "Z")
    assert runner.invoke(args=["import", str(second)]).exit_code == 0
    return between


def test_api_diff_between_two_instants(app, runner, tmp_path, client, accounts):
    import hashlib
    import secrets

    from voiceline import appdb
    from voiceline.models.web import ApiToken

    between = _two_imports(runner, tmp_path)
    raw = secrets.token_urlsafe(32)
    with app.app_context():
        db = appdb.session_factory(app)()
        db.add(ApiToken(user_id=accounts["reviewer"], name="t",
                        token_hash=hashlib.sha256(raw.encode()).hexdigest()))
        db.commit()
        db.close()
    headers = {"Authorization": f"Bearer {raw}"}
    url = f"/api/v1/rotas/r/diff?from={between}&start=2030-01-07T09:00:00Z&days=3"
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [(c["actor"], c["action"]) for c in body["changes"]] == [("cli", "rota.import")]
    assert body["duty"] == [{"start": "2030-01-08T00:00:00Z", "end": "2030-01-09T00:00:00Z",
                             "before": ["a"], "after": ["b"]}]
    assert (body["start"], body["end"]) == ("2030-01-07T09:00:00Z", "2030-01-10T09:00:00Z")
    # `to` at the first instant too: nothing changed between them
    same = client.get(f"{url}&to={between}", headers=headers).get_json()
    assert same["changes"] == [] and same["duty"] == []
    assert client.get("/api/v1/rotas/r/diff?from=2001-01-01T00:00:00Z",
                      headers=headers).status_code == 404
    assert client.get("/api/v1/rotas/nope/diff?from=2030-01-01T00:00:00Z",
                      headers=headers).status_code == 404
    assert client.get("/api/v1/rotas/r/diff?from=yesterday", headers=headers).status_code == 400
    assert client.get("/api/v1/rotas/r/diff", headers=headers).status_code == 400
    assert client.get(url.replace("days=3", "days=99"), headers=headers).status_code == 400
    assert client.get(url).status_code == 401
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/rotas/{rid}/diff" in spec["paths"]


def test_history_cli_prints_the_same_diff(app, runner, tmp_path):
    between = _two_imports(runner, tmp_path)
    args = ["history", "--rota", "r", "--from", between, "--start", "2030-01-07T09:00Z",
            "--days", "3"]
    body = json.loads(runner.invoke(args=[*args, "--json"]).output)
    assert [d["before"] + d["after"] for d in body["duty"]] == [["a", "b"]]
    text = runner.invoke(args=args).output
    assert "by cli: rota.import" in text
    assert "2030-01-08T00:00:00Z .. 2030-01-09T00:00:00Z  a -> b" in text
    early = runner.invoke(args=["history", "--rota", "r", "--from", "2001-01-01T00:00Z"])
    assert early.exit_code != 0 and "no recorded state" in early.output


def test_a_rolled_back_edit_leaves_no_actor_for_the_next_commit(app, runner, tmp_path):
    """The actor and action of an edit that was rolled back are not those of the next change
    committed in the same session (a proposal's preview replays and rolls back, then the page
    goes on)."""
    from datetime import timedelta

    from sqlalchemy import select

    from voiceline import appdb, audit
    from voiceline import models as m

    path = tmp_path / "1.yaml"
    path.write_text(yaml.safe_dump(_doc(True)))
    assert runner.invoke(args=["import", str(path)]).exit_code == 0
    with app.app_context():
        db = appdb.session_factory(app)()
        override = db.scalars(select(m.Override)).first()
        override.end = override.end + timedelta(hours=1)
        audit.record(db, "user:mallory", "override.update", "a change that is rolled back")
        db.flush()
        db.rollback()
        override = db.scalars(select(m.Override)).first()
        override.end = override.end + timedelta(hours=2)
        db.commit()
        newest = db.scalars(select(m.RotaState).order_by(m.RotaState.id.desc())).first()
        assert (newest.actor, newest.action) == ("", "")
        db.close()


def test_a_change_still_pending_at_the_commit_is_recorded(app, runner, tmp_path):
    """History notes what a flush writes; a change nobody flushed before the commit (no query,
    no audit entry after it) is recorded all the same."""
    from datetime import timedelta

    from sqlalchemy import select

    from voiceline import appdb
    from voiceline import models as m
    from voiceline.instants import iso_z

    path = tmp_path / "1.yaml"
    path.write_text(yaml.safe_dump(_doc(True)))
    assert runner.invoke(args=["import", str(path)]).exit_code == 0
    with app.app_context():
        db = appdb.session_factory(app)()
        override = db.scalars(select(m.Override)).first()
        override.end = override.end + timedelta(hours=3)
        db.commit()
        newest = db.scalars(select(m.RotaState).order_by(m.RotaState.id.desc())).first()
        assert newest.state["overrides"][0]["end"] == iso_z(override.end)
        db.close()
