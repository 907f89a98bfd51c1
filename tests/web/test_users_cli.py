"""`voiceline users ...`: first admin, add, passwd, disable, list, token."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import select

from voiceline import appdb
from voiceline.models.shared import AuditEntry
from voiceline.models.web import ApiToken, User
from voiceline.passwords import verify_secret


def _user(app, username):
    with app.app_context():
        db = appdb.session_factory(app)()
        user = db.scalar(select(User).where(User.username == username))
        db.close()
        return user


def test_ensure_admin_creates_one_admin_with_a_one_time_password(app, runner):
    result = runner.invoke(args=["users", "ensure-admin"])
    assert result.exit_code == 0, result.output
    password = result.output.strip().splitlines()[-1].strip()
    admin = _user(app, "admin")
    assert admin.role == "admin" and admin.must_change_password
    assert verify_secret(admin.password_hash, password)
    again = runner.invoke(args=["users", "ensure-admin"])
    assert again.exit_code == 0 and "nothing to do" in again.output
    assert password not in again.output
    assert verify_secret(_user(app, "admin").password_hash, password)


def test_ensure_admin_recovers_when_every_admin_is_disabled(app, runner):
    first = runner.invoke(args=["users", "ensure-admin"]).output.strip().splitlines()[-1].strip()
    runner.invoke(args=["users", "disable", "admin"])
    result = runner.invoke(args=["users", "ensure-admin"])
    second = result.output.strip().splitlines()[-1].strip()
    admin = _user(app, "admin")
    assert admin.active and second != first and verify_secret(admin.password_hash, second)


def test_add_with_prompted_password_and_audit(app, runner):
    result = runner.invoke(args=["users", "add", "Rita", "--role", "rota_manager"],
                           input="a long enough pw\na long enough pw\n")
    assert result.exit_code == 0, result.output
    assert "a long enough pw" not in result.output.replace("Password", "")
    rita = _user(app, "rita")
    assert rita.role == "rota_manager" and not rita.must_change_password
    assert verify_secret(rita.password_hash, "a long enough pw")
    with app.app_context():
        db = appdb.session_factory(app)()
        entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "user.create"))
        assert entry.actor == "cli" and entry.detail["after"]["role"] == "rota_manager"
        db.close()


def test_add_refuses_short_password_bad_role_and_responder_without_person(runner, demo):
    short = runner.invoke(args=["users", "add", "x1", "--role", "reviewer"], input="short\nshort\n")
    assert short.exit_code != 0 and "at least 10" in short.output
    bad = runner.invoke(args=["users", "add", "x2", "--role", "god", "--generate"])
    assert bad.exit_code != 0
    resp = runner.invoke(args=["users", "add", "x3", "--role", "responder", "--generate"])
    assert resp.exit_code != 0 and "--person" in resp.output
    unknown = runner.invoke(args=["users", "add", "x4", "--role", "responder", "--person", "zed",
                                  "--generate"])
    assert unknown.exit_code != 0 and "no person 'zed'" in unknown.output
    ok = runner.invoke(args=["users", "add", "x5", "--role", "responder", "--person", "alice",
                             "--generate"])
    assert ok.exit_code == 0, ok.output


def test_passwd_disable_enable_list(app, runner):
    runner.invoke(args=["users", "add", "rev", "--role", "reviewer", "--generate"])
    result = runner.invoke(args=["users", "passwd", "rev"], input="another password\nanother password\n")
    assert result.exit_code == 0
    assert verify_secret(_user(app, "rev").password_hash, "another password")
    assert runner.invoke(args=["users", "disable", "rev"]).exit_code == 0
    assert _user(app, "rev").active is False
    listing = runner.invoke(args=["users", "list"]).output
    assert re.search(r"rev\s+reviewer\s+-\s+disabled", listing)
    runner.invoke(args=["users", "enable", "rev"])
    assert _user(app, "rev").active is True
    assert runner.invoke(args=["users", "passwd", "ghost", "--generate"]).exit_code != 0


def test_token_is_printed_once_and_stored_as_sha256(app, runner):
    runner.invoke(args=["users", "add", "bot", "--role", "reviewer", "--generate"])
    result = runner.invoke(args=["users", "token", "bot", "--name", "metrics script"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    with app.app_context():
        db = appdb.session_factory(app)()
        row = db.scalar(select(ApiToken))
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert row.name == "metrics script" and row.user_id == _user(app, "bot").id
        db.close()
