"""The audit chain's anchors: deleting the newest entries is detected and named, and a row
that is not JSON is named instead of a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text

from voiceline import appdb, audit
from voiceline.models.shared import AuditAnchor, AuditEntry


@pytest.fixture
def app_config(app_config, any_db_url):
    return {**app_config, "DATABASE_URL": any_db_url}


def _append(app, n):
    with app.app_context():
        db = appdb.session_factory(app)()
        ids = []
        for i in range(n):
            ids.append(audit.record(db, "cli", "test.append", f"n{i}").id)
            db.commit()
        db.close()
    return ids


def _sql(app, statement):
    with app.app_context():
        db = appdb.session_factory(app)()
        db.execute(statement)
        db.commit()
        db.close()


def _anchor_row(app):
    with app.app_context():
        db = appdb.session_factory(app)()
        row = db.get(AuditAnchor, 1)
        values = (row.entry_id, row.count, row.hash, row.signature)
        db.close()
    return values


def _verify(app):
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    return result.exit_code, result.output


def test_both_anchors_follow_every_append(app):
    ids = _append(app, 3)
    entry_id, count, head, signature = _anchor_row(app)
    assert (entry_id, count) == (ids[-1], 3) and len(signature) == 64
    data = json.loads((Path(app.instance_path) / "audit-anchor.json").read_text())
    assert data == {"entry_id": ids[-1], "count": 3, "hash": head}
    code, output = _verify(app)
    assert code == 0
    assert "intact: 3 entries" in output and "the anchor row" in output and "anchor file" in output


def test_deleting_the_newest_entries_is_named(app, as_role, post_form):
    admin = as_role("admin")  # logging in is audited: before the deletion
    ids = _append(app, 5)
    _sql(app, delete(AuditEntry).where(AuditEntry.id.in_(ids[3:])))
    code, output = _verify(app)
    assert code == 1
    assert f"the chain ends at entry {ids[2]} after 4 entries" in output
    assert f"says 6 entries up to entry {ids[4]}" in output
    page = post_form(admin, "/admin/audit/", "/admin/audit/verify").get_data(as_text=True)
    assert "BROKEN" in page and f"the chain ends at entry {ids[2]}" in page
    # Appending more does not hide it: the anchors count on from the deleted head.
    _append(app, 1)
    code, output = _verify(app)
    assert code == 1 and "says entry" in output and "is number 7" in output


def test_a_rewritten_anchor_row_is_refused_without_the_key(app):
    ids = _append(app, 5)
    with app.app_context():
        db = appdb.session_factory(app)()
        kept = db.get(AuditEntry, ids[2])
        db.execute(delete(AuditEntry).where(AuditEntry.id.in_(ids[3:])))
        anchor = db.get(AuditAnchor, 1)
        anchor.entry_id, anchor.count, anchor.hash = kept.id, 3, kept.hash
        db.commit()
        db.close()
    (Path(app.instance_path) / "audit-anchor.json").unlink()  # the insider has the file too
    code, output = _verify(app)
    assert code == 1 and "signature does not match" in output


def test_an_old_anchor_row_put_back_is_caught_by_the_file(app):
    ids = _append(app, 3)
    saved = _anchor_row(app)
    _append(app, 2)
    with app.app_context():
        db = appdb.session_factory(app)()
        db.execute(delete(AuditEntry).where(AuditEntry.id > ids[-1]))
        anchor = db.get(AuditAnchor, 1)
        anchor.entry_id, anchor.count, anchor.hash, anchor.signature = saved
        db.commit()
        db.close()
    code, output = _verify(app)
    assert code == 1
    assert "the anchor file audit-anchor.json says 5 entries" in output
    assert f"the chain ends at entry {ids[-1]} after 3 entries" in output


def test_a_deleted_anchor_is_named(app):
    _append(app, 2)
    _sql(app, delete(AuditAnchor))
    (Path(app.instance_path) / "audit-anchor.json").unlink()
    code, output = _verify(app)
    assert code == 1 and "no anchor" in output


def test_a_row_that_is_not_json_is_named(app, any_db_url):
    if not any_db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's json type refuses invalid JSON on write")
    ids = _append(app, 3)
    _sql(app, text("UPDATE audit_log SET detail = '{\"before\": ' WHERE id = :id").bindparams(id=ids[1]))
    code, output = _verify(app)
    assert code == 1
    assert f"BROKEN at entry {ids[1]}: its detail is not valid JSON" in output
    assert "Traceback" not in output
    with app.app_context():
        db = appdb.session_factory(app)()
        assert db.scalar(select(AuditEntry.id).where(AuditEntry.id == ids[1])) == ids[1]
        db.close()
