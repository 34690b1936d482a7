"""Seat planning over HTTP (a Flask blueprint): the forecast and the weekly roster.

``forecast_document``/``roster_document`` take raw parameter strings, so ``GET /api/v1/forecast``
and ``cockpit forecast --json`` answer the same JSON. Bad parameters raise ``ParamError`` -> 400.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, current_app, g, has_request_context, jsonify, request

from cockpit import timeutil
from cockpit.auth.principal import SYSTEM
from cockpit.errors import ParamError
from cockpit.http.kpi import _number, _scope, parse_time
from cockpit.metrics import definitions
from cockpit.planning import forecast as planning_forecast
from cockpit.planning import live, roster
from cockpit.store.db import Stores

bp = Blueprint("cockpit_planning", __name__)


def forecast_document(stores: Stores, *, scope: str | None, days: str | int | None = None,
                      from_: str | None = None, level: str | float | None = None,
                      now: datetime | None = None) -> dict[str, Any]:
    """Offered calls per 15 minutes for ``days`` days from ``from_`` (default: the current interval),
    with the central ``level`` prediction interval (default 0.8), and the total per local day."""
    now = timeutil.naive_utc(now) if now is not None else timeutil.utcnow()
    settings = stores.settings
    code = _scope(scope)
    n_days = _number(None if days is None else str(days), "days", low=1, high=planning_forecast.MAX_DAYS) or 1
    if n_days != int(n_days):
        raise ParamError("days", "days must be a whole number")
    pi = _number(None if level is None else str(level), "level", low=0.5, high=0.99) or planning_forecast.DEFAULT_LEVEL
    start = parse_time(from_, "from", settings.tz) if from_ else now
    starts = planning_forecast.interval_starts(start, timeutil.floor_interval(start) + timedelta(days=int(n_days)))
    with stores.session() as session:
        cities = live.scope_cities(session, code)
        fc = planning_forecast.forecast_for(session, cities=cities, starts=starts, now=now, settings=settings,
                                            level=pi)
    per_day: dict[str, float] = defaultdict(float)
    for s, m in zip(fc.starts, fc.mean):
        per_day[s.replace(tzinfo=UTC).astimezone(settings.tz).date().isoformat()] += m
    return {"scope": code, "now": now.replace(tzinfo=UTC).isoformat(), "days": int(n_days),
            "method": fc.method, "level": fc.level, "basis": fc.basis, "timezone": settings.timezone,
            "per_day": [{"date": d, "forecast": round(v, 1)} for d, v in per_day.items()],
            "intervals": fc.rows(), "definitions_version": definitions.DEFINITIONS_VERSION}


def _saver() -> str:
    """Who keeps a plan: the request's principal (set by the access guard), else the system (CLI, worker)."""
    principal = g.get("principal") if has_request_context() else None
    return principal.label if principal is not None else SYSTEM.label


def roster_document(stores: Stores, *, scope: str | None, week: str | None = None, target: str | float | None = None,
                    replan: bool = False, now: datetime | None = None, by: str | None = None) -> dict[str, Any]:
    """The roster of an ISO week (``YYYY-Www``, default next week) for a city or province.

    A plan is kept once made (saved in SQL with who saved it, ``by``, default the caller, and when;
    copied to Redis for the wall) so the wall and the page show the same plan all week; ``replan``
    computes and keeps it again from the data up to now. Another ``target`` is a what-if: computed,
    never kept."""
    now = timeutil.naive_utc(now) if now is not None else timeutil.utcnow()
    settings = stores.settings
    code = _scope(scope)
    sl_target = _number(None if target is None else str(target), "target", low=0.01, high=0.999)
    local_today = now.replace(tzinfo=UTC).astimezone(settings.tz).date()
    try:
        monday = roster.parse_week(week, today=local_today)
    except roster.RosterError as exc:
        raise ParamError(exc.field, exc.message) from None
    return live.week_roster(stores, scope=code, monday=monday, now=now, by=by or _saver(), target=sl_target,
                            replan=replan)


# ---------------------------------------------------------------- HTTP

def _stores() -> Stores:
    return current_app.config["COCKPIT_STORES"]


@bp.errorhandler(ParamError)
def _param_error(exc: ParamError):
    return jsonify(exc.as_dict()), 400


@bp.get("/api/v1/forecast")
def get_forecast():
    """Offered calls per 15 minutes for ?scope=CODE[&days=N][&from=ISO][&level=0.8]."""
    args = request.args
    return jsonify(forecast_document(_stores(), scope=args.get("scope"), days=args.get("days"),
                                     from_=args.get("from"), level=args.get("level")))


@bp.get("/api/v1/roster")
def get_roster():
    """The week's roster for ?scope=CODE[&week=YYYY-Www][&target=0.8] (the kept plan, or a new one)."""
    args = request.args
    return jsonify(roster_document(_stores(), scope=args.get("scope"), week=args.get("week"),
                                   target=args.get("target")))
