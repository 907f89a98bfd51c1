"""The JSON API: tokens, roles, JSON errors, on-duty, directory, overrides, calls, OpenAPI."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from voiceline.instants import utcnow
from voiceline.models.rota import Override
from voiceline.models.shared import AuditEntry
from voiceline.models.web import ApiToken

ROLES = ("admin", "rota_manager", "reviewer", "responder")


def last_audit(session, action):
    session.expire_all()
    return session.scalar(select(AuditEntry).where(AuditEntry.action == action)
                          .order_by(AuditEntry.id.desc()).limit(1))


# --- tokens --------------------------------------------------------------------------------

def test_no_token_bad_token_revoked_token(client, demo, session, token):
    response = client.get("/api/v1/oncall")
    assert response.status_code == 401 and "Bearer" in response.get_json()["error"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v1/oncall", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/v1/oncall", headers={"Authorization": "Basic abc"}).status_code == 401
    headers = token("responder")
    assert client.get("/api/v1/oncall", headers=headers).status_code == 200
    row = session.scalar(select(ApiToken))
    assert row.last_used_at is not None
    row.revoked_at = utcnow()
    session.commit()
    assert client.get("/api/v1/oncall", headers=headers).status_code == 401


def test_disabled_account_token_stops_working(client, session, token):
    from voiceline.models.web import User
    headers = token("reviewer", "rita")
    session.scalar(select(User).where(User.username == "rita")).active = False
    session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


ACCESS = [  # (method, path, roles allowed besides admin)
    ("GET", "/api/v1/me", ROLES), ("GET", "/api/v1/oncall", ROLES),
    ("GET", "/api/v1/rotas", ROLES), ("GET", "/api/v1/rotas/primary", ROLES),
    ("GET", "/api/v1/rotas/primary/shifts", ROLES),
    ("GET", "/api/v1/people", ("rota_manager",)), ("GET", "/api/v1/people/alice", ("rota_manager",)),
    ("GET", "/api/v1/callers", ("rota_manager",)), ("GET", "/api/v1/overrides", ("rota_manager",)),
    ("GET", "/api/v1/calls", ("reviewer",)), ("GET", f"/api/v1/calls/CA{0:032d}", ("reviewer",)),
    ("GET", "/api/v1/metrics", ("reviewer",)),
]


@pytest.mark.parametrize("method, path, allowed", ACCESS)
def test_role_table(client, some_calls, token, method, path, allowed):
    for role in ROLES:
        response = client.open(path, method=method, headers=token(role))
        expected = 200 if role == "admin" or role in allowed else 403
        assert response.status_code == expected, (role, response.get_json())
        if expected == 403:
            assert "may not" in response.get_json()["error"]


@pytest.mark.parametrize("method, path", [
    ("PUT", "/api/v1/people/zed"), ("PUT", "/api/v1/callers/zed"), ("PUT", "/api/v1/rotas/zed"),
    ("POST", "/api/v1/overrides"), ("DELETE", "/api/v1/overrides/1")])
def test_writes_are_for_rota_managers(client, demo, token, method, path):
    for role in ("reviewer", "responder"):
        assert client.open(path, method=method, json={}, headers=token(role)).status_code == 403


def test_unknown_route_and_method_answer_json(client, demo, token):
    headers = token("admin")
    response = client.get("/api/v1/nothing", headers=headers)
    assert response.status_code == 404 and "error" in response.get_json()
    response = client.patch("/api/v1/people", headers=headers)
    assert response.status_code == 405 and "error" in response.get_json()


# --- on duty ---------------------------------------------------------------------------------

def test_oncall_is_the_cli_json(client, runner, demo, token, conforms):
    at = "2026-03-08T07:30:00Z"
    headers = token("responder")
    one = client.get(f"/api/v1/oncall?rota=primary&at={at}", headers=headers)
    cli = runner.invoke(args=["oncall", "--rota", "primary", "--at", at, "--json"])
    assert conforms(one, "/oncall") == json.loads(cli.output)
    every = client.get(f"/api/v1/oncall?at={at}", headers=headers)
    cli = runner.invoke(args=["oncall", "--at", at, "--json"])
    assert conforms(every, "/oncall") == json.loads(cli.output)
    assert isinstance(every.get_json(), list) and len(every.get_json()) == 2


def test_oncall_bad_input(client, demo, token):
    headers = token("responder")
    response = client.get("/api/v1/oncall?rota=nope", headers=headers)
    assert response.status_code == 404 and response.get_json() == {"error": "no rota 'nope'"}
    response = client.get("/api/v1/oncall?at=tomorrow", headers=headers)
    assert response.status_code == 400 and "at: 'tomorrow' is not ISO 8601" in response.get_json()["error"]


def test_shifts(client, demo, token, conforms):
    headers = token("responder")
    response = client.get("/api/v1/rotas/primary/shifts?from=2026-03-02T00:00:00Z"
                          "&to=2026-03-16T00:00:00Z", headers=headers)
    shifts = conforms(response, "/rotas/{rid}/shifts")
    assert shifts[0]["start"] == "2026-03-02T00:00:00Z" and shifts[-1]["end"] == "2026-03-16T00:00:00Z"
    assert client.get("/api/v1/rotas/zzz/shifts", headers=headers).status_code == 404
    assert client.get("/api/v1/rotas/primary/shifts?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z",
                      headers=headers).status_code == 400


# --- directory -------------------------------------------------------------------------------

def test_people_and_callers_read(client, demo, token, conforms):
    headers = token("rota_manager")
    people = conforms(client.get("/api/v1/people", headers=headers), "/people")
    assert [p["id"] for p in people][:2] == ["alice", "boris"]
    alice = conforms(client.get("/api/v1/people/alice", headers=headers), "/people/{pid}")
    assert alice["phone"] == "+12025550101"
    callers = conforms(client.get("/api/v1/callers", headers=headers), "/callers")
    assert all("pin_hash" not in c and "has_pin" in c for c in callers)
    response = client.get("/api/v1/people/zed", headers=headers)
    assert response.status_code == 404 and response.get_json() == {"error": "no person 'zed'"}
    assert client.get("/api/v1/callers/zed", headers=headers).status_code == 404


def test_put_person_creates_then_updates_and_audits(client, demo, session, token, conforms):
    headers = token("rota_manager", "mona")
    body = {"name": "Zed Zee", "phone": "(202) 555-0177", "languages": ["en"]}
    created = client.put("/api/v1/people/zed", json=body, headers=headers)
    assert created.status_code == 201
    assert conforms(created, "/people/{pid}", "put")["phone"] == "+12025550177"
    updated = client.put("/api/v1/people/zed", json={**body, "name": "Zed Zeta"}, headers=headers)
    assert updated.status_code == 200 and updated.get_json()["name"] == "Zed Zeta"
    entry = last_audit(session, "rota.import")
    assert entry.actor == "user:mona" and entry.detail["updated"] == ["person zed"]


def test_put_person_validation_errors_are_422_with_problems(client, demo, token):
    headers = token("rota_manager")
    response = client.put("/api/v1/people/zed", json={"name": "", "phone": "12"}, headers=headers)
    assert response.status_code == 422
    problems = response.get_json()["problems"]
    assert any("people[zed].phone" in p for p in problems)
    assert any("people[zed].name: must not be empty" in p for p in problems)
    response = client.put("/api/v1/people/zed", json={"id": "other", "name": "Z", "phone": "+12025550177"},
                          headers=headers)
    assert response.status_code == 422
    response = client.put("/api/v1/people/zed", data="not json", headers=headers)
    assert response.status_code == 400 and "JSON object" in response.get_json()["error"]


def test_put_caller(client, demo, token, conforms):
    headers = token("rota_manager")
    response = client.put("/api/v1/callers/desk", json={"name": "Desk", "org": "Org",
                                                        "phones": ["+1 202 555 0188"]}, headers=headers)
    assert response.status_code == 201
    assert conforms(response, "/callers/{cid}", "put")["phones"] == ["+12025550188"]
    taken = client.put("/api/v1/callers/desk2", json={"name": "Dup", "phones": ["+12025550188"]},
                       headers=headers)
    assert taken.status_code == 422


def test_put_rota_keeps_overrides_and_versions_layers(client, demo, token, conforms):
    headers = token("rota_manager")
    rota = client.get("/api/v1/rotas/primary", headers=headers).get_json()
    rota.pop("overrides")
    rota["layers"][0]["members"] = ["grace", "alice", "dmitri"]
    response = client.put("/api/v1/rotas/primary", json=rota, headers=headers)
    after = conforms(response, "/rotas/{rid}", "put")
    assert response.status_code == 200
    assert after["layers"][0]["members"] == ["grace", "alice", "dmitri"]
    assert len(after["overrides"]) == 1  # left alone
    bad = client.put("/api/v1/rotas/primary", json={"layers": [{"members": ["zed"], "anchor": "x",
                                                                "every": "1w"}]}, headers=headers)
    assert bad.status_code == 422 and any("unknown person 'zed'" in p for p in bad.get_json()["problems"])


def test_put_rota_changes_only_what_it_names(client, demo, token, conforms):
    # PUT {} used to end every layer at once (nobody on duty) and set the zone to UTC.
    headers = token("rota_manager")
    before = client.get("/api/v1/rotas/primary", headers=headers).get_json()
    on_duty = client.get("/api/v1/oncall?rota=primary", headers=headers).get_json()["on_duty"]
    response = client.put("/api/v1/rotas/primary", json={}, headers=headers)
    assert response.status_code == 200
    assert conforms(response, "/rotas/{rid}", "put") == before
    assert client.get("/api/v1/oncall?rota=primary", headers=headers).get_json()["on_duty"] == on_duty
    renamed = client.put("/api/v1/rotas/primary", json={"name": "Primary (renamed)"}, headers=headers)
    after = conforms(renamed, "/rotas/{rid}", "put")
    assert after["name"] == "Primary (renamed)"
    assert (after["timezone"], after["layers"]) == (before["timezone"], before["layers"])


def test_a_new_rota_without_layers_is_refused_like_the_rota_file(client, demo, token):
    response = client.put("/api/v1/rotas/fresh", json={"timezone": "Europe/Paris"},
                          headers=token("rota_manager"))
    assert response.status_code == 422
    assert any("layers" in p for p in response.get_json()["problems"]), response.get_json()


# --- overrides -------------------------------------------------------------------------------

def _future(days: int) -> str:
    return (utcnow() + timedelta(days=days)).strftime("%Y-%m-%dT%H:00:00Z")


def test_override_create_changes_who_is_on_duty(client, demo, session, token, conforms):
    headers = token("rota_manager", "mona")
    start, end = _future(3), _future(4)
    response = client.post("/api/v1/overrides", headers=headers,
                           json={"rota": "backup", "start": start, "end": end, "add": "duty-chief",
                                 "note": "cover"})
    created = conforms(response, "/overrides", "post")
    assert response.status_code == 201
    assert (created["kind"], created["person"], created["created_by"]) == ("add", "duty-chief", "user:mona")
    on = client.get(f"/api/v1/oncall?rota=backup&at={start}", headers=headers).get_json()
    assert "duty-chief" in [p["id"] for p in on["on_duty"]]
    listed = conforms(client.get("/api/v1/overrides?rota=backup", headers=headers), "/overrides")
    assert [o["id"] for o in listed] == [created["id"]]
    entry = last_audit(session, "override.create")
    assert entry.actor == "user:mona" and entry.detail["after"]["person"] == "duty-chief"


@pytest.mark.parametrize("body, fragment", [
    ({"start": "2027-01-02T00:00:00Z", "end": "2027-01-01T00:00:00Z", "add": "alice"}, "must be after start"),
    ({"start": "2027-01-01T00:00:00Z", "end": "2027-01-02T00:00:00Z", "add": "zed"}, "unknown person 'zed'"),
    ({"start": "2027-01-01T00:00:00Z", "end": "2027-01-02T00:00:00Z"}, "needs exactly one of add"),
    ({"start": "soon", "end": "2027-01-02T00:00:00Z", "add": "alice"}, "is not an ISO 8601"),
    ({"start": "2026-12-25T00:00:00Z", "end": "2026-12-26T00:00:00Z", "add": "grace"}, "overlaps"),
    ({"start": "2027-01-01T00:00:00Z", "end": "2027-01-02T00:00:00Z", "add": "alice",
      "colour": "red"}, "unknown key"),
])
def test_override_validation(client, demo, token, body, fragment):
    response = client.post("/api/v1/overrides", json={"rota": "primary", **body},
                           headers=token("rota_manager"))
    assert response.status_code == 422, response.get_json()
    assert any(fragment in p for p in response.get_json()["problems"]), response.get_json()


def test_override_for_unknown_rota(client, demo, token):
    response = client.post("/api/v1/overrides", json={"rota": "nope", "start": _future(1),
                                                      "end": _future(2), "add": "alice"},
                           headers=token("rota_manager"))
    assert response.status_code == 422 and response.get_json()["problems"] == ["rota: no rota 'nope'"]
    assert client.post("/api/v1/overrides", json={}, headers=token("rota_manager")).status_code == 422


def test_override_delete_future_in_progress_past(client, demo, session, token):
    headers = token("rota_manager")
    now = utcnow()
    rows = [Override(rota_id="backup", kind="add", person_id="alice", start=now + timedelta(days=1),
                     end=now + timedelta(days=2)),
            Override(rota_id="backup", kind="add", person_id="grace", start=now - timedelta(hours=1),
                     end=now + timedelta(hours=1)),
            Override(rota_id="backup", kind="add", person_id="dmitri", start=now - timedelta(days=2),
                     end=now - timedelta(days=1))]
    session.add_all(rows)
    session.commit()
    future, current, past = (r.id for r in rows)
    assert client.delete(f"/api/v1/overrides/{future}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/overrides/{future}", headers=headers).status_code == 404
    ended = client.delete(f"/api/v1/overrides/{current}", headers=headers)
    assert ended.status_code == 200 and ended.get_json()["end"] <= utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    gone = client.delete(f"/api/v1/overrides/{past}", headers=headers)
    assert gone.status_code == 409 and "record of who was on duty" in gone.get_json()["error"]
    assert client.delete("/api/v1/overrides/99999", headers=headers).status_code == 404
    assert last_audit(session, "override.delete").detail["before"]["person"] == "alice"
    assert last_audit(session, "override.end").detail["after"]["person"] == "grace"


# --- calls -----------------------------------------------------------------------------------

def test_calls_page_filters_cursor_and_audit(client, some_calls, token, conforms):
    headers = token("reviewer", "rita")
    page = conforms(client.get("/api/v1/calls?limit=2", headers=headers), "/calls")
    assert [c["sid"][-1] for c in page["calls"]] == ["2", "1"]
    assert "recording_url" not in page["calls"][1] and page["calls"][1]["has_recording"]
    rest = conforms(client.get(f"/api/v1/calls?limit=2&before={page['next_cursor']}",
                               headers=headers), "/calls")
    assert [c["sid"][-1] for c in rest["calls"]] == ["0"] and rest["next_cursor"] is None
    only = client.get("/api/v1/calls?duress=yes", headers=headers).get_json()
    assert [c["sid"][-1] for c in only["calls"]] == ["2"]
    entry = last_audit(some_calls, "calls.view")
    assert entry.actor == "user:rita" and entry.detail["via"] == "api"


@pytest.mark.parametrize("query, fragment", [
    ("outcome=won", "outcome"), ("limit=0", "limit"), ("limit=x", "limit"),
    ("before=zz", "not a page cursor"), ("tz=Mars/Base", "tz"), ("from=2026-13-01", "from")])
def test_calls_bad_filters_are_400(client, some_calls, token, query, fragment):
    response = client.get(f"/api/v1/calls?{query}", headers=token("reviewer"))
    assert response.status_code == 400 and fragment in response.get_json()["error"]


def test_call_detail(client, some_calls, token, conforms):
    headers = token("reviewer")
    detail = conforms(client.get(f"/api/v1/calls/CA{0:032d}", headers=headers), "/calls/{sid}")
    assert detail["answered_by"] == "grace" and detail["seconds_to_answer"] == 9
    assert detail["legs"][0]["screen"] == "declined"
    assert detail["events"][0] == {"at": "2026-03-02T14:00:00Z", "kind": "pin_ok", "step": None,
                                   "person": None, "detail": {}}  # keyed digits never leave
    missing = client.get("/api/v1/calls/CAnope", headers=headers)
    assert missing.status_code == 404 and missing.get_json() == {"error": "no call 'CAnope'"}


def test_metrics(client, some_calls, token, conforms):
    headers = token("reviewer")
    data = conforms(client.get("/api/v1/metrics?from=2026-03-02&to=2026-03-02", headers=headers),
                    "/metrics")
    assert (data["offered"], data["answered"], data["missed"], data["voicemail"]) == (3, 1, 1, 1)
    assert data["median_seconds_to_answer"] == 9
    assert client.get("/api/v1/metrics?from=2026-03-05&to=2026-03-01", headers=headers).status_code == 400


# --- OpenAPI ---------------------------------------------------------------------------------

def test_every_api_route_is_documented(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1")]
    assert len(rules) >= 15
    for rule in rules:
        path = rule.rule[len("/api/v1"):]
        for arg in rule.arguments:
            path = path.replace(f"<int:{arg}>", f"{{{arg}}}").replace(f"<{arg}>", f"{{{arg}}}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            op = doc["paths"][path][method.lower()]
            assert op["summary"] and op["responses"], (path, method)


def test_openapi_document_is_valid_json_schema_throughout(client):
    from jsonschema import Draft202012Validator
    doc = client.get("/api/v1/openapi.json").get_json()
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    refs = json.dumps(doc)
    for name in doc["components"]["schemas"]:
        assert f"#/components/schemas/{name}" in refs or name in ("Error",)
    op = doc["paths"]["/overrides/{oid}"]["delete"]
    assert op["parameters"][0] == {"name": "oid", "in": "path", "required": True,
                                   "schema": {"type": "integer", "minimum": 0,
                                              "maximum": 2**63 - 1}}
    assert doc["paths"]["/openapi.json"]["get"]["security"] == []


def test_value_limits_are_declared_and_true(client, some_calls, token, openapi):
    headers = token("reviewer")
    params = {p["name"]: p for p in openapi["paths"]["/calls"]["get"]["parameters"]}
    assert params["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 500,
                                         "default": 100}
    assert "1970-01-01 to 2999-12-31" in params["from"]["description"]
    for limit, status in (("0", 400), ("1", 200), ("500", 200), ("501", 400)):
        assert client.get(f"/api/v1/calls?limit={limit}", headers=headers).status_code == status
    person = openapi["components"]["schemas"]["PersonInput"]["properties"]
    assert person["reminder_minutes"] == {"type": "integer", "minimum": 1, "maximum": 1440}


def test_ids_beyond_64_bits_are_a_documented_400(client, demo, token, openapi, conforms):
    headers = token("rota_manager")
    for path, ops in openapi["paths"].items():
        for method, op in ops.items():
            ints = [p for p in op.get("parameters", []) if p["in"] == "path"
                    and p["schema"].get("type") == "integer"]
            if not ints:
                continue
            assert "400" in op["responses"], (path, method)
            url = "/api/v1" + path.replace("{" + ints[0]["name"] + "}", "1" + "0" * 23)
            response = client.open(url, method=method.upper(), headers=headers)
            assert response.status_code == 400, (url, method)
            assert "too large for an id" in json.dumps(conforms(response, path, method))
    ok = client.get(f"/api/v1/overrides/{2**63 - 1}", headers=headers)
    assert ok.status_code == 404


def test_oncall_instants_have_four_digit_years(client, demo, token, conforms):
    answer = conforms(client.get("/api/v1/oncall?rota=primary&at=1970-01-01T00:00:00Z",
                                 headers=token("responder")), "/oncall")
    assert answer["at"] == "1970-01-01T00:00:00Z"


def test_a_rota_without_layers_is_answered_with_an_empty_list(client, demo, token, conforms):
    """Found by schemathesis: the answer left out "layers", which the schema requires."""
    headers = token("rota_manager")
    response = client.put("/api/v1/rotas/empty", json={"id": "empty", "layers": []}, headers=headers)
    assert response.status_code == 201
    assert conforms(response, "/rotas/{rid}", "put")["layers"] == []
    assert conforms(client.get("/api/v1/rotas/empty", headers=headers), "/rotas/{rid}")["layers"] == []
    listed = conforms(client.get("/api/v1/rotas", headers=headers), "/rotas")
    assert [r["layers"] for r in listed if r["id"] == "empty"] == [[]]


def test_overrides_of_an_unknown_rota_are_a_documented_404(client, demo, token, conforms, openapi):
    """Found by schemathesis: the 404 of ?rota=<unknown> was missing from the document."""
    response = client.get("/api/v1/overrides?rota=ghost", headers=token("rota_manager"))
    assert response.status_code == 404
    assert "404" in openapi["paths"]["/overrides"]["get"]["responses"]
    assert "no rota 'ghost'" in conforms(response, "/overrides")["error"]
