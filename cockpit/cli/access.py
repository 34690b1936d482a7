"""Access sub-commands: users, kiosk links, token list/revoke, the audit log.

Every change is written to the audit log with actor ``cli`` (the operator at the server's shell).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta

import click

from cockpit.cli import main
from cockpit.cli.core import _stores, tokens
from cockpit.settings import Settings


def _echo(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, default=str))


def _cli_audit(session, action: str, target: str, scope: str | None = None, detail: dict | None = None) -> None:
    from cockpit.auth import audit

    audit.record(session, actor="cli", actor_kind="cli", action=action, target=target, scope=scope, detail=detail)


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@main.group()
def users() -> None:
    """People who log in: roles leader | supervisor | admin, each over one region (scope)."""


@users.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["leader", "supervisor", "admin"]), required=True,
              envvar="COCKPIT_USER_ROLE", help="leader: screens and figures; supervisor: also tickets, exports, "
              "alert actions; admin: also users, tokens, audit.")
@click.option("--scope", required=True, envvar="COCKPIT_USER_SCOPE",
              help="Region code the user sees: a province, city or district.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.pass_obj
def users_create(settings: Settings, name: str, role: str, scope: str, password_stdin: bool) -> None:
    """Create a user (the password is hashed with Argon2id; at least 10 characters)."""
    from cockpit.auth import users as us

    password = _read_password(password_stdin)
    try:
        with _stores(settings).session() as session:
            user = us.create(session, name, role=role, scope=scope, password=password)
            _cli_audit(session, "user_create", name, scope, {"role": role})
            _echo(us.as_dict(user))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@users.command("list")
@click.pass_obj
def users_list(settings: Settings) -> None:
    """One JSON object per user."""
    from cockpit.auth import users as us

    with _stores(settings).session() as session:
        for user in us.listing(session):
            _echo(us.as_dict(user))


@users.command("disable")
@click.argument("name")
@click.pass_obj
def users_disable(settings: Settings, name: str) -> None:
    """Disable a user and end their sessions at once."""
    from cockpit.auth import users as us

    try:
        with _stores(settings).session() as session:
            _echo(us.as_dict(us.disable(session, name)))
            _cli_audit(session, "user_disable", name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@users.command("enable")
@click.argument("name")
@click.pass_obj
def users_enable(settings: Settings, name: str) -> None:
    """Enable a disabled (or locked) user again."""
    from cockpit.auth import users as us

    try:
        with _stores(settings).session() as session:
            _echo(us.as_dict(us.enable(session, name)))
            _cli_audit(session, "user_enable", name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@users.command("reset-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@click.pass_obj
def users_reset_password(settings: Settings, name: str, password_stdin: bool) -> None:
    """Set a new password, unlock the account and end its sessions."""
    from cockpit.auth import users as us

    password = _read_password(password_stdin)
    try:
        with _stores(settings).session() as session:
            _echo(us.as_dict(us.reset_password(session, name, password)))
            _cli_audit(session, "user_password", name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@main.group()
def kiosk() -> None:
    """Kiosk links: wall screens that run without a person, for one scope."""


@kiosk.command("create")
@click.option("--scope", required=True, envvar="COCKPIT_KIOSK_SCOPE", help="Region code the screen shows.")
@click.option("--name", default=None, help="A label (default kiosk-SCOPE).")
@click.option("--base-url", default="http://127.0.0.1:8050", show_default=True, envvar="COCKPIT_BASE_URL",
              help="The cockpit's address as the screen reaches it.")
@click.pass_obj
def kiosk_create(settings: Settings, scope: str, name: str | None, base_url: str) -> None:
    """Create a kiosk link and print its URL (shown once; only a hash is kept)."""
    from cockpit.auth import kiosk as ks

    try:
        with _stores(settings).session() as session:
            link, path = ks.create(session, scope=scope, name=name, created_by="cli")
            _cli_audit(session, "kiosk_create", str(link.id), scope)
            click.echo(base_url.rstrip("/") + path)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@kiosk.command("list")
@click.pass_obj
def kiosk_list(settings: Settings) -> None:
    """One JSON object per kiosk link."""
    from cockpit.auth import kiosk as ks

    with _stores(settings).session() as session:
        for link in ks.listing(session):
            _echo({"id": link.id, "name": link.name, "scope": link.scope, "created_at": link.created_at,
                   "last_used_at": link.last_used_at, "revoked_at": link.revoked_at})


@kiosk.command("revoke")
@click.argument("link_id", type=int)
@click.pass_obj
def kiosk_revoke(settings: Settings, link_id: int) -> None:
    """Revoke a kiosk link: its screens are refused from their next refresh on."""
    from cockpit.auth import kiosk as ks

    try:
        with _stores(settings).session() as session:
            link = ks.revoke(session, link_id)
            _cli_audit(session, "kiosk_revoke", str(link_id), link.scope)
            _echo({"id": link.id, "revoked_at": link.revoked_at})
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@tokens.command("list")
@click.pass_obj
def tokens_list(settings: Settings) -> None:
    """One JSON object per token: scopes, created, expires, last used, revoked (never the token)."""
    from cockpit.store import tokens as tk

    with _stores(settings).session() as session:
        for row in tk.listing(session):
            _echo(tk.as_dict(row))


@tokens.command("revoke")
@click.argument("name")
@click.pass_obj
def tokens_revoke(settings: Settings, name: str) -> None:
    """Revoke a token by name: refused from the next request on."""
    from cockpit.store import tokens as tk

    try:
        with _stores(settings).session() as session:
            row = tk.revoke(session, name)
            _cli_audit(session, "token_revoke", name)
            _echo(tk.as_dict(row))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@main.command("audit")
@click.option("--limit", default=100, show_default=True, envvar="COCKPIT_AUDIT_LIMIT", help="How many, newest first.")
@click.option("--actor", default=None, help="Only this actor.")
@click.option("--action", default=None, help="Only this action (login, export, unmask, alert_ack, ...).")
@click.option("--since-hours", type=float, default=None, help="Only the last N hours.")
@click.pass_obj
def audit_cmd(settings: Settings, limit: int, actor: str | None, action: str | None,
              since_hours: float | None) -> None:
    """The audit log, one JSON object per line: who, what, when (UTC), from where, outcome."""
    from cockpit.auth import audit

    since = (datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=since_hours)) if since_hours else None
    with _stores(settings).session() as session:
        for row in audit.listing(session, limit=limit, actor=actor, action=action, since=since):
            _echo(audit.as_dict(row))
