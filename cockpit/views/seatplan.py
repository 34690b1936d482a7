"""The supervision page's planning panel: today's calls against the forecast, and seats required,
planned and logged in now and for the next two hours.

* Calls offered so far today per 15 minutes against the **day-ahead** forecast (the model fitted
  on the history before local midnight, as a plan made for the day would have seen it), with its
  80 % interval;
* the next two hours from the **live** forecast (``planning.forecast.forecast_for`` at now, with
  today's intraday update), the one the wall's staffing panel uses;
* seats required (Erlang A), planned (the kept roster) and logged in (staffed now) from the wall's
  staffing panel (``views.panels``: precomputed by the worker, the same figures as the wall).

The region is the URL's city (or the city of its district), else the caller's own scope; a
place outside the caller's scope is refused (AccessDenied 403). Calls carry no district, so a
district scope has no panel (``available`` False). Times: ISO UTC; the layout shows them local.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cockpit import timeutil
from cockpit.metrics import queries
from cockpit.planning import forecast as planning_forecast
from cockpit.store.regions import resolve_scope
from cockpit.views import panels

HORIZON = timedelta(hours=2)
DAY_AHEAD_TTL_S = 3600.0  # the day-ahead forecast of a day does not change: one fit an hour at most


def _caller():
    from cockpit.auth.web import current_principal

    return current_principal()


def plan_scope(session, query: dict[str, str], principal, default: str) -> tuple[str | None, str]:
    """(region code, how it was chosen: 'query' | 'district' | 'own'). The URL's city, else the city
    of its district, else the caller's own scope (``default``, the province, for an unrestricted one)."""
    from cockpit.auth.scope import ancestors

    if query.get("city"):
        return str(query["city"]), "query"
    if query.get("district"):
        chain = ancestors(session, str(query["district"]))
        parent = next((c for c in chain if c != query["district"] and resolve_scope(session, c)[0] == "city"), None)
        if parent is not None:
            return parent, "district"
    if principal.role == "system" or "*" in principal.scopes:
        return default, "own"
    return principal.scope or None, "own"


def _day_ahead(stores, cities: tuple[str, ...], day0: datetime, starts: list[datetime]) -> planning_forecast.Forecast:
    """The forecast of ``starts`` from the history before ``day0`` (naive UTC local midnight), cached."""
    def fit():
        with stores.session() as session:
            return planning_forecast.forecast_for(session, cities=list(cities), starts=starts, now=day0,
                                                  settings=stores.settings, intraday=False)

    key = ("seatplan.day_ahead", cities, day0, len(starts))
    value, _stamp = stores.caches.ttl.get(key, DAY_AHEAD_TTL_S, fit)
    return value


def supervise_plan(stores, query: dict[str, str], *, now: datetime | None = None, principal=None) -> dict[str, Any]:
    """Everything the planning panel of /supervise shows for a URL query (JSON-ready)."""
    from cockpit.auth.scope import covers_code, require_code

    settings = stores.settings
    tz = settings.tz
    now_n = timeutil.naive_utc(now) if now is not None else timeutil.utcnow()
    principal = principal or _caller()
    with stores.session() as session:
        code, chosen = plan_scope(session, query, principal, settings.province)
        if code and chosen == "district" and not covers_code(session, principal.scopes, code):
            code = None  # a district user's own district: its city's calls are not theirs to see
        elif code:
            require_code(session, principal, code)
        level, cities, _districts = resolve_scope(session, code) if code else ("district", (), None)
    out: dict[str, Any] = {"scope": code, "level": level, "timezone": settings.timezone,
                           "now": now_n.replace(tzinfo=UTC).isoformat(), "available": bool(cities) and level != "district"}
    if not out["available"]:
        return out
    cities = tuple(cities)
    local_day = now_n.replace(tzinfo=UTC).astimezone(tz).date()
    day0 = timeutil.naive_utc(timeutil.local_midnight(local_day, tz))
    end = timeutil.floor_interval(now_n)
    past = planning_forecast.interval_starts(day0, end + timeutil.INTERVAL)  # today so far, the current interval too
    ahead = planning_forecast.interval_starts(end, now_n + HORIZON)
    with stores.session() as session:
        seen = queries.offered_per_interval(session, cities=cities, start=day0, end=now_n)
        live = planning_forecast.forecast_for(session, cities=list(cities), starts=ahead, now=now_n, settings=settings,
                                              cache=stores.caches.ttl)
    before = _day_ahead(stores, cities, day0, past)
    staffing, _at = panels.panel(stores, code, cities, "staffing", now_n.replace(tzinfo=UTC))
    staffing = staffing or {}

    def iso(s: datetime) -> str:
        return s.replace(tzinfo=UTC).isoformat()

    # so far: the whole intervals and the elapsed share of the current one
    elapsed = (now_n - end).total_seconds() / timeutil.INTERVAL.total_seconds()
    offered = sum(seen.get(s, 0) for s in past)
    expected = sum(m * (1.0 if s < end else elapsed) for s, m in zip(past, before.mean))
    seats = {r["start"]: r for r in staffing.get("next") or []}
    out.update({
        "method": live.method, "day_ahead_method": before.method, "level_pi": live.level,
        "forecast_ready": live.method == planning_forecast.MODEL,
        "history_from": live.basis.get("history_from"),
        "today": [{"start": iso(s), "offered": seen.get(s, 0), "forecast": round(before.mean[i], 2),
                   "lower": round(before.lower[i], 2), "upper": round(before.upper[i], 2), "whole": s < end}
                  for i, s in enumerate(past)],
        "ahead": [{"start": iso(s), "forecast": round(m, 2), "lower": round(lo, 2), "upper": round(hi, 2),
                   "required": (seats.get(iso(s)) or {}).get("required"),
                   "planned": (seats.get(iso(s)) or {}).get("planned")}
                  for s, m, lo, hi in zip(live.starts, live.mean, live.lower, live.upper)],
        "totals": {
            "offered_so_far": offered,
            "forecast_so_far": round(expected, 1),
            "ratio": round(offered / expected, 3) if expected > 0 else None,
            "forecast_next": round(sum(live.mean), 1),
        },
        "intraday": live.basis.get("intraday"),
        "seats": {"required": staffing.get("required"), "planned": staffing.get("planned"),
                  "logged_in": staffing.get("staffed"), "adherence": staffing.get("adherence"),
                  "interval_start": staffing.get("interval_start"),
                  "peak_required": max((r["required"] for r in staffing.get("next") or []
                                        if r.get("required") is not None), default=None),
                  "peak_planned": max((r["planned"] for r in staffing.get("next") or []
                                       if r.get("planned") is not None), default=None)},
    })
    return out
