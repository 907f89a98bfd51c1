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


def test_overlapping_overrides_posted_to_two_servers_at_once_only_one_lands(
        demo, app_config, token, tmp_path, runner):
    """Two servers (two apps, two engines) on one database: the overlap check and the write are
    one step, so of 16 overlapping `add carol` posts exactly one is accepted and the directory
    still exports a file that imports back."""
    import threading

    from voiceline import appdb, create_app

    other = create_app({**app_config, "INSTANCE_PATH": str(tmp_path / "other-host")})
    headers = token("rota_manager")
    answers: list[int] = []
    lock = threading.Lock()
    gate = threading.Barrier(16)

    def post(i: int) -> None:
        client = (demo if i % 2 else other).test_client()
        gate.wait()
        response = client.post("/api/v1/overrides", headers=headers, json={
            "rota": "primary", "start": f"2098-01-{1 + i:02d}T00:00:00Z",
            "end": "2098-03-01T00:00:00Z", "add": "carol"})
        with lock:
            answers.append(response.status_code)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    appdb.engine(other).dispose()
    assert sorted(answers) == [201] + [422] * 15, answers
    exported = runner.invoke(args=["export"])
    assert exported.exit_code == 0
    path = tmp_path / "again.yaml"
    path.write_text(exported.output)
    again = runner.invoke(args=["import", str(path)])
    assert again.exit_code == 0 and "no changes" in again.output, again.output
