"""The rows the watchpoint rules read (``cockpit.watch.rules_*``): tickets, calls and the
repeat-complaint groups, each one set-based query over the whole table (never a loop per ticket).

The rules decide what is a finding; these functions only fetch. Times are naive UTC. A
``replay`` flag (the backtest) judges "open" from event times as of ``now`` instead of the
current status. Functions take a session first and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, case, column, func, literal_column, or_, select, text, tuple_, values
from sqlalchemy.orm import Session

from cockpit.batching import batches
from cockpit.events import OPEN_STATUSES
from cockpit.store import models
from cockpit.store.models import Alert, Call, Ticket

ADDRESS_NOISE = tuple(models.ADDRESS_NOISE)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def normalized_address_sql(col, dialect: str = "sqlite"):
    """SQL twin of ``cockpit.watch.config.normalize_address``: one translate() on PostgreSQL,
    nested replace() elsewhere."""
    if dialect == "postgresql":
        return models.normalized_address_pg(col)
    expr = func.lower(col)
    for ch in ADDRESS_NOISE:
        expr = func.replace(expr, ch, "")
    return expr


def agg_ids(dialect: str, col):
    """Ticket ids joined by spaces (an id never holds whitespace: events.ID_PATTERN)."""
    if dialect == "postgresql":
        return func.string_agg(col, literal_column("' '"))
    return func.group_concat(col, " ")


def begin_evaluation(session: Session, *, lock_key: int, work_mem: str) -> None:
    """PostgreSQL: wait for the evaluation lock (a transaction advisory lock, so one evaluation
    runs at a time across workers), give this transaction ``work_mem`` for the rules' sorts and
    hashes, and turn JIT off (it costs more than it saves on these sub-second queries). No-op
    elsewhere."""
    if _dialect(session) != "postgresql":
        return
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key})
    session.execute(text(f"SET LOCAL work_mem = '{work_mem}'"))
    session.execute(text("SET LOCAL jit = off"))


# --- per-ticket rules ----------------------------------------------------------------------------


def _open_at(now: datetime, *, replay: bool, closed_only: bool = False):
    """Open now (the status), or with ``replay`` open at ``now`` as far as the event times tell:
    created by then and not closed before it (a later reopening is not replayed)."""
    t = Ticket
    if replay:
        return and_(t.created_at <= now, or_(t.closed_at.is_(None), t.closed_at > now))
    return t.status != "closed" if closed_only else t.status.in_(OPEN_STATUSES)


def overdue_tickets(session: Session, *, now: datetime, replay: bool = False) -> Sequence[Any]:
    """Open tickets past their due time: ticket_id, city, district, category, unit, due_at."""
    t = Ticket
    return session.execute(
        select(t.ticket_id, t.city, t.district, t.category, t.unit, t.due_at)
        .where(_open_at(now, replay=replay), t.due_at < now)).all()


def closed_late_tickets(session: Session, *, since: datetime, now: datetime) -> Sequence[Any]:
    """Tickets closed in ``[since, now]`` after their due time: ticket_id, city, district, unit,
    due_at, closed_at."""
    t = Ticket
    return session.execute(
        select(t.ticket_id, t.city, t.district, t.unit, t.due_at, t.closed_at)
        .where(t.closed_at >= since, t.closed_at <= now, t.status == "closed", t.closed_at > t.due_at)).all()


def handoff_tickets(session: Session, *, created_since: datetime, min_handoffs: int) -> Sequence[Any]:
    """Open tickets created since ``created_since`` returned or transferred at least
    ``min_handoffs`` times: ticket_id, city, district, unit, returns, transfers, responded_at,
    created_at, handoffs."""
    t = Ticket
    handoffs = (t.returns + t.transfers).label("handoffs")
    return session.execute(
        select(t.ticket_id, t.city, t.district, t.unit, t.returns, t.transfers, t.responded_at, t.created_at,
               handoffs)
        .where(t.status.in_(OPEN_STATUSES), t.created_at >= created_since,
               t.returns + t.transfers >= min_handoffs)).all()


def dissatisfied_tickets(session: Session, *, since: datetime, now: datetime) -> Sequence[Any]:
    """Tickets whose latest callback, in ``[since, now]``, was dissatisfied: ticket_id, city,
    district, unit, status, callback_at, closed_at, reopens."""
    t = Ticket
    return session.execute(
        select(t.ticket_id, t.city, t.district, t.unit, t.status, t.callback_at, t.closed_at, t.reopens)
        .where(t.callback_at >= since, t.callback_at <= now, t.satisfaction == "dissatisfied")).all()


def closures_by_unit(session: Session, *, since: datetime, now: datetime) -> Sequence[Any]:
    """Closures in ``[since, now]`` per city and unit: city, unit, n (closures), nc (of them
    marked no callback needed)."""
    t = Ticket
    return session.execute(
        select(t.city, t.unit, func.count().label("n"),
               func.sum(case((t.no_callback.is_(True), 1), else_=0)).label("nc"))
        .where(t.closed_at >= since, t.closed_at <= now, t.unit.is_not(None))
        .group_by(t.city, t.unit)).all()


def urgent_candidates(session: Session, *, since: datetime, now: datetime, words: Sequence[str],
                      replay: bool = False) -> Sequence[Any]:
    """Unclosed tickets created in ``[since, now]`` marked emergency or whose text (lower case)
    holds one of ``words``: ticket_id, city, district, text, urgency, created_at."""
    t = Ticket
    lowered = func.lower(t.text)
    return session.execute(
        select(t.ticket_id, t.city, t.district, t.text, t.urgency, t.created_at)
        .where(t.created_at >= since, t.created_at <= now, _open_at(now, replay=replay, closed_only=True),
               or_(t.urgency == "emergency", *[lowered.like(f"%{w}%") for w in words]))).all()


# --- telephony ---------------------------------------------------------------------------------


def connection_by_interval(session: Session, *, starts: Sequence[datetime], step, short_abandon_s: float
                           ) -> dict[str, list[tuple[int, int, int]]]:
    """Per city, for each interval ``[s, s + step)`` of ``starts``: (offered, answered, abandoned
    within ``short_abandon_s``) calls by queue time, in one scan."""
    c = Call
    offered = or_(c.offered_at.is_not(None), c.answered_at.is_not(None), c.abandoned_at.is_not(None))
    abandoned_short = and_(c.abandoned_at.is_not(None), c.answered_at.is_(None), c.wait_s <= short_abandon_s)
    cols = []
    for i, s in enumerate(starts):
        inside = and_(c.queued_at >= s, c.queued_at < s + step)
        cols += [func.sum(case((and_(inside, offered), 1), else_=0)).label(f"o{i}"),
                 func.sum(case((and_(inside, c.answered_at.is_not(None)), 1), else_=0)).label(f"a{i}"),
                 func.sum(case((and_(inside, abandoned_short), 1), else_=0)).label(f"s{i}")]
    rows = session.execute(
        select(c.city, *cols).where(c.queued_at >= starts[0], c.queued_at < starts[-1] + step).group_by(c.city))
    return {r.city: [tuple(int(r._mapping[f"{x}{i}"] or 0) for x in "oas") for i in range(len(starts))]
            for r in rows}


# --- repeated complaints -----------------------------------------------------------------------


def created_window(since: datetime, now: datetime):
    """Tickets created in ``[since, now]`` (the repeat rule's window)."""
    return and_(Ticket.created_at >= since, Ticket.created_at <= now)


def _repeat_conditions(dialect: str, skip_masked: bool):
    t = Ticket
    has_address = and_(t.address.is_not(None), t.address != "")
    has_caller = and_(t.caller.is_not(None), t.caller != "")
    if skip_masked:
        # A masked number (186****2832) is not an identity: many callers share it.
        has_caller = and_(has_caller, t.caller.not_like("%*%"))
    return normalized_address_sql(t.address, dialect), has_address, has_caller


def repeat_groups(session: Session, window, k_min: int, skip_masked: bool) -> list[dict]:
    """Groups of the repeat rule by GROUP BY on the text keys (SQLite: small deployments):
    dicts with kind ('address' | 'caller'), city, n, district, ids, and norm, category, address
    or caller."""
    t = Ticket
    dialect = _dialect(session)
    norm = normalized_address_sql(t.address, dialect).label("norm")
    # Code-point order, as Python's min() in the incremental pass (stable details, no churn).
    address = t.address.collate("C") if dialect == "postgresql" else t.address
    out = []
    for r in session.execute(
        select(t.city, norm, t.category, func.count().label("n"), func.min(t.district).label("district"),
               agg_ids(dialect, t.ticket_id).label("ids"), func.min(address).label("address"))
        .where(window, t.address.is_not(None), t.address != "")
        .group_by(t.city, norm, t.category).having(func.count() >= k_min)
    ):
        if r.norm:
            out.append({"kind": "address", "city": r.city, "norm": r.norm, "category": r.category, "n": int(r.n),
                        "district": r.district, "address": r.address, "ids": r.ids.split()})
    caller_q = (
        select(t.city, t.caller, func.count().label("n"), func.min(t.district).label("district"),
               agg_ids(dialect, t.ticket_id).label("ids"))
        .where(window, t.caller.is_not(None), t.caller != "")
        .group_by(t.city, t.caller).having(func.count() >= k_min))
    if skip_masked:
        caller_q = caller_q.where(t.caller.not_like("%*%"))
    for r in session.execute(caller_q):
        out.append({"kind": "caller", "city": r.city, "caller": r.caller, "n": int(r.n), "district": r.district,
                    "ids": r.ids.split()})
    return out


def repeat_members(session: Session, window, places: set, callers: set, k_min: int,
                   skip_masked: bool) -> list[dict]:
    """The groups of the given places ((city, normalised address)) and callers ((city, caller))
    with at least ``k_min`` tickets in ``window``, each looked up through ``ix_tickets_place`` /
    ``ix_tickets_caller`` (PostgreSQL). Places are split by category here."""
    t = Ticket
    norm, has_address, has_caller = _repeat_conditions(_dialect(session), skip_masked)
    groups: dict[tuple, dict] = {}
    for chunk in batches(sorted(places), 500):
        cand = values(column("c", String), column("n", String), name="cand").data(chunk)
        for r in session.execute(
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
        for r in session.execute(
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


def recent_places_and_callers(session: Session, *, since: datetime, now: datetime,
                              skip_masked: bool) -> tuple[set, set]:
    """(city, normalised address) and (city, caller) of the tickets created in ``[since, now]``."""
    t = Ticket
    norm, has_address, has_caller = _repeat_conditions(_dialect(session), skip_masked)
    recent = and_(t.created_at >= since, t.created_at <= now)
    places = {(c, n) for c, n in session.execute(select(t.city, norm).where(recent, has_address).distinct()) if n}
    callers = set(session.execute(select(t.city, t.caller).where(recent, has_caller).distinct()).tuples())
    return places, callers


def open_or_muted_details(session: Session, rule: str) -> Sequence[Any]:
    """(city, detail) of the rule's open or muted alerts."""
    return session.execute(
        select(Alert.city, Alert.detail).where(Alert.rule == rule,
                                               or_(Alert.open_key.is_not(None), Alert.mute_key.is_not(None)))).all()


def repeat_first_ids(session: Session, window, k_min: int, skip_masked: bool) -> dict[str, set[str]]:
    """Full pass (PostgreSQL): one scan of ``window`` grouped by two 64-bit hash keys
    (city+place+category, city+caller) in GROUPING SETS; for each key seen ``k_min`` times, its
    smallest ticket id -> the kinds ('address', 'caller') it stands for. Hash-aggregating
    integers is several times faster than sorting collated text."""
    t = Ticket
    norm, has_address, has_caller = _repeat_conditions(_dialect(session), skip_masked)
    sep = literal_column("'|'")
    akey = case((has_address, func.hashtextextended(
        func.concat(t.city, sep, norm, sep, func.coalesce(t.category, "")), 0)), else_=None).label("ak")
    ckey = case((has_caller, func.hashtextextended(func.concat(t.city, sep, t.caller), 0)), else_=None).label("ck")
    keyed = select(t.ticket_id, akey, ckey).where(window).subquery()
    first_ids: dict[str, set[str]] = {}
    for r in session.execute(
            select(keyed.c.ak, keyed.c.ck, func.min(keyed.c.ticket_id).label("first"))
            .group_by(func.grouping_sets(tuple_(keyed.c.ak), tuple_(keyed.c.ck)))
            .having(func.count() >= k_min)):
        if r.ak is not None:
            first_ids[r.first] = first_ids.get(r.first, set()) | {"address"}
        elif r.ck is not None:
            first_ids[r.first] = first_ids.get(r.first, set()) | {"caller"}
    return first_ids


def ticket_places(session: Session, ticket_ids: Sequence[str]) -> list[Any]:
    """ticket_id, city, address, caller of the given tickets."""
    t = Ticket
    out: list[Any] = []
    for chunk in batches(sorted(ticket_ids), 1000):
        out += session.execute(select(t.ticket_id, t.city, t.address, t.caller).where(t.ticket_id.in_(chunk))).all()
    return out
