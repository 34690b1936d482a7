"""Access control on the web app: one guard in front of every route, security headers.

``install(app, stores)`` wires it into a Dash app:

- a ``before_request`` guard: every route except ``/login``, ``/healthz``, ``/kiosk/<link>`` and
  static assets needs a session cookie or a bearer token. Anonymous page requests are redirected
  to ``/login``; anonymous API, export and Dash (``/_dash-*``) requests get 401.
- the role check of each path (``policy.check_request``) and, for Dash callbacks, of each callback.
- CSRF: state-changing requests made with a session cookie must carry the session's token in
  ``X-CSRFToken`` (Dash's renderer sends it from the ``_csrf_token`` cookie) or a ``csrf_token`` field.
- security headers on every answer, a body limit enforced while the body is read, rate limits.

The pages a person sees at the door (login, logout, kiosk start, forbidden) are in ``pages.py``.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask, Response, current_app, g, has_request_context, jsonify, redirect, request
from werkzeug.serving import WSGIRequestHandler

from cockpit.auth import audit, policy, ratelimit, sessions
from cockpit.auth.principal import SYSTEM, AccessDenied, Principal
from cockpit.settings import Settings
from cockpit.store import tokens
from cockpit.store.cache import live_key

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
API_PREFIXES = ("/api/", "/_dash-", "/supervise/export", "/admin/api/", "/open311/", "/reports/files/",
                "/screens/")
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


def session_cache(stores, settings: Settings) -> tuple[bool, Callable[[], None]]:
    """Whether to use the session cache now, and what a failed cache read or write calls. Redis
    down (the screens' breaker open): SQL at once, without the client's retries on every request;
    a failed read or write opens the breaker for the next requests."""
    breaker, key = stores.caches.breaker, live_key(stores.redis)

    def failed() -> None:
        breaker.failure(key)

    return settings.session_cache_seconds > 0 and not breaker.is_open(key), failed


def _from_cookie(stores, settings: Settings) -> Principal | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    use_cache, failed = session_cache(stores, settings)
    if use_cache:
        found = sessions.cached(stores.redis, raw, failed=failed)  # a session checked a few seconds ago
        if found is not None:
            return found
    with stores.session() as session:
        return sessions.load(session, raw, idle=timedelta(minutes=settings.session_idle_minutes),
                             cache=stores.redis if use_cache else None,
                             cache_seconds=settings.session_cache_seconds, failed=failed)


def recheck_principal() -> Principal | None:
    """The request's principal read again now (for a long request: a screen stream), or None when
    its session or token has ended since: logout, a revoked kiosk link, a disabled user or a
    password reset tombstone the session cache, so this sees them at once (sessions.py)."""
    stores = _stores()
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        found = _from_bearer(stores, header)
        return None if isinstance(found, Response) else found
    return _from_cookie(stores, stores.settings)


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
        return pages.forbidden_page(exc.status)
    bucket = ("export" if path.startswith("/supervise/export") else
              "staffing" if path.startswith("/api/v1/staffing") else None)
    if bucket:
        verdict = ratelimit.hit(stores.redis, bucket, f"{principal.kind}:{principal.name}")
        if not verdict.allowed:
            response = _json_error(429, f"too many {bucket} requests; try again in {verdict.retry_after} s")
            response.headers["Retry-After"] = str(verdict.retry_after)
            return response
    return None


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


def _on_access_denied(exc: AccessDenied):
    if _wants_json(request.path) or request.method not in SAFE_METHODS:
        return _json_error(exc.status, str(exc) if exc.status not in (404,) else "not found")
    return pages.forbidden_page(exc.status)


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
    server.add_url_rule("/login", "login", pages.login_get, methods=["GET"])
    server.add_url_rule("/login", "login_post", pages.login_post, methods=["POST"])
    server.add_url_rule("/logout", "logout", pages.logout_get, methods=["GET"])
    server.add_url_rule("/logout", "logout_post", pages.logout_post, methods=["POST"])
    server.add_url_rule("/kiosk/<token>", "kiosk_start", pages.kiosk_start, methods=["GET"])
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


from cockpit.auth import pages  # noqa: E402 - the pages use this module's cookies and helpers
