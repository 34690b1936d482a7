"""Assessment, hot topics and the report archive over HTTP, and the parameter parsing the CLI shares.

``assessment_document`` / ``topics_document`` take raw strings, so ``GET /api/v1/assessment``
and ``cockpit assess --json`` answer the same JSON for the same parameters. Bad parameters raise
``ParamError`` -> 400 ``{"error", "field"}``. Reads need a session or a bearer token whose scope covers the
scope asked for: the access guard (cockpit.auth.policy) checks ``scope`` before these views run.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import re

from flask import Blueprint, abort, current_app, jsonify, request, send_from_directory

from cockpit import periods
from cockpit import timeutil
from cockpit.errors import ParamError
from cockpit.http.kpi import _known, _scope, parse_window
from cockpit.metrics import assessment
from cockpit.store.db import Stores

bp = Blueprint("cockpit_reports", __name__)
TOPICS_MAX_WINDOW = timedelta(days=92)  # the baseline reads four windows more


def parse_period(kind: str | None, end: str | None, *, tz, now: datetime) -> periods.Period:
    """``--period week|month|year`` and ``--end YYYY-MM-DD`` (default: yesterday, local)."""
    kind = (kind or "month").strip()
    if kind not in periods.PERIODS:
        raise ParamError("period", f"period must be one of {', '.join(periods.PERIODS)}")
    if end:
        try:
            last = date.fromisoformat(end.strip())
        except ValueError:
            raise ParamError("end", f"not a date (YYYY-MM-DD): {end!r}") from None
    else:
        last = periods.default_end(now, tz)
    return periods.period(kind, last)


def check_scope(stores: Stores, scope: str | None) -> str:
    """The scope code if the cockpit knows it, else ParamError('scope')."""
    code = _scope(scope)
    with stores.read_session() as session:
        return _known(session, code)


def parse_weights(text: str | None) -> dict[str, float] | None:
    if not text:
        return None
    try:
        weights = assessment.parse_weights(text)
        assessment.config(None, weights)
    except ValueError as exc:
        raise ParamError("weights", str(exc)) from None
    return weights


def assessment_document(stores: Stores, *, scope: str | None, level: str | None = None,
                        period: str | None = None, end: str | None = None, weights: str | None = None,
                        now: datetime | None = None) -> dict[str, Any]:
    """The assessment of a scope's districts (or handling units) for a period."""
    now = timeutil.naive_utc(now) if now is not None else timeutil.utcnow()
    code = check_scope(stores, scope)
    level = (level or "district").strip()
    if level not in assessment.LEVELS:
        raise ParamError("level", f"level must be one of {', '.join(assessment.LEVELS)}")
    p = parse_period(period, end, tz=stores.settings.tz, now=now)
    start, stop = p.window(stores.settings.tz)
    try:
        with stores.read_session() as session:
            doc = assessment.assess(session, scope=code, level=level, start=start, end=stop,
                                    settings=stores.settings, now=now, weights=parse_weights(weights))
    except ValueError as exc:  # weights from the deployment's configuration
        raise ParamError("weights", str(exc)) from None
    doc["period"] = p.as_dict()
    return doc


def topics_document(stores: Stores, *, scope: str | None, from_: str | None, to: str | None,
                    now: datetime | None = None) -> dict[str, Any]:
    """Hot topics among a scope's tickets created in ``[from, to)`` (default: today so far)."""
    from cockpit import topics

    now = timeutil.naive_utc(now) if now is not None else timeutil.utcnow()
    code = check_scope(stores, scope)
    start, end = parse_window(from_, to, tz=stores.settings.tz, now=now)
    if end - start > TOPICS_MAX_WINDOW:
        raise ParamError("to", f"window longer than {TOPICS_MAX_WINDOW.days} days")
    with stores.read_session() as session:
        found = topics.topics_for(session, scope=code, start=start, end=end)
    cfg = topics.Config()
    return {"scope": code, "from": start.replace(tzinfo=UTC).isoformat(),
            "to": end.replace(tzinfo=UTC).isoformat(),
            "baseline_from": (start - (end - start) * cfg.baseline_periods).replace(tzinfo=UTC).isoformat(),
            "method": {"threshold": cfg.threshold, "link_days": cfg.link_days, "min_size": cfg.min_size,
                       "baseline_periods": cfg.baseline_periods, "emerging_growth": topics.EMERGING_GROWTH},
            "topics": found}


# ---------------------------------------------------------------- HTTP

def _stores() -> Stores:
    return current_app.config["COCKPIT_STORES"]


@bp.errorhandler(ParamError)
def _param_error(exc: ParamError):
    return jsonify(exc.as_dict()), 400


@bp.get("/api/v1/assessment")
def get_assessment():
    """Assessment for ?scope=CODE&level=district|unit&period=month&end=YYYY-MM-DD[&weights=m=w,...]."""
    args = request.args
    stores = _stores()
    return jsonify(assessment_document(stores, scope=args.get("scope"), level=args.get("level"),
                                       period=args.get("period"), end=args.get("end"),
                                       weights=args.get("weights")))


@bp.get("/api/v1/topics")
def get_topics():
    """Hot topics for ?scope=CODE&from=ISO&to=ISO."""
    args = request.args
    stores = _stores()
    return jsonify(topics_document(stores, scope=args.get("scope"), from_=args.get("from"), to=args.get("to")))


FILE_NAME = re.compile(r"^(report\.(zh|en)\.(html|pdf)|figures\.json)$")
FOLDER = re.compile(r"^(week|month|year)-\d{4}-\d\d-\d\d_\d{4}-\d\d-\d\d$")
SCOPE_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


@bp.get("/reports/files/<scope>/<folder>/<name>")
def get_report_file(scope: str, folder: str, name: str):
    """One file of the archive (HTML, PDF or figures), by its exact name; nothing else is served."""
    if not (SCOPE_CODE.match(scope) and FOLDER.match(folder) and FILE_NAME.match(name)):
        abort(404)
    from cockpit.reports import reports_dir

    base = reports_dir(_stores().settings).resolve()
    return send_from_directory(base / scope / folder, name, max_age=0)


__all__ = ["bp", "assessment_document", "parse_period", "parse_window", "topics_document"]
