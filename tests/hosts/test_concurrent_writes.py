"""Several hosts writing at once (issue 11, defect 2): two real gunicorn servers on one
PostgreSQL, and two on one SQLite file, take many concurrent writes of every kind (overrides,
rota and layer edits, people, imports from two processes); then the directory holds no clash,
exports, and imports back as no change."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from tests.hosts.test_two_servers import _gunicorn, _ready
from voiceline import appdb, create_app, migrate
from voiceline.db import make_engine, session_scope
from voiceline.instants import iso_z, utcnow
from voiceline.models.web import ApiToken, User
from voiceline.oncall.rules import involved, spans_overlap
from voiceline.passwords import hash_secret
from voiceline.rotafile import apply_plan, export_document, parse_document
from voiceline.rotafile.apply import stored_overrides

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    return request.getfixturevalue("postgres_url")


def _request(base: str, method: str, path: str, token: str, body=None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_concurrent_writes_of_every_kind_leave_a_consistent_directory(database, tmp_path):
    engine = make_engine(database)
    migrate.upgrade(engine)
    engine.dispose()
    app = create_app({"DATABASE_URL": database, "INSTANCE_PATH": str(tmp_path / "instance"),
                      "SECRET_KEY": "test-secret-key"})
    assert app.test_cli_runner().invoke(args=["import", str(ROOT / "fixtures" / "demo.yaml")]
                                        ).exit_code == 0
    raw = secrets.token_urlsafe(32)
    with app.app_context(), session_scope(appdb.session_factory(app)) as session:
        user = User(username="writer", password_hash=hash_secret("x" * 12), role="admin")
        session.add(user)
        session.flush()
        session.add(ApiToken(user_id=user.id, name="t",
                             token_hash=hashlib.sha256(raw.encode()).hexdigest()))
        with app.app_context():
            doc = export_document(session)
    procs = [_gunicorn(database, tmp_path) for _ in range(2)]
    statuses: list[int] = []
    try:
        for proc, base in procs:
            _ready(proc, base)
        bases = [base for _, base in procs]
        start = utcnow() + timedelta(days=2)
        rota = next(r for r in doc["rotas"] if r["id"] == "primary")

        def writer(n: int) -> None:
            base = bases[n % 2]
            at = start + timedelta(hours=n % 4)  # overlapping ranges for the same person
            statuses.append(_request(base, "POST", "/api/v1/overrides", raw, {
                "rota": "primary", "start": iso_z(at), "end": iso_z(at + timedelta(hours=3)),
                "add": "carol"}))
            statuses.append(_request(base, "PUT", f"/api/v1/people/p{n}", raw,
                                     {"name": f"P {n}", "phone": f"+1202555{1000 + n}"}))
            body = json.loads(json.dumps(rota))
            body["layers"][0]["priority"] = n % 3
            body.pop("overrides", None)
            statuses.append(_request(base, "PUT", "/api/v1/rotas/primary", raw, body))

        demo = tmp_path / "demo.yaml"
        demo.write_text(yaml.safe_dump(doc))
        env_cli = [str(Path(sys.executable).parent / "voiceline"), "import", str(demo)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOICELINE_")}
        env.update(VOICELINE_DATABASE_URL=database, VOICELINE_SECRET_KEY="test-secret-key")
        imports = [subprocess.Popen(env_cli, env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT) for _ in range(2)]
        threads = [threading.Thread(target=writer, args=(n,)) for n in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for proc in imports:
            output = proc.communicate(timeout=120)[0].decode()
            assert proc.returncode == 0, output
    finally:
        for proc, _ in procs:
            proc.terminate()
            proc.wait(timeout=20)
    assert set(statuses) <= {200, 201, 422}, statuses  # 422: an overlapping override refused
    with app.app_context(), session_scope(appdb.session_factory(app)) as session:
        from voiceline import models as m

        overrides = list(session.scalars(select(m.Override).where(m.Override.rota_id == "primary")))
        for a in overrides:
            for b in overrides:
                if a.id < b.id and involved(a.kind, a.person_id, a.replaces_id) & involved(
                        b.kind, b.person_id, b.replaces_id):
                    assert not spans_overlap(a.start, a.end, b.start, b.end), (a.id, b.id)
        assert len(list(session.scalars(select(m.Person).where(m.Person.id.like("p%"))))) == 12
        exported = export_document(session)
        plan = parse_document(exported, "US", stored_overrides(session))
        assert plan.warnings == []
        report = apply_plan(session, plan, actor="test")
        assert not report.changed, report
    appdb.engine(app).dispose()
