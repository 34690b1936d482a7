"""Backtest: replay the rules over a past window of stored data, without touching the alert tables.

``backtest(stores, scope, start, end)`` evaluates the rules every ``every`` from ``start`` to
``end`` with ``now`` set to each step, as the worker would have, keeping the open keys in memory
(hysteresis and hold times behave as live) and returning the alerts that would have fired: one
dict per firing with ``rule``, ``city``, ``district``, ``category``, ``first_fired_at`` (ISO 8601
in the deployment's zone) and ``severity`` (at firing). Works on any data that came in through
ingestion or an importer. Exact for rules that read event times (volume, urgent content, closed
late, connection rate, overdue: open means created and not yet closed at that time); the repeat,
transfer-chain and dissatisfied rules read counters as they are now (a backtest cannot replay
them); the queue rule needs live Redis and is skipped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cockpit import timeutil
from cockpit.store.regions import resolve_scope
from cockpit.watch.config import RULES, Context, WatchConfig
from cockpit.watch.evaluate import find

SKIPPED = ("queue_surge",)


def backtest(stores, scope: str, start: datetime, end: datetime, *, every: timedelta = timedelta(minutes=15),
             rules: list[str] | None = None) -> list[dict]:
    """The alerts that would have fired in ``[start, end]`` for ``scope``, in firing order."""
    if every <= timedelta(0):
        raise ValueError("--every must be positive")
    unknown = [r for r in rules or () if r not in RULES]
    if unknown:
        raise ValueError(f"unknown rule {unknown[0]!r}; expected one of {', '.join(RULES)}")
    start_n, end_n = timeutil.naive_utc(start), timeutil.naive_utc(end)
    if end_n <= start_n:
        raise ValueError("--to must be after --from")
    settings = stores.settings
    cfg = WatchConfig(settings)
    chosen = [r for r in (rules or RULES) if r not in SKIPPED and cfg.enabled_anywhere(r)]
    memory: dict[str, set[str]] = {r: set() for r in chosen}
    pending: dict[tuple[str, str], datetime] = {}
    fired: set[tuple[str, str]] = set()
    out: list[dict] = []
    with stores.session() as session:
        sc = resolve_scope(session, scope)
        cities = set(sc.city_codes or ())
        districts = set(sc.district_codes or ()) or None
        try:
            at = start_n
            while at <= end_n:
                ctx = Context(session, settings, None, at, cfg, memory=memory)
                for rule in chosen:
                    found = {f.key: f for f in find(ctx, rule)
                             if f.city in cities and (districts is None or f.district in districts)}
                    for key in memory[rule] - found.keys():  # cleared: a later return fires anew
                        pending.pop((rule, key), None)
                        fired.discard((rule, key))
                    memory[rule] = set(found)
                    for key, f in found.items():
                        since = pending.setdefault((rule, key), at)
                        if (rule, key) not in fired and since + timedelta(seconds=f.hold_s) <= at:
                            fired.add((rule, key))
                            detail = f.detail or {}
                            out.append({"rule": rule, "city": f.city, "district": f.district,
                                        "category": detail.get("category") or None,
                                        "subcategory": detail.get("subcategory") or None,
                                        "first_fired_at": at.replace(tzinfo=UTC).astimezone(settings.tz).isoformat(),
                                        "severity": f.severity, "key": key, "title": f.title})
                at += every
        finally:
            session.rollback()  # a backtest never writes
    return out
