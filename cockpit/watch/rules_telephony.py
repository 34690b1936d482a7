"""Telephony rules: connection rate below target, calls piling up in the queue."""

from __future__ import annotations

from datetime import UTC

from cockpit import timeutil
from cockpit.metrics import definitions
from cockpit.store import live
from cockpit.store.watchpoints import connection_by_interval
from cockpit.watch.alerts import Finding
from cockpit.watch.config import Context, _finding, _ticket_filter


def rule_connection_drop(ctx: Context) -> list[Finding]:
    """Connection rate below target in each of the last ``intervals`` whole 15-minute intervals."""
    p0 = ctx.cfg.params("connection_drop")
    n_int = int(p0["intervals"])
    end = timeutil.floor_interval(ctx.now)
    starts = [end - timeutil.INTERVAL * (n_int - i) for i in range(n_int)]
    per_city = connection_by_interval(ctx.session, starts=starts, step=timeutil.INTERVAL,
                                      short_abandon_s=ctx.settings.short_abandon_s)
    default_target = definitions.targets(ctx.settings)["connection_rate"]["target"]
    out = []
    for city, counts in per_city.items():
        p = ctx.cfg.params("connection_drop", city)
        target = p["target"] if p["target"] is not None else default_target
        rates = []
        for o, a, s in counts:
            rate = definitions.connection_rate(a, o, s)
            rates.append(None if o - s < p["min_offered"] else rate)
        if any(rate is None or rate >= target for rate in rates):
            continue
        f = _finding(ctx, "connection_drop", city, city, None,
                     f"接通率连续{n_int}个15分钟低于{target:.0%}（最近{rates[-1]:.1%}）",
                     {"target": target, "filter": _ticket_filter(city=city)})
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
