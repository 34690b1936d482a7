"""The pages at the door: login, logout, a kiosk link's start and the forbidden/not-found page.

Plain HTML in both languages (zh default, ``?lang=en``), no Dash: they must work before any
session exists. ``web.install`` routes them; the guard in ``web`` answers refusals with
``forbidden_page``.
"""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

from flask import Response, abort, g, has_request_context, redirect, request
from markupsafe import escape

from cockpit.auth import audit, kiosk, policy, ratelimit, sessions, users
from cockpit.auth.principal import Principal
from cockpit.auth.web import (CSRF_COOKIE, KIOSK_DAYS, LOGIN_CSRF_COOKIE, SESSION_COOKIE, _cookie_secure,
                              _set_csrf_cookie, _set_session_cookie, _stores, client_ip, session_cache)

_TEXT = {
    "title": ("12345 热线数据驾驶舱 · 登录", "12345 Hotline Data Cockpit · Log in"),
    "username": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "submit": ("登录", "Log in"),
    "failed": ("用户名或密码错误，或账号已锁定。", "Wrong user name or password, or the account is locked."),
    "limited": ("尝试次数过多，请稍后再试。", "Too many attempts; try again later."),
    "expired": ("登录已过期，请重新登录。", "Your session ended; please log in again."),
    "logout": ("退出登录", "Log out"),
    "logged_out": ("已退出登录。", "You are logged out."),
    "denied": ("您没有访问此页面的权限，或所请求的数据不在您的管辖范围内。",
               "You may not open this page, or the data asked for is outside your region."),
    "home": ("返回首页", "Back to the start page"),
    "lang": ("English", "中文"),
}


def _lang() -> str:
    asked = request.args.get("lang") if has_request_context() else None
    if asked in ("zh", "en"):
        return asked
    return _stores().settings.language if has_request_context() else "zh"


def _t(key: str, lang: str) -> str:
    return _TEXT[key][0 if lang == "zh" else 1]


def _page(title: str, inner: str, lang: str) -> str:
    return (f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(title)}</title><link rel="stylesheet" href="/assets/cockpit.css">'
            f'<link rel="stylesheet" href="/assets/login.css"></head>'
            f'<body><main class="ck-login">{inner}</main></body></html>')


def _safe_next(target: str | None) -> str:
    """Only a local path: never redirect a login to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def _login_form(lang: str, next_: str, message: str = "", status: int = 200) -> Response:
    # Every render of the form reuses the browser's token: a second render (another tab, or the
    # browser's own favicon request redirected here) must not overwrite the cookie of the form the
    # user is filling in, which made the first login attempt fail as "expired" now and then.
    current = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    token = current if re.fullmatch(r"[A-Za-z0-9_-]{32}", current) else secrets.token_urlsafe(24)
    switch = "en" if lang == "zh" else "zh"
    note = f'<p class="ck-login-error" role="alert">{escape(message)}</p>' if message else ""
    inner = (f'<h1>{escape(_t("title", lang))}</h1>{note}'
             f'<form method="post" action="/login?{escape(urlencode({"lang": lang}))}" autocomplete="on">'
             f'<input type="hidden" name="csrf_token" value="{escape(token)}">'
             f'<input type="hidden" name="next" value="{escape(next_)}">'
             f'<label>{escape(_t("username", lang))}<input name="username" id="username" required maxlength="64" '
             f'autocomplete="username" autofocus></label>'
             f'<label>{escape(_t("password", lang))}<input name="password" id="password" type="password" required '
             f'maxlength="256" autocomplete="current-password"></label>'
             f'<button type="submit" id="login-submit">{escape(_t("submit", lang))}</button></form>'
             f'<p><a href="/login?{escape(urlencode({"lang": switch, "next": next_}))}">{_t("lang", lang)}</a></p>')
    response = Response(_page(_t("title", lang), inner, lang), status=status, mimetype="text/html")
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict", path="/login",
                        secure=_cookie_secure(_stores().settings), max_age=3600)
    return response


def login_get():
    lang = _lang()
    return _login_form(lang, _safe_next(request.args.get("next")))


def login_post():
    stores = _stores()
    settings = stores.settings
    lang = _lang()
    next_ = _safe_next(request.form.get("next"))
    sent, expected = request.form.get("csrf_token", ""), request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        return _login_form(lang, next_, _t("expired", lang), status=400)
    ip = client_ip()
    if not ratelimit.hit(stores.redis, "login_ip", ip).allowed:
        return _login_form(lang, next_, _t("limited", lang), status=429)
    username = (request.form.get("username") or "").strip()[:64]
    password = request.form.get("password") or ""
    with stores.session() as session:
        result = users.authenticate(session, username, password)
        if result.user is None:
            audit.record(session, actor=username or "-", actor_kind="anonymous", action="login_failed", ip=ip,
                         outcome="failed", detail={"reason": result.reason})
        else:
            use_cache, failed = session_cache(stores, settings)
            user = result.user
            started = sessions.start(session, user_id=user.id, ip=ip, lifetime=timedelta(hours=settings.session_hours),
                                     cache_as=Principal(kind="user", name=user.username, role=user.role,
                                                        scopes=(user.scope,), id=user.id),
                                     cache_seconds=settings.session_cache_seconds if use_cache else 0, failed=failed)
            audit.record(session, actor=result.user.username, actor_kind="user", action="login", ip=ip,
                         scope=result.user.scope)
    if result.user is None:
        return _login_form(lang, next_, _t("failed", lang), status=401)
    response = redirect(next_)
    _set_session_cookie(response, started.raw_id, settings, settings.session_hours * 3600)
    _set_csrf_cookie(response, started.csrf, settings)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


def logout_get():
    lang = _lang()
    principal = g.get("principal")
    inner = (f'<form method="post" action="/logout"><input type="hidden" name="csrf_token" '
             f'value="{escape(principal.csrf if principal else "")}">'
             f'<button type="submit" id="logout-submit">{escape(_t("logout", lang))}</button></form>')
    return Response(_page(_t("logout", lang), inner, lang), mimetype="text/html")


def logout_post():
    stores = _stores()
    raw = request.cookies.get(SESSION_COOKIE)
    principal = g.get("principal")
    if raw:
        with stores.session() as session:
            sessions.end(session, raw)
            if principal is not None:
                audit.record_for(session, principal, "logout", ip=client_ip())
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


def kiosk_start(token: str):
    """A kiosk link: start a long kiosk session for its scope and open its wall."""
    stores = _stores()
    settings = stores.settings
    with stores.session() as session:
        link = kiosk.verify(session, token)
        if link is None:
            audit.record(session, actor="-", actor_kind="anonymous", action="kiosk_start", ip=client_ip(),
                         outcome="denied")
            abort(404)
        use_cache, failed = session_cache(stores, settings)
        started = sessions.start(session, kiosk_id=link.id, ip=client_ip(), lifetime=timedelta(days=KIOSK_DAYS),
                                 cache_as=Principal(kind="kiosk", name=link.name, role="kiosk", scopes=(link.scope,),
                                                    id=link.id),
                                 cache_seconds=settings.session_cache_seconds if use_cache else 0, failed=failed)
        if link.last_used_at is None or started.at - link.last_used_at >= sessions.TOUCH_EVERY:
            link.last_used_at = started.at  # the session starts cached: its first requests read no SQL
        audit.record(session, actor=link.name, actor_kind="kiosk", action="kiosk_start", target=str(link.id),
                     scope=link.scope, ip=client_ip())
        scope = link.scope
    level = policy.level_of(scope)
    target = f"/province/{scope}?kiosk=1" if level == "province" else f"/wall/{scope}?kiosk=1"
    response = redirect(target)
    _set_session_cookie(response, started.raw_id, settings, KIOSK_DAYS * 86400)
    _set_csrf_cookie(response, started.csrf, settings)
    return response


def forbidden_page(status: int) -> Response:
    lang = _lang()
    title = {403: ("无权访问", "Forbidden"), 404: ("页面不存在", "Not found")}.get(status, ("错误", "Error"))
    body = _page(title[0 if lang == "zh" else 1],
                 f'<p class="ck-login-note">{escape(_t("denied", lang))}</p>'
                 f'<p><a href="/">{escape(_t("home", lang))}</a></p>', lang)
    return Response(body, status=status, mimetype="text/html")
