"""Access control on the web app: one guard in front of every route, the login page, security headers.

``install(app, stores)`` wires it into a Dash app:

- a ``before_request`` guard: every route except ``/login``, ``/healthz``, ``/kiosk/<link>`` and
  static assets needs a session cookie or a bearer token. Anonymous page requests are redirected
  to ``/login``; anonymous API, export and Dash (``/_dash-*``) requests get 401.
- the role check of each path (``policy.check_request``) and, for Dash callbacks, of each callback.
- CSRF: state-changing requests made with a session cookie must carry the session's token in
  ``X-CSRFToken`` (Dash's renderer sends it from the ``_csrf_token`` cookie) or a ``csrf_token`` field.
- security headers on every answer, a body limit enforced while the body is read, rate limits.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, abort, current_app, g, has_request_context, jsonify, redirect, request
from werkzeug.serving import WSGIRequestHandler
from markupsafe import escape

from cockpit.auth import audit, kiosk, policy, ratelimit, sessions, users
from cockpit.auth.principal import SYSTEM, AccessDenied, Principal
from cockpit.settings import Settings
from cockpit.store import tokens

log = logging.getLogger(__name__)

SESSION_COOKIE = "ck_session"
CSRF_COOKIE = "_csrf_token"  # the name Dash's renderer reads to send X-CSRFToken
CSRF_HEADER = "X-CSRFToken"
LOGIN_CSRF_COOKIE = "ck_login_csrf"
KIOSK_DAYS = 400
DEFAULT_BODY_LIMIT = 1024 * 1024  # pages, forms and API calls
DASH_BODY_LIMIT = 8 * 1024 * 1024  # Dash callbacks carry component state
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Open311 discovery describes the endpoints and holds no data (the spec expects it open).
PUBLIC_PATHS = frozenset({"/login", "/healthz", "/favicon.ico", "/_favicon.ico", "/open311/v2/discovery.json",
                          "/open311/v2/discovery.xml"})
PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/static/", "/kiosk/")
# Anonymous requests here get 401 JSON instead of a redirect: machines and the Dash renderer call them.
API_PREFIXES = ("/api/", "/_dash-", "/supervise/export", "/admin/api/", "/open311/", "/reports/files/")
OPEN311 = "/open311/v2/"

# Content-Security-Policy: the app's own origin only. 'unsafe-eval' is not needed (checked in
# Chromium by tests/test_security_browser.py); Dash's one inline bootstrap script is allowed by its
# hash. Styles allow 'unsafe-inline': Plotly, AG Grid and Leaflet inject <style> elements at run
# time (no script can be injected through a style). Framing: only by the app itself (the kiosk
# playlist shows its screens in frames); no other site may frame it (clickjacking).
CSP_BASE = ("default-src 'self'; img-src 'self' data: blob:; font-src 'self' data:; "
            "style-src 'self' 'unsafe-inline'; connect-src 'self'; worker-src 'self' blob:; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'")


class StartupRefused(RuntimeError):
    pass


def check_secret(settings: Settings) -> str:
    """The secret key to use; refuses to start in production mode without COCKPIT_SECRET_KEY."""
    if settings.secret_key:
        if settings.mode == "production" and len(settings.secret_key) < 32:
            raise StartupRefused("COCKPIT_SECRET_KEY must be at least 32 characters in production")
        return settings.secret_key
    if settings.mode == "production":
        raise StartupRefused("refusing to start in production mode without COCKPIT_SECRET_KEY "
                             "(set it, or COCKPIT_MODE=development for a local trial)")
    log.warning("no COCKPIT_SECRET_KEY (%s mode): using a random key for this process", settings.mode)
    return secrets.token_urlsafe(48)


def demo_secret(var_dir: Path) -> str:
    """The demo's secret key, generated once and kept (mode 0600) under the var dir."""
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def current_principal() -> Principal:
    """Who is asking: the request's principal; the system principal outside a request (CLI, jobs, tests)."""
    if has_request_context():
        principal = g.get("principal")
        if principal is None:
            raise AccessDenied("not authenticated", status=401)
        return principal
    return SYSTEM


def require_region(stores, code: str | None) -> None:
    """Raise AccessDenied (403) unless the caller covers region ``code`` (no-op outside a request; a code
    nobody knows holds no data and is left to the caller's own 'unknown region' answer)."""
    from cockpit.auth.scope import require_code
    from cockpit.store.regions import scope_level

    principal = current_principal()
    if principal.role == "system" or not code or str(code) in principal.scopes:
        return  # a scope covers itself (a wall of one's own region asks no SQL on every refresh)
    with stores.session() as session:
        if scope_level(session, str(code)) is not None:
            require_code(session, principal, str(code))


def visible_scope(stores, default: str) -> str | None:
    """The region a list of places (the home page) is drawn for: ``default`` (the province) when the
    caller covers it, else the caller's own city; None for a district (no list of cities to show)."""
    from cockpit.auth.scope import covers_code

    principal = current_principal()
    with stores.session() as session:
        if covers_code(session, principal.scopes, default):
            return default
        return principal.scope if policy.level_of(principal.scope, session) == "city" else None


def client_ip() -> str:
    return request.remote_addr or "-"


def _stores():
    return current_app.config["COCKPIT_STORES"]


def _json_error(status: int, message: str, **extra) -> Response:
    response = jsonify({"error": message, **extra})
    response.status_code = status
    return response


def _wants_json(path: str) -> bool:
    return path.startswith(API_PREFIXES) or request.headers.get("Authorization", "").startswith("Bearer ")


def _cookie_secure(settings: Settings) -> bool:
    choice = str(settings.cookie_secure).lower()
    if choice in ("true", "1"):
        return True
    if choice in ("false", "0"):
        return False
    return settings.mode == "production"


# ------------------------------------------------------------------ authentication

def _from_bearer(stores, header: str) -> Principal | Response:
    ip = client_ip()
    if ratelimit.peek(stores.redis, "token_fail", ip) >= ratelimit.LIMITS["token_fail"].count:
        return _json_error(429, "too many failed token attempts; try later")
    raw = header[len("Bearer "):].strip()
    with stores.session() as session:
        row = tokens.verify(session, raw)
        if row is None:
            verdict = ratelimit.hit(stores.redis, "token_fail", ip)
            if not verdict.allowed:
                return _json_error(429, "too many failed token attempts; try later")
            return _json_error(401, "invalid, expired or revoked token")
        return Principal(kind="token", name=row.name, role="token", scopes=tuple(row.scopes), id=row.id)


def _from_cookie(stores, settings: Settings) -> Principal | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    if settings.session_cache_seconds > 0:
        found = sessions.cached(stores.redis, raw)  # a kiosk session checked a few seconds ago
        if found is not None:
            return found
    with stores.session() as session:
        return sessions.load(session, raw, idle=timedelta(minutes=settings.session_idle_minutes),
                             cache=stores.redis, cache_seconds=settings.session_cache_seconds)


def _body_over(limit: int) -> Response | None:
    """413 when the body is over ``limit`` bytes, found while it is read: a declared length is checked
    before reading; a chunked body is read (and kept for the view) up to ``limit + 1`` bytes only."""
    request.max_content_length = limit + 1
    if request.content_length is not None:
        return _json_error(413, f"body over {limit} bytes") if request.content_length > limit else None
    if request.method in SAFE_METHODS and not request.environ.get("wsgi.input_terminated"):
        return None
    body = request.get_data(cache=True)  # LimitedStream: stops after limit + 1 bytes
    if len(body) > limit:
        response = _json_error(413, f"body over {limit} bytes")
        response.headers["Connection"] = "close"
        return response
    return None


def require_session_or_token():
    """Before every request: a session or a bearer token (or a kiosk link on its screens), CSRF on
    state changes, the role and the region the path names; None lets the request through."""
    path = request.path
    stores = _stores()
    settings = stores.settings
    limit = DASH_BODY_LIMIT if path.startswith("/_dash-") else DEFAULT_BODY_LIMIT
    if path == "/api/v1/events":
        limit = settings.max_body_bytes
    too_large = _body_over(limit)
    if too_large is not None:
        return too_large
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
        g.principal = None
        return None
    header = request.headers.get("Authorization", "")
    if path.startswith(OPEN311) and not header and request.args.get("api_key"):
        header = "Bearer " + request.args["api_key"]  # Open311's own way of sending the key
    if header.startswith("Bearer "):
        found = _from_bearer(stores, header)
        if isinstance(found, Response):
            return found
        principal = found
    else:
        principal = _from_cookie(stores, settings)
    if principal is None and path.startswith(OPEN311) and settings.open311_public:
        # A deployment may open the GeoReport read side (COCKPIT_OPEN311_PUBLIC=1; masked data).
        principal = Principal(kind="anonymous", name="open311-public", role="anonymous", scopes=("*",))
    if principal is None:
        if _wants_json(path):
            return _json_error(401, "authentication required: log in or send a bearer token")
        target = request.full_path.rstrip("?") if request.query_string else path
        return redirect("/login?" + urlencode({"next": target}))
    g.principal = principal
    if request.method not in SAFE_METHODS and principal.kind != "token":
        sent = request.headers.get(CSRF_HEADER)
        if not sent and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            sent = request.form.get("csrf_token")
        if not sent or not principal.csrf or not hmac.compare_digest(str(sent), principal.csrf):
            return _json_error(403, "missing or wrong CSRF token")
    try:
        with stores.session() as session:
            policy.check_request(session, principal, request)
    except AccessDenied as exc:
        if exc.status != 404:
            with stores.session() as session:
                audit.record_for(session, principal, "denied", target=path[:256], ip=client_ip(), outcome="denied")
        if _wants_json(path) or request.method not in SAFE_METHODS:
            return _json_error(exc.status, str(exc) if exc.status != 404 else "not found")
        return _forbidden_page(exc.status)
    bucket = ("export" if path.startswith("/supervise/export") else
              "staffing" if path.startswith("/api/v1/staffing") else None)
    if bucket:
        verdict = ratelimit.hit(stores.redis, bucket, f"{principal.kind}:{principal.name}")
        if not verdict.allowed:
            response = _json_error(429, f"too many {bucket} requests; try again in {verdict.retry_after} s")
            response.headers["Retry-After"] = str(verdict.retry_after)
            return response
    return None


def _forbidden_page(status: int) -> Response:
    lang = _lang()
    title = {403: ("无权访问", "Forbidden"), 404: ("页面不存在", "Not found")}.get(status, ("错误", "Error"))
    body = _page(title[0 if lang == "zh" else 1],
                 f'<p class="ck-login-note">{escape(_t("denied", lang))}</p>'
                 f'<p><a href="/">{escape(_t("home", lang))}</a></p>', lang)
    return Response(body, status=status, mimetype="text/html")


# ------------------------------------------------------------------ headers

class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler without its name and version in ``Server`` (``cockpit serve`` and
    the demo use it): http.server writes ``Werkzeug/x Python/y`` before the app's own headers."""

    def version_string(self) -> str:
        return "cockpit"


def _security_headers(response: Response) -> Response:
    csp = current_app.config.get("COCKPIT_CSP") or CSP_BASE
    response.headers["Content-Security-Policy"] = csp
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "SAMEORIGIN"  # the playlist frames the app's own screens
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    settings = _stores().settings
    if _cookie_secure(settings):
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    if request.path.startswith(API_PREFIXES) or request.path in ("/login", "/logout") or \
            request.path.startswith(("/kiosk/", "/admin")):
        response.headers["Cache-Control"] = "no-store"
    principal = g.get("principal")
    if principal is not None and principal.csrf and request.cookies.get(CSRF_COOKIE) != principal.csrf:
        _set_csrf_cookie(response, principal.csrf, settings)
    return response


def _set_csrf_cookie(response: Response, value: str, settings: Settings) -> None:
    response.set_cookie(CSRF_COOKIE, value, httponly=False, samesite="Strict", secure=_cookie_secure(settings),
                        path="/")


def _set_session_cookie(response: Response, raw: str, settings: Settings, max_age: int) -> None:
    response.set_cookie(SESSION_COOKIE, raw, httponly=True, samesite="Lax", secure=_cookie_secure(settings),
                        path="/", max_age=max_age)


# ------------------------------------------------------------------ pages

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
            started = sessions.start(session, user_id=result.user.id, ip=ip,
                                     lifetime=timedelta(hours=settings.session_hours))
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
        started = sessions.start(session, kiosk_id=link.id, ip=client_ip(), lifetime=timedelta(days=KIOSK_DAYS))
        audit.record(session, actor=link.name, actor_kind="kiosk", action="kiosk_start", target=str(link.id),
                     scope=link.scope, ip=client_ip())
        scope = link.scope
    level = policy.level_of(scope)
    target = f"/province/{scope}?kiosk=1" if level == "province" else f"/wall/{scope}?kiosk=1"
    response = redirect(target)
    _set_session_cookie(response, started.raw_id, settings, KIOSK_DAYS * 86400)
    _set_csrf_cookie(response, started.csrf, settings)
    return response


def _on_access_denied(exc: AccessDenied):
    if _wants_json(request.path) or request.method not in SAFE_METHODS:
        return _json_error(exc.status, str(exc) if exc.status not in (404,) else "not found")
    return _forbidden_page(exc.status)


def _dash_csp_hashes(app) -> str:
    try:
        hashes = app.csp_hashes()
    except Exception:  # noqa: BLE001 - a Dash without the helper: no inline script allowed at all
        hashes = []
    return " ".join(h if h.startswith("'") else f"'{h}'" for h in hashes)


def install(app, stores, settings: Settings | None = None) -> None:
    """Wire the guard, login/logout, kiosk links, admin pages and security headers into a Dash app."""
    server: Flask = app.server
    settings = settings or stores.settings
    server.config["SECRET_KEY"] = check_secret(settings)
    server.config["MAX_CONTENT_LENGTH"] = DEFAULT_BODY_LIMIT
    server.config["SESSION_COOKIE_HTTPONLY"] = True
    server.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    server.config["SESSION_COOKIE_SECURE"] = _cookie_secure(settings)
    server.before_request(require_session_or_token)
    server.after_request(_security_headers)
    server.register_error_handler(AccessDenied, _on_access_denied)
    server.add_url_rule("/login", "login", login_get, methods=["GET"])
    server.add_url_rule("/login", "login_post", login_post, methods=["POST"])
    server.add_url_rule("/logout", "logout", logout_get, methods=["GET"])
    server.add_url_rule("/logout", "logout_post", logout_post, methods=["POST"])
    server.add_url_rule("/kiosk/<token>", "kiosk_start", kiosk_start, methods=["GET"])
    from cockpit.auth import admin

    server.register_blueprint(admin.bp)

    @server.before_request
    def _csp_once():  # the inline-script hashes are known once Dash has built its index
        if "COCKPIT_CSP" not in server.config:
            server.config["COCKPIT_CSP"] = CSP_BASE.replace(
                "default-src 'self';", f"default-src 'self'; script-src 'self' {_dash_csp_hashes(app)};", 1)
        return None


def dash_callback_ids(body: bytes | str) -> list[str]:
    """The output component ids (pattern ids by their ``type``) of a /_dash-update-component body."""
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return []
    outputs = data.get("outputs") if isinstance(data, dict) else None
    found: list[str] = []
    items = outputs if isinstance(outputs, list) else [outputs]
    for item in items:
        if isinstance(item, dict):
            ident = item.get("id")
            if isinstance(ident, dict):
                found.append(str(ident.get("type", "")))
            elif ident is not None:
                found.append(str(ident))
        elif isinstance(item, list):
            for sub in item:
                if isinstance(sub, dict):
                    ident = sub.get("id")
                    found.append(str(ident.get("type", "")) if isinstance(ident, dict) else str(ident))
    return found
