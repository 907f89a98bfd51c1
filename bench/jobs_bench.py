"""Clock-work timings: a tick over 20 rotas / 60 people, a day of ticks, the sender's throughput.

Run: .venv/bin/python bench/jobs_bench.py  (SQLite in a temporary folder, fake Twilio transport)
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from twilio.http import HttpClient
from twilio.http.response import Response

from voiceline import appdb, create_app
from voiceline.jobs.messages import queue
from voiceline.jobs.settings import JobSettings
from voiceline.jobs.tick import run_tick
from voiceline.outbox.sender import send_due

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


class FakeTwilio(HttpClient):
    """Answers every request with a created message or call, without a network."""

    def __init__(self):
        super().__init__(logger=None, is_async=False)
        self.count = 0

    def request(self, method, uri, params=None, data=None, headers=None, auth=None,
                timeout=None, allow_redirects=False):
        self.count += 1
        return Response(201, json.dumps({"sid": f"SM{self.count:032d}", "status": "queued"}))


def directory(rotas: int, people_per_rota: int) -> dict:
    """A rota file: `rotas` rotas with 12-hour shifts, each with its own people and reminders."""
    zones = ["America/New_York", "Europe/London", "Europe/Moscow", "Asia/Tokyo"]
    people, rota_list = [], []
    for r in range(rotas):
        members = []
        for p in range(people_per_rota):
            pid = f"r{r}p{p}"
            members.append(pid)
            people.append({"id": pid, "name": pid.upper(), "phone": f"+1202555{r:02d}{p:02d}",
                           "reminder_minutes": 30})
        rota_list.append({"id": f"rota{r}", "timezone": zones[r % len(zones)],
                          "reachability_minutes": 10 if r % 5 == 0 else None,
                          "notify_outgoing": r % 2 == 0,
                          "layers": [{"members": members, "anchor": "2026-03-02T08:00", "every": "12h"}]})
    people.append({"id": "boss", "name": "Boss", "phone": "+12025559999", "roles": ["manager"]})
    policies = [{"id": "main", "steps": [{"rotas": [r["id"] for r in rota_list[:3]]},
                                          {"people": ["boss"]}]}]
    hotlines = [{"id": "line", "number": "+12025550100", "policy": "main"}]
    return {"timezone": "UTC", "people": people, "rotas": rota_list, "policies": policies,
            "hotlines": hotlines}


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    (folder / "rota.yaml").write_text(yaml.safe_dump(directory(20, 3)))
    fake = FakeTwilio()
    app = create_app({"INSTANCE_PATH": str(folder), "DATABASE_URL": f"sqlite:///{folder}/bench.db",
                      "SECRET_KEY": "bench", "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
                      "TWILIO_AUTH_TOKEN": "bench", "PUBLIC_URL": "https://hotline.example.org",
                      "TWILIO_HTTP_CLIENT": fake, "LINETEST_FROM": "+12025550199"})
    runner = app.test_cli_runner()
    assert runner.invoke(args=["import", str(folder / "rota.yaml")]).exit_code == 0

    samples = []
    for minute in range(24 * 60):
        t0 = time.perf_counter()
        report = run_tick(app, START + timedelta(minutes=minute))
        samples.append(time.perf_counter() - t0)
        assert not report.errors, report.errors
    samples.sort()
    print(f"a day of ticks (20 rotas, 61 people, 12 h shifts, SQLite): {len(samples)} ticks, "
          f"median {statistics.median(samples) * 1000:.1f} ms, p95 {samples[int(len(samples) * .95)] * 1000:.1f} ms, "
          f"max {samples[-1] * 1000:.1f} ms; {fake.count} Twilio requests")

    factory = appdb.session_factory(app)
    at = START + timedelta(days=2)
    with factory() as session:
        for n in range(1000):
            queue(session, key=f"bench:{n}", kind="sms", recipient="+12025550111", body="x",
                  purpose="bench", at=at)
        session.commit()
    settings = JobSettings.from_config(app.config)
    t0 = time.perf_counter()
    counts = send_due(factory, settings, at, http_client=fake, limit=1000)
    elapsed = time.perf_counter() - t0
    print(f"sender: {counts['sent']} messages in {elapsed:.2f} s "
          f"({counts['sent'] / elapsed:.0f}/s, fake transport: database and client overhead only)")


if __name__ == "__main__":
    main()
