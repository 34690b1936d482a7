"""Volume anomalies as a prospective space-time scan over neighbouring districts (``method: "stscan"``).

In the manner of Kulldorff's prospective space-time scan statistic (SaTScan), evaluated at every
tick over cylinders that end now:

- **Zones**: each district alone, and with its 1..``scan_neighbours`` nearest districts of the same
  city (centroids from the regions table, else the bundled boundaries). A cluster of small
  districts whose tickets are each too few to alert is found as one zone.
- **Windows**: the last 1, 2, 3 and 4 hours (``WINDOWS_H``), on whole 15-minute intervals.
- **Cells**: district x category x sub-category (the district rule's key). A cylinder is one zone,
  one category and one window; its observed count ``O`` comes from raw tickets.
- **Expected count** ``E`` (the count model): each cell's baseline ``b`` is its count in the same
  window of the last ``weeks`` weeks (hour-of-week seasonality; for a saturated hour-of-week factor
  the Poisson GLM's maximum-likelihood estimate) pooled with ``stscan_pool_weeks`` (8) pseudo-weeks of the
  city's own count in those windows times the cell's share of the city (a small district with 0-2
  tickets in those hours still gets the city's daily profile). ``b`` is then adjusted to the
  present by what the rest of the data says *without the zone itself*: the category's
  observed/expected ratio in the rest of the province (a seasonal onset such as the first heating
  day raises one category everywhere) times the city's ratio in the rest of the city over the
  province's (a holiday, a queue that drains), each shrunk towards 1 by ``shrink`` expected tickets
  and the product floored at 1 (a quiet day never makes the rule more sensitive). This is the
  log-linear main-effects model of a count table with the zone left out: a surge cannot explain
  itself away, and what moves everywhere is not news.
- **Statistic**: the Poisson log-likelihood ratio ``O log(O/E) - (O - E)`` for ``O > E`` (Kulldorff's
  statistic in the limit where the total is large against the cylinder; our ``E`` comes from a
  model, not from a fixed total). The most likely cluster is the cylinder with the largest ratio.
- **Significance**: per city and tick, ``scan_replicates`` (99, at most 999) Monte Carlo replicates
  of every cell drawn from a negative binomial of mean ``E`` and size ``nb_size`` give the null
  distribution of the city's maximum ratio over all its cylinders; a Gumbel distribution fitted to
  those maxima (moments) gives p-values far below 1/replicates, as SaTScan's Gumbel option does.
  Maxima are often exactly 0 (no replicate cylinder at the floor, as at night): the Gumbel is then
  fitted to the non-zero maxima and scaled by their share, Bonferroni stands when fewer than 10
  are non-zero, and a p-value never exceeds Bonferroni's (the union bound). A
  cylinder alerts when ``p < alpha = false_alarms_per_city_week / EVALS_PER_WEEK`` and ``O >=
  scan_min_count``: the family-wise error of one tick covers every zone, window and category of the
  city, so the expected number of false alerts per city-week is at most the budget were the model
  right (ticks in one 15-minute interval see the same data, so a week has 672 distinct ticks).
  Replicates are seeded from (city, interval): the same data and ``now`` give the same alerts.
- **Alerts**: per category the significant cylinders are taken by decreasing ratio, skipping any
  that overlaps one already taken (SaTScan's secondary clusters); one alert per centre district x
  category x sub-category (the district rule's key), ``detail.districts`` lists the zone. An open
  alert stays open while a cylinder of its centre has ``p < p_clear``.

numpy and scipy (``scipy.stats.nbinom`` for the draws' parameterisation, ``gumbel_r.sf``), not
statsmodels: the expectations are closed-form means of rollups and the statistic a formula; a
GLM fit per cell per tick would cost seconds for the same means. The Gumbel moments are two lines
(scipy's ``fit`` would run an optimiser per tick).
"""

from __future__ import annotations

import functools
import math
import zlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from scipy.stats import gumbel_r, nbinom, poisson

from cockpit import timeutil
from cockpit.metrics import queries
from cockpit.store.regions import centroids
from cockpit.watch.alerts import Finding
from cockpit.watch.config import Context, _finding, _short_key, _ticket_filter

WINDOWS_H = (1.0, 2.0, 3.0, 4.0)
EVALS_PER_WEEK = 7 * 24 * 4  # distinct 15-minute intervals a week
MAX_REPLICATES = 999
MIN_POSITIVE_MAXIMA = 10  # replicates with a cylinder at the floor needed to fit the Monte Carlo Gumbel
EULER_GAMMA = 0.5772156649015329
_BASELINES: dict[tuple, Baseline] = {}  # (bind url, level, weeks, UTC day) -> the day's Baseline


def poisson_llr(o, e):
    """Poisson log-likelihood ratio of a cylinder, ``O log(O/E) - (O - E)`` where ``O > E``, else 0."""
    o = np.asarray(o, dtype=float)
    e = np.maximum(np.asarray(e, dtype=float), 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(o > e, o * np.log(np.where(o > 0, o, 1.0) / e) - (o - e), 0.0)
    return out


def zones(points: dict[str, tuple[float, float] | None], neighbours: int) -> list[tuple[str, tuple[str, ...]]]:
    """``(centre, members)`` for every district: alone, then with its 1..``neighbours`` nearest
    (by centroid, ties by code); a district without a centroid is a zone of its own only. Duplicate
    member sets are kept once (the first centre in code order)."""
    out: list[tuple[str, tuple[str, ...]]] = []
    seen: set[frozenset] = set()
    codes = sorted(points)
    for c in codes:
        here = points[c]
        near = [c]
        if here is not None and neighbours > 0:
            cos = math.cos(math.radians(here[0]))
            others = sorted((((p[0] - here[0]) ** 2 + ((p[1] - here[1]) * cos) ** 2, d)
                             for d, p in points.items() if d != c and p is not None))
            near += [d for _dist, d in others[:neighbours]]
        for k in range(1, len(near) + 1):
            members = frozenset(near[:k])
            if members not in seen:
                seen.add(members)
                out.append((c, tuple(near[:k])))
    return out


@functools.lru_cache(maxsize=256)
def _zones_cached(points: tuple, neighbours: int) -> list[tuple[str, tuple[str, ...]]]:
    return zones(dict(points), neighbours)


def gumbel_p(values, maxima) -> np.ndarray:
    """P(max >= value) under a Gumbel distribution fitted by moments to the replicate ``maxima``."""
    m = np.asarray(maxima, dtype=float)
    sd = float(m.std(ddof=1)) if m.size > 1 else 0.0
    scale = max(sd * math.sqrt(6.0) / math.pi, 1e-6)
    loc = float(m.mean()) - EULER_GAMMA * scale
    return gumbel_r.sf(np.asarray(values, dtype=float), loc=loc, scale=scale)


def zero_inflated_gumbel_p(values, maxima, min_positive: int):
    """P(max >= value) for values > 0 when many replicate maxima are exactly 0 (no cylinder at the
    floor of ``min_count`` tickets, as at night): the share of non-zero maxima times a Gumbel
    fitted to those alone. A Gumbel fitted to all maxima puts almost no mass above a pile of zeros
    and so would call any clump significant. ``None`` when fewer than ``min_positive`` maxima are
    non-zero (too few to fit: the caller falls back to Bonferroni)."""
    m = np.asarray(maxima, dtype=float)
    pos = m[m > 0]
    if pos.size < max(min_positive, 2):
        return None
    return (pos.size / m.size) * gumbel_p(values, pos)


def adjusted_expected(b_z, o_z, b_cat, o_cat, b_city, o_city, b_prov, o_prov, shrink: float):
    """``E`` of cylinders: baseline ``b_z`` times the leave-zone-out adjustment (module docstring).

    Arrays broadcast: ``b_z``/``o_z`` zone x category x window; ``b_cat``/``o_cat`` province totals
    per category x window; ``b_city``/``o_city`` city totals per window; ``b_prov``/``o_prov``
    province totals per window."""
    r_cat = (o_cat[None] - o_z + shrink) / (np.maximum(b_cat[None] - b_z, 0.0) + shrink)
    oz_all, bz_all = o_z.sum(axis=1), b_z.sum(axis=1)  # zone x window
    r_city = (o_city[None] - oz_all + shrink) / (np.maximum(b_city[None] - bz_all, 0.0) + shrink)
    r_prov = (o_prov + shrink) / (b_prov + shrink)
    adj = np.maximum(1.0, r_cat * (r_city / r_prov)[:, None, :])
    return b_z * adj


@dataclass
class CityScan:
    """One city's scan at one tick: the cylinders' counts, expectations, ratios and p-values."""

    city: str
    zones: list[tuple[str, tuple[str, ...]]]
    cats: list[tuple]  # (category, sub-category) per column
    obs: np.ndarray  # zone x category x window
    exp: np.ndarray
    llr: np.ndarray
    p: np.ndarray  # family-wise p-value of one tick (Bonferroni, or Monte Carlo + Gumbel)
    p_tail: np.ndarray  # the cylinder's own upper-tail probability P(X >= O | E)


def scan_city(city: str, districts: list[str], cats: list[tuple], obs: np.ndarray, base: np.ndarray,
              prov: dict, points: dict, *, neighbours: int, replicates: int, size: float, shrink: float,
              seed_tag: str, min_count: int = 1, significance: str = "bonferroni",
              min_expected: float = 0.0) -> CityScan:
    """Scan one city. ``obs``/``base``: district x category x window (cumulative windows) of the
    city; ``prov``: province totals ``{"o_cat", "b_cat", "o_all", "b_all"}``. No cylinder expects
    fewer than ``min_expected`` tickets (module docstring: a floor for the cells whose baseline
    weeks hold almost nothing). Cylinders with fewer
    than ``min_count`` tickets have ratio 0, in the data and in the replicates alike (so the null
    maximum is not made of single tickets in empty cells)."""
    zs = _zones_cached(tuple((d, points.get(d)) for d in districts), neighbours)
    index = {d: i for i, d in enumerate(districts)}
    member = np.zeros((len(zs), len(districts)))
    for z, (_c, members) in enumerate(zs):
        member[z, [index[d] for d in members]] = 1.0
    o_z = np.einsum("zd,dcj->zcj", member, obs)
    b_z = np.einsum("zd,dcj->zcj", member, base)
    exp = adjusted_expected(b_z, o_z, prov["b_cat"], prov["o_cat"], base.sum(axis=(0, 1)),
                            obs.sum(axis=(0, 1)), prov["b_all"], prov["o_all"], shrink)
    if min_expected > 0:
        exp = np.maximum(exp, min_expected)
    llr = poisson_llr(o_z, exp) * (o_z >= min_count)
    p_tail = np.ones_like(exp)
    hot = llr > 0  # the tails of cylinders below their expectation or the floor are never needed
    p_tail[hot] = tail_p(o_z[hot], exp[hot], size)
    n_cyl = max(int(np.count_nonzero(exp > 0)), 1)
    if significance == "montecarlo":
        # Null: every cell's count in each window increment drawn around its expectation (E fixed);
        # the statistic is the city's smallest tail probability over cylinders with min_count.
        singles = [i for i, (_c, m) in enumerate(zs) if len(m) == 1]
        cell_exp = np.einsum("zd,zcj->dcj", member[singles], exp[singles])
        inc = np.diff(cell_exp, axis=2, prepend=0.0).clip(min=0.0)
        rng = np.random.default_rng(zlib.crc32(seed_tag.encode()))
        shape = (replicates, *inc.shape)
        lam = rng.gamma(size, inc[None] / size, size=shape) if math.isfinite(size) else np.broadcast_to(inc, shape)
        sim_z = np.einsum("zd,rdcj->rzcj", member, np.cumsum(rng.poisson(lam), axis=3))
        sim_stat = np.where(sim_z >= min_count, -np.log(np.maximum(tail_p(sim_z, exp[None], size), 1e-300)), 0.0)
        maxima = sim_stat.reshape(replicates, -1).max(axis=1)
        stat = -np.log(np.maximum(p_tail, 1e-300))
        p_mc = zero_inflated_gumbel_p(stat, maxima, MIN_POSITIVE_MAXIMA)
        # the union bound holds whatever the fit: the Gumbel's extrapolation never goes above it
        p = np.minimum(1.0, p_tail * n_cyl)
        if p_mc is not None:
            p = np.where(o_z >= min_count, np.minimum(p_mc, p), 1.0)
    else:
        p = np.minimum(1.0, p_tail * n_cyl)  # Bonferroni over the city's cylinders
    return CityScan(city, zs, cats, o_z, exp, llr, p, p_tail)


def tail_p(o, e, size: float) -> np.ndarray:
    """P(X >= O) for X negative binomial of mean ``E`` and size ``size`` (Poisson when infinite)."""
    o = np.asarray(o, dtype=float)
    e = np.maximum(np.asarray(e, dtype=float), 1e-12)
    if not math.isfinite(size):
        return poisson.sf(o - 1, e)
    return nbinom.sf(o - 1, size, size / (size + e))


@dataclass
class Baseline:
    """Every key's rollup counts over the baseline weeks, read once a day: ``cum`` is the cumulative
    sum along 15-minute intervals from ``start`` (keys x intervals + 1), ``total`` each key's sum
    over the ``weeks`` weeks before ``day_end``."""

    start: datetime
    day_end: datetime
    keys: list[tuple]
    index: dict[tuple, int]
    cum: np.ndarray
    total: np.ndarray
    _groups: dict | None = None
    _cats: tuple | None = None

    def groups(self) -> dict[str, tuple]:
        """Per city: (row indexes, districts, categories, district index, category index) of its keys."""
        if self._groups is None:
            self._groups = _groups(self.keys)
        return self._groups

    def categories(self) -> tuple[list[tuple], dict[tuple, int], np.ndarray]:
        """(category names, their index, each key's category index)."""
        if self._cats is None:
            self._cats = _categories(self.keys)
        return self._cats

    def yesterday(self) -> tuple[np.ndarray, np.ndarray]:
        """Per key: tickets on the last UTC day before ``day_end``, and the mean of the same day
        1, 2 and 3 weeks earlier (the seasonal trend's two halves)."""
        step = timeutil.INTERVAL
        n = self.cum.shape[1] - 1

        def day_sum(end: datetime) -> np.ndarray:
            hi = min(max(int((end - self.start) / step), 0), n)
            lo = min(max(hi - 96, 0), n)
            return self.cum[:, hi] - self.cum[:, lo]

        last = day_sum(self.day_end)
        before = sum(day_sum(self.day_end - timedelta(days=7 * i)) for i in (1, 2, 3)) / 3.0
        return last, before

    def window_sums(self, ends: list[datetime], hours: tuple[float, ...]) -> np.ndarray:
        """keys x windows: the sum over ``ends`` of the counts in ``[e - w hours, e)``."""
        out = np.zeros((len(self.keys), len(hours)))
        step = timeutil.INTERVAL
        n = self.cum.shape[1] - 1
        for e in ends:
            hi = int((e - self.start) / step)
            for j, w in enumerate(hours):
                lo = hi - int(round(w * 4))
                a, b = min(max(lo, 0), n), min(max(hi, 0), n)
                out[:, j] += self.cum[:, b] - self.cum[:, a]
        return out


def _categories(keys: list[tuple]) -> tuple[list[tuple], dict[tuple, int], np.ndarray]:
    names = sorted({k[2:] for k in keys})
    index = {x: n for n, x in enumerate(names)}
    return names, index, np.array([index[k[2:]] for k in keys], dtype=int)


def _groups(keys: list[tuple]) -> dict[str, tuple]:
    rows: dict[str, list[int]] = defaultdict(list)
    for i, k in enumerate(keys):
        rows[k[0]].append(i)
    out = {}
    for c, idx in rows.items():
        districts = sorted({keys[i][1] for i in idx})
        cats = sorted({keys[i][2:] for i in idx})
        dpos, cpos = {d: n for n, d in enumerate(districts)}, {x: n for n, x in enumerate(cats)}
        out[c] = (np.array(idx), districts, cats, np.array([dpos[keys[i][1]] for i in idx]),
                  np.array([cpos[keys[i][2:]] for i in idx]))
    return out


def _baseline(ctx: Context, sub: bool, weeks: int) -> Baseline:
    """The day's ``Baseline`` (cached per database, level and UTC day: one read a day)."""
    day_end = timeutil.floor_interval(ctx.now).replace(hour=0, minute=0)
    key = (str(ctx.session.get_bind().url), sub, weeks, day_end)
    hit = _BASELINES.get(key)
    if hit is not None:
        return hit
    start = day_end - timedelta(days=7 * weeks, hours=max(WINDOWS_H))
    n = int((day_end - start) / timeutil.INTERVAL)
    rows = queries.volume_rollup_series(ctx.session, by_district=True, sub=sub, start=start, end=day_end)
    index: dict[tuple, int] = {}
    for k, _at, _n in rows:
        index.setdefault(k, len(index))
    series = np.zeros((len(index), n + 1), dtype=np.float64)
    for k, at, v in rows:
        series[index[k], 1 + int((at - start) / timeutil.INTERVAL)] += v
    cum = np.cumsum(series, axis=1)
    first = int((day_end - timedelta(days=7 * weeks) - start) / timeutil.INTERVAL)
    total = cum[:, n] - cum[:, first]
    if len(_BASELINES) > 4:
        _BASELINES.clear()
    _BASELINES[key] = out = Baseline(start, day_end, list(index), index, cum, total)
    return out


def scan_all(ctx: Context, rule: str) -> list[CityScan]:
    """Every city's scan at ``ctx.now`` (empty while the rollups do not cover the baseline weeks)."""
    p0 = ctx.cfg.params(rule)
    sub = p0.get("category_level", "sub") == "sub"
    weeks = int(p0["weeks"])
    end = timeutil.floor_interval(ctx.now)
    wmax = max(WINDOWS_H)
    coverage = queries.rollup_coverage(ctx.session)
    if coverage is None or coverage[0] > end - timedelta(days=7 * weeks, hours=wmax) or \
            coverage[1] < end - timedelta(days=7):
        return []  # without the baseline weeks every busy hour would look anomalous: stay silent
    nk = 4 if sub else 3
    current = queries.volume_window_counts(ctx.session, by_district=True, sub=sub, end=end,
                                           windows_h=WINDOWS_H, min_count=1)
    if not current:
        return []
    base = _baseline(ctx, sub, weeks)
    nw = len(WINDOWS_H)
    keys = list(base.keys)
    index = dict(base.index)
    own = base.window_sums([end - timedelta(days=7 * i) for i in range(1, weeks + 1)], WINDOWS_H)
    total = base.total
    obs = np.zeros((len(keys), nw))
    extra = []
    for row in current:
        k = tuple(row[:nk])
        i = index.get(k)
        if i is None:  # a key never seen in the baseline weeks
            i = index[k] = len(keys)
            keys.append(k)
            extra.append(k)
        if i >= len(obs):
            obs = np.vstack([obs, np.zeros((i + 1 - len(obs), nw))])
        obs[i] = [float(row[nk + j] or 0) for j in range(nw)]
    if extra:
        own = np.vstack([own, np.zeros((len(extra), nw))])
        total = np.concatenate([total, np.zeros(len(extra))])
    groups = base.groups() if not extra else _groups(keys)
    m = float(p0.get("stscan_pool_weeks", 8.0))
    b = np.zeros_like(obs)
    for rows, _districts, _cats, _di, _ci in groups.values():
        city_w = own[rows].sum(axis=0)  # the keys partition the city
        share = (total[rows] + 0.5) / (total[rows].sum() + 0.5 * len(rows))
        b[rows] = (own[rows] + m * share[:, None] * city_w[None] / weeks) / (weeks + m)
    # Province totals per (category, sub-category) and overall (the zone is left out inside
    # ``adjusted_expected``).
    cat_names, cat_id, kc = _categories(keys) if extra else base.categories()
    if p0.get("stscan_trend", True):
        # Seasonal steps (the first heating day): each category's tickets province-wide yesterday
        # against the same weekday of the 3 weeks before, shrunk by ``scan_shrink`` x 4 tickets and
        # never below 1, scales its baselines (the same-hour windows of 4 weeks lag a step by weeks).
        last, before = base.yesterday()
        if extra:
            last = np.concatenate([last, np.zeros(len(extra))])
            before = np.concatenate([before, np.zeros(len(extra))])
        c_last = np.bincount(kc, weights=last, minlength=len(cat_names))
        c_before = np.bincount(kc, weights=before, minlength=len(cat_names))
        prior = 4.0 * float(p0.get("scan_shrink", 5.0))
        trend = np.maximum(1.0, (c_last + prior) / (c_before + prior))
        b = b * trend[kc][:, None]
    cat_o = np.zeros((len(cat_names), nw))
    cat_b = np.zeros_like(cat_o)
    np.add.at(cat_o, kc, obs)
    np.add.at(cat_b, kc, b)
    o_all, b_all = obs.sum(axis=0), b.sum(axis=0)
    points = centroids(ctx.session, sorted({k[1] for k in keys if k[1]}))
    size = float(p0.get("stscan_nb_size") or 0) or math.inf
    replicates = max(9, min(int(p0.get("scan_replicates", 99)), MAX_REPLICATES))
    out = []
    for c in sorted(groups):
        rows, districts, cats, di, ci = groups[c]
        if not obs[rows].any():
            continue
        o_arr = np.zeros((len(districts), len(cats), nw))
        b_arr = np.zeros_like(o_arr)
        o_arr[di, ci] = obs[rows]
        b_arr[di, ci] = b[rows]
        sel = [cat_id[x] for x in cats]
        prov = {"o_cat": cat_o[sel], "b_cat": cat_b[sel], "o_all": o_all, "b_all": b_all}
        out.append(scan_city(c, districts, cats, o_arr, b_arr, prov, points,
                             neighbours=int(p0.get("scan_neighbours", 2)),
                             replicates=replicates, size=size, shrink=float(p0.get("scan_shrink", 5.0)),
                             seed_tag=f"{c}:{end.isoformat()}", min_count=int(p0.get("stscan_min_count") or 1),
                             significance=str(p0.get("scan_significance", "bonferroni")),
                             min_expected=float(p0.get("stscan_min_expected") or 0.0)))
    return out


def stscan_volume(ctx: Context, rule: str, *, by_district: bool) -> list[Finding]:
    """The district rule's findings from the space-time scan (``by_district`` must be True)."""
    if not by_district:
        raise ValueError("the space-time scan is a district rule; the city rule uses method 'cusum'")
    p0 = ctx.cfg.params(rule)
    sub = p0.get("category_level", "sub") == "sub"
    is_open = ctx.open_keys(rule)
    out: list[Finding] = []
    for scan in scan_all(ctx, rule):
        out += _findings(ctx, rule, scan, sub, is_open)
    return out


def _findings(ctx: Context, rule: str, scan: CityScan, sub: bool, is_open: set[str]) -> list[Finding]:
    city = scan.city
    p_city = ctx.cfg.params(rule, city)
    alpha = float(p_city["false_alarms_per_city_week"]) / EVALS_PER_WEEK
    p_clear = float(p_city.get("stscan_p_clear", 0.05))
    out = []
    # Candidates: cylinders that could alert or keep an alert open, strongest first.
    cand = np.argwhere((scan.p < max(alpha, p_clear)) & (scan.llr > 0))
    cand = sorted(map(tuple, cand), key=lambda zcj: (scan.p_tail[zcj], -scan.llr[zcj]))
    taken: dict[int, set[str]] = defaultdict(set)
    done: set[tuple[int, str]] = set()
    for z, ci, j in cand:
        cat = scan.cats[ci]
        centre, members = scan.zones[z]
        if (ci, centre) in done or taken[ci] & set(members):
            continue
        subcat = cat[1] if sub else ""
        # An alert belongs to its area: a zone holding the centre of an open alert of the category
        # continues that alert (the most likely cluster moves between overlapping zones as a surge
        # grows; it must not open a new alert each time).
        keys = [_short_key(city, d, cat[0], *([subcat] if subcat else [])) for d in members]
        held = [(k, d) for k, d in zip(keys, members) if k in is_open]
        key, centre = held[0] if held else (keys[0], centre)
        if (ci, centre) in done:
            continue
        p = ctx.cfg.params(rule, city, centre)
        o = int(round(scan.obs[z, ci, j]))
        reopen = key in is_open
        floor = int(p.get("stscan_min_count") or 1)
        if reopen:
            floor = max(1, floor // 2)
        if scan.p[z, ci, j] >= (p_clear if reopen else alpha) or o < floor:
            continue
        taken[ci] |= set(members)
        done.add((ci, centre))
        e = float(scan.exp[z, ci, j])
        w = WINDOWS_H[j]
        pv = float(scan.p[z, ci, j])
        category = cat[0]
        label = subcat or category
        place = ctx.place_name(centre) + (f"等{len(members)}个区县" if len(members) > 1 else "")
        detail = {"count": o, "expected": round(e, 2), "median": round(e, 2), "window_h": w,
                  "llr": round(float(scan.llr[z, ci, j]), 2), "p": float(f"{pv:.3g}"),
                  "alpha": float(f"{alpha:.3g}"), "districts": list(members), "method": "stscan",
                  "category": category, "subcategory": subcat, "district": centre,
                  "filter": _ticket_filter(city=city, district=centre if len(members) == 1 else None,
                                           category=category or None)}
        severity = "critical" if pv < alpha * 1e-3 else None
        f = _finding(ctx, rule, key, city, centre or None,
                     f"{place}{label or ''}诉求激增：近{w:g}小时{o}件（预期{e:.1f}件）", detail, severity=severity)
        if f:
            out.append(f)
    return out
