"""The admin page: users, API tokens, kiosk links and the audit log (read-only; changes go through the CLI).

``GET /admin`` renders plain server-side HTML (every value escaped); ``GET /admin/api/audit`` gives
the audit log as JSON (``?limit=&actor=&action=``). Both need the ``admin`` permission (policy).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, jsonify, request
from markupsafe import escape

from cockpit.auth import audit, kiosk, users
from cockpit.auth.scope import covers_code
from cockpit.auth.web import current_principal
from cockpit.store import tokens

bp = Blueprint("cockpit_admin", __name__)


def _stores():
    return current_app.config["COCKPIT_STORES"]


def _limit() -> int:
    try:
        return max(1, min(int(request.args.get("limit", "200")), 5000))
    except ValueError:
        return 200


def _when(value, tz: ZoneInfo):
    """A stored time (aware or naive-UTC datetime, or ISO string) as ``YYYY-MM-DD HH:MM:SS`` in ``tz``;
    anything else unchanged."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is None:  # the database keeps UTC without a zone
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def _table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape('' if v is None else v)}</td>" for v in row) + "</tr>"
                   for row in rows)
    return f'<table class="ck-table ck-admin-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


@bp.get("/admin")
def admin_page():
    tz = _stores().settings.tz
    scopes = current_principal().scopes
    with _stores().session() as session:
        def mine(*codes) -> bool:
            """The admin's region covers every code named (a row of no region: province-wide admins only)."""
            return all(covers_code(session, scopes, c) for c in codes) if codes else "*" in scopes

        user_rows = [[u["username"], u["role"], u["scope"], "disabled" if u["disabled"] else "active",
                      _when(u["last_login_at"], tz), _when(u["locked_until"], tz)]
                     for u in map(users.as_dict, users.listing(session)) if mine(u["scope"])]
        token_rows = [[t["name"], ",".join(t["scopes"]), *(_when(t[k], tz) for k in
                                                           ("created_at", "expires_at", "last_used_at", "revoked_at"))]
                      for t in map(tokens.as_dict, tokens.listing(session)) if mine(*t["scopes"])]
        kiosk_rows = [[k.id, k.name, k.scope, k.created_by, _when(k.created_at, tz), _when(k.last_used_at, tz),
                       _when(k.revoked_at, tz)] for k in kiosk.listing(session) if mine(k.scope)]
        # the newest lines of the admin's region: read more than shown, as other regions' lines are dropped
        entries = audit.listing(session, limit=min(5000, _limit() * 5), actor=request.args.get("actor") or None,
                                action=request.args.get("action") or None)
        audit_rows = [[_when(a["at"], tz), a["actor"], a["actor_kind"], a["action"], a["target"], a["outcome"], a["ip"]]
                      for a in map(audit.as_dict, entries) if mine(*([a["scope"]] if a["scope"] else []))][:_limit()]
    zone = escape(str(tz.key))
    html = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Cockpit admin</title>'
            '<link rel="stylesheet" href="/assets/cockpit.css"><link rel="stylesheet" href="/assets/login.css">'
            '</head><body><main class="ck-page ck-admin"><h1>管理 · Admin</h1>'
            '<p><a href="/logout">退出登录 · Log out</a></p>'
            f'<p class="ck-as-of">时间均为 {zone} · Times in {zone}</p>'
            f'<h2>用户 · Users</h2>{_table(["user", "role", "scope", "state", "last login", "locked until"], user_rows)}'
            f'<h2>API 令牌 · Tokens</h2>{_table(["name", "scopes", "created", "expires", "last used", "revoked"], token_rows)}'
            f'<h2>大屏链接 · Kiosk links</h2>'
            f'{_table(["id", "name", "scope", "by", "created", "last used", "revoked"], kiosk_rows)}'
            f'<h2 id="audit">审计日志 · Audit log</h2>'
            f'{_table(["at", "actor", "kind", "action", "target", "outcome", "from"], audit_rows)}'
            '</main></body></html>')
    return Response(html, mimetype="text/html")


@bp.get("/admin/api/audit")
def audit_json():
    scopes = current_principal().scopes
    with _stores().session() as session:
        rows = audit.listing(session, limit=min(5000, _limit() * 5), actor=request.args.get("actor") or None,
                             action=request.args.get("action") or None)
        out = [a for a in map(audit.as_dict, rows)
               if (covers_code(session, scopes, a["scope"]) if a["scope"] else "*" in scopes)]
        return jsonify({"audit": out[:_limit()]})
