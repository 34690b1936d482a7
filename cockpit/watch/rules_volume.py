"""Volume rules: district x category and whole-city ticket counts against their usual level."""

from __future__ import annotations

import logging
import math
import statistics
from collections import defaultdict
from datetime import datetime, timedelta

from cockpit import timeutil
from cockpit.metrics import queries
from cockpit.metrics.queries import volume_keys  # noqa: F401 - the key columns, re-exported
from cockpit.watch.alerts import Finding
from cockpit.watch.config import MAD_SCALE, Context, _finding, _short_key, _ticket_filter

log = logging.getLogger(__name__)


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


def _baseline_windows(now: datetime, weeks: int) -> list[tuple[datetime, datetime]]:
    """The same hour of the week in each of the last ``weeks`` weeks, on whole 15-minute intervals."""
    end = timeutil.floor_interval(now)
    return [(end - timedelta(days=7 * w, hours=1), end - timedelta(days=7 * w)) for w in range(1, weeks + 1)]


def _trend_windows(now: datetime, weeks: int, hours: float, gap_h: float) -> list[tuple[datetime, datetime]]:
    """The ``hours`` ending ``gap_h`` hours before the current hour (index 0), then the same span
    ``w`` weeks earlier. The gap keeps a surge's own first hours out of its trend."""
    end = timeutil.floor_interval(now) - timedelta(hours=1 + gap_h)
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
    p0 = ctx.cfg.params(rule)
    method = p0.get("method", "robust_z")
    if method == "scan":
        from cockpit.watch.rules_scan import scan_volume

        return scan_volume(ctx, rule, by_district=by_district)
    if method == "stscan":
        from cockpit.watch.rules_stscan import stscan_volume

        return stscan_volume(ctx, rule, by_district=by_district)
    if method == "cusum":
        if by_district:
            raise ValueError("method 'cusum' is the city rule's; the district rule uses 'stscan'")
        from cockpit.watch.rules_cusum import cusum_city

        return cusum_city(ctx, rule)
    min_count = max(1, ctx.cfg.loosest(rule, "min_count") // 2)
    is_open = ctx.open_keys(rule)
    sub = by_district and p0.get("category_level", "sub") == "sub"
    current = queries.volume_counts(ctx.session, by_district=by_district, sub=sub,
                                    start=ctx.now - timedelta(hours=1), end=ctx.now, min_count=min_count)
    if not current:
        return []
    nk = 4 if sub else (3 if by_district else 1)
    weeks = int(p0["weeks"])
    windows = _baseline_windows(ctx.now, weeks)
    coverage = queries.rollup_coverage(ctx.session)
    if coverage is None or coverage[0] > windows[-1][0] or coverage[1] < windows[0][1]:
        # Without the baseline weeks rolled up every busy hour would look anomalous: stay silent.
        log.debug("%s: rollups do not cover the baseline weeks; skipped", rule)
        return []
    cities = sorted({row.city for row in current})

    def per_window(wins: list[tuple[datetime, datetime]], keys: list[tuple]) -> dict[tuple, list[int]]:
        sums = queries.volume_rollup_windows(ctx.session, by_district=by_district, sub=sub, windows=wins,
                                             cities=cities, keys=keys)
        out: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(wins))
        out.update(sums)
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
