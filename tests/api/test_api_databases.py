"""The API's writes and call reads on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from voiceline.instants import utcnow


@pytest.fixture
def app_config(app_config, any_db_url):
    return {**app_config, "DATABASE_URL": any_db_url}


def test_override_write_and_call_read(client, some_calls, token):
    manager, reviewer = token("rota_manager"), token("reviewer")
    start = utcnow().replace(microsecond=0).strftime("%Y-%m-%dT%H:00:00Z")
    created = client.post("/api/v1/overrides", headers=manager, json={
        "rota": "primary", "start": start, "end": "2099-01-01T00:00:00Z", "add": "carol"})
    assert created.status_code == 201, created.get_json()
    again = client.post("/api/v1/overrides", headers=manager, json={
        "rota": "primary", "start": "2098-01-01T00:00:00Z", "end": "2098-02-01T00:00:00Z",
        "add": "carol"})
    assert again.status_code == 422 and "overlaps" in " ".join(again.get_json()["problems"])
    page = client.get("/api/v1/calls?limit=2", headers=reviewer).get_json()
    rest = client.get(f"/api/v1/calls?limit=2&before={page['next_cursor']}", headers=reviewer).get_json()
    assert [c["sid"][-1] for c in page["calls"] + rest["calls"]] == ["2", "1", "0"]
    assert client.put("/api/v1/people/zed", headers=manager,
                      json={"name": "Zed", "phone": "+12025550177"}).status_code == 201
