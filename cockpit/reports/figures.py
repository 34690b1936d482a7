"""Every figure a written report shows, from the metric contract, as one JSON-ready document.

``gather`` reads; it never commits. Comparisons:
- a *count* changes by ``(current - before) / before`` (``relative``), a *rate* by ``current - before``
  in percentage points (``points``);
- ``direction`` is ``up`` / ``down`` / ``flat`` from the change *as printed* (one decimal: a change
  that prints as 0.0 is ``flat``), or ``none`` when either side is missing (no data in that period,
  or a rate with an empty denominator);
- the previous period and the same period last year count as "history" only when they hold any
  ticket or call; otherwise their figures are None and the text says there is nothing to compare.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from cockpit import periods
from cockpit import timeutil
from cockpit.metrics import definitions, kpi, queries
from cockpit.metrics import staffing
from cockpit.privacy import mask_request_text
from cockpit.settings import Settings
from cockpit.store import reports
from cockpit.store.models import Ticket
from cockpit.store.regions import resolve_scope

COUNTS = ("tickets_created", "offered", "answered")
RATES = ("connection_rate", "service_level", "response_rate", "resolution_rate", "satisfaction_rate",
         "on_time_closure_rate")
HEADLINE = COUNTS + RATES
TOP_N = 10
CASES_RULE = {
    "zh": "典型案例选取规则：本期受理的工单中，(1) 流转次数（退单+转办）最多的一件；(2) 回访不满意中最早受理的一件；"
          "(3) 超出办理时限最久的一件（已办结按办结时间，未办结按当前时间计）。",
    "en": "Typical cases, by rule: among the tickets created in the period, (1) the one with the most hand-offs "
          "(returns + transfers); (2) the earliest one with a dissatisfied callback; (3) the one furthest past its "
          "deadline (closing time if closed, now if open).",
}
CASE_TEXT_CHARS = 120


def change(current: float | None, before: float | None, *, kind: str) -> dict[str, Any]:
    """The change from ``before`` to ``current``: count -> relative %, rate -> percentage points."""
    if current is None or before is None:
        return {"direction": "none", "value": None, "kind": kind}
    if kind == "count":
        if before == 0:
            return {"direction": "none" if current else "flat", "value": None if current else 0.0, "kind": kind}
        value = (current - before) / before * 100.0
    else:
        value = (current - before) * 100.0
    printed = round(abs(value), 1)
    direction = "flat" if printed == 0 else ("up" if value > 0 else "down")
    return {"direction": direction, "value": printed, "kind": kind}


def _has_history(session: Session, cities, districts, start: datetime, end: datetime) -> bool:
    return reports.has_activity(session, cities=cities, districts=districts, start=start, end=end)


def _kpi(session: Session, scope: str, p: periods.Period, settings: Settings, now: datetime) -> dict:
    start, end = p.window(settings.tz)
    return kpi.kpi(session, scope=scope, start=start, end=end, settings=settings, now=now)


def _categories(session: Session, cities, districts, start: datetime, end: datetime) -> Counter:
    return reports.tickets_by_category(session, cities=cities, districts=districts, start=start, end=end)


def _by_area(session: Session, cities, districts, level: str, start: datetime, end: datetime) -> Counter:
    """Tickets created per child region: per city for a province, per district otherwise."""
    return reports.tickets_by_area(session, cities=cities, districts=districts, by_city=level == "province",
                                   start=start, end=end)


def _alerts(session: Session, cities, districts, start: datetime, end: datetime) -> dict[str, Any]:
    return reports.alert_summary(session, cities=cities, districts=districts, start=start, end=end)


def _case(t: Ticket, reason: str) -> dict[str, Any]:
    text = mask_request_text((t.text or "").strip()) or ""
    return {"ticket_id": t.ticket_id, "reason": reason, "category": t.category, "district": t.district,
            "unit": t.unit, "status": t.status,
            "created_at": t.created_at.replace(tzinfo=UTC).isoformat() if t.created_at else None,
            "returns": t.returns, "transfers": t.transfers, "satisfaction": t.satisfaction,
            "text": text[:CASE_TEXT_CHARS] + ("…" if len(text) > CASE_TEXT_CHARS else "")}


def _cases(session: Session, cities, districts, start: datetime, end: datetime, now: datetime) -> list[dict]:
    """Typical cases by the rule in CASES_RULE (at most one per rule, never the same ticket twice)."""
    found = reports.case_candidates(session, cities=cities, districts=districts, start=start, end=end, now=now)
    picked: list[dict] = []
    seen: set[str] = set()

    def take(candidates, reason):
        for t in candidates:
            if t.ticket_id not in seen:
                seen.add(t.ticket_id)
                picked.append(_case(t, reason))
                return

    take(found["most_handoffs"], "most_handoffs")
    take(found["dissatisfied"], "dissatisfied")
    late = found["late"]
    late.sort(key=lambda t: (-(((t.closed_at if t.status == "closed" and t.closed_at else now) - t.due_at)
                               .total_seconds()), t.created_at, t.ticket_id))
    take(late[:5], "most_overdue")
    return picked


def _offered_per_interval(session: Session, cities, start: datetime, end: datetime) -> Counter:
    """Offered calls per 15-minute interval of queue time: rollups where covered, raw rows elsewhere."""
    out: Counter = Counter()
    pieces, middle = queries._split_for_rollups(session, start, end)
    if middle is not None:
        for at, n in reports.rollup_offered(session, cities=cities, start=middle[0], end=middle[1]):
            out[at] += n
    for lo, hi in pieces:
        for at in reports.offered_queue_times(session, cities=cities, start=lo, end=hi):
            out[timeutil.floor_interval(at)] += 1
    return out


def _staffing(session: Session, cities, start: datetime, end: datetime, kpi: dict, settings: Settings,
              now: datetime) -> dict[str, Any] | None:
    """Seat-hours needed (Erlang C per 15-minute interval) against seat-hours logged in."""
    if kpi.get("offered") is None:
        return None
    per = _offered_per_interval(session, cities, start, min(end, now))
    aht = kpi.get("aht_s") or staffing.DEFAULT_AHT_S
    target = float(definitions.targets(settings)["service_level"].get("target") or 0.8)
    cache: dict[int, int] = {}
    need_hours = 0.0
    peak = (None, 0)
    for at, n in per.items():
        if n not in cache:
            cache[n] = staffing.erlang_c_summary(n * 4.0, aht, target, settings.sl_threshold_s)["required_seats"]
        need_hours += cache[n] * 0.25
        if cache[n] > peak[1]:
            peak = (at, cache[n])
    # no logged-in time at all means seat states are not reported here: unknown, not zero
    logged = (kpi["seat_logged_in_s"] / 3600.0) if kpi.get("seat_logged_in_s") else None
    return {"required_seat_hours": need_hours, "logged_in_seat_hours": logged,
            "coverage": definitions.ratio(logged, need_hours), "aht_s": aht, "service_level_target": target,
            "peak_required_seats": peak[1],
            "peak_interval": peak[0].replace(tzinfo=UTC).isoformat() if peak[0] else None}


def _names(session: Session, codes, lang_en: bool = False) -> dict[str, str]:
    codes = [c for c in codes if c]
    if not codes:
        return {}
    out = reports.region_names(session, codes, english=lang_en)
    from geo import boundaries  # the bundled boundaries name the regions a deployment did not load

    for code in set(codes) - set(out):
        info = boundaries.region_info(code)
        if info and info.get("name_en" if lang_en else "name"):
            out[code] = info["name_en" if lang_en else "name"]
    return out


def gather(session: Session, *, scope: str, period: periods.Period, settings: Settings,
           now: datetime | None = None, topics: list[dict] | None = None) -> dict[str, Any]:
    """The figures of a report for ``scope`` and ``period`` (see module docstring)."""
    now = timeutil.naive_utc(now) if now is not None else timeutil.utcnow()
    level, cities, districts = resolve_scope(session, scope)
    start, end = period.window(settings.tz)
    prev, yoy = periods.previous(period), periods.year_before(period)
    current = _kpi(session, scope, period, settings, now)
    before = {}
    for name, p in (("previous", prev), ("year_before", yoy)):
        s, e = p.window(settings.tz)
        before[name] = _kpi(session, scope, p, settings, now) if _has_history(session, cities, districts, s, e) \
            else None
    headline = {}
    for key in HEADLINE:
        kind = "count" if key in COUNTS else "rate"
        value = current.get(key)
        prev_v = before["previous"].get(key) if before["previous"] else None
        yoy_v = before["year_before"].get(key) if before["year_before"] else None
        headline[key] = {"value": value, "previous": prev_v, "year_before": yoy_v, "kind": kind,
                         "change": change(value, prev_v, kind=kind),
                         "change_yoy": change(value, yoy_v, kind=kind),
                         "status": current["status"].get(key)}
    headline["overdue_open_now"] = {"value": current.get("overdue_open_now"), "kind": "count"}

    cats_now = _categories(session, cities, districts, start, end)
    ps, pe = prev.window(settings.tz)
    cats_prev = _categories(session, cities, districts, ps, pe) if before["previous"] else Counter()
    top = [{"name": c or "-", "count": n, "previous": cats_prev.get(c) if before["previous"] else None,
            "share": definitions.ratio(n, sum(cats_now.values())),
            "change": change(n, cats_prev.get(c, 0) if before["previous"] else None, kind="count")}
           for c, n in sorted(cats_now.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_N]]
    growing = []
    if before["previous"]:
        for c, n in cats_now.items():
            p_n = cats_prev.get(c, 0)
            if n > p_n:
                growing.append({"name": c or "-", "count": n, "previous": p_n, "added": n - p_n,
                                "change": change(n, p_n, kind="count")})
        growing.sort(key=lambda r: (-r["added"], r["name"]))
        growing = growing[:5]

    ranking_level = "city" if level == "province" else "district"
    rankings = {}
    for lvl in (ranking_level, "unit"):
        doc = kpi.rankings(session, scope=scope, level=lvl, start=start, end=end, settings=settings, now=now)
        rankings[lvl] = doc["rows"][:TOP_N]
    areas = _by_area(session, cities, districts, level, start, end)
    names = _names(session, list(areas) + [r["key"] for r in rankings[ranking_level]] + [scope])
    names_en = _names(session, list(areas) + [r["key"] for r in rankings[ranking_level]] + [scope], True)
    return {
        "scope": scope, "level": level, "cities": list(cities),
        "scope_name": names.get(scope, scope), "scope_name_en": names_en.get(scope) or names.get(scope, scope),
        "period": period.as_dict(), "previous_period": prev.as_dict(), "year_before_period": yoy.as_dict(),
        "history": {"previous": before["previous"] is not None, "year_before": before["year_before"] is not None},
        "from": start.replace(tzinfo=UTC).isoformat(), "to": end.replace(tzinfo=UTC).isoformat(),
        "generated_at": now.replace(tzinfo=UTC).isoformat(), "timezone": settings.tz.key,
        "definitions_version": definitions.DEFINITIONS_VERSION,
        "targets": current["targets"],
        "headline": headline,
        "categories": {"top": top, "growing": growing},
        "rankings": rankings, "ranking_level": ranking_level,
        "areas": [{"code": c, "name": names.get(c, c), "name_en": names_en.get(c) or names.get(c, c), "count": n}
                  for c, n in sorted(areas.items(), key=lambda kv: (-kv[1], kv[0]))],
        "names": names, "names_en": names_en,
        "alerts": _alerts(session, cities, districts, start, end),
        "cases": _cases(session, cities, districts, start, end, now),
        "cases_rule": CASES_RULE,
        "staffing": _staffing(session, cities, start, end, current, settings, now),
        "topics": topics or [],
    }

