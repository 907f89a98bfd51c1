"""A directory that already holds two overlapping overrides (stored before writes were
serialised) can still be edited and exported; the clash is reported, not a wall (issue 11,
defect 2)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import yaml

from voiceline import appdb
from voiceline import models as m
from voiceline.instants import iso_z, utcnow
from voiceline.models.web import ApiToken


def test_a_stored_clash_is_a_warning_not_a_wall(app, demo, accounts, client, runner, tmp_path):
    start = utcnow() + timedelta(days=3)
    raw = secrets.token_urlsafe(32)
    with app.app_context():
        db = appdb.session_factory(app)()
        for hours in (0, 2):  # carol added twice, overlapping: what two servers once wrote
            db.add(m.Override(rota_id="primary", kind="add", person_id="carol",
                              start=start + timedelta(hours=hours),
                              end=start + timedelta(hours=hours + 4)))
        db.add(ApiToken(user_id=accounts["rota_manager"], name="t",
                        token_hash=hashlib.sha256(raw.encode()).hexdigest()))
        db.commit()
        db.close()
    headers = {"Authorization": f"Bearer {raw}"}
    person = client.put("/api/v1/people/zed", headers=headers,
                        json={"name": "Zed", "phone": "+12025550177"})
    assert person.status_code == 201, person.get_json()
    rota = client.put("/api/v1/rotas/primary", headers=headers, json={"name": "Primary desk"})
    assert rota.status_code == 200, rota.get_json()
    # A new clash is still refused.
    again = client.post("/api/v1/overrides", headers=headers, json={
        "rota": "primary", "start": iso_z(start + timedelta(hours=1)),
        "end": iso_z(start + timedelta(hours=2)), "add": "carol"})
    assert again.status_code == 422
    exported = runner.invoke(args=["export"])
    assert exported.exit_code == 0
    path = tmp_path / "out.yaml"
    path.write_text(exported.output)
    rotas = {r["id"]: r for r in yaml.safe_load(exported.output)["rotas"]}
    assert sum(o.get("add") == "carol" for o in rotas["primary"]["overrides"]) == 2
    back = runner.invoke(args=["import", str(path)])
    assert back.exit_code == 0, back.output
    assert "warning:" in back.output and "overlaps" in back.output and "both stored" in back.output
