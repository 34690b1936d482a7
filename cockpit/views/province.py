"""The provincial overview snapshot: one row per city with today's live figures and the league table.

Live figures come from Redis on every call; the league table and the daily trends are the
precomputed "league" panel (``views.panels``). A failed source is listed in ``failed`` and its
figures are None (``views.sources``). Read-only, never commits.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from cockpit.metrics import definitions as metrics
from cockpit.store import live
from cockpit.store.db import Stores
from cockpit.timeutil import epoch_ms
from cockpit.views.panels import LEAGUE_DAYS, PANELS, panel
from cockpit.views.regions import population, region_names
from cockpit.views.sources import Guard

PROVINCE_METRICS = ("tickets_today", "tickets_per_100k_today", "offered_today", "connection_rate_today",
                    "score")
LEAGUE_RATES = ("response_rate", "resolution_rate", "satisfaction_rate", "on_time_closure_rate", "connection_rate")


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
    guard = Guard(stores, scope)
    found = guard.history(lambda: panel(stores, scope, (), "league", now))
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
        pop = population(c)
        row = {
            "code": c, "name": names[c], "population": pop,
            "offered_today": lr.get("offered_today"), "answered_today": lr.get("answered_today"),
            "tickets_today": lr.get("tickets_today"), "waiting": lr.get("waiting"),
            "connection_rate_today": lr.get("connection_rate_today"),
            "connection_status": lr.get("connection_status"),
            "tickets_per_100k_today": metrics.per_100k(lr.get("tickets_today"), pop),
            "trend": league["trends"].get(c, []),
        }
        for key in (*LEAGUE_RATES, "score", "tickets_created", "rank"):
            row[key] = lg.get(key)
        row["tickets_per_100k"] = metrics.per_100k(lg.get("tickets_created"), pop)
        row["status"] = {m: metrics.status(m, row.get(m), table) for m in LEAGUE_RATES}
        rows.append(row)
    rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["code"]))
    return {
        "scope": scope, "name": names[scope], "now": now.isoformat(), "now_ms": epoch_ms(now),
        "refresh_ms": settings.refresh_ms, "rows": rows, "failed": guard.failed, "errors": guard.errors,
        "league_days": LEAGUE_DAYS, "trend_days": league.get("trend_days", []),
        "sections": {
            "live": ({"as_of_ms": epoch_ms(live_at), "max_age_ms": int(refresh_s * 2000)} if live_at else None),
            "league": ({"as_of_ms": epoch_ms(league_at), "max_age_ms": int(PANELS["league"] * 2000)}
                       if league_at else None),
        },
    }
