"""The wall's slow panels: SQL figures computed by the worker every minute and read from Redis.

Comparison curves of past weeks ("baselines"), category norms ("catnorm"), seat utilisation
("util"), staffing and the province league table are computed by the worker job
``precompute_panels`` (every 60 s), today's hot topics ("topics", ``views.topics``) by
``precompute_topics`` (every TOPICS_INTERVAL_S), and stored with ``store.panels``, so a refresh
only reads them, in any web process. A panel missing from Redis
(fresh start, no worker) is computed inline once, under a short Redis lock, and stored; one older
than twice its interval (``PANELS``) is recomputed the same way and meanwhile shown stale. While
Redis fails, panels come from the in-process cache on ``stores.caches``. The exception are the
WORKER_ONLY panels (hot topics: seconds of text segmentation): a refresh never computes them; it
shows the stored value, stale or not, or none. "Today" is the local day of ``settings.timezone``.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime, timedelta
from statistics import median
from collections.abc import Sequence
from typing import Any

import redis

from cockpit.metrics import kpi, queries
from cockpit.metrics.definitions import TicketCounts
from cockpit.planning import live as planning_live
from cockpit.metrics.queries import category_counts, daily_tickets, interval_series
from cockpit.store import live, panels
from cockpit.store.db import Stores
from cockpit.timeutil import local_midnight, naive_utc
from cockpit.views.curves import cumulative, intervals_to_minutes, median_curve
from cockpit.views.regions import SLOW_TTL_S, province_cities, resolve
from cockpit.views.sources import SOURCE_ERRORS, live_key
from cockpit.views.topics import TOPICS_INTERVAL_S, compute_city_topics

log = logging.getLogger(__name__)

BASELINE_WEEKS = 4
RATE_ONLY_FORECASTS = ("recent_rate", "last_hour_rate")  # planning.forecast without enough history
HISTORY_NEEDED_DAYS = BASELINE_WEEKS * 7  # comparisons against "normal" need this many days before today
BASELINE_TTL_S = 300.0  # past days' curves; recomputed when the cache entry expires
LEAGUE_DAYS = 30
LEAGUE_TICKET_RATES = ("response_rate", "resolution_rate", "satisfaction_rate", "on_time_closure_rate")
TREND_DAYS = 14

# Panel name -> its refresh interval in seconds (older than twice this, the screen marks it stale).
PANELS = {"baselines": BASELINE_TTL_S, "catnorm": SLOW_TTL_S, "util": SLOW_TTL_S, "staffing": SLOW_TTL_S,
          "league": SLOW_TTL_S, "topics": TOPICS_INTERVAL_S}
CITY_PANELS = ("baselines", "catnorm", "util", "staffing")
WORKER_ONLY = frozenset({"topics"})  # never computed by a screen refresh: only by their own worker job
PROVINCE_PANELS = ("league",)


def _past_day_curves(stores: Stores, cities: tuple[str, ...], day: date, today: date) -> dict[str, Any]:
    """Cumulative per-minute curves (offered, tickets) of a past local day, and where they came from.

    From the live minute series when the day is within the Redis TTL and Redis holds it, else
    from SQL (15-minute rollups or raw rows). A day without any data gives None curves.
    """
    settings = stores.settings
    age_days = (today - day).days
    if age_days < settings.live_ttl_days:
        series = live.minute_series(stores.redis, cities, day.strftime("%Y%m%d"))
        if any(series["off"]) or any(series["tkt"]):
            return {"offered": cumulative(series["off"]), "tickets": cumulative(series["tkt"]), "source": "live"}
    start = naive_utc(local_midnight(day, settings.tz))
    with stores.read_session() as session:
        offered = interval_series(session, cities=cities, start=start, kind="offered")
        tickets = interval_series(session, cities=cities, start=start, kind="tickets")
    if not any(offered) and not any(tickets):
        return {"offered": None, "tickets": None, "source": "none"}
    return {"offered": intervals_to_minutes(offered), "tickets": intervals_to_minutes(tickets), "source": "sql"}


def history_days(stores: Stores, cities: Sequence[str], today: date) -> dict[str, int]:
    """How many of the ``needed`` local days before ``today`` hold any ticket of ``cities``:
    {"days", "needed"}, ``needed`` = the deployment's ``history_days`` (at most HISTORY_NEEDED_DAYS:
    a demo seeded with ``--days 7`` needs its 7). Below "needed", baselines and norms are built from
    part of their weeks (a demo still loading its history, a new deployment) and the screens say so
    instead of comparing."""
    needed = max(1, min(HISTORY_NEEDED_DAYS, stores.settings.history_days))
    days = [today - timedelta(days=needed - i) for i in range(needed)]
    with stores.read_session() as session:
        filled = sum(queries.days_with_tickets(session, cities=list(cities), days=days, tz=stores.settings.tz))
    return {"days": filled, "needed": needed}


def compute_baselines(stores: Stores, cities: tuple[str, ...], today: date) -> dict[str, Any]:
    """Same-weekday curves of the last BASELINE_WEEKS weeks before local day ``today``: last week and
    the median, and how much of the history behind them exists (``history_days``)."""
    days = [today - timedelta(days=7 * w) for w in range(1, BASELINE_WEEKS + 1)]
    past = [_past_day_curves(stores, cities, d, today) for d in days]
    return {
        "history": history_days(stores, cities, today),
        "last_week": {"offered": past[0]["offered"], "tickets": past[0]["tickets"]},
        "median": {"offered": median_curve([p["offered"] for p in past]),
                   "tickets": median_curve([p["tickets"] for p in past])},
        "sources": {d.isoformat(): p["source"] for d, p in zip(days, past)},
    }


def compute_category_norms(stores: Stores, cities: tuple[str, ...], now: datetime) -> dict[str, float]:
    """Median tickets by category over the last four same weekdays, local midnight to the same local time.

    The time of day is floored to 15 minutes.
    """
    tz = stores.settings.tz
    local = now.astimezone(tz)
    cut = local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)
    per_week: list[dict[str, int]] = []
    with stores.read_session() as session:
        for w in range(1, BASELINE_WEEKS + 1):
            shift = timedelta(days=7 * w)
            start = local_midnight(cut.date() - shift, tz)
            per_week.append(category_counts(session, cities=cities, start=naive_utc(start),
                                            end=naive_utc(cut - shift)))
    names = set().union(*per_week) if per_week else set()
    return {name: median(week.get(name, 0) for week in per_week) for name in names}


def compute_utilisation(stores: Stores, cities: tuple[str, ...], now: datetime) -> float | None:
    """Seat utilisation from local midnight to ``now`` (``metrics.seat_times``)."""
    tz = stores.settings.tz
    start = naive_utc(local_midnight(now.astimezone(tz).date(), tz))
    with stores.read_session() as session:
        times = queries.seat_times(session, cities=cities, start=start, end=naive_utc(now), now=naive_utc(now))
    return times.figures()["utilisation"]


def compute_staffing(stores: Stores, scope: str, now: datetime) -> dict[str, Any]:
    """Required vs staffed seats in the current 15-minute interval and the next ones (``planning.live.staffing_plan``)."""
    with stores.read_session() as session:
        rows = planning_live.staffing_plan(session, scope=scope, now=naive_utc(now), settings=stores.settings,
                             cache=stores.caches.ttl)
    if not rows:
        return {"required": None, "staffed": None, "projected_service_level": None, "interval_start": None,
                "next": []}
    first = rows[0]
    # the kept roster of the week (cockpit.planning.live): planned seats and adherence
    planned = planning_live.planned_seats(stores, scope, [naive_utc(datetime.fromisoformat(r["start"]))
                                                          for r in rows], stores.settings)
    # Without history the forecast is the recent rate; with no call lately it is 0 and "0 seats
    # required" would be a claim the data cannot make: no figure until there is a forecast.
    ready = first["forecast_method"] not in RATE_ONLY_FORECASTS or any(r["forecast_offered"] > 0 for r in rows)
    return {
        "required": first["required_erlang_a"] if ready else None,
        "required_erlang_c": first["required_erlang_c"] if ready else None,
        "staffed": first["staffed"], "projected_service_level": first["projected_service_level"] if ready else None,
        "forecast_offered": first["forecast_offered"], "forecast_method": first["forecast_method"],
        "forecast_ready": ready, "interval_start": first["start"],
        "planned": planned[0], "adherence": planning_live.adherence(first["staffed"], planned[0]),
        "next": [{"start": r["start"], "required": r["required_erlang_a"] if ready else None, "planned": p}
                 for r, p in zip(rows, planned)],
    }


def compute_league(stores: Stores, scope: str, now: datetime) -> dict[str, Any]:
    """League table of a province's cities over the last LEAGUE_DAYS days, and daily ticket trends."""
    tz = stores.settings.tz
    today = now.astimezone(tz).date()
    start = local_midnight(today - timedelta(days=LEAGUE_DAYS), tz)
    trend_days = [today - timedelta(days=TREND_DAYS - 1 - i) for i in range(TREND_DAYS)]
    cities = province_cities(stores, scope)
    with stores.read_session() as session:
        # one read of the ticket counts by city: the rows' rates and, summed, the province's (the
        # cities share no ticket, so the sum is the province's cohort)
        by_city = queries.ticket_counts(session, cities=cities, start=naive_utc(start), end=naive_utc(now),
                                        now=naive_utc(now), settings=stores.settings, group_by="city")
        table = kpi.rankings(session, scope=scope, level="city", start=start, end=now,
                             settings=stores.settings, now=now, ticket_groups=by_city)
        trends = daily_tickets(session, cities=cities, days=trend_days, tz=tz)
        whole = sum(by_city.values(), TicketCounts()).figures()
    return {"rows": {r["key"]: r for r in table["rows"]}, "trends": trends, "cities": cities,
            "trend_days": [d.isoformat() for d in trend_days], "from": table["from"], "to": table["to"],
            "province": {k: whole.get(k) for k in LEAGUE_TICKET_RATES},
            "history": history_days(stores, cities, today)}


def panel_value(stores: Stores, name: str, scope: str, cities: tuple[str, ...], now: datetime) -> Any:
    """Compute one panel now (SQL); JSON-ready."""
    if name == "baselines":
        value = compute_baselines(stores, cities, now.astimezone(stores.settings.tz).date())
    elif name == "catnorm":
        value = compute_category_norms(stores, cities, now)
    elif name == "util":
        value = compute_utilisation(stores, cities, now)
    elif name == "staffing":
        value = compute_staffing(stores, scope, now)
    elif name == "league":
        value = compute_league(stores, scope, now)
    elif name == "topics":
        value = compute_city_topics(stores, scope, now)
    else:
        raise KeyError(name)
    return panels.jsonable(value)


def panel(stores: Stores, scope: str, cities: tuple[str, ...], name: str,
          now: datetime) -> tuple[Any, float] | None:
    """(value, computed_at epoch seconds) of a slow panel: precomputed in Redis, else computed inline once.

    A stored value of another local day counts as missing. A missing one, or one older than twice
    its interval (no worker running), is computed inline by the one caller that takes its lock
    and stored; the others meanwhile use the stored value as it is (the screen marks it stale by
    its ``computed_at``), or get None when there is none (the next refresh has it).
    While Redis fails, panels come from the in-process cache instead. SQL errors propagate.
    A WORKER_ONLY panel is only read: the stored value of the day however old, else None; a Redis
    error is raised (there is nothing to compute instead).
    """
    tag = now.astimezone(stores.settings.tz).date().isoformat()
    interval = PANELS[name]
    client, caches = stores.redis, stores.caches
    breaker_key = live_key(stores)
    if not caches.breaker.is_open(breaker_key):
        try:
            stored = panels.read_panel(client, scope, name, memo=caches.decoded)
            usable = stored if stored is not None and stored.get("tag") == tag else None
            if usable is not None and (name in WORKER_ONLY or time.time() - usable["computed_at"] <= 2 * interval):
                return usable["value"], usable["computed_at"]
            if name in WORKER_ONLY:
                return None
            token = panels.take_lock(client, scope, name)
            if token is None:
                return (usable["value"], usable["computed_at"]) if usable is not None else None
            try:
                value = panel_value(stores, name, scope, cities, now)
                return value, panels.store_panel(client, scope, name, tag, value)
            finally:
                panels.release_lock(client, scope, name, token)
        except redis.RedisError as exc:
            if name in WORKER_ONLY:
                raise  # nothing to compute in process: the caller reports the live source failed
            log.warning("wall %s: panel %s: Redis failed (%s); computing in process", scope, name, exc)
            if isinstance(exc, (redis.ConnectionError, redis.TimeoutError)):
                caches.breaker.failure(breaker_key)
    if name in WORKER_ONLY:
        return None
    return caches.ttl.get(("panel", scope, name, tag), interval,
                          lambda: panel_value(stores, name, scope, cities, now))


def is_stale(computed_at: float, name: str) -> bool:
    """Whether a panel computed at ``computed_at`` (epoch s) is older than twice its interval now."""
    return time.time() - computed_at > 2 * PANELS[name]


def precompute_panels(stores: Stores, *, now: datetime | None = None) -> dict[str, float]:
    """Worker job: compute every slow panel and store it in Redis; returns {scope: seconds taken}.

    Scopes: every city with live data (``live.known_cities``: baselines, category norms,
    utilisation, staffing) and the provinces holding them (the league table). A scope whose SQL
    fails is logged and skipped. Idempotent; safe on several workers at once.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    tag = now.astimezone(stores.settings.tz).date().isoformat()
    cities = live.known_cities(stores.redis)
    provinces = sorted({c[:2] + "0000" for c in cities if len(c) == 6 and c.isdigit() and not c.endswith("0000")})
    jobs = [(c, CITY_PANELS) for c in cities] + [(p, PROVINCE_PANELS) for p in provinces]
    took: dict[str, float] = {}
    for scope, names in jobs:
        t = time.perf_counter()
        try:
            members = resolve(stores, scope)[1] if names is CITY_PANELS else ()
            for name in names:
                panels.store_panel(stores.redis, scope, name, tag, panel_value(stores, name, scope, members, now))
        except SOURCE_ERRORS as exc:
            log.warning("precompute %s failed: %s", scope, exc)
            continue
        took[scope] = time.perf_counter() - t
    return took


def precompute_topics(stores: Stores, *, now: datetime | None = None) -> dict[str, float]:
    """Worker job (every TOPICS_INTERVAL_S, apart from ``precompute_panels`` so seconds of text
    segmentation never hold the minute's panels back): today's hot topics of every city with live
    data, stored as panel "topics"; returns {city: seconds taken}. A city whose SQL fails is
    logged and skipped. Idempotent."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    tag = now.astimezone(stores.settings.tz).date().isoformat()
    took: dict[str, float] = {}
    for city in live.known_cities(stores.redis):
        t = time.perf_counter()
        try:
            panels.store_panel(stores.redis, city, "topics", tag, panel_value(stores, "topics", city, (city,), now))
        except SOURCE_ERRORS as exc:
            log.warning("topics %s failed: %s", city, exc)
            continue
        took[city] = time.perf_counter() - t
    return took


def forget(stores: Stores) -> None:
    """Forget the stored panels in Redis and everything ``stores`` caches in process (benches, tests)."""
    panels.clear_panels(stores.redis)
    stores.caches.clear()
