"""City volume anomalies: a fitted count model and a Poisson CUSUM (``method: "cusum"`` of the city rule).

**Count model** (per city, refitted once per local day and cached): the city's tickets per
15-minute interval over the last ``weeks`` weeks of rollups, a Poisson GLM (statsmodels) with
log link and

    log mu = hour of the day (24 levels) + day of the week (7) + trend (per day)

on hourly sums (a quarter of the hour's mean per interval), fitted twice: days whose total is more than 25 % off the first fit (holidays, storm days) are left
out of the second, so one holiday week does not lower the expectation of a normal one.
Overdispersion is the Pearson chi-square over the residual degrees of freedom (``phi``, the
quasi-Poisson scale; clipped to >= 1). Why statsmodels: the fit is an iteratively reweighted
least-squares GLM with a rank-deficient design; statsmodels does it, its dispersion and its
prediction correctly, and costs tens of milliseconds once a day per city.

**Detector**: a Poisson CUSUM for a shift of the mean by ``cusum_shift`` (1.5), over the last 16
intervals (4 hours): ``S_t = max(0, S_{t-1} + (x_t log r - (r - 1) mu_t) / phi)``, started at 0
four hours ago, so it is a pure function of the data (a restart, a backtest and a history load
all see the same value). Its null distribution comes from ``cusum_replicates`` Monte Carlo runs
of the 16 intervals (negative binomial, mean ``mu_t``, variance ``phi mu_t``), a Gumbel fitted to
them by moments, seeded from (city, interval); an alert needs
``p < alpha = false_alarms_per_city_week / 672`` (one test per city per 15-minute interval) and
``min_count`` tickets in the last hour. Open alerts stay open while ``p < cusum_p_clear``.
"""

from __future__ import annotations

import logging
import math
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

from cockpit import timeutil
from cockpit.metrics import queries
from cockpit.watch.alerts import Finding
from cockpit.watch.config import Context, _finding, _ticket_filter
from cockpit.watch.rules_stscan import EVALS_PER_WEEK, MAX_REPLICATES, gumbel_p

log = logging.getLogger(__name__)
STEPS = 16  # 15-minute intervals the CUSUM looks back (4 hours)
PER_DAY = 96
HOURS = 24
_MODELS: dict[tuple, CityModel | None] = {}  # (bind url, city, local day, weeks) -> fitted model


@dataclass(frozen=True)
class CityModel:
    """A fitted city model: coefficients of the design in ``design``, the day it predicts from, phi."""

    params: np.ndarray
    phi: float
    day0: date  # local day of trend 0 (the first baseline day)
    days_used: int

    def mu(self, local_starts: list[datetime]) -> np.ndarray:
        """Expected tickets in the 15-minute intervals starting at these local times (a quarter of
        the fitted hour)."""
        x = design(local_starts, self.day0)
        return np.exp(np.clip(x @ self.params, -30, 30)) / 4.0


def design(local_starts: list[datetime], day0: date) -> np.ndarray:
    """Design matrix: 24 hour-of-day indicators, 6 day-of-week indicators (Monday the reference),
    days since ``day0``."""
    x = np.zeros((len(local_starts), HOURS + 6 + 1))
    for i, t in enumerate(local_starts):
        x[i, t.hour] = 1.0
        if t.weekday():
            x[i, HOURS + t.weekday() - 1] = 1.0
        x[i, -1] = (t.date() - day0).days
    return x


def fit_city(local_starts: list[datetime], counts: np.ndarray) -> CityModel | None:
    """The two-pass Poisson GLM of the module docstring on a city's interval counts (local starts
    of consecutive 15-minute intervals, from a local midnight), fitted on hourly sums."""
    import statsmodels.api as sm

    if len(local_starts) < 7 * PER_DAY or counts.sum() <= 0:
        return None
    n = len(counts) // 4 * 4
    counts = counts[:n].reshape(-1, 4).sum(axis=1)
    local_starts = local_starts[:n:4]
    day0 = min(local_starts).date()
    x = design(local_starts, day0)
    days = np.array([(t.date() - day0).days for t in local_starts])
    keep = np.ones(len(counts), dtype=bool)
    res = None
    for _ in range(2):
        res = sm.GLM(counts[keep], x[keep], family=sm.families.Poisson()).fit()
        fitted = np.exp(np.clip(x @ res.params, -30, 30))
        ratio = {d: (counts[days == d].sum() + 1.0) / (fitted[days == d].sum() + 1.0) for d in np.unique(days)}
        off = {d for d, r in ratio.items() if abs(math.log(r)) > math.log(1.25)}
        new_keep = ~np.isin(days, list(off))
        if new_keep.sum() < 7 * HOURS or (new_keep == keep).all():
            break
        keep = new_keep
    phi = max(1.0, float(res.pearson_chi2 / max(res.df_resid, 1.0)))
    return CityModel(np.asarray(res.params), phi, day0, int(len(np.unique(days[keep]))))


def cusum(x: np.ndarray, mu: np.ndarray, shift: float, phi: float = 1.0) -> np.ndarray:
    """Poisson CUSUM path ``S_t = max(0, S_{t-1} + (x_t log r - (r - 1) mu_t) / phi)`` from 0; the
    last axis is time (leading axes are replicates)."""
    z = (np.asarray(x, dtype=float) * math.log(shift) - (shift - 1.0) * np.asarray(mu, dtype=float)) / phi
    s = np.zeros(z.shape[:-1])
    out = np.zeros_like(z)
    for t in range(z.shape[-1]):
        s = np.maximum(0.0, s + z[..., t])
        out[..., t] = s
    return out


def _model(ctx: Context, city: str, end: datetime, weeks: int) -> CityModel | None:
    tz = ctx.settings.tz
    today = end.replace(tzinfo=UTC).astimezone(tz).date()
    key = (str(ctx.session.get_bind().url), city, today, weeks)
    if key in _MODELS:
        return _MODELS[key]
    start_local = datetime(today.year, today.month, today.day, tzinfo=tz) - timedelta(days=7 * weeks)
    start = timeutil.naive_utc(start_local)
    stop = timeutil.naive_utc(datetime(today.year, today.month, today.day, tzinfo=tz))
    rows = queries.city_interval_counts(ctx.session, cities=[city], start=start, end=stop)
    n = int((stop - start) / timeutil.INTERVAL)
    counts = np.zeros(n)
    for _c, at, v in rows:
        i = int((at - start) / timeutil.INTERVAL)
        if 0 <= i < n:
            counts[i] += v
    starts = [(start + i * timeutil.INTERVAL).replace(tzinfo=UTC).astimezone(tz) for i in range(n)]
    try:
        model = fit_city(starts, counts)
    except Exception:  # noqa: BLE001 - a degenerate series (a new city) is no model, not a crash
        log.exception("cusum: fitting %s failed", city)
        model = None
    if len(_MODELS) > 256:
        _MODELS.clear()
    _MODELS[key] = model
    return model


def cusum_city(ctx: Context, rule: str) -> list[Finding]:
    """The city rule's findings from the fitted model and the CUSUM."""
    p0 = ctx.cfg.params(rule)
    weeks = int(p0["weeks"])
    end = timeutil.floor_interval(ctx.now)
    coverage = queries.rollup_coverage(ctx.session)
    if coverage is None or coverage[0] > end - timedelta(days=7 * weeks + 1) or coverage[1] < end - timedelta(days=1):
        return []  # without the baseline weeks every busy hour would look anomalous: stay silent
    windows = tuple(0.25 * k for k in range(1, STEPS + 1))
    rows = queries.volume_window_counts(ctx.session, by_district=False, sub=False, end=end, windows_h=windows,
                                        min_count=1)
    is_open = ctx.open_keys(rule)
    tz = ctx.settings.tz
    starts = [(end - (STEPS - i) * timeutil.INTERVAL).replace(tzinfo=UTC).astimezone(tz) for i in range(STEPS)]
    out = []
    for row in rows:
        city = row.city
        p = ctx.cfg.params(rule, city)
        cum = np.array([float(row._mapping[f"w{j}"] or 0) for j in range(STEPS)])  # last 15 min, 30 min, ...
        x = np.diff(np.concatenate([[0.0], cum]))[::-1]  # per interval, oldest first
        last_hour = int(cum[3])
        reopen = city in is_open
        if last_hour < (p["min_count"] / 2 if reopen else p["min_count"]):
            continue
        model = _model(ctx, city, end, weeks)
        if model is None:
            continue
        mu = model.mu(starts)
        shift = float(p.get("cusum_shift", 1.5))
        s_now = float(cusum(x, mu, shift, model.phi)[-1])
        if s_now <= 0:
            continue
        replicates = max(9, min(int(p.get("cusum_replicates", 199)), MAX_REPLICATES))
        rng = np.random.default_rng(zlib.crc32(f"cusum:{city}:{end.isoformat()}".encode()))
        if model.phi > 1.0:
            k = mu / (model.phi - 1.0)  # gamma-Poisson with variance phi * mu
            lam = rng.gamma(k, mu / k, size=(replicates, STEPS))
        else:
            lam = np.broadcast_to(mu, (replicates, STEPS))
        null = cusum(rng.poisson(lam), mu, shift, model.phi)[:, -1]
        pv = float(gumbel_p([s_now], null)[0])
        alpha = float(p["false_alarms_per_city_week"]) / EVALS_PER_WEEK
        if pv >= (float(p.get("cusum_p_clear", 0.01)) if reopen else alpha):
            continue
        e_hour = float(mu[-4:].sum())
        detail = {"count": last_hour, "expected": round(e_hour, 1), "median": round(e_hour, 1), "window_h": 1,
                  "cusum": round(s_now, 2), "p": float(f"{pv:.3g}"), "alpha": float(f"{alpha:.3g}"),
                  "phi": round(model.phi, 2), "method": "cusum", "filter": _ticket_filter(city=city)}
        severity = "critical" if pv < alpha * 1e-3 else None
        f = _finding(ctx, rule, city, city, None,
                     f"{ctx.place_name(city)}全市诉求激增：近1小时{last_hour}件（预期{e_hour:.0f}件）", detail,
                     severity=severity)
        if f:
            out.append(f)
    return out
