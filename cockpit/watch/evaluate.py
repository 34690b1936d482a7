"""Watchpoints (监控点): the rules that turn ticket, call and queue data into alerts.

Each rule is one or two set-based SQL queries over the whole table (never a loop per ticket)
that return what holds *now*; ``cockpit.alerts.reconcile`` turns that into alert state.
``evaluate_all`` runs every enabled rule in one transaction; the worker calls it every minute.

Rules and their defaults are in ``DEFAULTS``. A deployment overrides them in
``Settings.extra["watchpoints"]``::

    {"rules": {"repeat_complaint": {"k": 4}},              # every scope
     "scopes": {"620100": {"volume_anomaly": {"z": 5}},    # one city
                "620102": {"overdue": {"enabled": false}}}}  # one district (beats its city)

Per-scope overrides apply to thresholds, ``enabled``, ``severity`` and ``hold_s``; time windows
(``days``, ``lookback_*``, ``weeks``, ``trend_h``, ``trend_gap_h``) and ``category_level`` are
province-wide. All times are naive UTC inside;
``now`` may be passed aware or naive UTC. Evaluation is idempotent for the same data and ``now``.
"""

from __future__ import annotations

import hashlib
import logging
import math
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (String, and_, case, column, func, literal_column, or_, select, text, tuple_, union_all,
                        values)
from sqlalchemy.orm import Session

from cockpit.watch import alerts
from cockpit.store import live
from cockpit.metrics import definitions as metrics
from cockpit.store import models
from cockpit.metrics import rollups
from cockpit.watch.alerts import Finding
from cockpit.store.models import Alert, Call, JobRun, Region, Ticket, TicketRollup
from cockpit.settings import Settings

log = logging.getLogger(__name__)

OPEN_STATUSES = ("created", "dispatched", "returned", "responded", "reopened")
EVAL_WORK_MEM = "256MB"
EVAL_LOCK_KEY = 0x12346  # PostgreSQL advisory lock: one evaluation at a time across workers
MAD_SCALE = 1.4826  # MAD -> standard deviation for normal data
ADDRESS_NOISE = tuple(models.ADDRESS_NOISE)
REPEAT_RECENT = timedelta(hours=2)  # the incremental repeat pass re-checks places touched this recently
REPEAT_FULL_EVERY = timedelta(hours=1)  # ... and a full pass runs at least this often
REPEAT_FULL_JOB = "watchpoints:repeat_full"

# Safety words -> the emergency lines to suggest (110 police, 119 fire, 120 ambulance).
SAFETY_WORDS: dict[str, tuple[str, ...]] = {
    "煤气泄漏": ("119",), "燃气泄漏": ("119",), "燃气": ("119",), "煤气": ("119",), "天然气泄漏": ("119",),
    "着火": ("119",), "火灾": ("119",), "起火": ("119",), "冒烟": ("119",), "爆炸": ("119", "120"),
    "自杀": ("110", "120"), "轻生": ("110", "120"), "跳楼": ("110", "120"), "不想活": ("110", "120"),
    "打人": ("110",), "家暴": ("110",), "持刀": ("110",), "砍人": ("110",), "殴打": ("110",),
    "绑架": ("110",), "昏迷": ("120",), "晕倒": ("120",), "触电": ("120",), "中毒": ("120",),
    "gas leak": ("119",), "fire": ("119",), "suicide": ("110", "120"), "violence": ("110",),
}

DEFAULTS: dict[str, dict[str, Any]] = {
    "overdue": {"enabled": True, "severity": "major", "hold_s": 0, "critical_after_h": 72},
    "closed_late": {"enabled": True, "severity": "minor", "hold_s": 0, "lookback_h": 24},
    "repeat_complaint": {"enabled": True, "severity": "major", "hold_s": 0, "k": 3, "days": 30,
                         "skip_masked_callers": True},
    "transfer_chain": {"enabled": True, "severity": "major", "hold_s": 0, "handoffs": 3, "lookback_days": 30},
    "dissatisfied": {"enabled": True, "severity": "minor", "hold_s": 0, "lookback_days": 30},
    "no_callback_misuse": {"enabled": True, "severity": "minor", "hold_s": 0, "days": 30, "min_closures": 20,
                           "min_peers": 3, "z": 3.5, "min_excess": 0.15},
    # An open volume alert stays open while z >= z_clear (hysteresis: no flapping at the edge).
    # category_level "sub" (district x second level of the category path) or "top"; both read the
    # baseline from ticket_rollups_15m. The baseline is scaled up by the trend of the last trend_h
    # hours against the same hours of the baseline weeks (seasonal onsets; see docs/watchpoints.md).
    "volume_anomaly": {"enabled": True, "severity": "major", "hold_s": 0, "weeks": 4, "z": 4.0, "z_clear": 2.0,
                       "min_count": 10, "min_ratio": 2.0, "category_level": "sub", "trend_h": 24,
                       "trend_gap_h": 3, "trend_prior": 10},
    "volume_anomaly_city": {"enabled": True, "severity": "major", "hold_s": 0, "weeks": 4, "z": 4.0,
                            "z_clear": 2.0, "min_count": 40, "min_ratio": 1.5, "trend_h": 24,
                            "trend_gap_h": 3, "trend_prior": 50},
    "connection_drop": {"enabled": True, "severity": "critical", "hold_s": 0, "target": None,
                        "min_offered": 20, "intervals": 2},
    "queue_surge": {"enabled": True, "severity": "critical", "hold_s": 60, "max_waiting": 30, "max_wait_s": 180},
    "urgent_content": {"enabled": True, "severity": "critical", "hold_s": 0, "lookback_h": 24},
}
RULES: tuple[str, ...] = tuple(DEFAULTS)
RULE_NAMES: dict[str, str] = {
    "overdue": "超期未办结", "closed_late": "超期办结", "repeat_complaint": "反复投诉",
    "transfer_chain": "超长流转", "dissatisfied": "回访不满意", "no_callback_misuse": "无需回访滥用",
    "volume_anomaly": "区域诉求激增", "volume_anomaly_city": "全市诉求激增",
    "connection_drop": "接通率下降", "queue_surge": "排队积压", "urgent_content": "紧急/情绪诉求",
}


class WatchConfig:
    """Rule parameters: DEFAULTS <- ``rules`` <- city scope <- district scope."""

    def __init__(self, settings: Settings | None = None) -> None:
        raw = ((settings.extra or {}).get("watchpoints") if settings is not None else None) or {}
        self.rules: dict[str, dict] = raw.get("rules") or {}
        self.scopes: dict[str, dict] = raw.get("scopes") or {}
        self._cache: dict[tuple, dict] = {}
        unknown = (set(self.rules) | {r for s in self.scopes.values() for r in s}) - set(RULES)
        if unknown:
            raise ValueError(f"unknown watchpoint rules in settings: {sorted(unknown)}")

    def params(self, rule: str, city: str | None = None, district: str | None = None) -> dict[str, Any]:
        """The parameters of ``rule`` for a place (cached; do not modify the returned dict)."""
        key = (rule, city if city in self.scopes else None, district if district in self.scopes else None)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = self._params(*key)
        return cached

    def _params(self, rule: str, city: str | None, district: str | None) -> dict[str, Any]:
        out = dict(DEFAULTS[rule])
        out.update(self.rules.get(rule, {}))
        for code in (city, district):
            if code and code in self.scopes:
                out.update(self.scopes[code].get(rule, {}))
        return out

    def loosest(self, rule: str, name: str, pick: Callable = min) -> Any:
        """The value of a threshold most likely to pass across all scopes (for the SQL pre-filter)."""
        values = [self.params(rule)[name]]
        values += [s[rule][name] for s in self.scopes.values() if rule in s and name in s[rule]]
        return pick(v for v in values if v is not None) if any(v is not None for v in values) else None

    def enabled_anywhere(self, rule: str) -> bool:
        return bool(self.params(rule)["enabled"]) or any(
            s.get(rule, {}).get("enabled") for s in self.scopes.values())


@dataclass
class Context:
    session: Session
    settings: Settings
    redis: Any
    now: datetime  # naive UTC
    cfg: WatchConfig
    _names: dict[str, str] | None = None

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def place_name(self, code: str | None) -> str:
        """A region's name for titles (regions table), else the code."""
        if not code:
            return "未知区县"
        if self._names is None:
            self._names = dict(self.session.execute(select(Region.code, Region.name)).all())
        return self._names.get(code, code)

    def open_keys(self, rule: str) -> set[str]:
        """Keys of the rule's open alerts (for hysteresis)."""
        return set(self.session.scalars(select(Alert.key).where(Alert.rule == rule, Alert.open_key.is_not(None))))


def _finding(ctx: Context, rule: str, key: str, city: str, district: str | None, title: str,
             detail: dict, *, severity: str | None = None) -> Finding | None:
    p = ctx.cfg.params(rule, city, district)
    if not p["enabled"]:
        return None
    return Finding(rule=rule, key=key, city=city, district=district or None, severity=severity or p["severity"],
                   title=title, detail=detail, hold_s=float(p["hold_s"]))


def _chunks(items: list, size: int = 1000):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _iso(moment: datetime | None) -> str | None:
    """Naive UTC -> ISO 8601 with +00:00 (hot: called per finding)."""
    return None if moment is None else moment.isoformat() + "+00:00"


def _short_key(*parts: str) -> str:
    key = ":".join(parts)
    if len(key) <= 200:
        return key
    return key[:160] + "~" + hashlib.sha1(key.encode()).hexdigest()[:16]


def normalize_address(address: str | None) -> str:
    """The address as compared by the repeat rule: lower case, without spaces and punctuation."""
    out = (address or "").lower()
    for ch in ADDRESS_NOISE:
        out = out.replace(ch, "")
    return out


def mask_caller(caller: str) -> str:
    """A caller number as shown in titles (wall screens are public): 138****0001."""
    return caller if len(caller) < 8 else caller[:3] + "****" + caller[-4:]


def normalized_address_sql(column, dialect: str = "sqlite"):
    """SQL twin of ``normalize_address``: one translate() on PostgreSQL, nested replace() elsewhere."""
    if dialect == "postgresql":
        return models.normalized_address_pg(column)
    expr = func.lower(column)
    for ch in ADDRESS_NOISE:
        expr = func.replace(expr, ch, "")
    return expr


def _agg_ids(dialect: str, column):
    """Ticket ids joined by spaces (an id never holds whitespace: events.ID_PATTERN)."""
    if dialect == "postgresql":
        return func.string_agg(column, literal_column("' '"))
    return func.group_concat(column, " ")


def _ticket_filter(**values) -> dict:
    """The drill-down filter of the tickets behind an alert (see cockpit.drill.TicketFilter)."""
    return {k: v for k, v in values.items() if v not in (None, "", [])}


# --- ticket rules ---------------------------------------------------------------------------


def rule_overdue(ctx: Context) -> list[Finding]:
    """Open tickets past their due time (超期未办结)."""
    t = Ticket
    rows = ctx.session.execute(
        select(t.ticket_id, t.city, t.district, t.category, t.unit, t.due_at)
        .where(t.status.in_(OPEN_STATUSES), t.due_at < ctx.now))
    out = []
    for r in rows:
        p = ctx.cfg.params("overdue", r.city, r.district)
        late_h = (ctx.now - r.due_at).total_seconds() / 3600
        severity = "critical" if late_h >= p["critical_after_h"] else None
        f = _finding(ctx, "overdue", r.ticket_id, r.city, r.district, f"工单{r.ticket_id}超期未办结",
                     {"ticket_id": r.ticket_id, "due_at": _iso(r.due_at), "unit": r.unit, "category": r.category,
                      "filter": {"ticket_ids": [r.ticket_id]}}, severity=severity)
        if f:
            out.append(f)
    return out


def rule_closed_late(ctx: Context) -> list[Finding]:
    """Tickets closed after their due time within the last ``lookback_h`` (超期办结)."""
    t = Ticket
    since = ctx.now - timedelta(hours=ctx.cfg.params("closed_late")["lookback_h"])
    rows = ctx.session.execute(
        select(t.ticket_id, t.city, t.district, t.unit, t.due_at, t.closed_at)
        .where(t.closed_at >= since, t.closed_at <= ctx.now, t.status == "closed", t.closed_at > t.due_at))
    out = []
    for r in rows:
        late_h = round((r.closed_at - r.due_at).total_seconds() / 3600, 1)
        f = _finding(ctx, "closed_late", r.ticket_id, r.city, r.district, f"工单{r.ticket_id}超期办结（超{late_h}小时）",
                     {"ticket_id": r.ticket_id, "due_at": _iso(r.due_at), "closed_at": _iso(r.closed_at),
                      "late_h": late_h, "unit": r.unit, "filter": {"ticket_ids": [r.ticket_id]}})
        if f:
            out.append(f)
    return out


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
    for chunk in _chunks(sorted(places), 500):
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
    for chunk in _chunks(sorted(callers), 500):
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
        if detail.get("kind") == "address" and detail.get("norm"):
            places.add((city, detail["norm"]))
        elif detail.get("kind") == "caller" and detail.get("caller"):
            callers.add((city, detail["caller"]))
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
    for chunk in _chunks(sorted(first_ids), 1000):
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
    if ctx.dialect != "postgresql":
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
                          "ticket_ids": ids, "filter": _ticket_filter(ticket_ids=ids)})
        else:
            f = _finding(ctx, "repeat_complaint", _short_key("caller", g["city"], g["caller"]), g["city"], None,
                         f"同一来电人{mask_caller(g['caller'])}反复来电（{g['n']}次/{p0['days']}天）",
                         {"kind": "caller", "caller": g["caller"], "count": g["n"], "ticket_ids": ids,
                          "filter": _ticket_filter(ticket_ids=ids)})
        if f:
            out.append(f)
    return out


def rule_transfer_chain(ctx: Context) -> list[Finding]:
    """Open tickets returned or transferred at least ``handoffs`` times (超长流转)."""
    t = Ticket
    p0 = ctx.cfg.params("transfer_chain")
    h_min = ctx.cfg.loosest("transfer_chain", "handoffs")
    handoffs = (t.returns + t.transfers).label("handoffs")
    rows = ctx.session.execute(
        select(t.ticket_id, t.city, t.district, t.unit, t.returns, t.transfers, t.responded_at, handoffs)
        .where(t.status.in_(OPEN_STATUSES), t.created_at >= ctx.now - timedelta(days=p0["lookback_days"]),
               t.returns + t.transfers >= h_min))
    out = []
    for r in rows:
        if r.handoffs < ctx.cfg.params("transfer_chain", r.city, r.district)["handoffs"]:
            continue
        f = _finding(ctx, "transfer_chain", r.ticket_id, r.city, r.district,
                     f"工单{r.ticket_id}流转{r.handoffs}次仍未办结",
                     {"ticket_id": r.ticket_id, "returns": r.returns, "transfers": r.transfers,
                      "handoffs": int(r.handoffs), "unit": r.unit, "accepted": r.responded_at is not None,
                      "filter": {"ticket_ids": [r.ticket_id]}})
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
    t = Ticket
    p0 = ctx.cfg.params("dissatisfied")
    rows = ctx.session.execute(
        select(t.ticket_id, t.city, t.district, t.unit, t.status, t.callback_at, t.closed_at, t.reopens)
        .where(t.callback_at >= ctx.now - timedelta(days=p0["lookback_days"]), t.callback_at <= ctx.now,
               t.satisfaction == "dissatisfied"))
    out = []
    for r in rows:
        stage = rework_stage(r.status, r.callback_at, r.closed_at)
        f = _finding(ctx, "dissatisfied", r.ticket_id, r.city, r.district, f"工单{r.ticket_id}回访不满意，需重办",
                     {"ticket_id": r.ticket_id, "unit": r.unit, "stage": stage, "reopens": int(r.reopens or 0),
                      "callback_at": _iso(r.callback_at), "filter": {"ticket_ids": [r.ticket_id]}})
        if f:
            out.append(f)
    return out


def robust_z(value: float, baseline: list[float]) -> tuple[float, float, float]:
    """(z, median, scale) of a count against baseline counts, robustly.

    Counts are first Anscombe-transformed (2*sqrt(x + 3/8), which makes Poisson noise roughly
    unit-variance at any level); z is the distance of the value from the baseline's median in
    units of 1.4826 x MAD, floored at 1 (pure Poisson noise) so that a flat baseline does not
    make every small rise infinite. ``median`` is of the raw baseline counts.
    """
    ys = [2.0 * math.sqrt(max(b, 0.0) + 0.375) for b in baseline] or [2.0 * math.sqrt(0.375)]
    med_y = statistics.median(ys)
    mad_y = statistics.median([abs(y - med_y) for y in ys])
    scale = max(MAD_SCALE * mad_y, 1.0)
    z = (2.0 * math.sqrt(max(value, 0.0) + 0.375) - med_y) / scale
    return z, float(statistics.median(baseline)) if baseline else 0.0, scale


def rule_no_callback_misuse(ctx: Context) -> list[Finding]:
    """Units whose share of 'no callback needed' closures is far above their city's peers (无需回访).

    Closures are counted by ``closed_at`` in the window, whatever happened after (a reopened
    ticket's closure still counts)."""
    t = Ticket
    p0 = ctx.cfg.params("no_callback_misuse")
    since = ctx.now - timedelta(days=p0["days"])
    rows = ctx.session.execute(
        select(t.city, t.unit, func.count().label("n"),
               func.sum(case((t.no_callback.is_(True), 1), else_=0)).label("nc"))
        .where(t.closed_at >= since, t.closed_at <= ctx.now, t.unit.is_not(None))
        .group_by(t.city, t.unit)).all()
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
    t = Ticket
    p0 = ctx.cfg.params("urgent_content")
    lowered = func.lower(t.text)
    words = sorted(SAFETY_WORDS)
    rows = ctx.session.execute(
        select(t.ticket_id, t.city, t.district, t.text, t.urgency, t.created_at)
        .where(t.created_at >= ctx.now - timedelta(hours=p0["lookback_h"]), t.created_at <= ctx.now,
               t.status != "closed",
               or_(t.urgency == "emergency", *[lowered.like(f"%{w}%") for w in words])))
    out = []
    for r in rows:
        body = (r.text or "").lower()
        hits = [w for w in words if w in body]
        lines = sorted({line for w in hits for line in SAFETY_WORDS[w]}) or (["110"] if r.urgency == "emergency"
                                                                            else [])
        if not hits and r.urgency != "emergency":
            continue
        f = _finding(ctx, "urgent_content", r.ticket_id, r.city, r.district,
                     f"工单{r.ticket_id}含紧急内容（{'、'.join(hits) or '紧急'}），建议转{'/'.join(lines)}",
                     {"ticket_id": r.ticket_id, "words": hits, "handoff": lines, "urgency": r.urgency,
                      "filter": {"ticket_ids": [r.ticket_id]}})
        if f:
            out.append(f)
    return out


# --- volume rules ---------------------------------------------------------------------------


def _baseline_windows(now: datetime, weeks: int) -> list[tuple[datetime, datetime]]:
    """The same hour of the week in each of the last ``weeks`` weeks, on whole 15-minute intervals."""
    end = metrics.floor_interval(now)
    return [(end - timedelta(days=7 * w, hours=1), end - timedelta(days=7 * w)) for w in range(1, weeks + 1)]


def _trend_windows(now: datetime, weeks: int, hours: float, gap_h: float) -> list[tuple[datetime, datetime]]:
    """The ``hours`` ending ``gap_h`` hours before the current hour (index 0), then the same span
    ``w`` weeks earlier. The gap keeps a surge's own first hours out of its trend."""
    end = metrics.floor_interval(now) - timedelta(hours=1 + gap_h)
    span = timedelta(hours=hours)
    return [(end - span - timedelta(days=7 * w), end - timedelta(days=7 * w)) for w in range(weeks + 1)]


def trend_factor(recent: float, weekly: list[float], prior: float) -> float:
    """How much higher the recent level is than in the baseline weeks, >= 1.

    ``(recent + prior) / (median(weekly) + prior)``: ``prior`` (tickets) shrinks small, noisy
    keys towards 1; never below 1, so a quiet spell never makes the rule more sensitive.
    """
    med = statistics.median(weekly) if weekly else 0.0
    return max(1.0, (recent + prior) / (med + prior))


def _alert_key(row, by_district: bool, sub: bool) -> str:
    """city:district:category[:subcategory] (no sub-category part when the path has one level)."""
    if not by_district:
        return row.city
    subcat = row.subcategory if sub else ""
    return _short_key(row.city, row.district, row.category, *([subcat] if subcat else []))


def _volume(ctx: Context, rule: str, *, by_district: bool) -> list[Finding]:
    t, r = Ticket, TicketRollup
    p0 = ctx.cfg.params(rule)
    min_count = max(1, ctx.cfg.loosest(rule, "min_count") // 2)
    is_open = ctx.open_keys(rule)
    start = ctx.now - timedelta(hours=1)
    sub = by_district and p0.get("category_level", "sub") == "sub"
    if by_district:
        keys_t = [t.city, func.coalesce(t.district, "").label("district"),
                  func.coalesce(t.category, "").label("category")]
        keys_r = [r.city, r.district, r.category]
        if sub:
            keys_t.append(func.coalesce(rollups.sub_category_sql(ctx.dialect), "").label("subcategory"))
            keys_r.append(r.subcategory)
    else:
        keys_t, keys_r = [t.city], [r.city]
    nk = len(keys_t)
    current = ctx.session.execute(
        select(*keys_t, func.count().label("n")).where(t.created_at >= start, t.created_at < ctx.now)
        .group_by(*keys_t).having(func.count() >= min_count)).all()
    if not current:
        return []
    weeks = int(p0["weeks"])
    windows = _baseline_windows(ctx.now, weeks)
    coverage = metrics.rollup_coverage(ctx.session)
    if coverage is None or coverage[0] > windows[-1][0] or coverage[1] < windows[0][1]:
        # Without the baseline weeks rolled up every busy hour would look anomalous: stay silent.
        log.debug("%s: rollups do not cover the baseline weeks; skipped", rule)
        return []
    cities = sorted({row.city for row in current})

    def per_window(wins: list[tuple[datetime, datetime]], keys: list[tuple]) -> dict[tuple, list[int]]:
        # rollup sums per key and window: one index range scan of (city, interval_start) per window
        out: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(wins))
        only = [tuple_(*keys_r).in_(keys)] if nk > 1 and len(keys) <= 1000 else []
        parts = [select(*keys_r, literal_column(str(i)).label("week"), func.sum(r.created).label("n"))
                 .where(r.city.in_(cities), r.interval_start >= a, r.interval_start < b, *only).group_by(*keys_r)
                 for i, (a, b) in enumerate(wins)]
        for row in ctx.session.execute(union_all(*parts)):
            out[tuple(row[:nk])][int(row.week)] += int(row.n or 0)
        return out

    base = per_window(windows, [tuple(row[:nk]) for row in current])
    # The trend can only raise the baseline (factor >= 1), so it is read for the keys that pass
    # without it (or hold an open alert) only.
    trend_h = float(p0.get("trend_h") or 0)
    trend_wins = _trend_windows(ctx.now, weeks, trend_h, float(p0.get("trend_gap_h") or 0)) if trend_h > 0 else []
    if trend_wins and coverage[0] <= trend_wins[-1][0] and coverage[1] >= trend_wins[0][1]:
        maybe = [tuple(row[:nk]) for row in current
                 if _alert_key(row, by_district, sub) in is_open
                 or robust_z(int(row.n), [float(v) for v in base[tuple(row[:nk])]])[0] >= ctx.cfg.loosest(rule, "z")]
        trend = per_window(trend_wins, maybe) if maybe else {}
    else:
        trend = {}
    out = []
    for row in current:
        key = tuple(row[:nk])
        dist = row.district if by_district else None
        p = ctx.cfg.params(rule, row.city, dist or None)
        n = int(row.n)
        factor = 1.0
        if key in trend:
            factor = trend_factor(trend[key][0], [float(v) for v in trend[key][1:]], float(p["trend_prior"]))
        baseline = [v * factor for v in base[key]]
        z, med, _scale = robust_z(n, baseline)
        subcat = row.subcategory if sub else ""
        alert_key = _alert_key(row, by_district, sub)
        if alert_key in is_open:
            if n < p["min_count"] / 2 or z < p["z_clear"]:
                continue
        elif n < p["min_count"] or z < p["z"] or (med > 0 and n < p["min_ratio"] * med):
            continue
        severity = "critical" if z >= 2 * p["z"] else None
        detail = {"count": n, "baseline": base[key], "median": round(med, 2), "z": round(z, 2),
                  "trend": round(factor, 3), "window_h": 1}
        if by_district:
            label = subcat or row.category
            detail.update(category=row.category, subcategory=subcat, district=row.district,
                          filter=_ticket_filter(city=row.city, district=row.district or None,
                                                category=row.category or None))
            title = f"{ctx.place_name(row.district)}{label or ''}诉求激增：近1小时{n}件（常态{round(med, 1):g}件）"
            f = _finding(ctx, rule, alert_key, row.city, dist, title, detail, severity=severity)
        else:
            detail["filter"] = _ticket_filter(city=row.city)
            f = _finding(ctx, rule, alert_key, row.city, None,
                         f"{ctx.place_name(row.city)}全市诉求激增：近1小时{n}件（常态{round(med, 1):g}件）",
                         detail, severity=severity)
        if f:
            out.append(f)
    return out


def rule_volume_anomaly(ctx: Context) -> list[Finding]:
    """District x category tickets in the last hour far above the same hour of the last weeks."""
    return _volume(ctx, "volume_anomaly", by_district=True)


def rule_volume_anomaly_city(ctx: Context) -> list[Finding]:
    """A whole city's tickets in the last hour far above the same hour of the last weeks."""
    return _volume(ctx, "volume_anomaly_city", by_district=False)


# --- telephony rules ------------------------------------------------------------------------


def rule_connection_drop(ctx: Context) -> list[Finding]:
    """Connection rate below target in each of the last ``intervals`` whole 15-minute intervals."""
    c = Call
    p0 = ctx.cfg.params("connection_drop")
    n_int = int(p0["intervals"])
    end = metrics.floor_interval(ctx.now)
    starts = [end - metrics.INTERVAL * (n_int - i) for i in range(n_int)]
    short = ctx.settings.short_abandon_s
    offered = or_(c.offered_at.is_not(None), c.answered_at.is_not(None), c.abandoned_at.is_not(None))
    abandoned_short = and_(c.abandoned_at.is_not(None), c.answered_at.is_(None), c.wait_s <= short)
    cols = []
    for i, s in enumerate(starts):
        inside = and_(c.queued_at >= s, c.queued_at < s + metrics.INTERVAL)
        cols += [func.sum(case((and_(inside, offered), 1), else_=0)).label(f"o{i}"),
                 func.sum(case((and_(inside, c.answered_at.is_not(None)), 1), else_=0)).label(f"a{i}"),
                 func.sum(case((and_(inside, abandoned_short), 1), else_=0)).label(f"s{i}")]
    rows = ctx.session.execute(
        select(c.city, *cols).where(c.queued_at >= starts[0], c.queued_at < end).group_by(c.city))
    default_target = metrics.targets(ctx.settings)["connection_rate"]["target"]
    out = []
    for r in rows:
        p = ctx.cfg.params("connection_drop", r.city)
        target = p["target"] if p["target"] is not None else default_target
        rates = []
        for i in range(n_int):
            o, a, s = (int(r._mapping[f"{x}{i}"] or 0) for x in "oas")
            rate = metrics.connection_rate(a, o, s)
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


RULE_FUNCS: dict[str, Callable[[Context], list[Finding]]] = {
    "overdue": rule_overdue, "closed_late": rule_closed_late, "repeat_complaint": rule_repeat_complaint,
    "transfer_chain": rule_transfer_chain, "dissatisfied": rule_dissatisfied,
    "no_callback_misuse": rule_no_callback_misuse, "volume_anomaly": rule_volume_anomaly,
    "volume_anomaly_city": rule_volume_anomaly_city, "connection_drop": rule_connection_drop,
    "queue_surge": rule_queue_surge, "urgent_content": rule_urgent_content,
}


def evaluate(session: Session, settings: Settings, *, redis=None, now: datetime | None = None,
             rules: list[str] | None = None) -> dict[str, dict]:
    """Run the rules (default: all enabled) and reconcile their alerts in ``session``'s transaction.

    Returns per rule: findings, opened, fired, updated, resolved, query_ms, total_ms. Never commits.
    """
    now_n = metrics.to_naive_utc(now) if now is not None else metrics.utcnow()
    cfg = WatchConfig(settings)
    ctx = Context(session, settings, redis, now_n, cfg)
    if ctx.dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": EVAL_LOCK_KEY})
        # The rules sort and hash a month of tickets: keep that in memory, for this transaction only;
        # JIT compilation costs more than it saves on these sub-second queries.
        session.execute(text(f"SET LOCAL work_mem = '{EVAL_WORK_MEM}'"))
        session.execute(text("SET LOCAL jit = off"))
    report: dict[str, dict] = {}
    for rule in rules or RULES:
        if rule not in RULE_FUNCS:
            raise ValueError(f"unknown rule {rule!r}; expected one of {', '.join(RULES)}")
        if not cfg.enabled_anywhere(rule):
            continue
        t0 = time.perf_counter()
        findings = RULE_FUNCS[rule](ctx)
        t1 = time.perf_counter()
        counts = alerts.reconcile(session, rule, findings, now=now_n)
        counts["query_ms"] = round((t1 - t0) * 1000, 1)
        counts["total_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        report[rule] = counts
    return report


def evaluate_all(stores, *, now: datetime | None = None, rules: list[str] | None = None) -> dict[str, dict]:
    """The worker job: evaluate every rule in one transaction (committed at the end)."""
    with stores.session() as session:
        report = evaluate(session, stores.settings, redis=stores.redis, now=now, rules=rules)
    opened = sum(r["opened"] for r in report.values())
    resolved = sum(r["resolved"] for r in report.values())
    if opened or resolved:
        log.info("watchpoints: %d opened, %d resolved", opened, resolved)
    return report
