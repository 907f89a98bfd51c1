"""A rota PUT that changes people's shifts tells each of them once (oncall/notify.py)."""

from __future__ import annotations

from sqlalchemy import select

from voiceline import appdb
from voiceline import models as m


def _notices(app):
    with appdb.session_factory(app)() as db:
        rows = db.scalars(select(m.OutboxMessage).where(m.OutboxMessage.purpose == "rota_change")
                          .order_by(m.OutboxMessage.id)).all()
        return [(r.key, r.recipient, r.body) for r in rows]


def test_a_layer_change_by_api_tells_each_person_and_a_repeat_tells_nobody(app, demo, client, token):
    headers = token("rota_manager")
    rota = client.get("/api/v1/rotas/backup", headers=headers).get_json()
    # swap the day layer's order: boris and carol change days from the next handoff
    rota["layers"][0]["members"] = ["carol", "boris"]
    response = client.put("/api/v1/rotas/backup", headers=headers, json={"layers": rota["layers"]})
    assert response.status_code == 200, response.get_json()
    notices = _notices(app)
    assert sorted(n[0].rsplit(":", 1)[1] for n in notices) == ["boris", "carol"]
    assert all(n[2].startswith("voiceline: Rota Backup (day / night) changed. ") for n in notices)
    by = {n[0].rsplit(":", 1)[1]: n[2] for n in notices}
    # each in their own zone; each gains the other's days and loses their own
    assert "(Europe/Moscow)" in by["boris"] and "(Europe/London)" in by["carol"]
    for text in by.values():  # every other day changes hands: both gain some and lose some
        assert ". You now cover " in text or ". You no longer cover " in text
        assert "you now cover" in text.lower() and "you no longer cover" in text.lower()
        assert " more (Europe/" in text  # seven days each way in 14: the SMS lists four
    assert "you no longer cover" in by["carol"].lower() and "(Europe/London)" in by["carol"]
    again = client.put("/api/v1/rotas/backup", headers=headers, json={"layers": rota["layers"]})
    assert again.status_code == 200
    assert len(_notices(app)) == 2
