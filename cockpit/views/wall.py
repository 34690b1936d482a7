"""Wall-screen snapshots: everything a city wall or the provincial overview shows, in one call.

Live figures come from Redis (``cockpit.live``), read on every call. The slow SQL figures
("panels": comparison curves of past weeks, category norms, seat utilisation, staffing, the league
table) are computed through ``cockpit.metrics``/``cockpit.staffing`` or small grouped queries here
by the worker job ``precompute_panels`` (every 60 s) and stored in Redis as JSON
(``live.key_panel``), so a refresh only reads them, in any web process. A panel missing from Redis
(fresh start, no worker) is computed inline once, under a short Redis lock, and stored; one older
than twice its interval (``PANELS``) is recomputed the same way and meanwhile shown stale.

Every snapshot is a JSON-ready dict. Each section carries ``as_of_ms`` (epoch milliseconds, UTC,
when its data was read or computed) and ``max_age_ms`` (twice its refresh period: older than this
the screen marks it stale). A source that fails (Redis or SQL) does not raise: its sections are
left out and its name is listed in ``failed``, so the screen keeps the last good values.
"Today" is the local day of ``settings.timezone``; minute indexes are local minutes since local
midnight (0..1439). Read-only, never commits.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from statistics import median
from typing import Any

import redis
from sqlalchemy import Integer, cast, func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from cockpit.store import live
from cockpit.metrics import definitions as metrics
from cockpit.metrics import staffing
from cockpit.store.models import Call, CallRollup, Region, Ticket, TicketRollup
from cockpit.store.regions import resolve_scope
from cockpit.store.db import Stores

log = logging.getLogger(__name__)

MINUTES = 1440
BASELINE_WEEKS = 4
BASELINE_TTL_S = 300.0  # past days' curves; recomputed when the cache entry expires
SLOW_TTL_S = 60.0  # utilisation, staffing, category norms, league table
PANEL_KEEP_S = 3600  # Redis TTL of a precomputed panel: it outlives a stopped worker, to be shown stale
PANEL_LOCK_S = 30  # an inline computation of a missing panel holds its lock at most this long
TOP_CATEGORIES = 6
LEAGUE_DAYS = 30
TREND_DAYS = 14
HANDLING_STATES = ("ringing", "on_call", "hold", "acw")
LOGGED_OUT_STATES = ("offline",)
SOURCE_ERRORS = (redis.RedisError, SQLAlchemyError, OSError)
RETRY_S = 5.0  # a failed source is retried after this many seconds
PROVINCE_METRICS = ("tickets_today", "tickets_per_100k_today", "offered_today", "connection_rate_today",
                    "score")


# ---------------------------------------------------------------- a small TTL cache


class _TTLCache:
    """Values by key, each valid for its own TTL (monotonic seconds); thread-safe."""

    def __init__(self) -> None:
        self._data: dict[tuple, tuple[float, float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple, ttl_s: float, compute: Callable[[], Any]) -> tuple[Any, float]:
        """(value, computed_at epoch seconds); computes outside the lock on a miss."""
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(key)
        if hit is not None and now - hit[0] < ttl_s:
            return hit[2], hit[1]
        value = compute()
        stamp = time.time()
        with self._lock:
            self._data[key] = (time.monotonic(), stamp, value)
            if len(self._data) > 2048:
                self._data.clear()
        return value, stamp


_cache = _TTLCache()


def clear_cache(stores: Stores | None = None) -> None:
    """Forget every in-process cached figure and failed source; with ``stores`` also its precomputed panels."""
    if stores is not None:
        keys = list(stores.redis.scan_iter(match=f"{live.PREFIX}:*:panel:*", count=1000))
        if keys:
            stores.redis.delete(*keys)
    _decoded.clear()
    with _cache._lock:
        _cache._data.clear()
    with _breaker._lock:
        _breaker._until.clear()


# ---------------------------------------------------------------- time helpers


def local_midnight(day: date, tz) -> datetime:
    """Aware UTC datetime of local midnight starting ``day`` in ``tz``."""
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def minute_of_day(moment: datetime, tz) -> int:
    """Local minutes since local midnight (0..1439) of an aware ``moment``."""
    local = moment.astimezone(tz)
    return local.hour * 60 + local.minute


def _ms(moment: datetime | float) -> int:
    if isinstance(moment, datetime):
        return int(moment.timestamp() * 1000)
    return int(moment * 1000)


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


# ---------------------------------------------------------------- pure curve helpers


def cumulative(values: Sequence[int | float]) -> list[float]:
    """Running sum of ``values``."""
    out, total = [], 0.0
    for v in values:
        total += v
        out.append(total)
    return out


def intervals_to_minutes(per_interval: Sequence[float], minutes_per_interval: int = 15) -> list[float]:
    """Cumulative per-minute curve (1,440 values) from per-interval counts of one local day.

    Counts are spread evenly over their interval, so the curve is piecewise linear between
    interval ends and equals the exact cumulative count at every interval boundary.
    """
    out: list[float] = []
    total = 0.0
    for count in per_interval:
        step = count / minutes_per_interval
        for _ in range(minutes_per_interval):
            total += step
            out.append(total)
    return (out + [total] * MINUTES)[:MINUTES]


def median_curve(curves: Sequence[Sequence[float] | None]) -> list[float] | None:
    """Pointwise median of the curves present (None entries skipped); None if none is."""
    present = [c for c in curves if c is not None]
    if not present:
        return None
    return [median(values) for values in zip(*present)]


# ---------------------------------------------------------------- SQL series for past days


def _bucket_epoch(dialect: str, column):
    """SQL: epoch second of the 15-minute interval (UTC-aligned) holding a naive-UTC column."""
    if dialect == "postgresql":
        return cast(func.floor(func.extract("epoch", column) / 900), Integer) * 900
    return (cast(func.strftime("%s", column), Integer) // 900) * 900


def _interval_index(start: datetime, epoch_s: int) -> int:
    return int((epoch_s - start.replace(tzinfo=UTC).timestamp()) // 900)


def interval_series(session: Session, *, cities: Sequence[str], start: datetime, kind: str) -> list[int]:
    """Per-15-minute counts of one local day starting at ``start`` (naive UTC), 96 values.

    ``kind`` 'offered' (calls by queued_at) or 'tickets' (tickets by created_at). Uses the 15-minute
    rollups inside their completed coverage and raw rows elsewhere (same definitions as
    ``cockpit.rollups``).
    """
    end = start + timedelta(days=1)
    out = [0] * 96
    if not cities:
        return out
    dialect = session.get_bind().dialect.name
    coverage = metrics.rollup_coverage(session)
    lo, hi = (max(start, coverage[0]), min(end, coverage[1])) if coverage else (end, end)
    raw_pieces = [(start, end)] if lo >= hi else [(s, e) for s, e in ((start, lo), (hi, end)) if s < e]
    if lo < hi:
        if kind == "offered":
            r = CallRollup
            stmt = select(r.interval_start, func.sum(r.offered)).where(
                metrics._in(r.city, cities), r.interval_start >= lo, r.interval_start < hi
            ).group_by(r.interval_start)
        else:
            r = TicketRollup
            stmt = select(r.interval_start, func.sum(r.created)).where(
                metrics._in(r.city, cities), r.interval_start >= lo, r.interval_start < hi
            ).group_by(r.interval_start)
        for at, n in session.execute(stmt):
            i = int((at - start).total_seconds() // 900)
            if 0 <= i < 96:
                out[i] += int(n or 0)
    for s, e in raw_pieces:
        if kind == "offered":
            column = Call.queued_at
            offered = or_(Call.offered_at.is_not(None), Call.answered_at.is_not(None),
                          Call.abandoned_at.is_not(None))
            conds = [metrics._in(Call.city, cities), column >= s, column < e, offered]
        else:
            column = Ticket.created_at
            conds = [metrics._in(Ticket.city, cities), column >= s, column < e]
        bucket = _bucket_epoch(dialect, column).label("b")
        for b, n in session.execute(select(bucket, func.count()).where(*conds).group_by(bucket)):
            i = _interval_index(start, int(b))
            if 0 <= i < 96:
                out[i] += int(n)
    return out


def category_counts(session: Session, *, cities: Sequence[str], start: datetime, end: datetime) -> dict[str, int]:
    """Tickets created in ``[start, end)`` (naive UTC) by top-level category."""
    if not cities or start >= end:
        return {}
    rows = session.execute(
        select(Ticket.category, func.count()).where(
            metrics._in(Ticket.city, cities), Ticket.created_at >= start, Ticket.created_at < end
        ).group_by(Ticket.category)
    )
    return {(c or ""): int(n) for c, n in rows}


def daily_tickets(session: Session, *, cities: Sequence[str], days: Sequence[date], tz) -> dict[str, list[int]]:
    """Tickets created per city per local day in ``days`` (consecutive, ascending)."""
    out = {c: [0] * len(days) for c in cities}
    if not cities or not days:
        return out
    start, end = _naive(local_midnight(days[0], tz)), _naive(local_midnight(days[-1] + timedelta(days=1), tz))
    dialect = session.get_bind().dialect.name
    offset_s = int(datetime.now(tz).utcoffset().total_seconds())
    if dialect == "postgresql":
        day = cast(func.floor((func.extract("epoch", Ticket.created_at) + offset_s) / 86400), Integer)
    else:
        day = cast((cast(func.strftime("%s", Ticket.created_at), Integer) + offset_s) / 86400, Integer)
    day = day.label("d")
    first = days[0].toordinal() - date(1970, 1, 1).toordinal()
    stmt = select(Ticket.city, day, func.count()).where(
        metrics._in(Ticket.city, cities), Ticket.created_at >= start, Ticket.created_at < end
    ).group_by(Ticket.city, day)
    for city, d, n in session.execute(stmt):
        i = int(d) - first
        if city in out and 0 <= i < len(days):
            out[city][i] += int(n)
    return out


# ---------------------------------------------------------------- names and alerts


def region_names(stores: Stores, codes: Sequence[str], *, use_table: bool = True) -> dict[str, dict[str, str]]:
    """{code: {"zh": name, "en": name_en}} from the regions table, else the bundled boundaries."""
    out: dict[str, dict[str, str]] = {}

    def load() -> dict[str, tuple[str, str | None]]:
        with stores.session() as session:
            return {c: (n, e) for c, n, e in session.execute(select(Region.code, Region.name, Region.name_en))}

    table: dict[str, tuple[str, str | None]] = {}
    if use_table:
        try:
            table, _ = _cache.get(("regions", str(stores.engine.url)), SLOW_TTL_S, load)
        except SOURCE_ERRORS:
            table = {}
    for code in codes:
        if code in table:
            zh, en = table[code]
        else:
            zh, en = _bundled_name(code)
        out[code] = {"zh": zh or code, "en": en or zh or code}
    return out


def _bundled_name(code: str) -> tuple[str | None, str | None]:
    from geo import boundaries

    try:
        info = boundaries.region_info(code)
    except Exception:  # noqa: BLE001 - a name is decoration; the code stands in
        info = None
    if not info:
        return None, None
    return info.get("name"), info.get("name_en")


def _population(code: str) -> int | None:
    import geo

    try:
        return geo.population(code)
    except Exception:  # noqa: BLE001 - unknown codes have no population
        return None


def open_alerts(stores: Stores, scope: str, *, limit: int = 8) -> list[dict]:
    """Open alerts of a scope, most severe first: dicts {severity, title, district, district_name, since}.

    ``severity`` 'critical' | 'major' | 'minor'; ``since`` ISO UTC or None. Returns [] while the
    alerts module (``cockpit.alerts``) does not exist. Raises the source's error when SQL fails.
    """
    try:
        from cockpit.watch import alerts  # noqa: PLC0415 - built by another helper; optional until it lands
    except ImportError:
        return []
    with stores.session() as session:
        found = alerts.open_alerts(session, scope=scope, limit=limit)
    rank = {"critical": 0, "major": 1, "minor": 2}
    names = region_names(stores, sorted({a["district"] for a in found if a.get("district")}))
    items = [
        {"severity": str(a.get("severity") or "minor"), "title": a.get("title") or "",
         "district": a.get("district"), "district_name": names.get(a.get("district") or "", {}).get("zh"),
         "since": a["since"].isoformat() if isinstance(a.get("since"), datetime) else a.get("since")}
        for a in found
    ]
    items.sort(key=lambda a: rank.get(a["severity"], 3))  # stable: keeps newest first within a severity
    return items


# ---------------------------------------------------------------- failing sources


class _Breaker:
    """After a source fails, report it failed at once for RETRY_S seconds instead of waiting on it.

    A down Redis or database makes each call wait for its client's timeouts and retries (about
    4 s with redis-py's defaults), so every 2-second refresh would hang that long before marking
    the screen. While open, one caller per RETRY_S probes the source; the others fail fast.
    """

    def __init__(self) -> None:
        self._until: dict[tuple, float] = {}
        self._lock = threading.Lock()

    def allow(self, key: tuple) -> bool:
        with self._lock:
            until = self._until.get(key)
            if until is None:
                return True
            now = time.monotonic()
            if now >= until:
                self._until[key] = now + RETRY_S
                return True
            return False

    def is_open(self, key: tuple) -> bool:
        """Whether ``key`` failed less than RETRY_S ago (no side effect, unlike ``allow``)."""
        with self._lock:
            until = self._until.get(key)
        return until is not None and time.monotonic() < until

    def success(self, key: tuple) -> None:
        with self._lock:
            self._until.pop(key, None)

    def failure(self, key: tuple) -> None:
        with self._lock:
            self._until[key] = time.monotonic() + RETRY_S


_breaker = _Breaker()


class _Guard:
    """Runs one snapshot's reads, recording failed sources instead of raising."""

    def __init__(self, stores: Stores, scope: str) -> None:
        self.stores, self.scope = stores, scope
        self.failed: list[str] = []
        self.errors: dict[str, str] = {}

    def run(self, source: str, key: tuple, fn: Callable[[], Any]) -> Any:
        """``fn()``, or None when ``source`` failed now or earlier in this snapshot."""
        if source in self.failed:
            return None
        if not _breaker.allow(key):
            self.failed.append(source)
            self.errors[source] = "unavailable, retrying"
            return None
        try:
            value = fn()
        except SOURCE_ERRORS as exc:
            log.warning("wall %s: %s source failed: %s", self.scope, source, exc)
            _breaker.failure(key)
            self.failed.append(source)
            self.errors[source] = type(exc).__name__
            return None
        _breaker.success(key)
        return value

    def live(self, fn: Callable[[], Any]) -> Any:
        return self.run("live", ("live", id(self.stores.redis)), fn)

    def history(self, fn: Callable[[], Any]) -> Any:
        return self.run("history", ("history", id(self.stores.engine)), fn)


# ---------------------------------------------------------------- the city wall


def _section(as_of: float, max_age_s: float, **values) -> dict:
    return {"as_of_ms": _ms(as_of), "max_age_ms": int(max_age_s * 2000), **values}


def _live_sections(stores: Stores, cities: Sequence[str], now: datetime, refresh_s: float) -> dict[str, dict]:
    """Sections read from Redis at ``now``: volume, rates, queue, seats by state, districts, curves."""
    settings, client = stores.settings, stores.redis
    tz = settings.tz
    day = live.day_str(now, tz)
    read_at = time.time()
    totals = live.day_totals(client, cities, day)
    series = live.minute_series(client, cities, day)
    wait = live.waiting(client, cities, now=now)
    seats = live.seat_counts(client, cities)
    applied = live.applied_at(client, cities)
    table = metrics.targets(settings)
    off, ans, sab = totals.get("off", 0), totals.get("ans", 0), totals.get("sab", 0)
    conn = metrics.connection_rate(ans, off, sab)
    sl = metrics.service_level(totals.get("sl", 0), off, sab)
    abn = metrics.abandon_rate(totals.get("abn", 0), off, sab)
    logged_in = sum(n for s, n in seats.items() if s not in LOGGED_OUT_STATES)
    handling = sum(n for s, n in seats.items() if s in HANDLING_STATES)
    minute = minute_of_day(now, tz)
    districts = {k[5:]: v for k, v in totals.items() if k.startswith("dist:") and k[5:]}
    categories = {k[4:]: v for k, v in totals.items() if k.startswith("cat:")}
    return {
        "volume": _section(read_at, refresh_s, offered=off, answered=ans, abandoned=totals.get("abn", 0),
                           tickets=totals.get("tkt", 0), tickets_closed=totals.get("tclosed", 0),
                           last_event_ms=_ms(applied) if applied else None),
        "rates": _section(read_at, refresh_s, connection_rate=conn,
                          connection_status=metrics.status("connection_rate", conn, table),
                          service_level=sl, service_status=metrics.status("service_level", sl, table),
                          abandon_rate=abn, abandon_status=metrics.status("abandon_rate", abn, table),
                          sl_threshold_s=settings.sl_threshold_s,
                          targets={k: table[k].get("target") for k in ("connection_rate", "service_level")}),
        "queue": _section(read_at, refresh_s, waiting=wait.calls, longest_wait_s=wait.longest_wait_s),
        "seats": _section(read_at, refresh_s, by_state=dict(sorted(seats.items())), logged_in=logged_in,
                          handling=handling, busy_share=metrics.busy_share(handling, logged_in)),
        "districts": _section(read_at, refresh_s, counts=districts),
        "today_curves": {"minute": minute, "offered": cumulative(series["off"][: minute + 1]),
                         "tickets": cumulative(series["tkt"][: minute + 1])},
        "today_categories": categories,
    }


def _past_day_curves(stores: Stores, cities: tuple[str, ...], day: date, today: date) -> dict[str, Any]:
    """Cumulative per-minute curves (offered, tickets) of a past local day, and where they came from.

    From the live minute series when the day is within the Redis TTL and Redis holds it, else
    from SQL (15-minute rollups or raw rows). A day without any data gives None curves.
    """
    settings = stores.settings
    tz = settings.tz
    age_days = (today - day).days
    if age_days < settings.live_ttl_days:
        series = live.minute_series(stores.redis, cities, day.strftime("%Y%m%d"))
        if any(series["off"]) or any(series["tkt"]):
            return {"offered": cumulative(series["off"]), "tickets": cumulative(series["tkt"]), "source": "live"}
    start = _naive(local_midnight(day, tz))
    with stores.session() as session:
        offered = interval_series(session, cities=cities, start=start, kind="offered")
        tickets = interval_series(session, cities=cities, start=start, kind="tickets")
    if not any(offered) and not any(tickets):
        return {"offered": None, "tickets": None, "source": "none"}
    return {"offered": intervals_to_minutes(offered), "tickets": intervals_to_minutes(tickets), "source": "sql"}


def compute_baselines(stores: Stores, cities: tuple[str, ...], today: date) -> dict[str, Any]:
    """Same-weekday curves of the last BASELINE_WEEKS weeks before local day ``today``: last week and the median."""
    days = [today - timedelta(days=7 * w) for w in range(1, BASELINE_WEEKS + 1)]
    past = [_past_day_curves(stores, cities, d, today) for d in days]
    return {
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
    with stores.session() as session:
        for w in range(1, BASELINE_WEEKS + 1):
            shift = timedelta(days=7 * w)
            start = local_midnight(cut.date() - shift, tz)
            per_week.append(category_counts(session, cities=cities, start=_naive(start), end=_naive(cut - shift)))
    names = set().union(*per_week) if per_week else set()
    return {name: median(week.get(name, 0) for week in per_week) for name in names}


def compute_utilisation(stores: Stores, cities: tuple[str, ...], now: datetime) -> float | None:
    """Seat utilisation from local midnight to ``now`` (``metrics.seat_times``)."""
    tz = stores.settings.tz
    start = _naive(local_midnight(now.astimezone(tz).date(), tz))
    with stores.session() as session:
        times = metrics.seat_times(session, cities=cities, start=start, end=_naive(now), now=_naive(now))
    return times.figures()["utilisation"]


def compute_staffing(stores: Stores, scope: str, now: datetime) -> dict[str, Any]:
    """Required vs staffed seats in the current 15-minute interval and the next ones (``staffing.plan``)."""
    with stores.session() as session:
        rows = staffing.plan(session, scope=scope, now=_naive(now), settings=stores.settings)
    if not rows:
        return {"required": None, "staffed": None, "projected_service_level": None, "interval_start": None,
                "next": []}
    first = rows[0]
    return {
        "required": first["required_erlang_a"], "required_erlang_c": first["required_erlang_c"],
        "staffed": first["staffed"], "projected_service_level": first["projected_service_level"],
        "forecast_offered": first["forecast_offered"], "interval_start": first["start"],
        "next": [{"start": r["start"], "required": r["required_erlang_a"]} for r in rows],
    }


def compute_league(stores: Stores, scope: str, now: datetime) -> dict[str, Any]:
    """League table of a province's cities over the last LEAGUE_DAYS days, and daily ticket trends."""
    tz = stores.settings.tz
    today = now.astimezone(tz).date()
    start = local_midnight(today - timedelta(days=LEAGUE_DAYS), tz)
    trend_days = [today - timedelta(days=TREND_DAYS - 1 - i) for i in range(TREND_DAYS)]
    cities = _province_cities(stores, scope)
    with stores.session() as session:
        table = metrics.rankings(session, scope=scope, level="city", start=start, end=now,
                                 settings=stores.settings, now=now)
        trends = daily_tickets(session, cities=cities, days=trend_days, tz=tz)
    return {"rows": {r["key"]: r for r in table["rows"]}, "trends": trends, "cities": cities,
            "trend_days": [d.isoformat() for d in trend_days], "from": table["from"], "to": table["to"]}


# Panel name -> its refresh interval in seconds (older than twice this, the screen marks it stale).
PANELS = {"baselines": BASELINE_TTL_S, "catnorm": SLOW_TTL_S, "util": SLOW_TTL_S, "staffing": SLOW_TTL_S,
          "league": SLOW_TTL_S}
CITY_PANELS = ("baselines", "catnorm", "util", "staffing")
PROVINCE_PANELS = ("league",)


def _panel_value(stores: Stores, name: str, scope: str, cities: tuple[str, ...], now: datetime) -> Any:
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
    else:
        raise KeyError(name)
    return _jsonable(value)


def _panel(stores: Stores, scope: str, cities: tuple[str, ...], name: str,
           now: datetime) -> tuple[Any, float] | None:
    """(value, computed_at epoch seconds) of a slow panel: precomputed in Redis, else computed inline once.

    A stored value of another local day counts as missing. A missing one, or one older than twice
    its interval (no worker running), is computed inline by the one caller that takes its lock
    (SET NX EX) and stored; the others meanwhile use the stored value as it is (the screen marks
    it stale by its ``computed_at``), or get None when there is none (the next refresh has it).
    While Redis fails, panels come from the in-process cache instead. SQL errors propagate.
    """
    tag = now.astimezone(stores.settings.tz).date().isoformat()
    interval = PANELS[name]
    client = stores.redis
    breaker_key = ("live", id(client))
    if not _breaker.is_open(breaker_key):
        try:
            stored = read_panel(client, scope, name)
            usable = stored if stored is not None and stored.get("tag") == tag else None
            if usable is not None and time.time() - usable["computed_at"] <= 2 * interval:
                return usable["value"], usable["computed_at"]
            lock, token = live.key_panel_lock(scope, name), uuid.uuid4().hex
            if not client.set(lock, token, nx=True, ex=PANEL_LOCK_S):
                return (usable["value"], usable["computed_at"]) if usable is not None else None
            try:
                value = _panel_value(stores, name, scope, cities, now)
                return value, store_panel(client, scope, name, tag, value)
            finally:
                client.eval(_RELEASE_LOCK, 1, lock, token)
        except redis.RedisError as exc:
            log.warning("wall %s: panel %s: Redis failed (%s); computing in process", scope, name, exc)
            if isinstance(exc, (redis.ConnectionError, redis.TimeoutError)):
                _breaker.failure(breaker_key)
    return _cache.get(("panel", str(stores.engine.url), scope, name, tag), interval,
                      lambda: _panel_value(stores, name, scope, cities, now))


_RELEASE_LOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"not JSON-ready: {type(value).__name__}")


def _jsonable(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples -> lists, datetimes -> ISO), so inline == stored."""
    return json.loads(json.dumps(value, default=_json_default))


def store_panel(client: redis.Redis, scope: str, name: str, tag: str, value: Any, *,
                computed_at: float | None = None) -> float:
    """Write a panel to the hash ``live.key_panel(scope, name)`` for PANEL_KEEP_S; returns computed_at (epoch s).

    Fields: ``tag`` (the local day, ISO, the value belongs to), ``computed_at`` (epoch seconds) and
    ``value`` (JSON). Idempotent (the last write wins).
    """
    computed_at = time.time() if computed_at is None else computed_at
    key = live.key_panel(scope, name)
    pipe = client.pipeline(transaction=True)
    pipe.hset(key, mapping={"tag": tag, "computed_at": repr(computed_at),
                            "value": json.dumps(value, default=_json_default)})
    pipe.expire(key, PANEL_KEEP_S)
    pipe.execute()
    return computed_at


# (client, key, tag) -> (computed_at, value): a refresh re-reads the JSON only when it changed
_decoded: dict[tuple, tuple[float, Any]] = {}


def read_panel(client: redis.Redis, scope: str, name: str) -> dict[str, Any] | None:
    """The stored panel ``{"tag", "computed_at", "value"}``, or None.

    The JSON value is fetched and decoded only when its ``computed_at`` changed since this process
    last read it (the baselines are ~70 kB).
    """
    key = live.key_panel(scope, name)
    tag, stamp = client.hmget(key, "tag", "computed_at")
    if tag is None or stamp is None:
        return None
    computed_at = float(stamp)
    memo_key = (id(client), key, tag)
    hit = _decoded.get(memo_key)
    if hit is not None and hit[0] == computed_at:
        return {"tag": tag, "computed_at": computed_at, "value": hit[1]}
    raw = client.hget(key, "value")
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    if len(_decoded) > 4096:
        _decoded.clear()
    _decoded[memo_key] = (computed_at, value)
    return {"tag": tag, "computed_at": computed_at, "value": value}


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
            members = _resolve(stores, scope)[1] if names is CITY_PANELS else ()
            for name in names:
                store_panel(stores.redis, scope, name, tag, _panel_value(stores, name, scope, members, now))
        except SOURCE_ERRORS as exc:
            log.warning("precompute %s failed: %s", scope, exc)
            continue
        took[scope] = time.perf_counter() - t
    return took


def _stale_now(computed_at: float, name: str) -> bool:
    return time.time() - computed_at > 2 * PANELS[name]


def _mark_part(section: dict, computed_at: float | None, name: str) -> None:
    """Give a live section the as-of of a precomputed part that is stale, so the screen marks it."""
    if computed_at is not None and _stale_now(computed_at, name):
        section["as_of_ms"], section["max_age_ms"] = _ms(computed_at), int(PANELS[name] * 2000)


def city_snapshot(stores: Stores, scope: str, *, now: datetime | None = None,
                  include_slow: bool = True) -> dict[str, Any]:
    """Everything the city wall shows for ``scope`` (a city code; a province sums its cities).

    ``now`` aware (default: the clock). Sections: volume, rates, queue, seats, districts (today's
    tickets by district), curves (today's cumulative offered calls and tickets per local minute,
    against the same weekday last week and the four-week median, each 1,440 values or None),
    categories (top today with change against their four-week norm), staffing (required vs staffed
    seats now), alerts. Sections of a failed source are missing and the source ('live',
    'history', 'alerts') is listed in ``failed``; ``errors`` holds a one-line reason each.
    ``include_slow=False`` skips the SQL sections (for a refresh that only needs live figures).
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    settings = stores.settings
    refresh_s = settings.refresh_ms / 1000.0
    guard = _Guard(stores, scope)
    resolved = guard.history(lambda: _resolve(stores, scope))
    level, cities = resolved if resolved is not None else ("city", (scope,))
    names = region_names(stores, [scope], use_table="history" not in guard.failed)[scope]
    snap: dict[str, Any] = {
        "scope": scope, "level": level, "cities": list(cities), "name": names,
        "now": now.isoformat(), "now_ms": _ms(now), "timezone": settings.timezone,
        "refresh_ms": settings.refresh_ms, "sections": {}, "failed": guard.failed, "errors": guard.errors,
    }
    sections = snap["sections"]
    got = guard.live(lambda: _live_sections(stores, cities, now, refresh_s))
    today_curves = got.pop("today_curves") if got else None
    today_categories: dict[str, int] = got.pop("today_categories") if got else {}
    sections.update(got or {})
    if "districts" in sections:
        sections["districts"]["population"] = {code: _population(code) for code in sections["districts"]["counts"]}
    if today_curves is not None:
        found = guard.history(lambda: _panel(stores, scope, cities, "baselines", now))
        baselines, computed = found if found is not None else ({}, None)
        minute = today_curves["minute"]
        last_week = baselines.get("last_week") or {"offered": None, "tickets": None}
        med = baselines.get("median") or {"offered": None, "tickets": None}

        def at(curve):
            return None if curve is None else curve[minute]

        sections["curves"] = _section(
            sections["volume"]["as_of_ms"] / 1000, refresh_s, minute=minute, today=today_curves,
            last_week=last_week, median=med, baseline_as_of_ms=_ms(computed) if computed else None,
            baseline_sources=baselines.get("sources", {}),
        )
        _mark_part(sections["curves"], computed, "baselines")
        sections["volume"].update(
            offered_last_week=at(last_week["offered"]), offered_median=at(med["offered"]),
            tickets_last_week=at(last_week["tickets"]), tickets_median=at(med["tickets"]),
        )
    if include_slow:
        found = guard.history(lambda: _panel(stores, scope, cities, "catnorm", now))
        if found is not None and "live" not in guard.failed:
            norms, norm_at = found
            rows = [
                {"name": name, "today": n, "normal": norms.get(name), "change": metrics.relative_change(n, norms.get(name))}
                for name, n in today_categories.items()
            ]
            rows.sort(key=lambda r: (-r["today"], r["name"]))
            sections["categories"] = _section(sections["volume"]["as_of_ms"] / 1000, refresh_s,
                                              top=rows[:TOP_CATEGORIES], norm_as_of_ms=_ms(norm_at))
            _mark_part(sections["categories"], norm_at, "catnorm")
        found = guard.history(lambda: _panel(stores, scope, cities, "util", now))
        if found is not None and "seats" in sections:
            sections["seats"].update(utilisation_today=found[0], utilisation_as_of_ms=_ms(found[1]))
            _mark_part(sections["seats"], found[1], "util")
        if level != "district":
            found = guard.history(lambda: _panel(stores, scope, cities, "staffing", now))
            if found is not None:
                sections["staffing"] = _section(found[1], SLOW_TTL_S, **found[0])
    items = guard.run("alerts", ("alerts", id(stores.engine)), lambda: open_alerts(stores, scope))
    if items is not None:
        sections["alerts"] = _section(time.time(), refresh_s, items=items)
    return snap


def _resolve(stores: Stores, scope: str) -> tuple[str, tuple[str, ...]]:
    """(level, city codes) of a scope; cached in process like the region names (regions rarely change)."""

    def load() -> tuple[str, tuple[str, ...]]:
        with stores.session() as session:
            resolved = resolve_scope(session, scope)
        return resolved.level, tuple(resolved.city_codes)

    return _cache.get(("resolve", str(stores.engine.url), scope), SLOW_TTL_S, load)[0]


# ---------------------------------------------------------------- the province


def _province_cities(stores: Stores, scope: str) -> list[str]:
    """The cities of a province: bundled boundaries first, then what the SQL scope knows."""
    from geo import boundaries

    codes: list[str] = []
    try:
        codes = [f["properties"]["code"] for f in boundaries.geojson(scope)["features"]]
    except KeyError:
        pass
    with stores.session() as session:
        resolved = resolve_scope(session, scope)
    for code in resolved.city_codes:
        if code not in codes:
            codes.append(code)
    return sorted(codes)


def province_snapshot(stores: Stores, scope: str, *, now: datetime | None = None) -> dict[str, Any]:
    """The provincial overview: one row per city with today's live figures and the league table.

    Each city row: code, name {zh, en}, offered_today, answered_today, tickets_today, waiting,
    connection_rate_today (+ status), population, tickets_per_100k_today, the league figures over
    the last LEAGUE_DAYS days (response/resolution/satisfaction/on-time closure rates, connection
    rate, composite score, tickets_per_100k, rank) and ``trend`` (tickets per local day, last
    TREND_DAYS days). Sections ``live`` and ``league`` carry as_of_ms/max_age_ms; a failed
    source is listed in ``failed`` and its figures are None.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    settings = stores.settings
    refresh_s = settings.refresh_ms / 1000.0
    guard = _Guard(stores, scope)
    found = guard.history(lambda: _panel(stores, scope, (), "league", now))
    league, league_at = found if found is not None else (
        {"rows": {}, "trends": {}, "cities": [], "trend_days": []}, None)
    cities = league["cities"] or (guard.live(lambda: sorted(live.known_cities(stores.redis))) or [])
    names = region_names(stores, [scope, *cities], use_table="history" not in guard.failed)
    table = metrics.targets(settings)
    day = live.day_str(now, settings.tz)

    def read_live() -> tuple[dict[str, dict], float]:
        out = {}
        for c in cities:
            t = live.day_totals(stores.redis, [c], day)
            conn = metrics.connection_rate(t.get("ans", 0), t.get("off", 0), t.get("sab", 0))
            out[c] = {"offered_today": t.get("off", 0), "answered_today": t.get("ans", 0),
                      "tickets_today": t.get("tkt", 0), "waiting": live.waiting(stores.redis, [c], now=now).calls,
                      "connection_rate_today": conn,
                      "connection_status": metrics.status("connection_rate", conn, table)}
        return out, time.time()

    found = guard.live(read_live)
    live_rows, live_at = found if found is not None else ({}, None)
    rows = []
    for c in cities:
        lr = live_rows.get(c, {})
        lg = league["rows"].get(c, {})
        pop = _population(c)
        row = {
            "code": c, "name": names[c], "population": pop,
            "offered_today": lr.get("offered_today"), "answered_today": lr.get("answered_today"),
            "tickets_today": lr.get("tickets_today"), "waiting": lr.get("waiting"),
            "connection_rate_today": lr.get("connection_rate_today"),
            "connection_status": lr.get("connection_status"),
            "tickets_per_100k_today": metrics.per_100k(lr.get("tickets_today"), pop),
            "trend": league["trends"].get(c, []),
        }
        for key in ("response_rate", "resolution_rate", "satisfaction_rate", "on_time_closure_rate",
                    "connection_rate", "score", "tickets_created", "rank"):
            row[key] = lg.get(key)
        row["tickets_per_100k"] = metrics.per_100k(lg.get("tickets_created"), pop)
        row["status"] = {m: metrics.status(m, row.get(m), table) for m in
                         ("response_rate", "resolution_rate", "satisfaction_rate", "on_time_closure_rate",
                          "connection_rate")}
        rows.append(row)
    rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["code"]))
    return {
        "scope": scope, "name": names[scope], "now": now.isoformat(), "now_ms": _ms(now),
        "refresh_ms": settings.refresh_ms, "rows": rows, "failed": guard.failed, "errors": guard.errors,
        "league_days": LEAGUE_DAYS, "trend_days": league.get("trend_days", []),
        "sections": {
            "live": ({"as_of_ms": _ms(live_at), "max_age_ms": int(refresh_s * 2000)} if live_at else None),
            "league": ({"as_of_ms": _ms(league_at), "max_age_ms": int(PANELS["league"] * 2000)}
                       if league_at else None),
        },
    }


def wall_path(code: str) -> str:
    """The page for a region code: '/province/<code>' for a province (xx0000), else '/wall/<code>'."""
    return f"/province/{code}" if len(code) == 6 and code.isdigit() and code.endswith("0000") else f"/wall/{code}"


__all__ = [
    "city_snapshot", "province_snapshot", "open_alerts", "clear_cache", "interval_series", "category_counts",
    "daily_tickets", "cumulative", "intervals_to_minutes", "median_curve", "wall_path",
    "PROVINCE_METRICS", "precompute_panels", "store_panel", "read_panel", "PANELS",
]
