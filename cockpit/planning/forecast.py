"""Calls offered per city per 15 minutes, days and weeks ahead, with prediction intervals.

One model (``MODEL``) serves every horizon: a log-linear count regression (statsmodels GLM,
Poisson family, dispersion estimated from the Pearson residuals) on

* an hour-of-week profile (168 levels: Monday 00h .. Sunday 23h, local time),
* the shape of the four quarters inside each hour of the day (72 contrasts), and
* a weekly log-linear trend, damped into ``TREND_CLAMP`` over the forecast horizon (only with two
  weeks and 500 calls of history; else the profile alone, whose MLE is the hourly mean),

fitted on the last ``HISTORY_WEEKS`` of whole intervals. Public holidays take the profile of a
Sunday; holiday intervals and known incidents (``masks``) are left out of the fit. Bench
``bench/forecast.py`` chose it against a seasonal-naive baseline and other statsmodels models
by WAPE (docs/metrics.md has the figures).

Prediction intervals: quasi-Poisson noise (variance ``phi * mean``) plus the uncertainty of the
fitted mean (delta method on the linear predictor), as a normal on the count, floored at 0.

Times are naive UTC interval starts; ``tz`` only decides the local hour of week. Pure functions
except ``offered_history``, ``forecast_scope`` and ``forecast_for`` (read-only, through
``metrics.queries`` and ``store.planning``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from cockpit import timeutil
from cockpit.metrics import queries
from cockpit.settings import Settings
from cockpit.periods import CN_HOLIDAYS
from cockpit.store import planning as plan_store

MODEL = "glm_how"
INCIDENT_RULES = ("volume_anomaly_city", "volume_anomaly", "queue_surge")  # alerts that mark known incidents
INTERVAL = timeutil.INTERVAL
PER_DAY = 96
HISTORY_WEEKS = 8
MIN_HISTORY_DAYS = 7  # below one whole week the profile is undetermined: fall back to the recent rate
TREND_CLAMP = (0.8, 1.25)  # the trend may move a forecast by at most this factor
MIN_TREND_DAYS = 13  # a trend needs two weeks of history ...
MIN_TREND_CALLS = 500  # ... and enough calls; else the profile alone (closed form)
DEFAULT_LEVEL = 0.8  # central prediction interval
MAX_DAYS = 35


@dataclass(frozen=True)
class Forecast:
    """Forecast offered calls per interval: ``mean``, and the central ``level`` interval."""

    starts: list[datetime]
    mean: list[float]
    lower: list[float]
    upper: list[float]
    level: float
    method: str
    basis: dict[str, Any] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        """JSON rows: start (ISO, UTC), forecast, lower, upper."""
        return [{"start": s.replace(tzinfo=UTC).isoformat(), "forecast": round(m, 3),
                 "lower": round(lo, 3), "upper": round(hi, 3)}
                for s, m, lo, hi in zip(self.starts, self.mean, self.lower, self.upper)]


# ---------------------------------------------------------------- calendar features

def _local(starts: Sequence[datetime], tz: tzinfo) -> list[datetime]:
    return [s.replace(tzinfo=UTC).astimezone(tz) for s in starts]


def calendar(starts: Sequence[datetime], tz: tzinfo, holidays: Iterable[date] = ()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hour of week 0..167, quarter of day 0..95, is holiday) of each naive-UTC interval start.

    A holiday counts as a Sunday for the hour-of-week profile.
    """
    hol = frozenset(holidays)
    local = _local(starts, tz)
    is_hol = np.array([d.date() in hol for d in local], dtype=bool)
    dow = np.array([6 if h else d.weekday() for d, h in zip(local, is_hol)])
    hour = np.array([d.hour for d in local])
    quarter = np.array([d.hour * 4 + d.minute // 15 for d in local])
    return dow * 24 + hour, quarter, is_hol


def _design(how: np.ndarray, weeks: np.ndarray, hours: np.ndarray, trend: bool) -> np.ndarray:
    """Columns: one per kept hour of week, then the trend (weeks from the end of the history)."""
    cols = [(how[:, None] == hours[None, :]).astype(float)]
    if trend:
        cols.append(weeks[:, None])
    return np.hstack(cols)


def _masked(starts: Sequence[datetime], masks: Iterable[tuple[datetime, datetime]]) -> np.ndarray:
    out = np.zeros(len(starts), dtype=bool)
    arr = np.array(starts, dtype="datetime64[us]")
    for a, b in masks:
        a64, b64 = np.datetime64(a, "us"), np.datetime64(b, "us")
        out |= (arr + np.timedelta64(15, "m") > a64) & (arr < b64)
    return out


# ---------------------------------------------------------------- the model

def fit_predict(history_starts: Sequence[datetime], counts: Sequence[float], starts: Sequence[datetime], *,
                tz: tzinfo, holidays: Iterable[date] = (), masks: Iterable[tuple[datetime, datetime]] = (),
                level: float = DEFAULT_LEVEL, trend: bool = True) -> Forecast:
    """Fit the hour-of-week model on ``counts`` (one per history interval start, a gapless grid of
    whole intervals) and forecast the intervals starting at ``starts``.

    Two stages, both maximum likelihood: a Poisson GLM of hourly counts on the hour of week and
    a weekly trend, then each quarter's share of its hour of the day (pooled over the history,
    add-one smoothed). Holidays and ``masks`` ([start, end) naive UTC) are dropped from the fit.
    Hours of the week with no call in the (unmasked) history forecast 0. Deterministic.
    """
    import statsmodels.api as sm
    from scipy.stats import norm

    hol = frozenset(holidays)
    y = np.asarray(counts, dtype=float)
    h_how, h_q, h_hol = calendar(history_starts, tz, hol)
    keep = ~(h_hol | _masked(history_starts, masks))
    basis: dict[str, Any] = {"history_intervals": len(y), "fit_intervals": int(keep.sum()),
                             "masked_intervals": int((~keep).sum())}
    # whole hours only: drop a leading and trailing part hour
    first = next((i for i, q in enumerate(h_q) if q % 4 == 0), len(y))
    n_hours = (len(y) - first) // 4
    if n_hours * 4 < MIN_HISTORY_DAYS * PER_DAY or keep.sum() < MIN_HISTORY_DAYS * PER_DAY:
        return _recent_rate(y, starts, level, basis)
    sl = slice(first, first + n_hours * 4)
    yq, qq, kq = y[sl].reshape(n_hours, 4), h_q[sl].reshape(n_hours, 4), keep[sl].reshape(n_hours, 4)
    hy, hhow, hkeep = yq.sum(axis=1), h_how[sl][::4], kq.all(axis=1)
    last = history_starts[first + n_hours * 4 - 1] + INTERVAL
    hweeks = np.array([(s - last).total_seconds() / (7 * 86_400.0) for s in history_starts[sl][::4]])

    hours = np.unique(hhow[hkeep & (hy > 0)])
    rows = hkeep & np.isin(hhow, hours)
    span_days = float(hweeks[rows].max() - hweeks[rows].min()) * 7 if rows.any() else 0.0
    trend = trend and span_days >= MIN_TREND_DAYS and hy[rows].sum() >= MIN_TREND_CALLS
    params, fitted, cov = None, None, None
    if trend:
        x = _design(hhow[rows], hweeks[rows], hours, True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = sm.GLM(hy[rows], x, family=sm.families.Poisson(), hasconst=False).fit(scale="X2")
            params, fitted, cov = np.asarray(res.params), np.asarray(res.fittedvalues), np.asarray(res.cov_params())
        except (ValueError, np.linalg.LinAlgError):
            params = None
        if params is None or not (np.isfinite(params).all() and np.isfinite(cov).all()):
            trend = False
    if not trend:
        # without the trend the Poisson MLE is closed-form: the mean hourly count of each hour of week
        n_h = np.array([(rows & (hhow == h)).sum() for h in hours], dtype=float)
        mean_h = np.array([hy[rows & (hhow == h)].mean() for h in hours])
        params = np.log(mean_h)
        cov = np.diag(1.0 / (n_h * mean_h))
        fitted = mean_h[np.searchsorted(hours, hhow[rows])]
    # quarter shares inside each hour of the day
    q_sum = np.bincount(qq[kq[:, 0] & kq.all(axis=1)].ravel(),
                        weights=yq[kq.all(axis=1)].ravel(), minlength=PER_DAY) + 1.0
    share = q_sum / np.repeat(q_sum.reshape(24, 4).sum(axis=1), 4)
    # quasi-Poisson dispersion of the quarter counts (Pearson), not of the hourly ones
    fitted_q = fitted[:, None] * share[qq[rows]]
    pearson = ((yq[rows] - fitted_q) ** 2 / np.maximum(fitted_q, 1e-9)).sum()
    phi = max(float(pearson / max(fitted_q.size - len(params) - (PER_DAY - 24), 1)), 1.0)

    f_how, f_q, _f_hol = calendar(starts, tz, hol)
    f_weeks = np.array([(s - last).total_seconds() / (7 * 86_400.0) for s in starts])
    xf = _design(f_how, f_weeks, hours, trend)
    eta = xf @ params
    if trend:
        shift = np.clip(xf[:, -1] * params[-1], math.log(TREND_CLAMP[0]), math.log(TREND_CLAMP[1]))
        eta = eta - xf[:, -1] * params[-1] + shift
    var_eta = np.einsum("ij,jk,ik->i", xf, cov, xf)
    active = np.isin(f_how, hours)
    mean = np.where(active, np.exp(eta), 0.0) * share[f_q]
    sd = np.sqrt(phi * mean + mean**2 * np.where(active, var_eta, 0.0))
    z = float(norm.ppf(0.5 + level / 2))
    basis.update(dispersion=round(phi, 3), trend_per_week=round(float(math.exp(params[-1])), 4) if trend else None,
                 profile_hours=len(hours))
    return Forecast(list(starts), mean.tolist(), np.maximum(mean - z * sd, 0.0).tolist(),
                    (mean + z * sd).tolist(), level, MODEL, basis)


def _recent_rate(y: np.ndarray, starts: Sequence[datetime], level: float, basis: dict) -> Forecast:
    """Less than a week of history: the mean of the last four intervals, Poisson interval."""
    from scipy.stats import poisson

    rate = float(y[-4:].mean()) if len(y) else 0.0
    lo = float(poisson.ppf(0.5 - level / 2, rate)) if rate > 0 else 0.0
    hi = float(poisson.ppf(0.5 + level / 2, rate)) if rate > 0 else 0.0
    basis.update(reason="less than a week of history")
    n = len(starts)
    return Forecast(list(starts), [rate] * n, [lo] * n, [hi] * n, level, "recent_rate", basis)


INTRADAY_PRIOR_SHARE = 0.25  # bench/forecast.py --part intraday: least harm on a small city (docs/metrics.md)
INTRADAY_HORIZON = timedelta(hours=2)  # the update applies to the wall's "next two hours" (as measured)
INTRADAY_CLAMP = (0.5, 2.0)  # today's volume may move the profile by at most this factor


def intraday_ratio(observed: float, expected: float, *, day_expected: float,
                   prior_share: float = INTRADAY_PRIOR_SHARE) -> float:
    """Today's volume so far against the model's expectation for the same intervals, shrunk toward 1:
    ``(observed + p) / (expected + p)`` with ``p = prior_share * day_expected`` (the model's calls of
    the whole local day), clamped to ``INTRADAY_CLAMP``. Early in the day, or on a quiet day, the
    prior dominates and the profile stands; as the day's calls come in they move it. Pure."""
    prior = max(prior_share * day_expected, 1.0)
    ratio = (observed + prior) / (expected + prior)
    return min(max(ratio, INTRADAY_CLAMP[0]), INTRADAY_CLAMP[1])


def seasonal_naive(history_starts: Sequence[datetime], counts: Sequence[float],
                   starts: Sequence[datetime]) -> list[float]:
    """The baseline: the same interval one week earlier (repeated weekly past the history's end)."""
    by_start = dict(zip(history_starts, counts))
    out = []
    for s in starts:
        back = s - timedelta(days=7)
        while back not in by_start and back > history_starts[0]:
            back -= timedelta(days=7)
        out.append(float(by_start.get(back, 0.0)))
    return out


# ---------------------------------------------------------------- from the database

def offered_history(session: Session, *, cities, start: datetime, end: datetime) -> tuple[list[datetime], list[float]]:
    """Offered calls per 15-minute interval in [start, end) (naive UTC, whole intervals), as a
    gapless grid: (interval starts, counts) (``metrics.queries.offered_per_interval``)."""
    found = queries.offered_per_interval(session, cities=cities, start=start, end=end)
    grid, s = [], start
    while s < end:
        grid.append(s)
        s += INTERVAL
    return grid, [float(found.get(g, 0)) for g in grid]


def forecast_scope(session: Session, *, cities, starts: Sequence[datetime], now: datetime, tz: tzinfo,
                   holidays: Iterable[date] = (), masks: Iterable[tuple[datetime, datetime]] = (),
                   level: float = DEFAULT_LEVEL, history_weeks: int = HISTORY_WEEKS,
                   intraday: bool = False) -> Forecast:
    """Forecast offered calls of ``cities`` for ``starts`` from the ``history_weeks`` of whole
    intervals before ``now`` (naive UTC). With ``intraday``, starts within ``INTRADAY_HORIZON`` of
    now are scaled by today's observed against expected calls so far (``intraday_ratio``; the
    local day of ``tz``; ``basis["intraday"]`` says by how much). Read-only."""
    end = timeutil.floor_interval(timeutil.naive_utc(now))
    start = end - timedelta(days=7 * history_weeks)
    hist_starts, counts = offered_history(session, cities=cities, start=start, end=end)
    first = next((i for i, c in enumerate(counts) if c > 0), len(counts))
    hist_starts, counts = hist_starts[first:], counts[first:]  # before the first call: no data, not zero
    if intraday:
        fc = _with_intraday(hist_starts, counts, starts, end=end, tz=tz, holidays=holidays, masks=masks,
                            level=level)
    else:
        fc = fit_predict(hist_starts, counts, starts, tz=tz, holidays=holidays, masks=masks, level=level)
    fc.basis.update(history_from=hist_starts[0].replace(tzinfo=UTC).isoformat() if hist_starts else None,
                    history_to=end.replace(tzinfo=UTC).isoformat())
    return fc


def _with_intraday(hist_starts: Sequence[datetime], counts: Sequence[float], starts: Sequence[datetime], *,
                   end: datetime, tz: tzinfo, holidays, masks, level: float) -> Forecast:
    """``fit_predict`` for ``starts`` and the whole local day of ``end`` in one fit, then the starts in
    [end, end + INTRADAY_HORIZON) scaled by today's ratio of observed to expected calls."""
    local_day = end.replace(tzinfo=UTC).astimezone(tz).date()
    day0 = timeutil.naive_utc(timeutil.local_midnight(local_day, tz))
    day = interval_starts(day0, timeutil.naive_utc(timeutil.local_midnight(local_day + timedelta(days=1), tz)))
    wanted = sorted(set(day) | set(starts))
    full = fit_predict(hist_starts, counts, wanted, tz=tz, holidays=holidays, masks=masks, level=level)
    at = {s: i for i, s in enumerate(wanted)}
    seen = dict(zip(hist_starts, counts))
    past = [s for s in day if s < end]
    observed = float(sum(seen.get(s, 0.0) for s in past))
    expected = float(sum(full.mean[at[s]] for s in past))
    day_expected = float(sum(full.mean[at[s]] for s in day))
    ratio = 1.0
    if full.method == MODEL and past and day_expected > 0:
        ratio = intraday_ratio(observed, expected, day_expected=day_expected)
    pick = [at[s] for s in starts]
    near = [end <= s < end + INTRADAY_HORIZON for s in starts]
    scale = [ratio if n else 1.0 for n in near]
    basis = dict(full.basis, intraday={"ratio": round(ratio, 4), "observed": observed, "expected": round(expected, 1),
                                       "horizon_s": int(INTRADAY_HORIZON.total_seconds())})
    return Forecast(list(starts), [full.mean[i] * k for i, k in zip(pick, scale)],
                    [full.lower[i] * k for i, k in zip(pick, scale)], [full.upper[i] * k for i, k in zip(pick, scale)],
                    full.level, full.method, basis)


# ---------------------------------------------------------------- calendar and incidents of a deployment

def holidays(settings: Settings) -> frozenset[date]:
    """Public holidays: the State Council days off 2025-2027 (``cockpit.periods``) unless the
    deployment sets ``planning.holidays`` (a list of ISO dates) instead."""
    custom = settings.planning.get("holidays")
    if custom is not None:
        return frozenset(date.fromisoformat(d) for d in custom)
    return CN_HOLIDAYS


def known_incidents(session: Session, *, cities, start: datetime, end: datetime,
                    now: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end) spans (naive UTC) of volume alerts that fired for ``cities``, plus whole hours
    around them: calls of an incident are not the normal pattern, so the fit leaves them out."""
    rows = plan_store.incident_spans(session, rules=INCIDENT_RULES, cities=cities, before=end)
    out = []
    for first, resolved in rows:
        stop = resolved or now
        if stop > start:
            out.append((first - timedelta(hours=1), stop + timedelta(hours=1)))
    return out


CACHE_TTL_S = 900.0
INTRADAY = True  # the live path applies the intraday update (bench/forecast.py --part intraday: it helps)
CACHE_SPAN = timedelta(hours=6)


def forecast_for(session: Session, *, cities, starts: Sequence[datetime], now: datetime, settings: Settings,
                 level: float = DEFAULT_LEVEL, cache=None, intraday: bool | None = None) -> Forecast:
    """The deployment's forecast: ``forecast_scope`` with its holidays and its known incidents masked.

    ``intraday`` (default: when every start lies in the next ``CACHE_SPAN``, the live path of the
    wall and the supervision page) applies today's intraday update to the next two hours. With
    ``cache`` (a ``cockpit.store.cache.TTLCache``, e.g. ``stores.caches.ttl``) one fit per
    city set and 15-minute interval serves the next ``CACHE_SPAN`` of starts for ``CACHE_TTL_S``:
    the wall refreshes the staffing panel every minute, the model changes with whole intervals."""
    now = timeutil.naive_utc(now)
    end = timeutil.floor_interval(now)
    live = bool(starts) and end <= min(starts) and max(starts) < end + CACHE_SPAN
    intraday = (live and INTRADAY) if intraday is None else intraday
    if cache is not None and live:
        key = ("planning.forecast", tuple(sorted(cities)), end, level, intraday)
        span = interval_starts(end, end + CACHE_SPAN)
        full, _stamp = cache.get(key, CACHE_TTL_S, lambda: forecast_for(session, cities=cities, starts=span,
                                                                         now=now, settings=settings, level=level,
                                                                         intraday=intraday))
        pick = [span.index(s) for s in starts]
        return Forecast(list(starts), [full.mean[i] for i in pick], [full.lower[i] for i in pick],
                        [full.upper[i] for i in pick], full.level, full.method, dict(full.basis))
    masks = known_incidents(session, cities=cities, start=end - timedelta(days=7 * HISTORY_WEEKS), end=end, now=now)
    return forecast_scope(session, cities=cities, starts=starts, now=now, tz=settings.tz,
                          holidays=holidays(settings), masks=masks, level=level, intraday=intraday)


def interval_starts(start: datetime, end: datetime) -> list[datetime]:
    """Naive-UTC 15-minute starts in [floor(start), end)."""
    out, s = [], timeutil.floor_interval(start)
    while s < end:
        out.append(s)
        s += INTERVAL
    return out
