"""The KPI and ranking answers: the counts of ``metrics.queries`` put through ``metrics.definitions``.

One JSON-ready dict per question, served as is by the API (``http.kpi``) and the CLI, and read by
the screens. Windows are ``[start, end)``, naive UTC or aware. Read-only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from cockpit.metrics.definitions import (DEFINITIONS_VERSION, RANKING_LEVELS, RANKING_METRICS, CallCounts, SeatTimes,
                                         TicketCounts, composite_score, per_100k, status, targets)
from cockpit.metrics.queries import call_counts, connection_counts_by_city, overdue_open_now, queue_now, seat_times, ticket_counts
from cockpit.settings import Settings
from cockpit.store.regions import populations, resolve_scope
from cockpit.timeutil import naive_utc, utcnow


def kpi(session: Session, *, scope: str, start: datetime, end: datetime, settings: Settings,
        now: datetime | None = None, sl_threshold_s: float | None = None, use_rollups: bool = True) -> dict:
    """Every KPI for a scope and a window ``[start, end)`` (naive UTC or aware), as one JSON-ready dict.

    Telephony figures are None for a district scope (calls carry no district). Rates with an
    empty denominator are None. Read-only.
    """
    now = naive_utc(now) if now is not None else utcnow()
    start, end = naive_utc(start), naive_utc(end)
    threshold = float(settings.sl_threshold_s if sl_threshold_s is None else sl_threshold_s)
    level, cities, districts = resolve_scope(session, scope)
    table = targets(settings)
    doc: dict[str, Any] = {
        "scope": scope, "level": level, "cities": list(cities),
        "from": start.replace(tzinfo=UTC).isoformat(), "to": end.replace(tzinfo=UTC).isoformat(),
        "sl_threshold_s": threshold, "short_abandon_s": settings.short_abandon_s,
        "definitions_version": DEFINITIONS_VERSION,
    }
    if level == "district":
        doc.update({k: None for k in CallCounts().figures()})
        doc.update({"waiting_now": None, "longest_wait_now_s": None, "calls_path": None})
        doc.update({k: None for k in SeatTimes().figures()})
    else:
        counts, path = call_counts(session, cities=cities, start=start, end=end, sl_threshold_s=threshold,
                                   short_abandon_s=settings.short_abandon_s, use_rollups=use_rollups)
        doc.update(counts.figures())
        doc["calls_path"] = path
        waiting, longest = queue_now(session, cities=cities, now=now)
        doc.update({"waiting_now": waiting, "longest_wait_now_s": longest})
        doc.update(seat_times(session, cities=cities, start=start, end=end, now=now,
                              use_rollups=use_rollups).figures())
    tc = ticket_counts(session, cities=cities, districts=districts, start=start, end=end, now=now,
                       settings=settings, use_cohorts=use_rollups)
    # tickets_created is the cohort's size (TicketCounts.created): the same tickets, no second read
    # (the ticket rollups hold about a row per ticket at the simulator's mix)
    doc.update(tc.figures())
    doc["overdue_open_now"] = overdue_open_now(session, cities=cities, districts=districts, now=now)
    doc["status"] = {name: status(name, doc.get(name), table) for name in table if name in doc}
    doc["targets"] = {name: spec.get("target") for name, spec in table.items()}
    return doc


def rankings(session: Session, *, scope: str, level: str, start: datetime, end: datetime, settings: Settings,
             now: datetime | None = None, ticket_groups: dict[Any, TicketCounts] | None = None) -> dict:
    """League table of districts, handling units or cities within a scope for ``[start, end)``.

    Each row: the three rates, on-time closure, connection rate (cities only), a composite score
    (mean of min(actual/target, 1.25) over the metrics present; inverted where lower is better),
    and volumes per 100,000 residents where the population is known. Sorted best first; rows
    without a score last. ``ticket_groups``: the window's ``ticket_counts`` grouped by ``level``
    when the caller has read them already (keys outside the scope's cities are left out).
    """
    if level not in RANKING_LEVELS:
        raise ValueError(f"level must be one of {', '.join(RANKING_LEVELS)}")
    now = naive_utc(now) if now is not None else utcnow()
    start, end = naive_utc(start), naive_utc(end)
    _level, cities, districts = resolve_scope(session, scope)
    table = targets(settings)
    if ticket_groups is None:
        groups = ticket_counts(session, cities=cities, districts=districts, start=start, end=end, now=now,
                               settings=settings, group_by=level)
    else:
        groups = {k: v for k, v in ticket_groups.items() if level != "city" or k in cities}
    calls: dict[str, CallCounts] = {}
    if level == "city":  # grouped statements for every city: the day rollups, the rest of the window
        by_city = connection_counts_by_city(session, cities=cities, start=start, end=end, settings=settings)
        calls = {city: by_city.get(city, CallCounts()) for city in cities}
    keys = set(groups) | {c for c, cc in calls.items() if cc.offered}
    pops = populations(session, [k for k in keys if k]) if level in ("district", "city") else {}
    rows = []
    for key in keys:
        tf = (groups.get(key) or TicketCounts()).figures()
        row: dict[str, Any] = {"key": key or "", "tickets_created": tf["tickets_created"]}
        for name in RANKING_METRICS:
            row[name] = tf.get(name)
        cc = calls.get(key)
        row["connection_rate"] = cc.figures()["connection_rate"] if cc is not None else None
        row["offered"] = cc.offered if cc is not None else None
        row["score"] = composite_score({m: row[m] for m in RANKING_METRICS}, table)
        row["population"] = pops.get(key)
        row["tickets_per_100k"] = per_100k(row["tickets_created"], row["population"])
        row["offered_per_100k"] = per_100k(row["offered"], row["population"])
        rows.append(row)
    rows.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0.0), -r["tickets_created"], r["key"]))
    for i, row in enumerate(rows, 1):
        row["rank"] = i
    return {
        "scope": scope, "level": level, "from": start.replace(tzinfo=UTC).isoformat(),
        "to": end.replace(tzinfo=UTC).isoformat(), "rows": rows, "definitions_version": DEFINITIONS_VERSION,
        "targets": {m: table[m].get("target") for m in RANKING_METRICS},
    }
