"""The API: coverage rules in the rota body, and GET /coverage (gaps and broken rules)."""

from __future__ import annotations

from voiceline import models as m


def test_a_rota_put_sets_its_coverage_rule_and_a_bad_one_is_refused(client, demo, token, session):
    headers = token("rota_manager")
    response = client.put("/api/v1/rotas/backup", headers=headers,
                          json={"coverage": {"max_shift_hours": 12}})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["coverage"] == {"max_shift_hours": 12}
    session.expire_all()
    assert session.get(m.Rota, "backup").coverage == {"max_shift_hours": 12}
    assert len(session.get(m.Rota, "backup").layers) == 2  # the rest stays

    bad = client.put("/api/v1/rotas/backup", headers=headers,
                     json={"coverage": {"max_shift_hours": 0, "shift": 3}})
    assert bad.status_code == 422
    assert bad.get_json()["problems"] == [
        "rotas[backup].coverage.shift: unknown key (use min_people, max_shift_hours, min_rest_hours)",
        "rotas[backup].coverage.max_shift_hours: 0 must be a whole number from 1 to 744"]
    session.expire_all()
    assert session.get(m.Rota, "backup").coverage == {"max_shift_hours": 12}


def test_coverage_lists_gaps_and_broken_rules(client, demo, token, session, conforms):
    session.get(m.Rota, "backup").coverage = {"max_shift_hours": 12}
    session.commit()
    response = client.get("/api/v1/coverage?from=2026-01-06T00:00:00Z&days=1", headers=token("responder"))
    assert response.status_code == 200
    conforms(response, "/coverage")
    body = response.get_json()
    assert (body["from"], body["to"], body["gaps"]) == ("2026-01-06T00:00:00Z", "2026-01-07T00:00:00Z", [])
    assert [(r["rule"], r["rota"], r["person"], r["real_start"], r["real_end"]) for r in body["rules"]] == [
        ("long_shift", "backup", "boris", "2026-01-06T17:00:00Z", "2026-01-07T17:00:00Z"),
        ("long_shift", "backup", "carol", "2026-01-05T17:00:00Z", "2026-01-06T17:00:00Z")]
    assert body["rules"][1]["text"] == "carol on duty 24 h in a row (max 12 h)"
    assert client.get("/api/v1/coverage?days=93", headers=token("responder")).status_code == 400
