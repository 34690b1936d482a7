"""The web app: ``create_app(settings)`` builds the Dash app with its API; ``server`` serves gunicorn."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from dash import Dash

from cockpit.settings import Settings
from cockpit.store.db import Stores

ASSETS = Path(__file__).parent / "assets"
log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, stores: Stores | None = None,
               warm: bool | str = False) -> Dash:
    """A Dash app wired to the cockpit's stores. Serves every asset locally (works offline).

    ``warm``: prepare every screen map (and the pinyin tables of English names) so the screens that
    connect first do not wait for them: ``True`` in a background thread (``cockpit serve``, the
    demo), ``"first"`` before returning (gunicorn's ``app:server``: a worker loads the app before it
    accepts a connection, so it takes no request while it prepares, about 2 s of CPU)."""
    import callbacks
    from cockpit.http import events as api
    from cockpit.http import alerts as api_alerts
    from cockpit.http import errors as api_errors
    from cockpit.http import kpi as api_kpi
    from cockpit.http import open311 as api_open311
    from cockpit.http import openapi as api_openapi
    from cockpit.http import reports as api_reports
    from cockpit.http import slots
    from cockpit.http import planning as api_planning
    from cockpit.auth import web as access
    from layouts.i18n import t
    from layouts.shell import app_shell

    settings = settings or Settings.from_env()
    stores = stores or Stores.open(settings)
    app = Dash(
        __name__,
        assets_folder=str(ASSETS),
        serve_locally=True,
        suppress_callback_exceptions=True,
        title=t("app.title", settings.language),
        update_title=None,
        compress=True,
    )
    app.layout = app_shell
    _keep_index(app)
    server = app.server
    server.config["COCKPIT_STORES"] = stores
    slots.install(server)  # first of the hooks: a few requests of a process at work at once
    for blueprint in (api.bp, api_kpi.bp, api_alerts.bp, api_open311.bp, api_reports.bp, api_planning.bp,
                      api_openapi.bp):
        server.register_blueprint(blueprint)
    api_errors.register(server)
    # Access control: the guard in front of every route, login, kiosk links, security headers.
    access.install(app, stores, settings)
    callbacks.register(app, stores)
    _keep_dash_json(app)  # after the guard: it answers only requests the guard let through
    _register_region_shapes(stores)
    if warm == "first":
        _warm_screens(stores)
    elif warm:
        threading.Thread(target=_warm_screens, args=(stores,), name="warm-screen-maps", daemon=True).start()
    return app


def _warm_screens(stores: Stores) -> None:
    """Every screen map of the regions table's cities and provinces, in both languages."""
    from sqlalchemy import select

    from cockpit.store.models import Region
    from geo.names import pinyin_name
    from layouts.mapdata import warm_screen_maps

    started = time.perf_counter()
    try:
        with stores.read_session() as session:
            codes = sorted(session.scalars(select(Region.code).where(Region.level.in_(("province", "city")))))
        done = warm_screen_maps(codes)
        pinyin_name("兰州")  # loads pypinyin's tables (0.3 s), which an English page's first build asks
        log.info("prepared %d screen maps in %.1f s", done, time.perf_counter() - started)
    except Exception:  # noqa: BLE001 - a warm-up only saves time: the screens prepare their maps anyway
        log.warning("screen maps not prepared ahead", exc_info=True)


def _keep_index(app: Dash) -> None:
    """Build Dash's index HTML once per process instead of on every page GET: it depends only on
    the app's scripts, styles and config, fixed once the app runs (every screen's connect asks it).
    With hot reload (``cockpit serve --debug``) asset URLs change as files change: built each time."""
    build = app.index
    kept: list[str] = []

    def index(*args, **kwargs):
        if getattr(getattr(app, "_dev_tools", None), "hot_reload", False):
            return build(*args, **kwargs)
        if not kept:
            kept.append(build(*args, **kwargs))
        return kept[0]

    app.index = index


def _keep_dash_json(app: Dash) -> None:
    """Answer ``/_dash-layout`` and ``/_dash-dependencies`` with bytes built once per process: the
    app shell and the callback list are the same for every screen (each connect asks both)."""
    from flask import Response, request

    views = {"/_dash-layout": app.serve_layout, "/_dash-dependencies": app.dependencies}
    kept: dict[str, bytes] = {}

    @app.server.before_request
    def _kept_dash_json():
        if request.method != "GET" or request.path not in views:
            return None
        if getattr(getattr(app, "_dev_tools", None), "hot_reload", False):
            return None
        if request.path not in kept:
            kept[request.path] = views[request.path]().get_data()
        return Response(kept[request.path], mimetype="application/json")


def _register_region_shapes(stores: Stores) -> None:
    """Make regions a deployment loaded itself (``cockpit regions load``) drawable and locatable."""
    from sqlalchemy.exc import SQLAlchemyError

    from geo.regions import register_stored_shapes

    try:
        with stores.session() as session:
            register_stored_shapes(session)
    except SQLAlchemyError as exc:  # a database without schema yet: the pages say so, the app still starts
        log.warning("region shapes not loaded (%s); run 'cockpit db upgrade'", exc.__class__.__name__)


def __getattr__(name: str):
    # ``app:server`` for gunicorn, built lazily so importing this module opens nothing.
    if name == "server":
        return create_app(warm="first").server
    raise AttributeError(name)
