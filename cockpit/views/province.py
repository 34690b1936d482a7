"""The provincial overview snapshot: one row per city with today's live figures and the league table.

Live figures come from Redis on every call; the league table and the daily trends are the
precomputed "league" panel (``views.panels``). A failed source is listed in ``failed`` and its
figures are None (``views.sources``). Read-only, never commits.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from cockpit.metrics import definitions
from cockpit.store import live
from cockpit.store.db import Stores
from cockpit.timeutil import epoch_ms
from cockpit.views.overview import live_by_city
from cockpit.views.panels import LEAGUE_DAYS, LEAGUE_TICKET_RATES, PANELS, panel
from cockpit.views.regions import populations, region_names
from cockpit.views.sources import Guard, max_age_ms

PROVINCE_METRICS = ("tickets_today", "tickets_per_100k_today", "offered_today", "connection_rate_today",
                    "score")
LEAGUE_RATES = ("response_rate", "resolution_rate", "satisfaction_rate", "on_time_closure_rate", "connection_rate")


def _totals(live_rows: dict[str, dict], league_rates: dict[str, float | None], table: dict) -> dict[str, Any]:
    """The province's headline figures: today's calls, tickets and connection rate summed over its
    cities (``metrics.connection_rate`` of the sums, not a mean of rates), and the ticket rates of
    the whole province over the league window."""
    if live_rows:
        off = sum(r["offered_today"] for r in live_rows.values())
        ans = sum(r["answered_today"] for r in live_rows.values())
        sab = sum(r["short_abandoned_today"] for r in live_rows.values())
        tickets = sum(r["tickets_today"] for r in live_rows.values())
        conn = definitions.connection_rate(ans, off, sab)
    else:
        off = tickets = conn = None
    out: dict[str, Any] = {"offered_today": off, "tickets_today": tickets, "connection_rate_today": conn,
                           **{k: league_rates.get(k) for k in LEAGUE_TICKET_RATES}}
    out["status"] = {"connection_rate_today": definitions.status("connection_rate", conn, table),
                     **{k: definitions.status(k, league_rates.get(k), table) for k in LEAGUE_TICKET_RATES}}
    out["targets"] = {k: table[k].get("target") for k in ("connection_rate", *LEAGUE_TICKET_RATES) if k in table}
    return out


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
    table = definitions.targets(settings)

    def read_live() -> tuple[dict[str, dict], float]:
        out = {}
        for c, (t, waiting) in live_by_city(stores, cities, now).items():
            conn = definitions.connection_rate(t.get("ans", 0), t.get("off", 0), t.get("sab", 0))
            out[c] = {"offered_today": t.get("off", 0), "answered_today": t.get("ans", 0),
                      "short_abandoned_today": t.get("sab", 0),
                      "tickets_today": t.get("tkt", 0), "waiting": waiting,
                      "connection_rate_today": conn,
                      "connection_status": definitions.status("connection_rate", conn, table)}
        return out, time.time()

    found = guard.live(read_live)
    live_rows, live_at = found if found is not None else ({}, None)
    applied = guard.live(lambda: live.applied_at(stores.redis, cities)) if cities else None
    pops = populations(stores, cities, use_table="history" not in guard.failed)
    rows = []
    for c in cities:
        lr = live_rows.get(c, {})
        lg = league["rows"].get(c, {})
        pop = pops[c]
        row = {
            "code": c, "name": names[c], "population": pop,
            "offered_today": lr.get("offered_today"), "answered_today": lr.get("answered_today"),
            "tickets_today": lr.get("tickets_today"), "waiting": lr.get("waiting"),
            "connection_rate_today": lr.get("connection_rate_today"),
            "connection_status": lr.get("connection_status"),
            "tickets_per_100k_today": definitions.per_100k(lr.get("tickets_today"), pop),
            "trend": league["trends"].get(c, []),
        }
        for key in (*LEAGUE_RATES, "score", "tickets_created", "rank"):
            row[key] = lg.get(key)
        row["tickets_per_100k"] = definitions.per_100k(lg.get("tickets_created"), pop)
        row["status"] = {m: definitions.status(m, row.get(m), table) for m in LEAGUE_RATES}
        rows.append(row)
    rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["code"]))
    return {
        "totals": _totals(live_rows, league.get("province") or {}, table), "history": league.get("history"),
        "last_event_ms": epoch_ms(applied) if applied else None,
        "scope": scope, "name": names[scope], "now": now.isoformat(), "now_ms": epoch_ms(now),
        "refresh_ms": settings.refresh_ms, "rows": rows, "failed": guard.failed, "errors": guard.errors,
        "live_state": (guard.live(lambda: live.epoch_state(stores.redis)) or "unknown") if live_rows else "unknown",
        "league_days": LEAGUE_DAYS, "trend_days": league.get("trend_days", []),
        "sections": {
            "live": ({"as_of_ms": epoch_ms(live_at), "max_age_ms": max_age_ms(refresh_s)} if live_at else None),
            "league": ({"as_of_ms": epoch_ms(league_at), "max_age_ms": max_age_ms(PANELS["league"])}
                       if league_at else None),
        },
    }
