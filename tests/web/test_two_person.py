"""The two-person rule (issue 11): on a rota with `two_person`, an edit through the UI is a
proposal until a second rota manager or an admin approves it; approval replays exactly the
edit under the rota's lock, or refuses a stale one whole."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import yaml
from sqlalchemy import func, select

from voiceline import appdb
from voiceline import models as m
from voiceline.accounts import create_user
from voiceline.instants import utcnow
from voiceline.models.shared import AuditEntry
from voiceline.rota import on_duty

from .conftest import PASSWORD


def _db(app):
    return appdb.session_factory(app)()


@pytest.fixture
def ruled(demo, accounts):
    """Primary has the two-person rule; a second rota manager exists."""
    with demo.app_context():
        db = _db(demo)
        db.get(m.Rota, "primary").two_person = True
        create_user(db, "second-manager", PASSWORD, "rota_manager")
        db.commit()
        db.close()
    return demo


def _client(app, login, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def _future_override(app) -> dict:
    """A replace override of whoever is on duty in primary two days from now."""
    from voiceline.oncall.store import rota_to_engine

    start = (utcnow() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    with app.app_context():
        db = _db(app)
        [person] = on_duty(rota_to_engine(db.get(m.Rota, "primary")), start).people
        db.close()
    other = "dmitri" if person != "dmitri" else "grace"
    return {"kind": "replace", "person": other, "replaces": person, "start": start,
            "end": start + timedelta(hours=6)}


def _form(o: dict) -> dict:
    # the managers have no zone of their own: the form is read in the rota's (New York)
    from zoneinfo import ZoneInfo
    ny = ZoneInfo("America/New_York")
    return {"kind": o["kind"], "person": o["person"], "replaces": o["replaces"],
            "start": o["start"].astimezone(ny).strftime("%Y-%m-%dT%H:%M"),
            "end": o["end"].astimezone(ny).strftime("%Y-%m-%dT%H:%M"), "note": "cover"}


def _overrides(app) -> list[tuple]:
    with app.app_context():
        db = _db(app)
        rows = [(o.kind, o.person_id, o.replaces_id, o.start, o.end, o.note, o.created_by)
                for o in db.scalars(select(m.Override).where(m.Override.rota_id == "primary")
                                    .order_by(m.Override.id))]
        db.close()
    return rows


def _proposals(app) -> list[tuple]:
    with app.app_context():
        db = _db(app)
        rows = [(p.id, p.kind, p.status, p.proposed_by, p.decided_by, p.reason)
                for p in db.scalars(select(m.Proposal).order_by(m.Proposal.id))]
        db.close()
    return rows


def _audit(app, prefix: str) -> list[tuple]:
    with app.app_context():
        db = _db(app)
        rows = [(a.action, a.actor, a.detail) for a in db.scalars(
            select(AuditEntry).where(AuditEntry.action.like(f"{prefix}%")).order_by(AuditEntry.id))]
        db.close()
    return rows


def test_an_edit_waits_for_a_second_manager_then_applies_exactly(ruled, login, post_form):
    app = ruled
    first = _client(app, login, "rota-manager")
    second = _client(app, login, "second-manager")
    wanted = _future_override(app)
    before = _overrides(app)
    response = post_form(first, "/rota/primary/overrides/new", data=_form(wanted))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/rota/primary/proposals")
    assert _overrides(app) == before  # nothing changed yet
    [(pid, kind, status, by, _, _)] = _proposals(app)
    assert (kind, status, by) == ("override.create", "open", "user:rota-manager")
    [(action, actor, detail)] = _audit(app, "proposal.")
    assert (action, actor, detail["kind"]) == ("proposal.create", "user:rota-manager",
                                               "override.create")
    # the queue shows the proposal's effect on who is on duty, against the rota as it stands
    page = first.get("/rota/primary/proposals").get_data(as_text=True)
    names = {"alice": "Alice Smith", "dmitri": "Dmitri Volkov", "grace": "Grace Lee"}
    section = page[page.index(f'id="proposal-{pid}"'):page.index("<h2>Decided")]
    assert "<strong>changed:</strong> " + names[wanted["replaces"]] in section
    assert names[wanted["person"]] in section
    assert "Withdraw" in section and "Approve" not in section  # not for the proposer
    assert "Proposed changes" in first.get("/rota/primary").get_data(as_text=True)
    # the proposer cannot approve it
    own = post_form(first, "/rota/primary/proposals",
                    f"/rota/primary/proposals/{pid}/approve", follow_redirects=True)
    assert "you proposed this change" in own.get_data(as_text=True)
    assert _overrides(app) == before and _proposals(app)[0][2] == "open"
    # a second manager approves: exactly the proposed override, written by them
    done = post_form(second, "/rota/primary/proposals", f"/rota/primary/proposals/{pid}/approve")
    assert done.status_code == 302
    added = [o for o in _overrides(app) if o not in before]
    assert added == [(wanted["kind"], wanted["person"], wanted["replaces"], wanted["start"],
                      wanted["end"], "cover", "user:second-manager")]
    assert _proposals(app)[0][2:5] == ("approved", "user:rota-manager", "user:second-manager")
    approve = [a for a in _audit(app, "proposal.") if a[0] == "proposal.approve"]
    assert [(a[1], a[2]["proposed_by"]) for a in approve] == [("user:second-manager",
                                                               "user:rota-manager")]
    [created] = [a for a in _audit(app, "override.create")]
    assert created[1] == "user:second-manager" and created[2]["proposal"] == pid
    with app.app_context():
        db = _db(app)
        state = db.scalars(select(m.RotaState).where(m.RotaState.rota_id == "primary")
                           .order_by(m.RotaState.id.desc())).first()
        db.close()
    assert state.actor == "user:second-manager (proposed by user:rota-manager)"
    assert state.action == "override.create"
    # decided: a second approval is refused
    again = post_form(second, "/rota/primary/proposals",
                      f"/rota/primary/proposals/{pid}/approve", follow_redirects=True)
    assert "is approved already" in again.get_data(as_text=True)


def test_an_admin_approves_and_a_stale_proposal_is_refused_whole(ruled, login, post_form, as_role):
    app = ruled
    first = _client(app, login, "rota-manager")
    admin = as_role("admin")
    wanted = _future_override(app)
    # two proposals of the same override: once the first is in, the second overlaps it
    for _ in range(2):
        assert post_form(first, "/rota/primary/overrides/new", data=_form(wanted)).status_code == 302
    (one, *_), (two, *_) = _proposals(app)
    before = _overrides(app)
    assert post_form(admin, "/rota/primary/proposals",
                     f"/rota/primary/proposals/{one}/approve").status_code == 302
    after_one = _overrides(app)
    assert len(after_one) == len(before) + 1
    page = admin.get("/rota/primary/proposals").get_data(as_text=True)
    assert "Would be refused now: start: overlaps another override" in page
    refused = post_form(admin, "/rota/primary/proposals", f"/rota/primary/proposals/{two}/approve",
                        follow_redirects=True)
    assert "no longer applies" in refused.get_data(as_text=True)
    assert _overrides(app) == after_one  # nothing of it written
    [_, (_, _, status, _, decided_by, reason)] = _proposals(app)
    assert (status, decided_by) == ("stale", "user:admin") and "overlaps" in reason
    assert [a[0] for a in _audit(app, "proposal.")][-1] == "proposal.stale"


def test_a_proposal_whose_start_has_passed_is_stale(ruled, login, post_form):
    app = ruled
    first = _client(app, login, "rota-manager")
    second = _client(app, login, "second-manager")
    assert post_form(first, "/rota/primary/overrides/new",
                     data=_form(_future_override(app))).status_code == 302
    [(pid, *_)] = _proposals(app)
    with app.app_context():  # as if two days went by before anyone looked at it
        db = _db(app)
        proposal = db.get(m.Proposal, pid)
        proposal.edit = {**proposal.edit, "start": "2020-01-01T00:00:00Z"}
        db.commit()
        db.close()
    before = _overrides(app)
    post_form(second, "/rota/primary/proposals", f"/rota/primary/proposals/{pid}/approve")
    assert _overrides(app) == before
    assert _proposals(app)[0][2] == "stale" and "in the past" in _proposals(app)[0][5]


def test_layer_end_reject_and_withdraw(ruled, login, post_form):
    app = ruled
    first = _client(app, login, "rota-manager")
    second = _client(app, login, "second-manager")
    with app.app_context():
        db = _db(app)
        layer_id = db.scalar(select(m.Layer.id).where(m.Layer.rota_id == "primary"))
        versions = db.scalar(select(func.count()).select_from(m.LayerVersion)
                             .where(m.LayerVersion.layer_id == layer_id))
        db.close()
    ended = post_form(first, "/rota/primary", f"/rota/primary/layers/{layer_id}/end",
                      data={"confirmed": "yes"})
    assert ended.status_code == 302 and ended.headers["Location"].endswith("/proposals")
    assert post_form(first, "/rota/primary/overrides/new",
                     data=_form(_future_override(app))).status_code == 302
    (end_id, kind, *_), (add_id, *_) = _proposals(app)
    assert kind == "layer.end"
    # the other manager cannot withdraw it; they reject it with a reason
    post_form(second, "/rota/primary/proposals", f"/rota/primary/proposals/{end_id}/withdraw")
    assert _proposals(app)[0][2] == "open"
    post_form(second, "/rota/primary/proposals", f"/rota/primary/proposals/{end_id}/reject",
              data={"reason": "not now"})
    post_form(first, "/rota/primary/proposals", f"/rota/primary/proposals/{add_id}/withdraw")
    assert [(p[2], p[5]) for p in _proposals(app)] == [("rejected", "not now"), ("withdrawn", "")]
    with app.app_context():
        db = _db(app)
        layer = db.get(m.Layer, layer_id)
        assert len(layer.versions) == versions and layer.versions[-1].valid_until is None
        db.close()
    assert [a[0] for a in _audit(app, "proposal.")] == [
        "proposal.create", "proposal.create", "proposal.reject", "proposal.withdraw"]


def test_the_rota_form_sets_the_rule_and_turning_it_off_is_a_proposal(demo, as_role, post_form):
    app = demo
    manager = as_role("rota_manager")
    data = {"id": "primary", "name": "Primary", "timezone": "America/New_York",
            "two_person": "y"}
    assert post_form(manager, "/rota/primary/edit", data=data).status_code == 302
    with app.app_context():
        db = _db(app)
        assert db.get(m.Rota, "primary").two_person is True
        db.close()
    off = post_form(manager, "/rota/primary/edit", data={**data, "two_person": ""})
    assert off.headers["Location"].endswith("/rota/primary/proposals")
    with app.app_context():
        db = _db(app)
        assert db.get(m.Rota, "primary").two_person is True
        [p] = db.scalars(select(m.Proposal)).all()
        assert (p.kind, p.edit["two_person"]) == ("rota.update", False)
        db.close()


def test_rota_file_round_trip_and_import_applies_directly(app, runner, tmp_path):
    doc = {"people": [{"id": "a", "name": "A", "phone": "+12025550101"}],
           "rotas": [{"id": "r", "timezone": "UTC", "two_person": True, "layers": [
               {"members": ["a"], "anchor": "2030-01-07T09:00", "every": "1w"}]}]}
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert runner.invoke(args=["import", str(path)]).exit_code == 0
    out = tmp_path / "out.yaml"
    assert runner.invoke(args=["export", "-o", str(out)]).exit_code == 0, "export"
    exported = yaml.safe_load(out.read_text())
    assert exported["rotas"][0]["two_person"] is True
    doc["rotas"][0]["overrides"] = [{"start": "2030-01-08T00:00:00Z",
                                     "end": "2030-01-09T00:00:00Z", "remove": "a"}]
    path.write_text(yaml.safe_dump(doc))
    assert runner.invoke(args=["import", str(path)]).exit_code == 0
    with app.app_context():
        db = _db(app)
        assert len(db.get(m.Rota, "r").overrides) == 1 and not db.scalars(select(m.Proposal)).all()
        last = db.scalars(select(AuditEntry).where(AuditEntry.action == "rota.import")
                          .order_by(AuditEntry.id.desc())).first()
        assert last.detail["two_person_rule"] == "not applied (voiceline import) to r"
        db.close()
    # the export imports back unchanged (no new audit entry, the rule still on)
    assert runner.invoke(args=["export", "-o", str(out)]).exit_code == 0
    assert re.search(r"two_person: true", out.read_text())
    count = len(_audit(app, "rota.import"))
    assert runner.invoke(args=["import", str(out)]).exit_code == 0
    assert len(_audit(app, "rota.import")) == count


def test_a_layer_edit_is_previewed_proposed_then_applied_by_a_second_manager(ruled, login,
                                                                               post_form):
    app = ruled
    first = _client(app, login, "rota-manager")
    second = _client(app, login, "second-manager")
    with app.app_context():
        db = _db(app)
        layer = db.scalar(select(m.Layer).where(m.Layer.rota_id == "primary"))
        layer_id, versions = layer.id, len(layer.versions)
        db.close()
    page = f"/rota/primary/layers/{layer_id}"
    fields = {"name": "weekly rotation", "members": "grace, alice", "anchor": "2026-01-05T09:00",
              "period": "1w", "windows": "", "priority": "0"}
    preview = post_form(first, page, data=fields).get_data(as_text=True)
    digest = re.search(r'name="preview_of" value="(\w+)"', preview).group(1)
    saved = post_form(first, page, data={**fields, "preview_of": digest, "save": "yes"})
    assert saved.headers["Location"].endswith("/rota/primary/proposals")
    with app.app_context():
        db = _db(app)
        assert len(db.get(m.Layer, layer_id).versions) == versions
        db.close()
    [(pid, kind, *_)] = _proposals(app)
    assert kind == "layer.update"
    post_form(second, "/rota/primary/proposals", f"/rota/primary/proposals/{pid}/approve")
    with app.app_context():
        db = _db(app)
        layer = db.get(m.Layer, layer_id)
        assert len(layer.versions) == versions + 1
        newest = max(layer.versions, key=lambda v: v.id)
        assert newest.members == ["grace", "alice"] and newest.created_by == "user:second-manager"
        db.close()
    assert _proposals(app)[0][2] == "approved"


def test_a_new_layer_waits_and_the_rota_cannot_be_deleted_under_the_rule(ruled, login,
                                                                          post_form, as_role):
    app = ruled
    first = _client(app, login, "rota-manager")
    admin = as_role("admin")
    added = post_form(first, "/rota/primary/layers/new", data={
        "name": "extra", "members": "carol", "anchor": "2026-01-05T09:00", "period": "1d",
        "windows": "", "priority": "1"})
    assert added.headers["Location"].endswith("/rota/primary/proposals")

    def layers():
        with app.app_context():
            db = _db(app)
            names = sorted(la.name for la in db.get(m.Rota, "primary").layers)
            db.close()
        return names

    assert "extra" not in layers()
    [(pid, kind, *_)] = _proposals(app)
    assert kind == "layer.create"
    post_form(admin, "/rota/primary/proposals", f"/rota/primary/proposals/{pid}/approve")
    assert "extra" in layers() and _proposals(app)[0][2:5] == (
        "approved", "user:rota-manager", "user:admin")
    refused = post_form(admin, "/rota/primary", "/rota/primary/delete", data={"confirmed": "yes"},
                        follow_redirects=True)
    assert "has the two-person rule" in refused.get_data(as_text=True)
    with app.app_context():
        db = _db(app)
        assert db.get(m.Rota, "primary") is not None
        db.close()


def test_undo_is_refused_once_the_rule_is_on(demo, as_role, csrf):
    from html.parser import HTMLParser

    app = demo
    manager = as_role("rota_manager")
    start = utcnow() + timedelta(days=30)
    with app.app_context():
        db = _db(app)
        row = m.Override(rota_id="primary", kind="add", person_id="carol", start=start,
                         end=start + timedelta(hours=1))
        db.add(row)
        db.commit()
        oid = row.id
        db.close()
    token = csrf(manager, "/rota/primary")
    assert manager.post(f"/rota/primary/overrides/{oid}/delete",
                        data={"csrf_token": token, "confirmed": "yes"}).status_code == 302
    removed = manager.get("/rota/primary").get_data(as_text=True)

    class Forms(HTMLParser):
        actions: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag == "form" and "/undo/" in (dict(attrs).get("action") or ""):
                self.actions.append(dict(attrs)["action"])

    parser = Forms()
    parser.feed(removed)
    [undo_url] = parser.actions
    with app.app_context():
        db = _db(app)
        db.get(m.Rota, "primary").two_person = True
        db.commit()
        db.close()
    refused = manager.post(undo_url, data={"csrf_token": token}, follow_redirects=True)
    assert "has the two-person rule" in refused.get_data(as_text=True)
    with app.app_context():
        db = _db(app)
        assert db.get(m.Override, oid) is None
        db.close()


def test_a_whole_state_proposal_made_before_another_change_is_stale(ruled, login, post_form,
                                                                    as_role):
    """Two rota-form proposals from the same state: once the first is approved, approving the
    second would silently undo it (a rota form carries every setting), so it is refused."""
    app = ruled
    manager, admin = _client(app, login, "rota-manager"), as_role("admin")
    data = {"id": "primary", "name": "Primary", "timezone": "America/New_York", "two_person": "y"}
    assert post_form(manager, "/rota/primary/edit",
                     data={**data, "swap_approval": "y"}).status_code == 302
    assert post_form(manager, "/rota/primary/edit",
                     data={**data, "name": "Primary desk"}).status_code == 302
    (one, *_), (two, *_) = _proposals(app)
    assert post_form(admin, "/rota/primary/proposals",
                     f"/rota/primary/proposals/{one}/approve").status_code == 302
    post_form(admin, "/rota/primary/proposals", f"/rota/primary/proposals/{two}/approve")
    with app.app_context():
        db = _db(app)
        rota = db.get(m.Rota, "primary")
        assert (rota.swap_approval, rota.name) == (True, "Primary")  # the first stays
        db.close()
    [_, (_, _, status, _, _, reason)] = _proposals(app)
    assert status == "stale" and "would undo that change" in reason
