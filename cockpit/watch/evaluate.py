"""Watchpoints (监控点): the rules that turn ticket, call and queue data into alerts.

Each rule is one or two set-based SQL queries over the whole table (never a loop per ticket)
that return what holds *now*; ``cockpit.alerts.reconcile`` turns that into alert state.
``evaluate_all`` runs every enabled rule in one transaction; the worker calls it every minute.

Rules and their defaults are in ``DEFAULTS``. A deployment overrides them in
``Settings.watchpoints`` (``COCKPIT_WATCHPOINTS`` or ``[watchpoints]`` in the config file)::

    {"rules": {"repeat_complaint": {"k": 4}},              # every scope
     "scopes": {"620100": {"volume_anomaly": {"z": 5}},    # one city
                "620102": {"overdue": {"enabled": false}}}}  # one district (beats its city)

Per-scope overrides apply to thresholds, ``enabled``, ``severity`` and ``hold_s``; time windows
(``days``, ``lookback_*``, ``weeks``, ``trend_h``, ``trend_gap_h``) and ``category_level`` are
province-wide. All times are naive UTC inside;
``now`` may be passed aware or naive UTC. Evaluation is idempotent for the same data and ``now``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from cockpit import timeutil
from cockpit.settings import Settings
from cockpit.store import watchpoints as rows_of
from cockpit.watch import alerts, grouping, pause
from cockpit.watch.alerts import Finding

# Re-exported: callers and tests read the vocabulary and helpers from here.
from cockpit.watch.config import (  # noqa: F401
    ANOMALY_RULES,
    DEFAULTS,
    EVAL_LOCK_KEY,
    EVAL_WORK_MEM,
    INHIBIT_RULES,
    OPEN_STATUSES,
    REPEAT_FULL_JOB,
    RULE_NAMES,
    RULES,
    SAFETY_WORDS,
    WORK_ITEM_RULES,
    Context,
    WatchConfig,
    mask_caller,
    normalize_address,
    normalized_address_sql,
)
from cockpit.planning.live import rule_seat_shortage
from cockpit.watch.rules_repeat import rule_repeat_complaint
from cockpit.watch.rules_telephony import rule_connection_drop, rule_queue_surge
from cockpit.watch.rules_tickets import (  # noqa: F401
    rework_stage,
    rule_closed_late,
    rule_dissatisfied,
    rule_no_callback_misuse,
    rule_overdue,
    rule_transfer_chain,
    rule_urgent_content,
)
from cockpit.watch.rules_volume import robust_z, rule_volume_anomaly, rule_volume_anomaly_city, trend_factor  # noqa: F401

log = logging.getLogger(__name__)


RULE_FUNCS: dict[str, Callable[[Context], list[Finding]]] = {
    "overdue": rule_overdue, "closed_late": rule_closed_late, "repeat_complaint": rule_repeat_complaint,
    "transfer_chain": rule_transfer_chain, "dissatisfied": rule_dissatisfied,
    "no_callback_misuse": rule_no_callback_misuse, "volume_anomaly": rule_volume_anomaly,
    "volume_anomaly_city": rule_volume_anomaly_city, "connection_drop": rule_connection_drop,
    "queue_surge": rule_queue_surge, "urgent_content": rule_urgent_content,
    "seat_shortage": rule_seat_shortage,
}


def evaluate(session: Session, settings: Settings, *, redis=None, now: datetime | None = None,
             rules: list[str] | None = None) -> dict[str, dict]:
    """Run the rules (default: all enabled) and reconcile their alerts in ``session``'s transaction.

    Returns per rule: findings, opened, fired, updated, resolved, query_ms, total_ms. Never commits.
    """
    now_n = timeutil.naive_utc(now) if now is not None else timeutil.utcnow()
    cfg = WatchConfig(settings)
    ctx = Context(session, settings, redis, now_n, cfg)
    # One evaluation at a time; the rules sort and hash a month of tickets: keep that in memory.
    rows_of.begin_evaluation(session, lock_key=EVAL_LOCK_KEY, work_mem=EVAL_WORK_MEM)
    report: dict[str, dict] = {}
    for rule in rules or RULES:
        if rule not in RULE_FUNCS:
            raise ValueError(f"unknown rule {rule!r}; expected one of {', '.join(RULES)}")
        if not cfg.enabled_anywhere(rule):
            continue
        t0 = time.perf_counter()
        findings = find(ctx, rule)
        t1 = time.perf_counter()
        counts = alerts.reconcile(session, rule, findings, now=now_n)
        counts["query_ms"] = round((t1 - t0) * 1000, 1)
        counts["total_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        report[rule] = counts
    alerts.apply_suppression(session, now=now_n, inhibit_rules=INHIBIT_RULES)
    return report


def find(ctx: Context, rule: str) -> list[Finding]:
    """What ``rule`` sees at ``ctx.now``: its findings, work items folded into their groups."""
    findings = RULE_FUNCS[rule](ctx)
    if rule in WORK_ITEM_RULES:
        findings = grouping.group(ctx, rule, findings)
    return findings


def evaluate_all(stores, *, now: datetime | None = None, rules: list[str] | None = None) -> dict[str, dict]:
    """The worker job: evaluate every rule in one transaction (committed at the end).

    Skipped (returns {}) while history is being loaded (``cockpit.watch.pause``)."""
    with stores.session() as session:
        if pause.paused(session):
            log.info("watchpoints: paused while history loads")
            return {}
        report = evaluate(session, stores.settings, redis=stores.redis, now=now, rules=rules)
    opened = sum(r["opened"] for r in report.values())
    resolved = sum(r["resolved"] for r in report.values())
    if opened or resolved:
        log.info("watchpoints: %d opened, %d resolved", opened, resolved)
    return report


def prune_all(stores, *, keep_days: int = alerts.RETENTION_DAYS) -> dict[str, int]:
    """The worker's daily retention job: resolved alerts older than ``keep_days`` are deleted."""
    with stores.session() as session:
        counts = alerts.prune(session, keep_days=keep_days)
    if counts["alerts"]:
        log.info("alerts retention: %s", counts)
    return counts
