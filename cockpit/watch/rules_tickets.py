"""Per-ticket rules: overdue, closed late, transfer chain, dissatisfied callback, urgent content,
and the per-unit no-callback share."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime, timedelta

from cockpit.store import watchpoints as rows_of
from cockpit.watch.alerts import Finding
from cockpit.watch.config import (
    MAD_SCALE,
    SAFETY_WORDS,
    Context,
    _finding,
    _iso,
    _short_key,
    _ticket_filter,
)


def rule_overdue(ctx: Context) -> list[Finding]:
    """Open tickets past their due time (超期未办结)."""
    rows = rows_of.overdue_tickets(ctx.session, now=ctx.now, replay=ctx.backtest)
    out = []
    for r in rows:
        p = ctx.cfg.params("overdue", r.city, r.district)
        late_h = (ctx.now - r.due_at).total_seconds() / 3600
        severity = "critical" if late_h >= p["critical_after_h"] else None
        f = _finding(ctx, "overdue", r.ticket_id, r.city, r.district, f"工单{r.ticket_id}超期未办结",
                     {"ticket_id": r.ticket_id, "due_at": _iso(r.due_at), "unit": r.unit, "category": r.category,
                      "filter": {"ticket_ids": [r.ticket_id]}}, severity=severity,
                     items=[r.ticket_id], since=r.due_at)
        if f:
            out.append(f)
    return out


def rule_closed_late(ctx: Context) -> list[Finding]:
    """Tickets closed after their due time within the last ``lookback_h`` (超期办结)."""
    since = ctx.now - timedelta(hours=ctx.cfg.params("closed_late")["lookback_h"])
    rows = rows_of.closed_late_tickets(ctx.session, since=since, now=ctx.now)
    out = []
    for r in rows:
        late_h = round((r.closed_at - r.due_at).total_seconds() / 3600, 1)
        f = _finding(ctx, "closed_late", r.ticket_id, r.city, r.district, f"工单{r.ticket_id}超期办结（超{late_h}小时）",
                     {"ticket_id": r.ticket_id, "due_at": _iso(r.due_at), "closed_at": _iso(r.closed_at),
                      "late_h": late_h, "unit": r.unit, "filter": {"ticket_ids": [r.ticket_id]}},
                     items=[r.ticket_id], since=r.closed_at)
        if f:
            out.append(f)
    return out


def rule_transfer_chain(ctx: Context) -> list[Finding]:
    """Open tickets returned or transferred at least ``handoffs`` times (超长流转)."""
    p0 = ctx.cfg.params("transfer_chain")
    rows = rows_of.handoff_tickets(ctx.session, created_since=ctx.now - timedelta(days=p0["lookback_days"]),
                                   min_handoffs=ctx.cfg.loosest("transfer_chain", "handoffs"))
    out = []
    for r in rows:
        if r.handoffs < ctx.cfg.params("transfer_chain", r.city, r.district)["handoffs"]:
            continue
        f = _finding(ctx, "transfer_chain", r.ticket_id, r.city, r.district,
                     f"工单{r.ticket_id}流转{r.handoffs}次仍未办结",
                     {"ticket_id": r.ticket_id, "returns": r.returns, "transfers": r.transfers,
                      "handoffs": int(r.handoffs), "unit": r.unit, "accepted": r.responded_at is not None,
                      "filter": {"ticket_ids": [r.ticket_id]}}, items=[r.ticket_id], since=r.created_at)
        if f:
            out.append(f)
    return out


def rework_stage(status: str, callback_at: datetime | None, closed_at: datetime | None) -> str:
    """Where a dissatisfied ticket is in its rework loop."""
    if status != "closed":
        return "in_rework"
    if closed_at is not None and callback_at is not None and closed_at > callback_at:
        return "reworked_awaiting_callback"
    return "awaiting_rework"


def rule_dissatisfied(ctx: Context) -> list[Finding]:
    """Tickets whose latest callback was dissatisfied (回访不满意): rework until a later callback
    is not dissatisfied. ``stage`` follows the loop: awaiting_rework -> in_rework ->
    reworked_awaiting_callback."""
    p0 = ctx.cfg.params("dissatisfied")
    rows = rows_of.dissatisfied_tickets(ctx.session, since=ctx.now - timedelta(days=p0["lookback_days"]),
                                        now=ctx.now)
    out = []
    for r in rows:
        stage = rework_stage(r.status, r.callback_at, r.closed_at)
        f = _finding(ctx, "dissatisfied", r.ticket_id, r.city, r.district, f"工单{r.ticket_id}回访不满意，需重办",
                     {"ticket_id": r.ticket_id, "unit": r.unit, "stage": stage, "reopens": int(r.reopens or 0),
                      "callback_at": _iso(r.callback_at), "filter": {"ticket_ids": [r.ticket_id]}},
                     items=[r.ticket_id], since=r.callback_at)
        if f:
            out.append(f)
    return out

def rule_no_callback_misuse(ctx: Context) -> list[Finding]:
    """Units whose share of 'no callback needed' closures is far above their city's peers (无需回访).

    Closures are counted by ``closed_at`` in the window, whatever happened after (a reopened
    ticket's closure still counts)."""
    p0 = ctx.cfg.params("no_callback_misuse")
    rows = rows_of.closures_by_unit(ctx.session, since=ctx.now - timedelta(days=p0["days"]), now=ctx.now)
    by_city: dict[str, list] = defaultdict(list)
    for r in rows:
        by_city[r.city].append(r)
    out = []
    for city, units in by_city.items():
        p = ctx.cfg.params("no_callback_misuse", city)
        eligible = [u for u in units if u.n >= p["min_closures"]]
        for u in eligible:
            peers = [v.nc / v.n for v in eligible if v.unit != u.unit]
            if len(peers) < p["min_peers"]:
                continue
            share = u.nc / u.n
            med = statistics.median(peers)
            mad = statistics.median([abs(x - med) for x in peers])
            # Binomial noise of the unit's own share floors the spread.
            scale = max(MAD_SCALE * mad, (max(med, 0.01) * (1 - min(med, 0.99)) / u.n) ** 0.5)
            z = (share - med) / scale
            if z < p["z"] or share - med < p["min_excess"]:
                continue
            f = _finding(ctx, "no_callback_misuse", _short_key("unit", city, u.unit), city, None,
                         f"{u.unit}无需回访占比{share:.0%}，远高于同级{med:.0%}",
                         {"unit": u.unit, "closures": int(u.n), "no_callback": int(u.nc), "share": round(share, 4),
                          "peer_median": round(med, 4), "z": round(z, 2),
                          "days": p0["days"], "filter": _ticket_filter(city=city, unit=u.unit, no_callback=True)})
            if f:
                out.append(f)
    return out


def rule_urgent_content(ctx: Context) -> list[Finding]:
    """Open tickets of the last ``lookback_h`` whose text has safety words, or marked emergency:
    flag them and suggest a hand-off to 110/119/120 (紧急/情绪诉求)."""
    p0 = ctx.cfg.params("urgent_content")
    words = sorted(SAFETY_WORDS)
    rows = rows_of.urgent_candidates(ctx.session, since=ctx.now - timedelta(hours=p0["lookback_h"]), now=ctx.now,
                                     words=words, replay=ctx.backtest)
    out = []
    for r in rows:
        body = (r.text or "").lower()
        hits = [w for w in words if w in body]
        # A ticket marked emergency without safety words (a burst main, a missing manhole cover) is
        # urgent, but nothing says which line it needs: no 110/119/120 is suggested for it.
        lines = sorted({line for w in hits for line in SAFETY_WORDS[w]})
        if not hits and r.urgency != "emergency":
            continue
        title = (f"工单{r.ticket_id}含紧急内容（{'、'.join(hits)}），建议转{'/'.join(lines)}" if hits
                 else f"工单{r.ticket_id}标记为紧急，请立即核实处置")
        f = _finding(ctx, "urgent_content", r.ticket_id, r.city, r.district, title,
                     {"ticket_id": r.ticket_id, "words": hits, "handoff": lines, "urgency": r.urgency,
                      "filter": {"ticket_ids": [r.ticket_id]}}, items=[r.ticket_id], since=r.created_at)
        if f:
            out.append(f)
    return out
