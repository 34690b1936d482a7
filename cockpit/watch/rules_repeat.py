"""The repeat-complaint rule (反复投诉): the same place and category, or the same caller, k times."""

from __future__ import annotations

from datetime import timedelta

from cockpit.store import jobruns
from cockpit.store import watchpoints as rows_of
from cockpit.watch.alerts import Finding
from cockpit.watch.config import (
    REPEAT_FULL_EVERY,
    REPEAT_FULL_JOB,
    REPEAT_RECENT,
    Context,
    _finding,
    _short_key,
    _ticket_filter,
    mask_caller,
    normalize_address,
)


def _repeat_groups_sql(ctx: Context, window, k_min: int, skip_masked: bool) -> list[dict]:
    """Groups of the repeat rule by GROUP BY on the text keys (SQLite: small deployments)."""
    return rows_of.repeat_groups(ctx.session, window, k_min, skip_masked)


def _repeat_groups_recent(ctx: Context, window, k_min: int, skip_masked: bool) -> list[dict]:
    """Incremental pass (PostgreSQL): only places and callers that can have changed, those of
    tickets created in the last REPEAT_RECENT and those of open or muted repeat alerts.

    A group only reaches k when a ticket joins it, and only drops below k while its alert is
    open or muted, so nothing is missed between full passes; the cost follows the number of
    recent tickets, not the size of the window.
    """
    places, callers = rows_of.recent_places_and_callers(ctx.session, since=ctx.now - REPEAT_RECENT, now=ctx.now,
                                                        skip_masked=skip_masked)
    for city, detail in rows_of.open_or_muted_details(ctx.session, "repeat_complaint"):
        # A grouped alert (cockpit.watch.grouping) lists its members' keys.
        for m in [detail, *(detail.get("members") or [])]:
            if m.get("kind") == "address" and m.get("norm"):
                places.add((city, m["norm"]))
            elif m.get("kind") == "caller" and m.get("caller"):
                callers.add((city, m["caller"]))
    return rows_of.repeat_members(ctx.session, window, places, callers, k_min, skip_masked)


def _repeat_groups_full_pg(ctx: Context, window, k_min: int, skip_masked: bool) -> list[dict]:
    """Full pass (PostgreSQL): the keys seen k times by hash (``rows_of.repeat_first_ids``), then
    resolved exactly through ``repeat_members`` (a hash collision can only add a candidate)."""
    first_ids = rows_of.repeat_first_ids(ctx.session, window, k_min, skip_masked)
    places, callers = set(), set()
    for r in rows_of.ticket_places(ctx.session, list(first_ids)):
        if "address" in first_ids[r.ticket_id] and normalize_address(r.address):
            places.add((r.city, normalize_address(r.address)))
        if "caller" in first_ids[r.ticket_id]:
            callers.add((r.city, r.caller))
    return rows_of.repeat_members(ctx.session, window, places, callers, k_min, skip_masked)


def _repeat_full_due(ctx: Context) -> bool:
    """Whether the repeat rule must scan its whole window now (and record that it does)."""
    last = jobruns.last_done(ctx.session, REPEAT_FULL_JOB)
    if last is not None and last <= ctx.now < last + REPEAT_FULL_EVERY:
        return False
    jobruns.set_done(ctx.session, REPEAT_FULL_JOB, ctx.now)
    return True


def rule_repeat_complaint(ctx: Context) -> list[Finding]:
    """At least k tickets with the same normalised address and category, or the same caller,
    created within the last ``days`` days (反复投诉)."""
    p0 = ctx.cfg.params("repeat_complaint")
    k_min = ctx.cfg.loosest("repeat_complaint", "k")
    window = rows_of.created_window(ctx.now - timedelta(days=p0["days"]), ctx.now)
    if ctx.dialect != "postgresql" or ctx.backtest:
        gather = _repeat_groups_sql
    else:
        gather = _repeat_groups_full_pg if _repeat_full_due(ctx) else _repeat_groups_recent
    out: list[Finding] = []
    for g in gather(ctx, window, k_min, bool(p0["skip_masked_callers"])):
        if g["n"] < ctx.cfg.params("repeat_complaint", g["city"], g["district"])["k"]:
            continue
        ids = sorted(g["ids"])[:100]
        if g["kind"] == "address":
            f = _finding(ctx, "repeat_complaint", _short_key("addr", g["city"], g["norm"], g["category"] or ""),
                         g["city"], g["district"],
                         f"{g['address']}反复投诉{g['category'] or ''}（{g['n']}次/{p0['days']}天）",
                         {"kind": "address", "address": g["address"], "norm": g["norm"], "category": g["category"],
                          "count": g["n"],
                          "ticket_ids": ids, "filter": _ticket_filter(ticket_ids=ids)}, items=sorted(g["ids"]))
        else:
            f = _finding(ctx, "repeat_complaint", _short_key("caller", g["city"], g["caller"]), g["city"], None,
                         f"同一来电人{mask_caller(g['caller'])}反复来电（{g['n']}次/{p0['days']}天）",
                         {"kind": "caller", "caller": g["caller"], "count": g["n"], "ticket_ids": ids,
                          "filter": _ticket_filter(ticket_ids=ids)}, items=sorted(g["ids"]))
        if f:
            out.append(f)
    return out
