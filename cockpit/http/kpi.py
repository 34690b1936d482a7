"""KPI, rankings and staffing over HTTP (a Flask blueprint) and the parameter parsing the CLI shares.

``kpi_document``/``rankings_document``/``staffing_document`` take the raw query strings, so
``GET /api/v1/kpi`` and ``cockpit kpi --json`` answer the same JSON for the same parameters.
Bad parameters raise ``ParamError`` -> 400 ``{"error": ..., "field": ...}``.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from cockpit import timeutil
from cockpit.errors import ParamError, UnknownScope
from cockpit.metrics import definitions, kpi, staffing
from cockpit.planning import live as planning_live
from cockpit.store import regions
from cockpit.store.db import Stores
from cockpit.store.regions import scope_level

bp = Blueprint("cockpit_kpi", __name__)

MAX_WINDOW = timedelta(days=400)
MAX_SL_THRESHOLD_S = 3600
# Documented ranges of GET /api/v1/staffing/erlang (docs/security.md): a centre of up to 20,000 calls
# an hour, calls up to an hour long, answer thresholds up to 10 minutes, patience 10 s to an hour.
ERLANG_BOUNDS = {"arrivals_per_hour": 20_000, "aht": 3_600, "threshold": 600, "patience_min": 10, "patience": 3_600}
STAFFING_TIME_LIMIT_S = 2.0  # CPU seconds one Erlang answer may take; past it: 422
PLAN_TIME_LIMIT_S = 10.0  # CPU seconds a two-hour staffing plan (forecast + Erlang per interval) may take
MIN_YEAR, MAX_YEAR = 1900, 2999  # times outside this are typos, and near year 1 or 9999 zones overflow


def parse_time(text: str, field: str, tz) -> datetime:
    """ISO 8601 date or date-time -> naive UTC. Without a zone it is read in ``tz`` (Settings.tz)."""
    value = text.strip()
    # An unescaped '+' in a query string arrives as a space: '...T10:00:00 08:00'.
    if re.search(r"T[\d:.]+ \d\d:?\d\d$", value):
        value = value[:-6] + "+" + value[-5:] if value[-3] == ":" else value[:-5] + "+" + value[-4:]
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ParamError(field, f"not an ISO 8601 date or date-time: {text[:64]!r}") from None
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise ParamError(field, f"year outside {MIN_YEAR}..{MAX_YEAR}: {text[:64]!r}")
    return timeutil.naive_utc(moment, tz)


def _number(text: str | None, field: str, *, low: float, high: float) -> float | None:
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise ParamError(field, f"not a number: {text!r}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ParamError(field, f"must be between {low:g} and {high:g}")
    return value


def _scope(value: str | None) -> str:
    if not value or not value.strip():
        raise ParamError("scope", "scope is required (a province, city or district code)")
    if len(value) > 32:
        raise ParamError("scope", "scope code longer than 32 characters")
    return value.strip()


def _known(session, code: str) -> str:
    """``code`` if the cockpit knows the region (regions table, or calls/tickets carry it), else ParamError."""
    if scope_level(session, code) is None:
        raise ParamError("scope", f"unknown region code {code!r}: not in the regions table and no call or "
                                  "ticket carries it (see 'cockpit regions list')")
    return code


def parse_window(from_text: str | None, to_text: str | None, *, tz,
                 now: datetime) -> tuple[datetime, datetime]:
    """``[from, to)`` in naive UTC; ``from`` defaults to today's local midnight, ``to`` to now."""
    if from_text:
        start = parse_time(from_text, "from", tz)
    else:
        local = now.replace(tzinfo=UTC).astimezone(tz)
        start = timeutil.naive_utc(local.replace(hour=0, minute=0, second=0, microsecond=0))
    end = parse_time(to_text, "to", tz) if to_text else now
    if end <= start:
        raise ParamError("to", "'to' must be after 'from'")
    if end - start > MAX_WINDOW:
        raise ParamError("to", f"window longer than {MAX_WINDOW.days} days")
    return start, end


def kpi_document(stores: Stores, *, scope: str | None, from_: str | None, to: str | None,
                 sl_threshold: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """The KPI JSON for raw parameters (as given in a query string or on the command line)."""
    now = timeutil.naive_utc(now) if now is not None else timeutil.utcnow()
    settings = stores.settings
    code = _scope(scope)
    start, end = parse_window(from_, to, tz=settings.tz, now=now)
    threshold = _number(sl_threshold, "sl_threshold", low=0, high=MAX_SL_THRESHOLD_S)
    with stores.read_session() as session:
        _known(session, code)
        try:
            return kpi.kpi(session, scope=code, start=start, end=end, settings=settings, now=now,
                               sl_threshold_s=threshold)
        except UnknownScope as exc:
            raise ParamError("scope", str(exc)) from None


def rankings_document(stores: Stores, *, scope: str | None, level: str | None, from_: str | None,
                      to: str | None, now: datetime | None = None) -> dict[str, Any]:
    now = timeutil.naive_utc(now) if now is not None else timeutil.utcnow()
    code = _scope(scope)
    level = (level or "district").strip()
    if level not in definitions.RANKING_LEVELS:
        raise ParamError("level", f"level must be one of {', '.join(definitions.RANKING_LEVELS)}")
    start, end = parse_window(from_, to, tz=stores.settings.tz, now=now)
    with stores.read_session() as session:
        _known(session, code)
        doc = kpi.rankings(session, scope=code, level=level, start=start, end=end,
                               settings=stores.settings, now=now)
        names = regions.name_table(session, [r["key"] for r in doc["rows"] if r["key"]]) if level != "unit" else {}
    for row in doc["rows"]:  # districts and cities by name too (a unit's key is its name)
        zh, en = names.get(row["key"], (None, None))
        row["name"] = zh or row["key"]
        row["name_en"] = en or zh or row["key"]
    return doc


def staffing_document(stores: Stores, *, scope: str | None, at: str | None = None,
                      target: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Required vs staffed seats for now and the next two hours (``at`` replaces now)."""
    now = timeutil.naive_utc(now) if now is not None else timeutil.utcnow()
    code = _scope(scope)
    moment = parse_time(at, "at", stores.settings.tz) if at else now
    sl_target = _number(target, "target", low=0.01, high=0.999)
    with stores.read_session() as session, staffing.time_limit(PLAN_TIME_LIMIT_S):
        _known(session, code)
        rows = planning_live.staffing_plan(session, scope=code, now=moment, settings=stores.settings, target=sl_target)
    return {"scope": code, "now": moment.replace(tzinfo=UTC).isoformat(), "intervals": rows,
            "sl_threshold_s": stores.settings.sl_threshold_s,
            "definitions_version": definitions.DEFINITIONS_VERSION}


def erlang_document(*, arrivals_per_hour: str | float | None, aht: str | float | None,
                    target: str | float | None, threshold: str | float | None,
                    patience: str | float | None = None) -> dict[str, Any]:
    """One interval's staffing answer (Erlang C; Erlang A too when ``patience`` is given)."""
    def num(v, field, low, high, required=True):
        value = _number(None if v is None else str(v), field, low=low, high=high)
        if value is None and required:
            raise ParamError(field, f"{field} is required")
        return value

    lam_h = num(arrivals_per_hour, "arrivals_per_hour", 0, ERLANG_BOUNDS["arrivals_per_hour"])
    aht_s = num(aht, "aht", 1, ERLANG_BOUNDS["aht"])
    sl_target = num(target, "target", 0.01, 0.999)
    threshold_s = num(threshold, "threshold", 0, ERLANG_BOUNDS["threshold"])
    patience_s = num(patience, "patience", ERLANG_BOUNDS["patience_min"], ERLANG_BOUNDS["patience"], required=False)
    with staffing.time_limit(STAFFING_TIME_LIMIT_S):
        out = staffing.erlang_c_summary(lam_h, aht_s, sl_target, threshold_s)
        if patience_s is not None:
            lam = lam_h / 3600.0
            n = staffing.required_erlang_a(lam, aht_s, patience_s, threshold_s, sl_target)
            out["erlang_a"] = {"required_seats": n, **staffing.erlang_a(n, lam, aht_s, patience_s, threshold_s)}
    out["definitions_version"] = definitions.DEFINITIONS_VERSION
    return out


# ---------------------------------------------------------------- HTTP

def _stores() -> Stores:
    return current_app.config["COCKPIT_STORES"]


@bp.errorhandler(ParamError)
def _param_error(exc: ParamError):
    return jsonify(exc.as_dict()), 400


@bp.errorhandler(staffing.TooLong)
def _too_long(exc: staffing.TooLong):
    return jsonify({"error": "computation over its CPU-time limit; narrow the inputs"}), 422


@bp.get("/api/v1/kpi")
def get_kpi():
    """KPIs for ?scope=CODE&from=ISO&to=ISO[&sl_threshold=S]."""
    args = request.args
    return jsonify(kpi_document(_stores(), scope=args.get("scope"), from_=args.get("from"), to=args.get("to"),
                                sl_threshold=args.get("sl_threshold")))


@bp.get("/api/v1/rankings")
def get_rankings():
    """League table for ?scope=CODE&level=district|unit|city&from&to."""
    args = request.args
    return jsonify(rankings_document(_stores(), scope=args.get("scope"), level=args.get("level"),
                                     from_=args.get("from"), to=args.get("to")))


@bp.get("/api/v1/staffing")
def get_staffing():
    """Required vs staffed seats for ?scope=CITY[&at=ISO][&target=0.8]."""
    args = request.args
    return jsonify(staffing_document(_stores(), scope=args.get("scope"), at=args.get("at"),
                                     target=args.get("target")))


@bp.get("/api/v1/staffing/erlang")
def get_erlang():
    """Erlang C (and A) for ?arrivals_per_hour=X&aht=S&target=0.8&threshold=T[&patience=S]."""
    args = request.args
    return jsonify(erlang_document(arrivals_per_hour=args.get("arrivals_per_hour"), aht=args.get("aht"),
                                   target=args.get("target"), threshold=args.get("threshold"),
                                   patience=args.get("patience")))
