"""The process's copies of hotline and caller rows (voiceline/directory.py): read once, and
never trusted past a write, whoever makes it (triggers renew the token; SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from voiceline import appdb
from voiceline.pins import PinKeys, hash_pin

from .conftest import HOTLINE, WATCH, params, sql_shell, statements, version_token

ACTIONS = ("insert", "update", "delete")


@pytest.fixture
def app_config(tmp_path, any_db_url):
    return {"TESTING": True, "DATABASE_URL": any_db_url, "SECRET_KEY": "test-secret-key",
            "INSTANCE_PATH": str(tmp_path / "instance"), "PUBLIC_URL": "https://hotline.example.org",
            "TWILIO_AUTH_TOKEN": "test-auth-token", "TWILIO_ACCOUNT_SID": None}


def test_a_warm_process_reads_no_hotline_or_caller_row(hotline, twilio):
    twilio.post("/voice/incoming", params("CAwarm1"))
    with statements(hotline) as seen:
        answer = twilio.post("/voice/incoming", params("CAwarm2"))
    assert answer.root.find("Gather").get("action").startswith("https://hotline.example.org/voice/pin")
    reads = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    assert not [s for s in reads if "FROM hotlines" in s or "FROM callers" in s], reads
    assert any("directory_version" in s for s in reads)


def test_a_caller_disabled_from_a_sql_shell_is_unknown_to_the_next_call(hotline, twilio):
    first = twilio.post("/voice/incoming", params("CAoff1"))  # fills the copies
    assert first.root.find("Gather").get("action").startswith("https://hotline.example.org/voice/pin")
    sql_shell(hotline, "UPDATE callers SET active = :no WHERE id = 'watch-officer'", no=False)
    second = twilio.post("/voice/incoming", params("CAoff2"))
    # Not the caller any more: no known language, so the language menu comes first.
    assert second.root.find("Gather").get("action").startswith(
        "https://hotline.example.org/voice/language")


def test_a_pin_changed_from_a_sql_shell_counts_at_the_next_entry(hotline, twilio):
    twilio.post("/voice/incoming", params("CApin1"))
    new_hash = hash_pin("1357", PinKeys.from_config(hotline.config))
    sql_shell(hotline, "UPDATE callers SET pin_hash = :h WHERE id = 'watch-officer'", h=new_hash)
    old = twilio.post(twilio.follow("gather"), params("CApin1", Digits="2468"))
    assert old.root.find("Gather").get("action").startswith("https://hotline.example.org/voice/pin")
    twilio.post("/voice/incoming", params("CApin2"))
    new = twilio.post(twilio.follow("gather"), params("CApin2", Digits="1357"))
    assert new.root.find("Gather").get("action").startswith(
        "https://hotline.example.org/voice/priority")


def test_a_number_moved_to_another_caller_is_that_callers_at_once(hotline, twilio):
    twilio.post("/voice/incoming", params("CAmove1"))
    sql_shell(hotline, "DELETE FROM caller_phones WHERE number = :n", n=WATCH)
    sql_shell(hotline, "INSERT INTO caller_phones (caller_id, number, position) VALUES ('ops-desk', :n, 5)",
         n=WATCH)
    twilio.post("/voice/incoming", params("CAmove2"))
    from voiceline.models.calls import Call

    with appdb.session_factory(hotline)() as session:
        call = session.query(Call).filter_by(sid="CAmove2").one()
        assert call.caller_id == "ops-desk" and call.language == "ru-RU"


def test_a_hotline_renumbered_is_unknown_at_its_old_number(hotline, twilio):
    twilio.post("/voice/incoming", params("CAnum1"))
    sql_shell(hotline, "UPDATE hotlines SET number = '+12025550199' WHERE number = :n", n=HOTLINE)
    answer = twilio.post("/voice/incoming", params("CAnum2"))
    assert answer.root.find("Gather") is None  # the fallback, not the PIN prompt


@pytest.mark.parametrize("table", ["hotlines", "callers", "caller_phones"])
def test_every_write_to_a_directory_table_renews_the_token(hotline, table):
    """The triggers exist at the head of the migrations (a SQLite table rebuilt by a later
    batch migration would lose them: this fails then)."""
    writes = {
        "hotlines": ("INSERT INTO hotlines (id, number, name, policy_id, languages, caller_policy, "
                     "ask_priority, created_at, updated_at) SELECT 'h2', '+12025550177', 'x', policy_id, "
                     "languages, caller_policy, ask_priority, created_at, updated_at FROM hotlines "
                     "WHERE id = 'liaison'",
                     "UPDATE hotlines SET name = 'y' WHERE id = 'h2'", "DELETE FROM hotlines WHERE id = 'h2'"),
        "callers": ("INSERT INTO callers (id, name, org, active, created_at, updated_at) SELECT 'c2', 'x', "
                    "'', active, created_at, updated_at FROM callers WHERE id = 'watch-officer'",
                    "UPDATE callers SET name = 'y' WHERE id = 'c2'", "DELETE FROM callers WHERE id = 'c2'"),
        "caller_phones": ("INSERT INTO caller_phones (caller_id, number, position) "
                          "VALUES ('watch-officer', '+12025550178', 9)",
                          "UPDATE caller_phones SET position = 8 WHERE number = '+12025550178'",
                          "DELETE FROM caller_phones WHERE number = '+12025550178'"),
    }[table]
    for action, statement in zip(ACTIONS, writes, strict=True):
        before = version_token(hotline)
        sql_shell(hotline, statement)
        assert version_token(hotline) != before, f"{action} on {table} kept the token"


def _dialled(twilio, sid: str) -> list[str]:
    """The numbers the call's first ring dials (PIN, then urgent)."""
    twilio.post("/voice/incoming", params(sid))
    twilio.post(twilio.follow("gather"), params(sid, Digits="2468"))
    answer = twilio.post(twilio.follow("gather"), params(sid, Digits="1"))
    return [n.text.strip() for n in answer.root.iter("Number")]


def test_a_responders_phone_changed_from_a_sql_shell_is_rung_at_the_next_call(hotline, twilio):
    assert _dialled(twilio, "CAring1") == ["+12025550101"]  # alice, step 1
    sql_shell(hotline, "UPDATE people SET phone = '+12025550111' WHERE id = 'alice'")
    assert _dialled(twilio, "CAring2") == ["+12025550111"]


def test_an_override_added_from_a_sql_shell_decides_the_next_ring(hotline, twilio):
    assert _dialled(twilio, "CAover1") == ["+12025550101"]
    with appdb.engine(hotline).connect() as conn:
        rota = conn.scalar(text("SELECT l.rota_id FROM layer_versions v JOIN layers l ON l.id = v.layer_id WHERE CAST(v.members AS TEXT) LIKE '%alice%' LIMIT 1"))
    sql_shell(hotline, "INSERT INTO overrides (rota_id, kind, person_id, replaces_id, start, \"end\", "
                  "note, created_at) VALUES (:r, 'replace', 'boris', 'alice', "
                  "'2026-03-10 00:00:00.000000', '2026-03-11 00:00:00.000000', '', "
                  "'2026-03-01 00:00:00.000000')", r=rota)
    assert _dialled(twilio, "CAover2") != ["+12025550101"]


def test_every_table_the_copies_come_from_has_its_triggers(hotline):
    from voiceline.directory import COPIED_TABLES

    with appdb.engine(hotline).connect() as conn:
        if conn.dialect.name == "sqlite":
            names = set(conn.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
            expected = {f"directory_version_{t}_{a}" for t in COPIED_TABLES for a in ACTIONS}
        else:
            names = set(conn.scalars(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")))
            expected = {f"directory_version_{t}" for t in COPIED_TABLES}
    assert expected <= names, sorted(expected - names)


def test_calls_from_many_unknown_numbers_do_not_grow_the_copies_without_bound(hotline, monkeypatch):
    from voiceline import directory

    monkeypatch.setattr(directory, "MAX_COPIES", 50)
    with appdb.session_factory(hotline)() as session:
        for i in range(200):
            assert directory.caller_by_number(session, f"+1303555{i:04d}") is None
        assert len(directory._copies(session).rows) <= 50
        assert directory.caller_by_number(session, WATCH).id == "watch-officer"


def test_a_hotline_is_handed_out_as_the_processs_copy_and_cannot_be_changed_there(hotline, twilio):
    """No per-request instance of a hotline (webhooks only read it), and no way to change
    the copy every request of the process shares; a session's own row still changes."""
    from voiceline import directory
    from voiceline.models.directory import Hotline

    twilio.post("/voice/incoming", params("CAshared1"))  # the copies are warm
    factory = appdb.session_factory(hotline)
    with factory() as one, factory() as two:
        first = directory.hotline_by_number(one, HOTLINE)
        assert first is directory.hotline(two, first.id)  # the same object in both sessions
        assert first not in one and first not in two
        with pytest.raises(directory.SharedCopyError):
            first.caller_policy = "open"
        assert first.caller_policy == "pin"
        caller = directory.caller_by_number(one, WATCH, shared=True)
        with pytest.raises(directory.SharedCopyError):
            caller.language = "ru-RU"
        own = directory.caller_by_number(two, WATCH)  # the default: the session's instance
        assert own is not caller and own in two
        own.language = "ru-RU"
        loaded = one.get(Hotline, first.id)  # loaded by the session itself: changeable
        assert loaded is not first
        loaded.name = "renamed"
        one.commit()
        two.commit()
    answer = twilio.post("/voice/incoming", params("CAshared2"))  # the edits renewed the token
    assert answer.root.find("Gather").find("Say").get("language") == "ru-RU"
