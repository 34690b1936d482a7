"""One place that turns failures into honest HTTP answers: never an HTML 500 for the JSON API.

- A store outage (database down, locked past ``db_lock_timeout_s``, pool exhausted; Redis down where
  a route needs it) -> 503 ``{"error", "retry_after_s"}`` with a ``Retry-After`` header. The time is
  remembered so ``/healthz`` reports the database failing until a write probe succeeds again.
- A request the domain refuses (``RequestError``, ``ParamError``: both name the field) -> 400.
- JSON nested too deep to parse -> 400 naming the body.
- Anything else under ``/api/`` -> a JSON 500 (logged), never Flask's HTML page.
"""

from __future__ import annotations

import logging
import time

import redis
from flask import Flask, current_app, jsonify, request
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from cockpit.http.kpi import ParamError
from cockpit.views.grid_request import RequestError

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5
FAILED_AT = "COCKPIT_DB_FAILED_AT"  # app.config key: monotonic time of the last database outage seen
STORE_OUTAGES = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)


def unavailable(what: str, exc: BaseException):
    """The 503 answer for an outage of ``what`` (database or redis)."""
    if what == "database":
        current_app.config[FAILED_AT] = time.monotonic()
    log.warning("%s unavailable for %s %s: %s", what, request.method, request.path, exc.__class__.__name__)
    response = jsonify({"error": f"{what} unavailable, retry later", "retry_after_s": RETRY_AFTER_S})
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def recent_database_failure(app: Flask, within_s: float = 2 * RETRY_AFTER_S) -> bool:
    failed = app.config.get(FAILED_AT)
    return failed is not None and time.monotonic() - failed < within_s


def register(server: Flask) -> None:
    """Install the handlers on the Flask server (API blueprints and Dash callbacks alike)."""

    def _database_down(exc):
        return unavailable("database", exc)

    for outage in STORE_OUTAGES:
        server.register_error_handler(outage, _database_down)

    @server.errorhandler(redis.exceptions.ConnectionError)
    @server.errorhandler(redis.exceptions.TimeoutError)
    def _redis_down(exc):
        return unavailable("redis", exc)

    @server.errorhandler(RequestError)
    @server.errorhandler(ParamError)
    def _bad_request(exc):
        return jsonify(exc.as_dict()), 400

    @server.errorhandler(RecursionError)
    def _too_deep(exc):
        return jsonify({"error": "JSON nested too deeply", "field": "(body)"}), 400

    @server.errorhandler(Exception)
    def _unexpected(exc):
        if isinstance(exc, HTTPException):
            if request.path.startswith("/api/"):
                return jsonify({"error": exc.description or exc.name}), exc.code
            return exc
        log.exception("unhandled error on %s %s", request.method, request.path)
        if request.path.startswith("/api/") or request.path.startswith("/_dash"):
            return jsonify({"error": "internal error"}), 500
        return "internal error", 500
