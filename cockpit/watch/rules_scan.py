"""Volume anomalies as a count model plus a multi-window scan with explicit false-alarm control.

The model (per key: city x district x category x sub-category, or a whole city): tickets in a
window are negative binomial around an expected count

    mu = trend x (own + m x share_mu) / (weeks + m)

where ``own`` is the key's count in the same window of each of the last ``weeks`` weeks (the
hour-of-week seasonality, the Poisson GLM's maximum-likelihood estimate for a saturated
hour-of-week factor) and ``share_mu`` spreads the city's own same-window count by the key's share
of the city over those weeks (pooling: a small district with 0-2 tickets in those hours still gets
the city's daily profile, and ``m`` pseudo-weeks of it); ``trend`` is the seasonal-onset factor of
``rules_volume.trend_factor``. Overdispersion: variance mu + mu^2 / ``size``.

The detector accumulates evidence over the last 30 minutes, 1, 2 and 4 hours (a prospective scan over window
lengths, in the manner of SaTScan's temporal scan): each window's upper-tail p-value
P(X >= x | mu) comes from ``scipy.stats.nbinom``; an alert needs the smallest of them below

    alpha = false_alarms_per_city_week / (keys_in_city x evaluations_per_week x windows)

so by the union bound the expected number of false alerts per city and week, were the model
right, is at most ``false_alarms_per_city_week`` whatever the number of keys (Bonferroni; the
windows and successive evaluations are correlated, so the true rate is lower). scipy, not
statsmodels: the model is closed-form (means of rollups), only the tail probabilities need a
library, and statsmodels' GLM fit per key per minute would cost seconds for nothing.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from scipy.stats import nbinom

from cockpit import timeutil
from cockpit.metrics import queries
from cockpit.watch.alerts import Finding
from cockpit.watch.config import Context, _finding, _ticket_filter

WINDOWS_H = (0.5, 1, 2, 4)
EVALS_PER_WEEK = 7 * 24 * 4  # every 15 minutes
_SHARES: dict[tuple, tuple] = {}  # (bind url, rule, level, day) -> (key totals, city totals, keys per city)


def tail_p(x: int, mu: float, size: float) -> float:
    """P(X >= x) for a negative binomial of mean ``mu`` and size ``size`` (Poisson as size -> inf)."""
    if x <= 0:
        return 1.0
    mu = max(mu, 1e-9)
    return float(nbinom.sf(x - 1, size, size / (size + mu)))


def _shares(ctx: Context, rule: str, by_district: bool, sub: bool, weeks: int) -> tuple[dict, dict, dict]:
    """Each key's and each city's ticket total over the baseline weeks, and the number of keys per
    city (for alpha); cached per day (they move slowly)."""
    day = ctx.now.date()
    cache_key = (str(ctx.session.get_bind().url), rule, by_district, sub, day)
    hit = _SHARES.get(cache_key)
    if hit is not None:
        return hit
    end = timeutil.floor_interval(ctx.now).replace(hour=0, minute=0)
    start = end - timedelta(days=7 * weeks)
    totals: dict[tuple, int] = {}
    cities: dict[str, int] = defaultdict(int)
    per_city: dict[str, int] = defaultdict(int)
    for key, n in queries.volume_key_totals(ctx.session, by_district=by_district, sub=sub, start=start, end=end):
        totals[key] = n
        cities[key[0]] += n
        per_city[key[0]] += 1
    if len(_SHARES) > 32:
        _SHARES.clear()
    _SHARES[cache_key] = out = (totals, dict(cities), dict(per_city))
    return out


def scan_volume(ctx: Context, rule: str, *, by_district: bool) -> list[Finding]:
    from cockpit.watch.rules_volume import _alert_key, _trend_windows, trend_factor

    p0 = ctx.cfg.params(rule)
    is_open = ctx.open_keys(rule)
    sub = by_district and p0.get("category_level", "sub") == "sub"
    nk = 4 if sub else (3 if by_district else 1)
    weeks = int(p0["weeks"])
    wmax = max(WINDOWS_H)
    end = timeutil.floor_interval(ctx.now)
    coverage = queries.rollup_coverage(ctx.session)
    if coverage is None or coverage[0] > end - timedelta(days=7 * weeks, hours=wmax) or \
            coverage[1] < end - timedelta(days=7):
        return []  # without the baseline weeks every busy hour would look anomalous: stay silent
    min_count = max(1, int(ctx.cfg.loosest(rule, "scan_min_count") or 1) // 2)
    current = queries.volume_window_counts(ctx.session, by_district=by_district, sub=sub, end=end,
                                           windows_h=WINDOWS_H, min_count=min_count)
    if not current:
        return []
    cities = sorted({row.city for row in current})
    keys = [tuple(row[:nk]) for row in current]
    # Same windows in each baseline week, per key and per city (the city's own profile).
    own_sums, city_sums = queries.volume_rollup_multiwindow(
        ctx.session, by_district=by_district, sub=sub, ends=[end - timedelta(days=7 * i) for i in range(1, weeks + 1)],
        windows_h=WINDOWS_H, cities=cities, keys=keys)
    own: dict[tuple, list[float]] = defaultdict(lambda: [0.0] * len(WINDOWS_H), own_sums)
    city_base: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(WINDOWS_H), city_sums)
    totals, city_totals, per_city = _shares(ctx, rule, by_district, sub, weeks) if nk > 1 else ({}, {}, {})
    m = float(p0.get("pool_weeks", 2.0))
    size = float(p0.get("nb_size", 10.0))
    # Trend (seasonal onsets): read for the keys that would alert without it (it only lowers them).
    trend_h = float(p0.get("trend_h") or 0)
    trend_wins = _trend_windows(ctx.now, weeks, trend_h, float(p0.get("trend_gap_h") or 0)) if trend_h > 0 else []

    def expected(key, city) -> list[float]:
        if nk == 1:
            return [v / weeks for v in city_base[city]]
        share = (totals.get(key, 0) + 0.5) / (city_totals.get(city, 0) + 0.5 * max(per_city.get(city, 1), 1))
        return [(own[key][j] + m * share * city_base[city][j] / weeks) / (weeks + m) for j in range(len(WINDOWS_H))]

    scored = []
    for row in current:
        key = tuple(row[:nk])
        p = ctx.cfg.params(rule, row.city, row.district if by_district else None)
        k_city = max(per_city.get(row.city, 1), 1) if nk > 1 else 1
        alpha = float(p["false_alarms_per_city_week"]) / (k_city * EVALS_PER_WEEK * len(WINDOWS_H))
        counts = [int(row._mapping[f"w{j}"] or 0) for j in range(len(WINDOWS_H))]
        mus = expected(key, row.city)
        pv = [tail_p(x, mu, size) for x, mu in zip(counts, mus, strict=True)]
        scored.append((row, key, p, alpha, counts, mus, pv))
    maybe = [s[1] for s in scored if min(s[6]) < s[3] or _alert_key(s[0], by_district, sub) in is_open]
    trend: dict[tuple, float] = {}
    if maybe and trend_wins and coverage[0] <= trend_wins[-1][0]:
        tr = queries.volume_rollup_windows(ctx.session, by_district=by_district, sub=sub, windows=trend_wins,
                                           cities=cities, keys=maybe)
        for key in maybe:
            vals = tr.get(key)
            if vals is not None:
                p = ctx.cfg.params(rule)
                trend[key] = trend_factor(vals[0], [float(v) for v in vals[1:]], float(p["trend_prior"]))
    out = []
    for row, key, p, alpha, counts, mus, pv in scored:
        factor = trend.get(key, 1.0)
        if factor != 1.0:
            mus = [mu * factor for mu in mus]
            pv = [tail_p(x, mu, size) for x, mu in zip(counts, mus, strict=True)]
        alert_key = _alert_key(row, by_district, sub)
        floor = int(p.get("scan_min_count") or 1)
        if alert_key in is_open:
            floor = max(1, floor // 2)
        usable = [j for j in range(len(WINDOWS_H)) if counts[j] >= floor]
        if not usable:
            continue
        best = min(usable, key=lambda j: pv[j])  # the strongest evidence among windows with enough tickets
        limit = float(p.get("p_clear", 1e-3)) if alert_key in is_open else alpha
        if pv[best] >= limit:
            continue
        w = WINDOWS_H[best]
        span = f"{int(w * 60)}分钟" if w < 1 else f"{w:g}小时"
        severity = "critical" if pv[best] < alpha * 1e-3 else None
        detail = {"count": counts[best], "expected": round(mus[best], 2), "median": round(mus[best], 2),
                  "window_h": w, "p": float(f"{pv[best]:.3g}"), "alpha": float(f"{alpha:.3g}"),
                  "trend": round(factor, 3), "counts": counts, "method": "scan"}
        if by_district:
            subcat = row.subcategory if sub else ""
            label = subcat or row.category
            detail.update(category=row.category, subcategory=subcat, district=row.district,
                          filter=_ticket_filter(city=row.city, district=row.district or None,
                                                category=row.category or None))
            title = (f"{ctx.place_name(row.district)}{label or ''}诉求激增：近{span}{counts[best]}件"
                     f"（预期{mus[best]:.1f}件）")
            f = _finding(ctx, rule, alert_key, row.city, row.district or None, title, detail, severity=severity)
        else:
            detail["filter"] = _ticket_filter(city=row.city)
            f = _finding(ctx, rule, alert_key, row.city, None,
                         f"{ctx.place_name(row.city)}全市诉求激增：近{span}{counts[best]}件（预期{mus[best]:.1f}件）",
                         detail, severity=severity)
        if f:
            out.append(f)
    return out


