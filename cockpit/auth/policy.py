"""Which principal may request which path: the role rule per path and the scope rule per region code.

``check_request`` runs before every authenticated request (cockpit.auth.web); ``check_page`` also
runs inside the page-routing callback, so navigation inside the app obeys the same rule as a
direct GET. Scope is checked here for what the URL names (a wall's code, a query's scope); the
store layer checks it again for every row it reads or writes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlalchemy.orm import Session

from cockpit.auth import kiosk as kiosk_links
from cockpit.auth.principal import AccessDenied, Principal
from cockpit.auth.scope import covers_code, require_code
from cockpit.store.regions import scope_level, table_level

CODE = r"[A-Za-z0-9_-]+"

# (path pattern, permission, name of the group holding a region code to check, query keys holding codes)
PAGES: list[tuple[re.Pattern, str, str | None, tuple[str, ...]]] = [
    (re.compile(r"^/$"), "figures", None, ()),
    (re.compile(rf"^/wall/(?P<code>{CODE})$"), "figures", "code", ()),
    (re.compile(rf"^/province/(?P<code>{CODE})$"), "figures", "code", ()),
    (re.compile(r"^/playlist$"), "figures", None, ("scopes",)),
    (re.compile(r"^/supervise$"), "tickets", None, ("city", "district")),
    (re.compile(r"^/tickets/(?P<ticket_id>[^/\s]+)$"), "tickets", None, ()),
    (re.compile(r"^/assessment$"), "figures", None, ("scope",)),
    (re.compile(r"^/reports$"), "figures", None, ("scope",)),
    (re.compile(r"^/roster$"), "figures", None, ("scope",)),
    (re.compile(r"^/admin(/.*)?$"), "admin", None, ()),
]

# JSON API and downloads: (method or None for any, path pattern, permission, query keys holding codes);
# a pattern's group named ``code`` holds a region code too.
API: list[tuple[str | None, re.Pattern, str, tuple[str, ...]]] = [
    ("POST", re.compile(r"^/api/v1/events$"), "ingest", ()),
    ("GET", re.compile(r"^/api/v1/(events/schema|openapi\.json)$"), "figures", ()),
    ("GET", re.compile(r"^/api/v1/(kpi|rankings|staffing|forecast|roster|assessment|topics)$"), "figures",
     ("scope",)),
    ("GET", re.compile(rf"^/reports/files/(?P<code>{CODE})/[^/]+/[^/]+$"), "figures", ()),
    # Open311 GeoReport: the blueprint limits answers to the caller's token scopes (cockpit.http.open311)
    ("GET", re.compile(r"^/open311/v2/.+$"), "figures", ()),
    ("GET", re.compile(r"^/api/v1/staffing/erlang$"), "figures", ()),
    ("GET", re.compile(r"^/api/v1/alerts(/\d+)?$"), "tickets", ("scope",)),
    ("POST", re.compile(r"^/api/v1/alerts/\d+/[a-z]+$"), "act", ()),
    ("GET", re.compile(r"^/api/v1/silences$"), "tickets", ()),
    ("POST", re.compile(r"^/api/v1/silences$"), "act", ()),
    ("DELETE", re.compile(r"^/api/v1/silences/\d+$"), "act", ()),
    ("GET", re.compile(r"^/supervise/export\.(csv|xlsx)$"), "export", ("city", "district")),
    (None, re.compile(r"^/admin/api/.*$"), "admin", ()),
    (None, re.compile(r"^/logout$"), "figures", ()),
    ("GET", re.compile(r"^/_dash-(layout|dependencies)$"), "figures", ()),
    ("POST", re.compile(r"^/_dash-update-component$"), "figures", ()),
    ("GET", re.compile(r"^/_reload-hash$"), "figures", ()),
    # a wall's push channel (callbacks/screen_stream.py): the scope it names is checked like a wall's
    ("GET", re.compile(r"^/screens/stream$"), "figures", ("code",)),
]

# Dash callbacks by the page prefix of their output ids: what a principal needs to run them.
CALLBACK_PERMISSION = {"sup": "tickets", "tk": "tickets", "admin": "admin"}
KIOSK_CALLBACK_PREFIXES = frozenset({"app", "wall", "province", "playlist"})


def level_of(code: str, session: Session | None = None) -> str:
    if session is not None:
        level = table_level(session, code)
        if level is not None:
            return level
    if len(code) == 6 and code.isdigit():
        return "province" if code.endswith("0000") else "city" if code.endswith("00") else "district"
    return "city"


def _codes(query: Mapping[str, str], keys: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for key in keys:
        value = query.get(key)
        if value:
            out.extend(part.strip() for part in str(value).split(",") if part.strip())
    return out


def check_page(session: Session, principal: Principal, path: str, query: Mapping[str, str]) -> None:
    """Raise AccessDenied unless ``principal`` may open page ``path`` with ``query``. Unknown pages pass
    (they render 'not found')."""
    path = (path or "/").rstrip("/") or "/"
    if principal.kind == "kiosk" and not kiosk_links.allows_path(path):
        raise AccessDenied("a kiosk link shows wall, province and playlist screens only")
    for pattern, permission, group, keys in PAGES:
        match = pattern.match(path)
        if match is None:
            continue
        principal.require(permission)
        codes = _codes(query, keys) + ([match.group(group)] if group else [])
        for code in codes:
            # a region nobody knows holds no data: the page answers 'not found' itself
            if scope_level(session, code) is not None:
                require_code(session, principal, code)
        return


def _callback_prefixes(ids: list[str]) -> set[str]:
    return {ident.split("-", 1)[0] for ident in ids if ident}


def check_callback(principal: Principal, output_ids: list[str]) -> None:
    prefixes = _callback_prefixes(output_ids)
    if principal.kind == "kiosk" and not prefixes <= KIOSK_CALLBACK_PREFIXES:
        raise AccessDenied("a kiosk link runs screen callbacks only")
    for prefix in prefixes:
        permission = CALLBACK_PERMISSION.get(prefix)
        if permission:
            principal.require(permission)


def check_request(session: Session, principal: Principal, request) -> None:
    """The role (and URL-named scope) rule for one HTTP request. Raises AccessDenied."""
    path, method = request.path, request.method
    if method in ("HEAD", "OPTIONS"):
        method = "GET"
    for want, pattern, permission, keys in API:
        match = pattern.match(path)
        if (want is None or want == method) and match:
            if principal.kind == "kiosk" and not (path.startswith("/_dash-") or
                                                  path in ("/logout", "/_reload-hash", "/screens/stream")):
                raise AccessDenied("a kiosk link shows screens only")
            if principal.kind == "anonymous":  # only where the deployment opened it (open311_public)
                return
            principal.require(permission)
            codes = _codes(request.args, keys)
            if "code" in match.groupdict():
                codes.append(match.group("code"))
            for code in codes:
                if scope_level(session, code) is not None:  # an unknown code holds no data: the API says 400
                    require_code(session, principal, code)
            if path == "/_dash-update-component":
                from cockpit.auth.web import dash_callback_ids

                check_callback(principal, dash_callback_ids(request.get_data(cache=True)))
            return
    if path.startswith(("/api/", "/_dash-", "/supervise/export", "/open311/", "/reports/files/", "/screens/")):
        raise AccessDenied("no such endpoint for this method", status=404)
    if method != "GET":
        raise AccessDenied("method not allowed here", status=405)
    check_page(session, principal, path, request.args)


def may_see_code(session: Session, principal: Principal, code: str) -> bool:
    return covers_code(session, principal.scopes, code)
