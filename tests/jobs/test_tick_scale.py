"""A tick reads every rota's state in a fixed number of statements, whatever the number of rotas."""

from __future__ import annotations

from datetime import timedelta

import yaml
from sqlalchemy import event, select

from voiceline import appdb
from voiceline import models as m
from voiceline.models.jobs import DutyRecord


def directory(rotas: int) -> dict:
    """`rotas` rotas of two people each with 12-hour shifts, reminders and reachability calls."""
    people, rota_list = [{"id": "mia", "name": "Mia", "phone": "+12025550119", "roles": ["manager"]}], []
    for r in range(rotas):
        members = [f"r{r}a", f"r{r}b"]
        people += [{"id": pid, "name": pid, "phone": f"+1202555{(2 * r + n) % 10000:04d}",
                    "reminder_minutes": 30} for n, pid in enumerate(members)]
        rota_list.append({"id": f"rota{r}", "timezone": "America/New_York",
                          "reachability_minutes": 10 if r % 2 else None,
                          "layers": [{"members": members, "anchor": "2026-03-02T08:00", "every": "12h"}]})
    return {"timezone": "UTC", "people": people, "rotas": rota_list,
            "policies": [{"id": "main", "steps": [{"rotas": ["rota0"]}, {"people": ["mia"]}]}],
            "hotlines": [{"id": "line", "number": "+12025550100", "policy": "main"}]}


def quiet_tick_statements(app, runner, tick, tmp_path, rotas: int, at) -> int:
    """Import `rotas` rotas, tick once (history, messages), then count a quiet tick's statements."""
    path = tmp_path / f"rotas{rotas}.yaml"
    path.write_text(yaml.safe_dump(directory(rotas)))
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 0, result.output
    tick(at, app)
    seen: list[str] = []
    listener = lambda *args, **kwargs: seen.append(args[2])  # noqa: E731
    engine = appdb.engine(app)
    event.listen(engine, "before_cursor_execute", listener)
    try:
        report = tick(at + timedelta(minutes=1), app)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert report.counts.get("duty.started", 0) == 0  # nothing changed: a quiet tick
    return len(seen)


def test_a_quiet_tick_costs_the_same_statements_for_3_and_30_rotas(app, runner, tick, tmp_path, h):
    at = h.utc("2026-03-05T10:00")  # mid-shift: no handoff, reminder or reachability call due
    few = quiet_tick_statements(app, runner, tick, tmp_path, 3, at)
    many = quiet_tick_statements(app, runner, tick, tmp_path, 30, at + timedelta(minutes=5))
    assert many == few
    with appdb.session_factory(app)() as session:
        open_rows = session.scalars(select(DutyRecord).where(DutyRecord.end.is_(None))).all()
        # every rota's history is kept: one open row each, its 12-hour shift since 08:00 EST
        assert sorted((r.rota_id, r.start) for r in open_rows if r.rota_id.startswith("rota")) == \
            sorted((f"rota{r}", h.utc("2026-03-05T01:00")) for r in range(30))
        handoffs = session.scalars(select(m.OutboxMessage.key).where(
            m.OutboxMessage.purpose == "handoff", m.OutboxMessage.key.like("handoff:rota%"))).all()
        assert handoffs == []  # shifts that began hours before the first tick: history, no message


def test_reminders_already_queued_cost_no_statements_per_rota(app, runner, tick, tmp_path, h):
    at = h.utc("2026-03-05T12:40")  # 20 minutes before the 13:00Z handoffs: reminders are due
    few = quiet_tick_statements(app, runner, tick, tmp_path, 3, at)
    many = quiet_tick_statements(app, runner, tick, tmp_path, 30, at + timedelta(minutes=5))
    assert many == few
    with appdb.session_factory(app)() as session:
        keys = session.scalars(select(m.OutboxMessage.key).where(
            m.OutboxMessage.purpose == "reminder", m.OutboxMessage.key.like("reminder:rota%"))).all()
    # each rota's incoming person reminded exactly once (rota0-2 twice imported, still once)
    assert sorted(keys) == sorted(f"reminder:rota{r}:r{r}a:2026-03-05T13:00:00Z" for r in range(30))
