"""`voiceline users ...`: accounts and API tokens from the command line."""

from __future__ import annotations

import secrets

import click
from sqlalchemy import select

from voiceline import appdb, audit
from voiceline.accounts import (
    check_password_rules,
    create_user,
    end_sessions,
    generate_password,
    set_password,
    token_digest,
    user_summary,
)
from voiceline.clitools import with_schema
from voiceline.db import session_scope
from voiceline.models.web import ROLES, ApiToken, User


def _user(session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    return user


def _new_password(username: str, generate: bool) -> tuple[str, bool]:
    """(password, generated): prompted twice and hidden, or random."""
    if generate:
        return generate_password(), True
    password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    reason = check_password_rules(password, username)
    if reason:
        raise click.ClickException(f"password refused: {reason}")
    return password, False


@click.group("users")
def users_group():
    """Web UI accounts: add, passwd, disable, enable, list, token, ensure-admin."""


@users_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True, help="The account's role.")
@click.option("--person", "person_id", help="Person id (required for a responder).")
@click.option("--generate", is_flag=True,
              help="Generate a one-time password (printed once; changed at first login).")
@with_schema
def users_add(username, role, person_id, generate):
    """Add an account; the password is prompted (hidden) unless --generate."""
    if role == "responder" and not person_id:
        raise click.ClickException("a responder is linked to a person: give --person ID")
    password, generated = _new_password(username, generate)
    with session_scope(appdb.session_factory()) as session:
        try:
            user = create_user(session, username, password, role, person_id,
                               must_change_password=generated)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        audit.record(session, "cli", "user.create", f"user {user.username}",
                     after=user_summary(user))
    click.echo(f"Added {user.username} ({role}).")
    if generated:
        click.echo(f"One-time password (shown once, must be changed at first login): {password}")


@users_group.command("passwd")
@click.argument("username")
@click.option("--generate", is_flag=True, help="Generate a one-time password instead of prompting.")
@with_schema
def users_passwd(username, generate):
    """Set an account's password (ends its sessions, revokes its API tokens and feeds)."""
    password, generated = _new_password(username, generate)
    with session_scope(appdb.session_factory()) as session:
        user = _user(session, username)
        ended = set_password(user, password, must_change=generated)
        audit.record(session, "cli", "user.password_reset", f"user {user.username}", **ended)
    click.echo(f"Password set for {user.username}.")
    if generated:
        click.echo(f"One-time password (shown once, must be changed at first login): {password}")


def _set_active(username: str, active: bool) -> None:
    with session_scope(appdb.session_factory()) as session:
        user = _user(session, username)
        before = user_summary(user)
        user.active = active
        ended = end_sessions(session, user) if not active else {}
        audit.record(session, "cli", "user.enable" if active else "user.disable",
                     f"user {user.username}", before=before, after=user_summary(user), **ended)
    click.echo(f"{'Enabled' if active else 'Disabled'} {user.username}.")


@users_group.command("disable")
@click.argument("username")
@with_schema
def users_disable(username):
    """Disable an account: it can no longer log in; its sessions, API tokens and feeds end."""
    _set_active(username, False)


@users_group.command("enable")
@click.argument("username")
@with_schema
def users_enable(username):
    """Enable a disabled account again (its revoked tokens stay revoked)."""
    _set_active(username, True)


@users_group.command("list")
@with_schema
def users_list():
    """List accounts: username, role, person, state."""
    with session_scope(appdb.session_factory()) as session:
        users = session.scalars(select(User).order_by(User.username)).all()
        if users:
            click.echo(f"{'username':24} {'role':13} {'person':16} state")
        for u in users:
            state = "active" if u.active else "disabled"
            click.echo(f"{u.username:24} {u.role:13} {u.person_id or '-':16} {state}"
                       + ("  (must change password)" if u.must_change_password else ""))
    if not users:
        click.echo("No accounts yet: `voiceline users ensure-admin` creates the first admin.")


@users_group.command("token")
@click.argument("username")
@click.option("--name", default="", help="A label for the token, e.g. the script using it.")
@with_schema
def users_token(username, name):
    """Create an API token for an account; it is printed once and stored only as a hash."""
    token = secrets.token_urlsafe(32)
    with session_scope(appdb.session_factory()) as session:
        user = _user(session, username)
        row = ApiToken(user_id=user.id, name=name[:100],
                       token_hash=token_digest(token))
        session.add(row)
        session.flush()
        audit.record(session, "cli", "api_token.create", f"user {user.username}",
                     token_id=row.id, name=row.name)
    click.echo(f"API token {row.id} for {user.username} (shown once; send as "
               f"'Authorization: Bearer TOKEN'):\n{token}")


@users_group.command("ensure-admin")
@with_schema
def users_ensure_admin():
    """Create the admin account with a one-time password, only when no active admin exists."""
    with session_scope(appdb.session_factory()) as session:
        exists = session.scalar(select(User.id).where(User.role == "admin", User.active.is_(True))
                                .limit(1))
        if exists is not None:
            click.echo("An admin account exists; nothing to do.")
            return
        password = generate_password()
        user = session.scalar(select(User).where(User.username == "admin"))
        if user is None:
            user = create_user(session, "admin", password, "admin", must_change_password=True)
            action = "user.create"
        else:
            # Recovery: every admin is disabled, so the named account comes back.
            user.role, user.active = "admin", True
            set_password(user, password, must_change=True)
            action = "user.recover_admin"
        audit.record(session, "cli", action, "user admin", after=user_summary(user))
    click.echo("Created the web UI account 'admin'. One-time password (shown once, change it at "
               f"first login):\n    {password}")
