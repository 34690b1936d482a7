"""Telephony rules: connection rate below target, calls piling up in the queue."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import and_, case, func, or_, select

from cockpit import timeutil
from cockpit.metrics import definitions
from cockpit.store import live
from cockpit.store.models import Call
from cockpit.watch.alerts import Finding
from cockpit.watch.config import Context, _finding, _ticket_filter


def rule_connection_drop(ctx: Context) -> list[Finding]:
    """Connection rate below target in each of the last ``intervals`` whole 15-minute intervals."""
    c = Call
    p0 = ctx.cfg.params("connection_drop")
    n_int = int(p0["intervals"])
    end = timeutil.floor_interval(ctx.now)
    starts = [end - timeutil.INTERVAL * (n_int - i) for i in range(n_int)]
    short = ctx.settings.short_abandon_s
    offered = or_(c.offered_at.is_not(None), c.answered_at.is_not(None), c.abandoned_at.is_not(None))
    abandoned_short = and_(c.abandoned_at.is_not(None), c.answered_at.is_(None), c.wait_s <= short)
    cols = []
    for i, s in enumerate(starts):
        inside = and_(c.queued_at >= s, c.queued_at < s + timeutil.INTERVAL)
        cols += [func.sum(case((and_(inside, offered), 1), else_=0)).label(f"o{i}"),
                 func.sum(case((and_(inside, c.answered_at.is_not(None)), 1), else_=0)).label(f"a{i}"),
                 func.sum(case((and_(inside, abandoned_short), 1), else_=0)).label(f"s{i}")]
    rows = ctx.session.execute(
        select(c.city, *cols).where(c.queued_at >= starts[0], c.queued_at < end).group_by(c.city))
    default_target = definitions.targets(ctx.settings)["connection_rate"]["target"]
    out = []
    for r in rows:
        p = ctx.cfg.params("connection_drop", r.city)
        target = p["target"] if p["target"] is not None else default_target
        rates = []
        for i in range(n_int):
            o, a, s = (int(r._mapping[f"{x}{i}"] or 0) for x in "oas")
            rate = definitions.connection_rate(a, o, s)
            rates.append(None if o - s < p["min_offered"] else rate)
        if any(rate is None or rate >= target for rate in rates):
            continue
        f = _finding(ctx, "connection_drop", r.city, r.city, None,
                     f"接通率连续{n_int}个15分钟低于{target:.0%}（最近{rates[-1]:.1%}）",
                     {"target": target, "filter": _ticket_filter(city=r.city)})
        if f:
            out.append(f)
    return out


def rule_queue_surge(ctx: Context) -> list[Finding]:
    """Calls waiting now or the longest current wait over a threshold (cockpit.live.waiting)."""
    if ctx.redis is None:
        return []
    out = []
    now_aware = ctx.now.replace(tzinfo=UTC)
    for city in live.known_cities(ctx.redis):
        p = ctx.cfg.params("queue_surge", city)
        w = live.waiting(ctx.redis, [city], now=now_aware)
        longest = w.longest_wait_s or 0.0
        if w.calls < p["max_waiting"] and longest < p["max_wait_s"]:
            continue
        f = _finding(ctx, "queue_surge", city, city, None, f"排队积压：{w.calls}通等待，最长{longest / 60:.0f}分钟",
                     {"max_waiting": p["max_waiting"], "max_wait_s": p["max_wait_s"]})
        if f:
            out.append(f)
    return out
