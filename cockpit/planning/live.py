"""The plan against the floor: the kept roster, planned seats, adherence, and seat shortage.

* ``keep_roster``/``kept_roster``: a roster is kept in SQL (``cockpit.store.planning``: who saved
  it and when) and copied to Redis for the wall; a reader rebuilds a missing copy from SQL, so a
  flushed or new Redis loses no plan.
* ``planned_seats``: seats on the phones per interval in the kept roster of the week (None for
  intervals no kept plan covers).
* ``adherence``: staffed seats now / planned seats now (seats logged in and not on a break, against
  the plan's people on shift and not on a break).
* ``shortage``: the detection behind the ``seat_shortage`` watchpoint. A city is short when the
  seats staffed now are fewer than Erlang A needs for the calls offered over the last
  ``window_minutes`` (AHT and patience of the last 7 days), so the projected service level is
  below target; the watchpoint's ``hold_s`` (default 30 minutes) makes it fire only when that
  lasts, i.e. long enough to miss the target.

Naive UTC datetimes throughout.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.orm import Session

from cockpit import timeutil
from cockpit.errors import ParamError, UnknownScope
from cockpit.metrics import definitions, queries, staffing
from cockpit.planning import forecast as planning_forecast
from cockpit.planning import roster
from cockpit.settings import Settings
from cockpit.store import cache
from cockpit.store import planning as plan_store
from cockpit.store.regions import resolve_scope

log = logging.getLogger(__name__)

WINDOW_MINUTES = 30
MIN_OFFERED = 10  # fewer calls in the window: too little traffic to judge
KEEP_AFTER_WEEK = timedelta(days=1)  # the Redis copy of a week's plan outlives the week by a day
MIN_CACHE_S = 3600

roster_key = plan_store.roster_key


def _cache_ttl(monday: date, now: datetime, settings: Settings) -> int:
    """Seconds the Redis copy of the week of ``monday`` is kept: to a day after the week (at least an hour)."""
    expires = timeutil.naive_utc(datetime.combine(monday + timedelta(days=7) + KEEP_AFTER_WEEK,
                                                  datetime.min.time(), tzinfo=settings.tz))
    return max(int((expires - now).total_seconds()), MIN_CACHE_S)


def keep_roster(stores, document: dict[str, Any], *, scope: str, monday: date, by: str,
                now: datetime | None = None) -> dict[str, Any]:
    """Keep ``document`` as the roster in force of ``scope`` and the ISO week of ``monday``: saved in
    SQL (committed) with ``saved_by`` = ``by`` and ``saved_at`` = ``now`` (naive UTC) added to it,
    then copied to Redis (a Redis failure is logged: the next reader rebuilds the copy from SQL).
    Returns the kept document."""
    now = timeutil.naive_utc(now) if now is not None else timeutil.utcnow()
    doc = {**document, "saved_by": by, "saved_at": now.replace(tzinfo=UTC).isoformat()}
    with stores.session() as session:
        plan_store.save_roster(session, scope=scope, monday=monday, document=doc, saved_at=now, saved_by=by)
    try:
        plan_store.cache_roster(stores.redis, scope, monday, doc, ttl_s=_cache_ttl(monday, now, stores.settings))
    except RedisError as exc:
        log.warning("roster %s %s saved, Redis copy not written: %s", scope, plan_store.iso_week(monday), exc)
    return doc


def kept_roster(stores, scope: str, monday: date, *, now: datetime | None = None) -> dict[str, Any] | None:
    """The roster kept for ``scope`` and the ISO week of ``monday`` (local), or None.

    Read from the Redis copy; when it is missing (flushed, expired, a new Redis) or Redis fails,
    from SQL, and the copy is written again for the next reader. While the screens' breaker holds
    Redis for failed, SQL at once: a down Redis must not add its client's retries (seconds) to
    every wall refresh that shows planned seats."""
    breaker, key = stores.caches.breaker, cache.live_key(stores.redis)
    redis_ok, doc = not breaker.is_open(key), None
    if redis_ok:
        try:
            doc = plan_store.cached_roster(stores.redis, scope, monday)
        except RedisError as exc:
            log.warning("roster copy of %s unreadable, reading SQL: %s", scope, exc)
            redis_ok = False
            if isinstance(exc, (RedisConnectionError, RedisTimeoutError)):
                breaker.failure(key)
    if doc is not None:
        return doc
    with stores.session() as session:
        doc = plan_store.saved_roster(session, scope=scope, monday=monday)
    if doc is not None and redis_ok:
        now = timeutil.naive_utc(now) if now is not None else timeutil.utcnow()
        try:
            plan_store.cache_roster(stores.redis, scope, monday, doc, ttl_s=_cache_ttl(monday, now, stores.settings))
        except RedisError as exc:
            log.warning("roster copy of %s not rewritten: %s", scope, exc)
    return doc


def scope_cities(session: Session, code: str) -> list[str]:
    """The cities whose calls a forecast or roster of region ``code`` covers. A district (calls carry
    no district) or an unknown code raises ParamError('scope')."""
    try:
        level, cities, _districts = resolve_scope(session, code)
    except UnknownScope as exc:
        raise ParamError("scope", str(exc)) from None
    if level == "district" or not cities:
        raise ParamError("scope", "calls carry no district: forecast a city or a province")
    return list(cities)


def week_roster(stores, *, scope: str, monday: date, now: datetime, by: str, target: float | None = None,
                replan: bool = False) -> dict[str, Any]:
    """The roster of ``scope`` for the ISO week of local ``monday``: the kept plan, else one planned
    from the data up to ``now`` (naive UTC) and kept as saved by ``by``. ``replan`` plans and keeps
    it again; another ``target`` is a what-if, planned and never kept. Bad input: ParamError."""
    if not replan and target is None:
        kept = kept_roster(stores, scope, monday, now=now)
        if kept is not None:
            return kept
    with stores.session() as session:
        cities = scope_cities(session, scope)
        try:
            doc = roster.plan_week(session, cities=cities, monday=monday, now=now, settings=stores.settings,
                                   target=target)
        except roster.RosterError as exc:
            raise ParamError(exc.field, exc.message) from None
    doc = {"scope": scope, "planned_at": now.replace(tzinfo=UTC).isoformat(), **doc,
           "definitions_version": definitions.DEFINITIONS_VERSION}
    if target is None:
        doc = keep_roster(stores, doc, scope=scope, monday=monday, by=by, now=now)
    return doc


def _monday(moment: datetime, settings: Settings) -> date:
    local = moment.replace(tzinfo=UTC).astimezone(settings.tz).date()
    return local - timedelta(days=local.weekday())


def planned_seats(stores, scope: str, starts: list[datetime], settings: Settings | None = None) -> list[int | None]:
    """Planned seats on the phones per interval start (naive UTC) from the kept rosters (Redis copy,
    else SQL); None for intervals no kept plan covers."""
    settings = settings or stores.settings
    by_start: dict[str, int] = {}
    for monday in sorted({_monday(s, settings) for s in starts}):
        doc = kept_roster(stores, scope, monday)
        for row in (doc or {}).get("intervals", []):
            by_start[row["start"]] = row["planned"]
    return [by_start.get(s.replace(tzinfo=UTC).isoformat()) for s in starts]


def adherence(staffed: int | None, planned: int | None) -> float | None:
    """Staffed seats against planned seats (None without a plan or with none planned)."""
    if staffed is None or not planned:
        return None
    return staffed / planned


def shortage(session: Session, *, city: str, now: datetime, settings: Settings,
             window_minutes: int = WINDOW_MINUTES, min_offered: int = MIN_OFFERED,
             target: float | None = None) -> dict[str, Any] | None:
    """The seat shortage of one city now, or None when the staffed seats meet the need."""
    now = timeutil.naive_utc(now)
    start = now - timedelta(minutes=window_minutes)
    offered = queries.calls_queued(session, cities=[city], start=start, end=now)
    if offered < min_offered:
        return None
    lam = offered / (window_minutes * 60.0)
    staffed = staffing.staffed_now(session, cities=[city])
    counts = staffing._offered(session, [city], now - staffing.ESTIMATE_WINDOW, now, settings)
    aht_s = definitions.aht(counts.handle_sum_s, counts.ended) or staffing.DEFAULT_AHT_S
    sl_target = target if target is not None else float(definitions.targets(settings)["service_level"]["target"])
    threshold = float(settings.sl_threshold_s)
    if staffed >= staffing.required_erlang_c(lam * aht_s, aht_s, threshold, sl_target):
        return None  # Erlang C needs at least as many seats as Erlang A: no shortage, skip the rest
    patience = staffing.patience_estimate(session, cities=[city], start=now - staffing.ESTIMATE_WINDOW, end=now)
    required = staffing.required_erlang_a(lam, aht_s, patience, threshold, sl_target)
    if staffed >= required:
        return None
    projected = staffing.erlang_a(staffed, lam, aht_s, patience, threshold)["service_level"]
    return {"city": city, "staffed": staffed, "required": required, "offered_per_hour": round(lam * 3600, 1),
            "window_minutes": window_minutes, "aht_s": round(aht_s, 1), "patience_s": patience,
            "projected_service_level": round(projected, 4), "target": sl_target}


def rule_seat_shortage(ctx) -> list:
    """Watchpoint ``seat_shortage``: ``shortage`` for every city with calls in the window; the
    finding holds ``hold_s`` (default 30 min) before it fires."""
    from cockpit.watch.config import _finding

    p0 = ctx.cfg.params("seat_shortage")
    start = ctx.now - timedelta(minutes=int(p0["minutes"]))
    cities = queries.cities_with_calls(ctx.session, start=start, end=ctx.now)
    out = []
    for city in cities:
        p = ctx.cfg.params("seat_shortage", city)
        found = shortage(ctx.session, city=city, now=ctx.now, settings=ctx.settings,
                         window_minutes=int(p["minutes"]), min_offered=int(p["min_offered"]))
        if found is None:
            continue
        f = _finding(ctx, "seat_shortage", city, city, None,
                     f"坐席不足：在岗{found['staffed']}席，需{found['required']}席，"
                     f"预计服务水平{found['projected_service_level']:.0%}（目标{found['target']:.0%}）", found)
        if f:
            out.append(f)
    return out


def plan_weeks(stores, *, now: datetime | None = None, weeks: int = 2, by: str = "system") -> dict[str, list[str]]:
    """The worker job: keep a roster for this week and the next ones for every city with calls
    in the last 7 days (planned once, then read from the kept plan). Returns weeks planned per city."""
    now = timeutil.naive_utc(now) if now is not None else timeutil.utcnow()
    with stores.session() as session:
        cities = queries.cities_with_calls(session, start=now - timedelta(days=7), end=now)
    monday = _monday(now, stores.settings)
    done: dict[str, list[str]] = {}
    for city in cities:
        for k in range(weeks):
            week_monday = monday + timedelta(days=7 * k)
            if kept_roster(stores, city, week_monday, now=now) is not None:
                continue
            week = plan_store.iso_week(week_monday)
            try:
                week_roster(stores, scope=city, monday=week_monday, now=now, by=by)
            except ParamError as exc:
                log.warning("no roster for %s %s: %s", city, week, exc.message)
                continue
            done.setdefault(city, []).append(week)
    return done


def staffing_plan(session: Session, *, scope: str, now: datetime, settings: Settings | None = None,
                  target: float | None = None, horizon: timedelta = staffing.HORIZON,
                  cache=None) -> list[dict[str, Any]]:
    """Required vs staffed seats for the current interval and the next two hours.

    ``now`` is naive UTC (or aware). Each row: start (ISO, UTC), forecast_offered, aht_s,
    patience_s, erlangs, required_erlang_c, required_erlang_a, staffed (seats available now;
    no roster is known, so the same for every row) and projected_service_level (Erlang A when
    patience is known, else Erlang C) at that staffing. A district scope has no telephony:
    returns []. ``cache``: see ``planning.forecast.forecast_for``. Read-only.
    """
    settings = settings or Settings()
    now = timeutil.naive_utc(now)
    level, cities, _districts = resolve_scope(session, scope)
    if level == "district" or not cities:
        return []
    table = definitions.targets(settings)
    sl_target = target if target is not None else float(table["service_level"]["target"])
    threshold = float(settings.sl_threshold_s)
    first = timeutil.floor_interval(now)
    starts = []
    s = first
    while s < now + horizon:
        starts.append(s)
        s += timeutil.INTERVAL
    fc = planning_forecast.forecast_for(session, cities=cities, starts=starts, now=now, settings=settings, cache=cache)
    offered = fc.mean
    basis = {"method": fc.method, "scale": None, "lower": fc.lower, "upper": fc.upper, **fc.basis}
    recent = staffing._offered(session, cities, now - staffing.ESTIMATE_WINDOW, now, settings)
    aht_s = definitions.aht(recent.handle_sum_s, recent.ended) or staffing.DEFAULT_AHT_S
    patience = staffing.patience_estimate(session, cities=cities, start=now - staffing.ESTIMATE_WINDOW, end=now)
    staffed = staffing.staffed_now(session, cities=cities)
    rows = []
    for k, (start, n_calls) in enumerate(zip(starts, offered)):
        lam = n_calls / timeutil.INTERVAL.total_seconds()
        erlangs = lam * aht_s
        projected = staffing.erlang_a(staffed, lam, aht_s, patience, threshold)["service_level"] if n_calls else None
        rows.append({
            "start": start.replace(tzinfo=UTC).isoformat(),
            "forecast_offered": round(n_calls, 3),
            "forecast_lower": round(basis["lower"][k], 3) if "lower" in basis else None,
            "forecast_upper": round(basis["upper"][k], 3) if "upper" in basis else None,
            "aht_s": aht_s,
            "patience_s": patience,
            "erlangs": erlangs,
            "required_erlang_c": staffing.required_erlang_c(erlangs, aht_s, threshold, sl_target),
            "required_erlang_a": staffing.required_erlang_a(lam, aht_s, patience, threshold, sl_target),
            "staffed": staffed,
            "projected_service_level": projected,
            "forecast_method": basis["method"],
            "scale": basis.get("scale"),
        })
    return rows
