"""The repeat-complaint rule (反复投诉): the same place and category, or the same caller, k times."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import String, and_, case, column, func, literal_column, or_, select, tuple_, values

from cockpit.batching import batches
from cockpit.store.models import Alert, JobRun, Ticket
from cockpit.watch.alerts import Finding
from cockpit.watch.config import (
    REPEAT_FULL_EVERY,
    REPEAT_FULL_JOB,
    REPEAT_RECENT,
    Context,
    _agg_ids,
    _finding,
    _short_key,
    _ticket_filter,
    mask_caller,
    normalize_address,
    normalized_address_sql,
)


def _repeat_groups_sql(ctx: Context, window, k_min: int, skip_masked: bool) -> list[dict]:
    """Groups of the repeat rule by GROUP BY on the text keys (SQLite: small deployments)."""
    t = Ticket
    norm = normalized_address_sql(t.address, ctx.dialect).label("norm")
    # Code-point order, as Python's min() in the incremental pass (stable details, no churn).
    address = t.address.collate("C") if ctx.dialect == "postgresql" else t.address
    out = []
    for r in ctx.session.execute(
        select(t.city, norm, t.category, func.count().label("n"), func.min(t.district).label("district"),
               _agg_ids(ctx.dialect, t.ticket_id).label("ids"), func.min(address).label("address"))
        .where(window, t.address.is_not(None), t.address != "")
        .group_by(t.city, norm, t.category).having(func.count() >= k_min)
    ):
        if r.norm:
            out.append({"kind": "address", "city": r.city, "norm": r.norm, "category": r.category, "n": int(r.n),
                        "district": r.district, "address": r.address, "ids": r.ids.split()})
    caller_q = (
        select(t.city, t.caller, func.count().label("n"), func.min(t.district).label("district"),
               _agg_ids(ctx.dialect, t.ticket_id).label("ids"))
        .where(window, t.caller.is_not(None), t.caller != "")
        .group_by(t.city, t.caller).having(func.count() >= k_min))
    if skip_masked:
        caller_q = caller_q.where(t.caller.not_like("%*%"))
    for r in ctx.session.execute(caller_q):
        out.append({"kind": "caller", "city": r.city, "caller": r.caller, "n": int(r.n), "district": r.district,
                    "ids": r.ids.split()})
    return out


def _repeat_conditions(ctx: Context, skip_masked: bool):
    t = Ticket
    has_address = and_(t.address.is_not(None), t.address != "")
    has_caller = and_(t.caller.is_not(None), t.caller != "")
    if skip_masked:
        # A masked number (186****2832) is not an identity: many callers share it.
        has_caller = and_(has_caller, t.caller.not_like("%*%"))
    return normalized_address_sql(t.address, ctx.dialect), has_address, has_caller


def _repeat_members(ctx: Context, window, places: set, callers: set, k_min: int, skip_masked: bool) -> list[dict]:
    """The groups of the given places ((city, normalised address)) and callers ((city, caller))
    with at least ``k_min`` tickets in ``window``, each looked up through ``ix_tickets_place`` /
    ``ix_tickets_caller`` (PostgreSQL). Places are split by category here."""
    t = Ticket
    norm, has_address, has_caller = _repeat_conditions(ctx, skip_masked)
    groups: dict[tuple, dict] = {}
    for chunk in batches(sorted(places), 500):
        cand = values(column("c", String), column("n", String), name="cand").data(chunk)
        for r in ctx.session.execute(
                select(t.ticket_id, t.city, t.district, t.category, t.address, cand.c.n)
                .join(cand, and_(t.city == cand.c.c, norm == cand.c.n)).where(window, has_address)):
            g = groups.setdefault(("address", r.city, r.n, r.category), {
                "kind": "address", "city": r.city, "norm": r.n, "category": r.category, "ids": [],
                "districts": [], "addresses": []})
            g["ids"].append(r.ticket_id)
            g["districts"].append(r.district or "")
            g["addresses"].append(r.address)
    for chunk in batches(sorted(callers), 500):
        cand = values(column("c", String), column("p", String), name="cand").data(chunk)
        for r in ctx.session.execute(
                select(t.ticket_id, t.city, t.district, t.caller)
                .join(cand, and_(t.city == cand.c.c, t.caller == cand.c.p)).where(window, has_caller)):
            g = groups.setdefault(("caller", r.city, r.caller), {
                "kind": "caller", "city": r.city, "caller": r.caller, "ids": [], "districts": []})
            g["ids"].append(r.ticket_id)
            g["districts"].append(r.district or "")
    out = []
    for g in groups.values():
        g["n"] = len(g["ids"])
        if g["n"] >= k_min:
            g["district"] = min(g.pop("districts")) or None
            if g["kind"] == "address":
                g["address"] = min(g.pop("addresses"))
            out.append(g)
    return out


def _repeat_groups_recent(ctx: Context, window, k_min: int, skip_masked: bool) -> list[dict]:
    """Incremental pass (PostgreSQL): only places and callers that can have changed, those of
    tickets created in the last REPEAT_RECENT and those of open or muted repeat alerts.

    A group only reaches k when a ticket joins it, and only drops below k while its alert is
    open or muted, so nothing is missed between full passes; the cost follows the number of
    recent tickets, not the size of the window.
    """
    t = Ticket
    norm, has_address, has_caller = _repeat_conditions(ctx, skip_masked)
    recent = and_(t.created_at >= ctx.now - REPEAT_RECENT, t.created_at <= ctx.now)
    places = {(c, n) for c, n in ctx.session.execute(select(t.city, norm).where(recent, has_address).distinct()) if n}
    callers = set(ctx.session.execute(select(t.city, t.caller).where(recent, has_caller).distinct()).tuples())
    for city, detail in ctx.session.execute(
            select(Alert.city, Alert.detail).where(Alert.rule == "repeat_complaint",
                                                   or_(Alert.open_key.is_not(None), Alert.mute_key.is_not(None)))):
        # A grouped alert (cockpit.watch.grouping) lists its members' keys.
        for m in [detail, *(detail.get("members") or [])]:
            if m.get("kind") == "address" and m.get("norm"):
                places.add((city, m["norm"]))
            elif m.get("kind") == "caller" and m.get("caller"):
                callers.add((city, m["caller"]))
    return _repeat_members(ctx, window, places, callers, k_min, skip_masked)


def _repeat_groups_full_pg(ctx: Context, window, k_min: int, skip_masked: bool) -> list[dict]:
    """Full pass (PostgreSQL): one scan of the window grouped by two 64-bit hash keys
    (city+place+category, city+caller) in GROUPING SETS. Hash-aggregating integers is several
    times faster than sorting collated text; the few keys seen k times are then resolved
    exactly through ``_repeat_members`` (a hash collision can only add a candidate)."""
    t = Ticket
    norm, has_address, has_caller = _repeat_conditions(ctx, skip_masked)
    sep = literal_column("'|'")
    akey = case((has_address, func.hashtextextended(
        func.concat(t.city, sep, norm, sep, func.coalesce(t.category, "")), 0)), else_=None).label("ak")
    ckey = case((has_caller, func.hashtextextended(func.concat(t.city, sep, t.caller), 0)), else_=None).label("ck")
    keyed = select(t.ticket_id, akey, ckey).where(window).subquery()
    first_ids = {}
    for r in ctx.session.execute(
            select(keyed.c.ak, keyed.c.ck, func.min(keyed.c.ticket_id).label("first"))
            .group_by(func.grouping_sets(tuple_(keyed.c.ak), tuple_(keyed.c.ck)))
            .having(func.count() >= k_min)):
        if r.ak is not None:
            first_ids[r.first] = first_ids.get(r.first, set()) | {"address"}
        elif r.ck is not None:
            first_ids[r.first] = first_ids.get(r.first, set()) | {"caller"}
    places, callers = set(), set()
    for chunk in batches(sorted(first_ids), 1000):
        for r in ctx.session.execute(select(t.ticket_id, t.city, t.address, t.caller).where(t.ticket_id.in_(chunk))):
            if "address" in first_ids[r.ticket_id] and normalize_address(r.address):
                places.add((r.city, normalize_address(r.address)))
            if "caller" in first_ids[r.ticket_id]:
                callers.add((r.city, r.caller))
    return _repeat_members(ctx, window, places, callers, k_min, skip_masked)


def _repeat_full_due(ctx: Context) -> bool:
    """Whether the repeat rule must scan its whole window now (and record that it does)."""
    row = ctx.session.get(JobRun, REPEAT_FULL_JOB)
    last = row.last_done if row is not None else None
    if last is not None and last <= ctx.now < last + REPEAT_FULL_EVERY:
        return False
    if row is None:
        ctx.session.add(JobRun(name=REPEAT_FULL_JOB, last_done=ctx.now, updated_at=ctx.now))
    else:
        row.last_done, row.updated_at = ctx.now, ctx.now
    return True


def rule_repeat_complaint(ctx: Context) -> list[Finding]:
    """At least k tickets with the same normalised address and category, or the same caller,
    created within the last ``days`` days (反复投诉)."""
    t = Ticket
    p0 = ctx.cfg.params("repeat_complaint")
    since = ctx.now - timedelta(days=p0["days"])
    k_min = ctx.cfg.loosest("repeat_complaint", "k")
    window = and_(t.created_at >= since, t.created_at <= ctx.now)
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
