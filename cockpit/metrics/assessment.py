"""The assessment (考核): score districts or handling units, adjusted for the categories they receive.

For each unit u and each metric m (response rate, on-time closure, satisfaction, rework, return)
the metric is written as a *good* rate ``g = good / base`` (rework and return, where lower is
better, count the complement: tickets *not* reopened / *not* returned). Counts are the metric
contract's (``definitions.ticket_count_columns``) over the cohort of tickets created in the period.

- the reference rate of category c: ``G_c = sum_u good_{u,c} / sum_u base_{u,c}`` over every unit
  of the scope (what the scope as a whole achieves on that category);
- the expected rate of u: ``E_u = sum_c base_{u,c} * G_c / sum_c base_{u,c}`` (the scope's
  performance on u's own mix of categories: indirect standardisation);
- the metric score: ``s = min(100 * g_u / E_u, CAP)``; 100 = as good as the scope on the same
  mix, above 100 better. ``E_u = 0`` gives 100 when ``g_u = 0`` too, else CAP;
- the unadjusted score compares with the scope's overall rate: ``min(100 * g_u / G, CAP)``;
- the composite: ``sum_m w_m * s_m / sum_m w_m`` over the metrics the unit has data for (weights
  from ``Settings.assessment["weights"]``, defaults ``DEFAULT_WEIGHTS``);
- units with fewer than ``min_tickets`` tickets created in the period are listed, not ranked.

Read-only; never commits. docs/metrics.md states the same formula.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from cockpit import timeutil
from cockpit.metrics import definitions, queries

from cockpit.settings import Settings
from cockpit.store.regions import resolve_scope

LEVELS = ("district", "unit")
CAP = 120.0
MIN_TICKETS = 10
NO_CATEGORY = ""

# metric -> (numerator count, denominator count, better)
METRICS: dict[str, tuple[str, str, str]] = {
    "response_rate": ("responded_in_time", "due_for_response", "higher"),
    "on_time_closure_rate": ("closed_on_time", "closed_with_due", "higher"),
    "satisfaction_rate": ("satisfied", "valid_callbacks", "higher"),
    "rework_rate": ("reopened", "ever_closed", "lower"),
    "return_rate": ("returned", "dispatched", "lower"),
}
DEFAULT_WEIGHTS: dict[str, float] = {
    "response_rate": 0.20, "on_time_closure_rate": 0.25, "satisfaction_rate": 0.30,
    "rework_rate": 0.15, "return_rate": 0.10,
}


@dataclass(frozen=True)
class Config:
    weights: dict[str, float]
    min_tickets: int = MIN_TICKETS
    cap: float = CAP


def config(settings: Settings | None, weights: dict[str, float] | None = None) -> Config:
    """Weights and thresholds: ``weights`` argument > ``Settings.assessment`` > defaults.

    A weight map replaces the default one entirely (a metric left out has weight 0). Raises
    ValueError for unknown metrics, negative weights or weights that sum to 0.
    """
    block = (settings.assessment if settings is not None else None) or {}
    chosen = dict(weights if weights is not None else block.get("weights") or DEFAULT_WEIGHTS)
    unknown = set(chosen) - set(METRICS)
    if unknown:
        raise ValueError(f"unknown metric in weights: {', '.join(sorted(unknown))}")
    if any(float(w) < 0 for w in chosen.values()) or not sum(float(w) for w in chosen.values()):
        raise ValueError("weights must be >= 0 and not all 0")
    full = {m: float(chosen.get(m, 0.0)) for m in METRICS}
    return Config(weights=full, min_tickets=int(block.get("min_tickets", MIN_TICKETS)),
                  cap=float(block.get("cap", CAP)))


def parse_weights(text: str) -> dict[str, float]:
    """``response_rate=0.2,on_time_closure_rate=0.3`` -> dict. Raises ValueError."""
    out: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"expected metric=weight, got {part!r}")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"weight of {name.strip()} is not a number: {value!r}") from None
    return out


def _good(counts: definitions.TicketCounts, metric: str) -> tuple[int, int]:
    num, den, better = METRICS[metric]
    n, b = getattr(counts, num), getattr(counts, den)
    return (b - n if better == "lower" else n), b


def metric_score(actual: float, expected: float, cap: float = CAP) -> float:
    """``min(100 * actual / expected, cap)``; expected 0 gives 100 when actual is 0 too, else cap."""
    if expected <= 0:
        return 100.0 if actual <= 0 else cap
    return min(100.0 * actual / expected, cap)


def composite(scores: dict[str, float | None], weights: dict[str, float]) -> float | None:
    """Weighted mean of the scores present (weights renormalised over them); None if none."""
    present = [(weights.get(m, 0.0), s) for m, s in scores.items() if s is not None and weights.get(m, 0.0) > 0]
    total = sum(w for w, _ in present)
    return sum(w * s for w, s in present) / total if total else None


def score_groups(groups: dict[tuple[str, str], definitions.TicketCounts], cfg: Config) -> list[dict[str, Any]]:
    """Score ``{(unit, category): counts}``; pure (tests feed it hand-made counts)."""
    reference: dict[str, dict[str, list[int]]] = {m: defaultdict(lambda: [0, 0]) for m in METRICS}
    overall = {m: [0, 0] for m in METRICS}
    per_unit: dict[str, dict[str, definitions.TicketCounts]] = defaultdict(dict)
    for (unit, category), counts in groups.items():
        per_unit[unit][category] = counts
        for m in METRICS:
            good, base = _good(counts, m)
            reference[m][category][0] += good
            reference[m][category][1] += base
            overall[m][0] += good
            overall[m][1] += base
    rows = []
    for unit, cats in per_unit.items():
        created = sum(c.created for c in cats.values())
        row: dict[str, Any] = {"key": unit, "tickets_created": created, "metrics": {}}
        adjusted: dict[str, float | None] = {}
        raw: dict[str, float | None] = {}
        for m in METRICS:
            good = sum(_good(c, m)[0] for c in cats.values())
            base = sum(_good(c, m)[1] for c in cats.values())
            if not base:
                row["metrics"][m] = {"value": None, "good_rate": None, "expected": None, "reference": None,
                                     "score": None, "score_unadjusted": None, "base": 0}
                adjusted[m] = raw[m] = None
                continue
            g = good / base
            expected = sum(
                _good(c, m)[1] * (reference[m][cat][0] / reference[m][cat][1])
                for cat, c in cats.items() if _good(c, m)[1]
            ) / base
            ref_all = overall[m][0] / overall[m][1]
            adjusted[m] = metric_score(g, expected, cfg.cap)
            raw[m] = metric_score(g, ref_all, cfg.cap)
            value = 1.0 - g if METRICS[m][2] == "lower" else g
            row["metrics"][m] = {"value": value, "good_rate": g, "expected": expected, "reference": ref_all,
                                 "score": adjusted[m], "score_unadjusted": raw[m], "base": base}
        row["score"] = composite(adjusted, cfg.weights)
        row["score_unadjusted"] = composite(raw, cfg.weights)
        row["ranked"] = created >= cfg.min_tickets and row["score"] is not None
        rows.append(row)
    rows.sort(key=lambda r: (not r["ranked"], r["score"] is None, -(r["score"] or 0.0), r["key"]))
    rank = 0
    for row in rows:
        if row["ranked"]:
            rank += 1
            row["rank"] = rank
        else:
            row["rank"] = None
    unadjusted = sorted((r for r in rows if r["ranked"]), key=lambda r: (-(r["score_unadjusted"] or 0), r["key"]))
    for i, row in enumerate(unadjusted, 1):
        row["rank_unadjusted"] = i
    for row in rows:
        row.setdefault("rank_unadjusted", None)
    return rows


def group_counts(session: Session, *, scope: str, level: str, start: datetime, end: datetime, now: datetime,
                 settings: Settings) -> dict[tuple[str, str], definitions.TicketCounts]:
    """Contract counts per (district or unit, top-level category) over tickets created in ``[start, end)``."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")
    _level, cities, districts = resolve_scope(session, scope)
    if not cities or start >= end:
        return {}
    groups = queries.ticket_counts(session, cities=cities, districts=districts or None, start=start, end=end,
                                   now=now, settings=settings, group_by=(level, "category"))
    return {(key or "", category or NO_CATEGORY): counts for (key, category), counts in groups.items()}


def assess(session: Session, *, scope: str, level: str, start: datetime, end: datetime, settings: Settings,
           now: datetime | None = None, weights: dict[str, float] | None = None) -> dict[str, Any]:
    """The assessment table of a scope's districts or handling units for ``[start, end)`` (naive UTC)."""
    now = timeutil.naive_utc(now) if now is not None else timeutil.utcnow()
    cfg = config(settings, weights)
    rows = score_groups(group_counts(session, scope=scope, level=level, start=start, end=end, now=now,
                                     settings=settings), cfg)
    return {
        "scope": scope, "level": level,
        "from": start.replace(tzinfo=UTC).isoformat(), "to": end.replace(tzinfo=UTC).isoformat(),
        "weights": cfg.weights, "min_tickets": cfg.min_tickets, "cap": cfg.cap,
        "rows": rows, "definitions_version": definitions.DEFINITIONS_VERSION,
    }
