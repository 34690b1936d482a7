"""URL -> page. Every page is one entry of ROUTES: a path pattern and a layout builder.

A builder is called as ``builder(ctx, **groups)`` with the pattern's named groups, where ``ctx`` is a
``PageContext`` (language, settings, query string); it returns the page's component tree.
A wall or province URL whose region the cockpit does not know (or cannot show on that screen)
gets the not-found page: as an HTTP 404 on the first request (``reject_unknown_screen``) and
in place when the browser navigates there inside the app.
"""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import parse_qs, unquote

from dash import ClientsideFunction, Dash, Input, Output, State
from flask import Response, request
from sqlalchemy.exc import SQLAlchemyError

from cockpit.store.db import Stores
from cockpit.views.overview import known_screens, screen_level
from layouts import assessment, home, ids, playlist, province, reports, roster, supervise, ticket, wall
from layouts.i18n import pick_lang, t
from layouts.page import PageContext
from layouts.serialise import component_json
from layouts.shell import not_found, not_found_html, screen_links

log = logging.getLogger(__name__)


def access_denied_page(stores: Stores, path: str, query: dict, lang: str):
    """A 'forbidden' page when the logged-in principal may not open ``path``; None when they may."""
    from cockpit.auth.policy import check_page
    from cockpit.auth.principal import AccessDenied
    from cockpit.auth.web import current_principal
    from dash import html

    try:
        with stores.session() as session:
            check_page(session, current_principal(), path, query)
    except AccessDenied:
        text = "无权访问：页面或数据不在您的权限范围内" if lang == "zh" else "Forbidden: outside your role or region"
        return html.Div(html.H2(text), className="ck-page ck-forbidden")
    return None

def viewer_home_city(stores: Stores) -> str | None:
    """The one city the logged-in principal works in (``cockpit.auth.scope.home_city``)."""
    from cockpit.auth.scope import home_city
    from cockpit.auth.web import current_principal

    with stores.session() as session:
        return home_city(session, current_principal())


def page_permission(stores: Stores):
    """``may_open(path, query)`` for the logged-in principal: the rule ``access_denied_page`` applies, so
    a page's links to other pages can leave out the ones that would answer 'forbidden'."""
    from cockpit.auth.policy import check_page
    from cockpit.auth.principal import AccessDenied
    from cockpit.auth.web import current_principal

    principal = current_principal()

    def may_open(path: str, query: dict[str, str]) -> bool:
        try:
            with stores.session() as session:
                check_page(session, principal, path, query)
        except AccessDenied:
            return False
        return True

    return may_open


ROUTES: list[tuple[re.Pattern, object]] = [
    (re.compile(r"^/$"), home.home_page),
    (re.compile(r"^/wall/(?P<code>[A-Za-z0-9_-]+)$"), wall.wall_page),
    (re.compile(r"^/province/(?P<code>[A-Za-z0-9_-]+)$"), province.province_page),
    (re.compile(r"^/playlist$"), playlist.playlist_page),
    (re.compile(r"^/supervise$"), supervise.supervise_page),
    (re.compile(r"^/tickets/(?P<ticket_id>[^/\s]+)$"), ticket.ticket_page),
    (re.compile(r"^/assessment$"), assessment.assessment_page),
    (re.compile(r"^/reports$"), reports.reports_page),
    (re.compile(r"^/roster$"), roster.roster_page),
]
SCREEN_PATH = re.compile(r"^/(?P<page>wall|province)/(?P<code>[^/]+)/?$")
ROUTE_OUTPUT = f"..{ids.PAGE}.children...{ids.LANG_STORE}.data.."
SCREEN_LAYOUT_TTL_S = 60.0  # a screen page's skeleton (names from the region table, cached as long)
MAX_SEARCH = 256  # longer query strings are answered, not kept


def resolve(path: str):
    for pattern, builder in ROUTES:
        match = pattern.match(path)
        if match:
            return builder, {k: unquote(v) for k, v in match.groupdict().items()}
    return None, {}


def unknown_screen(stores: Stores, path: str) -> tuple[str, str] | None:
    """(page, code) when ``path`` is a wall or province URL for a region that screen cannot show."""
    match = SCREEN_PATH.match(path)
    if not match:
        return None
    try:
        level = screen_level(stores, match["page"], match["code"])
    except SQLAlchemyError:  # no database: the page itself will show its sources as failed
        log.warning("screen check for %s skipped: database unavailable", path)
        return None
    return None if level else (match["page"], match["code"])


def _not_found_parts(stores: Stores, page: str, code: str, lang: str) -> tuple[str, list[tuple[str, str]]]:
    message = t("nf.unknown_region", lang).format(code=code, what=t(f"nf.what.{page}", lang))
    try:
        screens = known_screens(stores, stores.settings.province)
    except SQLAlchemyError:
        screens = []
    return message, screen_links(screens, lang)


def _query(search: str | None) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs((search or "").lstrip("?")).items()}


def screen_route_answer(stores: Stores, body: dict) -> Response | None:
    """The routing callback's answer for a wall or province page, from bytes kept per path and query.

    Every screen of a scope and language gets the same skeleton (its figures come with the first
    refresh), so it is built and serialised once a minute per process instead of on every connect.
    The checks of every request still run first: an unknown region or a page the caller may not
    open falls through to ``render_page`` (the not-found and forbidden pages, never kept)."""
    if body.get("output") != ROUTE_OUTPUT:
        return None
    values = {(i.get("id"), i.get("property")): i.get("value") for i in body.get("inputs") or []
              if isinstance(i, dict)}
    pathname, search = values.get((ids.URL, "pathname")), values.get((ids.URL, "search"))
    if not isinstance(pathname, str) or not isinstance(search, (str, type(None))):
        return None
    path = pathname.rstrip("/") or "/"
    if not SCREEN_PATH.match(path):
        return None
    builder, groups = resolve(path)
    if builder is None or unknown_screen(stores, path) is not None:
        return None
    query = _query(search)
    lang = pick_lang(query.get("lang"), stores.settings.language)
    if access_denied_page(stores, path, query, lang) is not None:
        return None

    # The skeletons differ only in whether a district click drills to /supervise (screen_config):
    # one kept per answer, so a kiosk or a leader never gets a supervisor's.
    supervise = page_permission(stores)("/supervise", {})

    def build() -> str:
        ctx = PageContext(lang=lang, settings=stores.settings, query=query, path=path,
                          may_open=lambda to, _query: supervise if to == "/supervise" else True)
        page = builder(ctx, **groups)
        return ('{"multi":true,"response":{' + json.dumps(ids.PAGE) + ':{"children":' + component_json(page) + "},"
                + json.dumps(ids.LANG_STORE) + ':{"data":' + json.dumps(lang) + "}}}")

    if len(search or "") > MAX_SEARCH:
        payload = build()
    else:
        payload, _ = stores.caches.ttl.get(("screen_route", path, search or "", supervise), SCREEN_LAYOUT_TTL_S, build)
    return Response(payload, mimetype="application/json")


def register(app: Dash, stores: Stores) -> None:
    settings = stores.settings

    @app.server.before_request
    def _screen_route():
        """The routing callback of a wall or province page, answered before Dash parses it."""
        if request.method != "POST" or request.path != "/_dash-update-component":
            return None
        body = request.get_json(silent=True)
        return screen_route_answer(stores, body) if isinstance(body, dict) else None

    @app.server.before_request
    def reject_unknown_screen():
        """GET /wall/<code> or /province/<code> for a region the cockpit does not know -> HTTP 404 page."""
        if request.method != "GET":
            return None
        found = unknown_screen(stores, request.path)
        if found is None:
            return None
        lang = pick_lang(request.args.get("lang"), settings.language)
        message, links = _not_found_parts(stores, *found, lang)
        return Response(not_found_html(lang, message=message, links=links), status=404,
                        mimetype="text/html")

    # the tab's title follows the page's language (the app's own title is the configured language's)
    app.clientside_callback(ClientsideFunction(namespace="cockpit", function_name="pageTitle"),
                            Output(ids.TITLES, "data"), Input(ids.LANG_STORE, "data"), State(ids.TITLES, "data"))

    @app.callback(Output(ids.PAGE, "children"), Output(ids.LANG_STORE, "data"),
                  Input(ids.URL, "pathname"), Input(ids.URL, "search"))
    def render_page(pathname: str | None, search: str | None):
        """URL change -> the page's layout."""
        query = _query(search)
        lang = pick_lang(query.get("lang"), settings.language)
        path = (pathname or "/").rstrip("/") or "/"
        builder, groups = resolve(path)
        if builder is None:
            return not_found(lang), lang
        found = unknown_screen(stores, path)
        if found is not None:
            message, links = _not_found_parts(stores, *found, lang)
            return not_found(lang, message=message, links=links), lang
        denied = access_denied_page(stores, path, query, lang)  # same rule as a direct GET (cockpit.auth)
        if denied is not None:
            return denied, lang
        ctx = PageContext(lang=lang, settings=settings, query=query, path=path, may_open=page_permission(stores),
                          home_city=viewer_home_city(stores))
        return builder(ctx, **groups), lang
