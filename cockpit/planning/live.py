"""The plan against the floor: planned seats from the kept roster, adherence, and seat shortage.

* ``planned_seats``: seats on the phones per interval in the kept roster of the week (None for
  intervals no kept plan covers).
* ``adherence``: staffed seats now / planned seats now (seats logged in and not on a break, against
  the plan's people on shift and not on a break).
* ``shortage``: the detection behind the ``seat_shortage`` watchpoint. A city is short when the
  seats staffed now are fewer than Erlang A needs for the calls offered over the last
  ``window_minutes`` (AHT and patience of the last 7 days), so the projected service level is
  below target; the watchpoint's ``hold_s`` (default 30 minutes) makes it fire only when that
  lasts, i.e. long enough to miss the target.

Naive UTC datetimes throughout. Read-only.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session

from cockpit import timeutil
from cockpit.metrics import definitions


from cockpit.metrics import staffing
from cockpit.settings import Settings
from cockpit.store.models import Call

log = logging.getLogger(__name__)

ROSTER_KEY = "planning:roster:{scope}:{week}"
WINDOW_MINUTES = 30
MIN_OFFERED = 10  # fewer calls in the window: too little traffic to judge


def roster_key(scope: str, monday: date) -> str:
    iso = monday.isocalendar()
    return ROSTER_KEY.format(scope=scope, week=f"{iso.year}-W{iso.week:02d}")


def kept_roster(redis, scope: str, monday: date) -> dict[str, Any] | None:
    """The roster kept for ``scope`` and the ISO week of ``monday`` (local), or None."""
    raw = redis.get(roster_key(scope, monday))
    return json.loads(raw) if raw else None


def _monday(moment: datetime, settings: Settings) -> date:
    local = moment.replace(tzinfo=UTC).astimezone(settings.tz).date()
    return local - timedelta(days=local.weekday())


def planned_seats(redis, scope: str, starts: list[datetime], settings: Settings) -> list[int | None]:
    """Planned seats on the phones per interval start (naive UTC) from the kept rosters; all None
    when Redis (where plans are kept) cannot be read, so the SQL figures beside them still show."""
    by_start: dict[str, int] = {}
    try:
        for monday in sorted({_monday(s, settings) for s in starts}):
            doc = kept_roster(redis, scope, monday)
            for row in (doc or {}).get("intervals", []):
                by_start[row["start"]] = row["planned"]
    except RedisError as exc:
        log.warning("planned seats of %s unknown: %s", scope, exc)
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
    offered = len(session.execute(
        select(Call.call_id).where(Call.city == city, Call.queued_at >= start, Call.queued_at < now)).all())
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
    cities = sorted(ctx.session.scalars(
        select(Call.city).where(Call.queued_at >= start, Call.queued_at < ctx.now).distinct()))
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


def plan_weeks(stores, *, now: datetime | None = None, weeks: int = 2) -> dict[str, list[str]]:
    """The worker job: keep a roster for this week and the next ones for every city with calls
    in the last 7 days (planned once, then read from the kept plan). Returns weeks planned per city."""
    from cockpit.errors import ParamError
    from cockpit.http.planning import roster_document

    now = timeutil.naive_utc(now) if now is not None else timeutil.utcnow()
    with stores.session() as session:
        cities = sorted(session.scalars(
            select(Call.city).where(Call.queued_at >= now - timedelta(days=7), Call.queued_at < now).distinct()))
    monday = _monday(now, stores.settings)
    done: dict[str, list[str]] = {}
    for city in cities:
        for k in range(weeks):
            week_monday = monday + timedelta(days=7 * k)
            if kept_roster(stores.redis, city, week_monday) is not None:
                continue
            iso = week_monday.isocalendar()
            week = f"{iso.year}-W{iso.week:02d}"
            try:
                roster_document(stores, scope=city, week=week, now=now)
            except ParamError as exc:
                log.warning("no roster for %s %s: %s", city, week, exc.message)
                continue
            done.setdefault(city, []).append(week)
    return done
