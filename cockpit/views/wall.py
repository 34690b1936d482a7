"""The city wall snapshot: everything a city wall shows, in one call.

Live figures come from Redis (``store.live``), read on every call; the slow SQL figures are
precomputed panels (``views.panels``). Every snapshot is a JSON-ready dict whose sections carry
``as_of_ms``/``max_age_ms``; a source that fails (Redis or SQL) does not raise: its sections are
left out and its name is listed in ``failed`` (``views.sources``), so the screen keeps the last
good values. "Today" is the local day of ``settings.timezone``; minute indexes are local minutes
since local midnight (0..1439). Read-only, never commits.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from cockpit.events import LOGGED_OUT_STATES
from cockpit.metrics import definitions
from cockpit.store import live
from cockpit.store.db import Stores
from cockpit.timeutil import epoch_ms, minute_of_day
from cockpit.views.curves import cumulative
from cockpit.views.panels import LEAGUE_DAYS, LEAGUE_TICKET_RATES, PANELS, is_stale, panel
from cockpit.views.regions import SLOW_TTL_S, populations, region_names, resolve
from cockpit.views.sources import Guard, max_age_ms, section
from cockpit.views.topics import for_scope
from cockpit.watch import alerts

TOP_CATEGORIES = 6
HANDLING_STATES = ("ringing", "on_call", "hold", "acw")


def open_alerts(stores: Stores, scope: str, *, limit: int = 8) -> list[dict]:
    """Open alerts of a scope, most urgent first (severity, size, age; suppressed ones left out):
    dicts {id, severity, rule, title, city, district, district_name, unit, size, oldest_at, since,
    facts}; times ISO UTC. The wall leads with the reason (cockpit.watch.vocab.reason) and links
    each item to /supervise?alert=<id>. Raises the source's error when SQL fails."""
    return alerts_section(stores, scope, limit=limit)["items"]


def alerts_section(stores: Stores, scope: str, *, limit: int = 8) -> dict:
    """``{"items": open_alerts..., "total": n, "by_severity": {...}}`` for the wall's alert panel."""
    with stores.session() as session:
        found = alerts.open_alerts(session, scope=scope, limit=limit)
        by_severity = alerts.count_open(session, scope=scope)
    names = region_names(stores, sorted({a["district"] for a in found if a.get("district")}))

    def iso(v):
        return v.isoformat() if isinstance(v, datetime) else v

    items = [
        {"id": a["id"], "severity": str(a.get("severity") or "minor"), "rule": a["rule"],
         "title": a.get("title") or "", "city": a.get("city"), "district": a.get("district"),
         "district_name": names.get(a.get("district") or "", {}).get("zh"),
         "district_name_en": names.get(a.get("district") or "", {}).get("en"), "unit": a.get("unit"),
         "size": a.get("size"), "oldest_at": iso(a.get("oldest_at")), "since": iso(a.get("since")),
         "facts": a.get("facts") or {}}
        for a in found
    ]
    return {"items": items, "total": sum(by_severity.values()), "by_severity": by_severity}


def _live_sections(stores: Stores, cities: Sequence[str], now: datetime, refresh_s: float) -> dict[str, dict]:
    """Sections read from Redis at ``now``: volume, rates, queue, seats by state, districts, curves."""
    settings, client = stores.settings, stores.redis
    tz = settings.tz
    day = live.day_str(now, tz)
    read_at = time.time()
    batch = live.Batch(client)  # one round trip for every live figure
    reads = (live.day_totals(client, cities, day, batch=batch), live.minute_series(client, cities, day, batch=batch),
             live.waiting(client, cities, now=now, batch=batch), live.seat_counts(client, cities, batch=batch),
             live.applied_at(client, cities, batch=batch))
    batch.execute()
    totals, series, wait, seats, applied = (r.value for r in reads)
    table = definitions.targets(settings)
    off, ans, sab = totals.get("off", 0), totals.get("ans", 0), totals.get("sab", 0)
    conn = definitions.connection_rate(ans, off, sab)
    sl = definitions.service_level(totals.get("sl", 0), off, sab)
    abn = definitions.abandon_rate(totals.get("abn", 0), off, sab)
    logged_in = sum(n for s, n in seats.items() if s not in LOGGED_OUT_STATES)
    handling = sum(n for s, n in seats.items() if s in HANDLING_STATES)
    minute = minute_of_day(now, tz)
    districts = {k[5:]: v for k, v in totals.items() if k.startswith("dist:") and k[5:]}
    categories = {k[4:]: v for k, v in totals.items() if k.startswith("cat:")}
    return {
        "volume": section(read_at, refresh_s, offered=off, answered=ans, abandoned=totals.get("abn", 0),
                          tickets=totals.get("tkt", 0), tickets_closed=totals.get("tclosed", 0),
                          last_event_ms=epoch_ms(applied) if applied else None),
        "rates": section(read_at, refresh_s, connection_rate=conn,
                         connection_status=definitions.status("connection_rate", conn, table),
                         service_level=sl, service_status=definitions.status("service_level", sl, table),
                         abandon_rate=abn, abandon_status=definitions.status("abandon_rate", abn, table),
                         sl_threshold_s=settings.sl_threshold_s,
                         targets={k: table[k].get("target") for k in ("connection_rate", "service_level")}),
        "queue": section(read_at, refresh_s, waiting=wait.calls, longest_wait_s=wait.longest_wait_s),
        "seats": section(read_at, refresh_s, by_state=dict(sorted(seats.items())), logged_in=logged_in,
                         handling=handling, busy_share=definitions.busy_share(handling, logged_in)),
        "districts": section(read_at, refresh_s, counts=districts),
        "today_curves": {"minute": minute, "offered": cumulative(series["off"][: minute + 1]),
                         "tickets": cumulative(series["tkt"][: minute + 1])},
        "today_categories": categories,
    }


def _mark_part(part: dict, computed_at: float | None, name: str) -> None:
    """Give a live section the as-of of a precomputed part that is stale, so the screen marks it."""
    if computed_at is not None and is_stale(computed_at, name):
        part["as_of_ms"], part["max_age_ms"] = epoch_ms(computed_at), max_age_ms(PANELS[name])


def city_snapshot(stores: Stores, scope: str, *, now: datetime | None = None,
                  include_slow: bool = True) -> dict[str, Any]:
    """Everything the city wall shows for ``scope`` (a city code; a province sums its cities).

    ``now`` aware (default: the clock). Sections: volume, rates, queue, seats, districts (today's
    tickets by district), curves (today's cumulative offered calls and tickets per local minute,
    against the same weekday last week and the four-week median, each 1,440 values or None),
    categories (top today with change against their four-week norm), staffing (required vs staffed
    seats now), topics (today's hot topics, ``views.topics``), alerts. Sections of a failed source are missing and the source ('live',
    'history', 'alerts') is listed in ``failed``; ``errors`` holds a one-line reason each.
    ``include_slow=False`` skips the SQL sections (for a refresh that only needs live figures).
    ``live_state`` is ``ok`` when the live counters are complete, else the screen says "rebuilding".
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    settings = stores.settings
    refresh_s = settings.refresh_ms / 1000.0
    guard = Guard(stores, scope)
    resolved = guard.history(lambda: resolve(stores, scope))
    level, cities = resolved if resolved is not None else ("city", (scope,))
    names = region_names(stores, [scope], use_table="history" not in guard.failed)[scope]
    snap: dict[str, Any] = {
        "scope": scope, "level": level, "cities": list(cities), "name": names,
        "now": now.isoformat(), "now_ms": epoch_ms(now), "timezone": settings.timezone,
        "refresh_ms": settings.refresh_ms, "sections": {}, "failed": guard.failed, "errors": guard.errors,
    }
    sections = snap["sections"]
    # 'ok', or 'missing'/'stale'/'rebuilding' after a Redis restart: the figures are then partial.
    snap["live_state"] = guard.live(lambda: live.epoch_state(stores.redis)) or "unknown"
    got = guard.live(lambda: _live_sections(stores, cities, now, refresh_s))
    today_curves = got.pop("today_curves") if got else None
    today_categories: dict[str, int] = got.pop("today_categories") if got else {}
    sections.update(got or {})
    if "districts" in sections:
        sections["districts"]["population"] = populations(
            stores, list(sections["districts"]["counts"]), use_table="history" not in guard.failed)
    if today_curves is not None:
        found = guard.history(lambda: panel(stores, scope, cities, "baselines", now))
        baselines, computed = found if found is not None else ({}, None)
        minute = today_curves["minute"]
        last_week = baselines.get("last_week") or {"offered": None, "tickets": None}
        med = baselines.get("median") or {"offered": None, "tickets": None}

        def at(curve):
            return None if curve is None else curve[minute]

        sections["curves"] = section(
            sections["volume"]["as_of_ms"] / 1000, refresh_s, minute=minute, today=today_curves,
            last_week=last_week, median=med, baseline_as_of_ms=epoch_ms(computed) if computed else None,
            baseline_sources=baselines.get("sources", {}),
        )
        _mark_part(sections["curves"], computed, "baselines")
        sections["volume"].update(
            offered_last_week=at(last_week["offered"]), offered_median=at(med["offered"]),
            tickets_last_week=at(last_week["tickets"]), tickets_median=at(med["tickets"]),
        )
        if baselines.get("history"):
            snap["history"] = baselines["history"]
    if include_slow:
        found = guard.history(lambda: panel(stores, scope, cities, "catnorm", now))
        if found is not None and "live" not in guard.failed:
            norms, norm_at = found
            rows = [
                {"name": name, "today": n, "normal": norms.get(name), "change": definitions.relative_change(n, norms.get(name))}
                for name, n in today_categories.items()
            ]
            rows.sort(key=lambda r: (-r["today"], r["name"]))
            sections["categories"] = section(sections["volume"]["as_of_ms"] / 1000, refresh_s,
                                              top=rows[:TOP_CATEGORIES], norm_as_of_ms=epoch_ms(norm_at))
            _mark_part(sections["categories"], norm_at, "catnorm")
        found = guard.history(lambda: panel(stores, scope, cities, "util", now))
        if found is not None and "seats" in sections:
            sections["seats"].update(utilisation_today=found[0], utilisation_as_of_ms=epoch_ms(found[1]))
            _mark_part(sections["seats"], found[1], "util")
        if level != "district":
            found = guard.history(lambda: panel(stores, scope, cities, "staffing", now))
            if found is not None:
                sections["staffing"] = section(found[1], SLOW_TTL_S, **found[0])
        if level == "city":
            service = guard.history(lambda: service_section(stores, scope, now))
            if service is not None:
                sections["service"] = service
        if level in ("city", "district"):
            topics = guard.live(lambda: topics_section(stores, scope, level, cities, now))  # Redis only
            if topics is not None:
                sections["topics"] = topics
    found = guard.run("alerts", ("alerts", id(stores.engine)), lambda: alerts_section(stores, scope))
    if found is not None:
        sections["alerts"] = section(time.time(), refresh_s, **found)
    return snap


def topics_section(stores: Stores, scope: str, level: str, cities: Sequence[str], now: datetime) -> dict[str, Any]:
    """Today's hot topics of the wall's city as the worker stored them (``views.topics``), a
    district's own topics on a district wall; ``state`` "pending" while none is stored for today
    (a refresh never runs the segmentation). Stale when older than twice TOPICS_INTERVAL_S."""
    city = cities[0]
    found = panel(stores, city, (city,), "topics", now)
    if found is None:
        return section(time.time(), PANELS["topics"], state="pending", topics=[])
    value, computed_at = found
    return section(computed_at, PANELS["topics"], **for_scope(value, level, scope))


def province_of(code: str) -> str | None:
    """The province (xx0000) of a city adcode, None for a deployment's own codes."""
    return code[:2] + "0000" if len(code) == 6 and code.isdigit() and not code.endswith("0000") else None


def service_section(stores: Stores, city: str, now: datetime) -> dict[str, Any] | None:
    """The city's ticket-handling rates the province assesses (response, resolution, on-time closure,
    satisfaction) over the league window, with targets and statuses: the city's row of its
    province's precomputed league panel, so the wall and the province page show the same figures."""
    province = province_of(city)
    if province is None:
        return None
    found = panel(stores, province, (), "league", now)
    if found is None:
        return None
    league, computed_at = found
    row = league["rows"].get(city) or {}
    table = definitions.targets(stores.settings)
    return section(computed_at, PANELS["league"], days=LEAGUE_DAYS,
                   **{k: row.get(k) for k in LEAGUE_TICKET_RATES},
                   status={k: definitions.status(k, row.get(k), table) for k in LEAGUE_TICKET_RATES},
                   targets={k: table[k].get("target") for k in LEAGUE_TICKET_RATES if k in table})


def wall_path(code: str) -> str:
    """The page for a region code: '/province/<code>' for a province (xx0000), else '/wall/<code>'."""
    return f"/province/{code}" if len(code) == 6 and code.isdigit() and code.endswith("0000") else f"/wall/{code}"
