"""Benchmark: forecast accuracy per 15-minute interval, train three weeks, forecast the fourth.

Data, in one run:
- the real Technion "Anonymous Bank" log (tests/data, February 1999: 1-21 Feb train, 22-28 test),
  read through the Technion importer (offered = ``call.offered`` events, Asia/Jerusalem);
- simulated four-week windows for three Gansu cities of different size (seeded, with incidents;
  the known surge incidents are masked from the fit, as the app masks known incidents), some
  with Chinese public holidays inside the test week.

Every model forecasts the same test week from the same three weeks. Figures: WAPE =
sum |forecast - actual| / sum actual over every 15-minute interval of the test week, for the
seasonal-naive baseline (the same interval one week earlier) and each candidate; for the chosen
model also the share of intervals (with calls forecast or seen) whose actual count falls inside
the 80 % prediction interval, and the fit time.

Intraday (``--part intraday``), as the wall's "next two hours" uses the model: at every whole hour
of the test week a forecast of the next 15 minutes to 2 hours (horizons 1-8 intervals) from the
data up to then. The model is fitted at each local midnight on everything before it (a refit per
hour changes a 3-week hour-of-week profile by a few hours of data and costs seconds per fit);
the hour's own data enter through the intraday update: the profile scaled by today's observed
against expected calls so far (``forecast.intraday_ratio``, shrunk toward 1 by a prior of a share
of the day's expected calls), for several prior shares and for a 3-hour window instead of the
whole day so far. Beside them, in the same run: the seasonal-naive baseline (the same interval a
week earlier) and the profile without the update. WAPE over every (hour, horizon) pair of the week,
and per horizon (15 min, 1 h, 2 h).

    python bench/forecast.py [--part day-ahead|intraday|all] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe
from cockpit.importers import technion
from cockpit.planning import forecast as F
from cockpit.simulation import profiles
from cockpit.simulation.engine import Province, local_midnight

TECHNION = Path(__file__).resolve().parents[1] / "tests" / "data" / "technion_anonymous_bank_1999_02.tsv.gz"
SIM_CITIES = ("620100", "620500", "620200")  # Lanzhou (large), Tianshui (middle), Jiayuguan (small)
SIM_WINDOWS = (date(2026, 3, 2), date(2026, 4, 13), date(2026, 6, 1), date(2026, 9, 7))  # Mondays
SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEK = 7 * 96


def _floor(t: datetime) -> datetime:
    t = t.astimezone(UTC).replace(tzinfo=None)
    return t.replace(minute=t.minute - t.minute % 15, second=0, microsecond=0)


def technion_series() -> tuple[list[datetime], np.ndarray]:
    """Offered calls per interval over the 28 local days of February 1999 (naive UTC starts)."""
    counts: Counter = Counter()
    for result in technion.parse(TECHNION, city="technion"):
        for ev in result.events:
            if ev["type"] == "call.offered":
                counts[_floor(datetime.fromisoformat(ev["occurred_at"]))] += 1
    start = datetime(1999, 2, 1, tzinfo=ZoneInfo(technion.DEFAULT_TZ)).astimezone(UTC).replace(tzinfo=None)
    grid = [start + i * F.INTERVAL for i in range(4 * WEEK)]
    return grid, np.array([counts.get(g, 0) for g in grid], dtype=float)


def sim_series(city: str, monday: date, seed: int = 12345) -> tuple[list[datetime], np.ndarray, list]:
    """Offered calls per interval over four simulated weeks from ``monday``, and the masks."""
    prov = Province(seed=seed, cities=[city], incidents=True, sampler=lambda _c, _r: (36.0, 103.8))
    counts: Counter = Counter()
    for k in range(28):
        for _ms, _id, ev in prov.simulate_city_day(city, monday + timedelta(days=k)):
            if ev["type"] == "call.offered":
                counts[_floor(datetime.fromisoformat(ev["occurred_at"]))] += 1
    start = local_midnight(monday).replace(tzinfo=None)
    grid = [start + i * F.INTERVAL for i in range(4 * WEEK)]
    t0 = local_midnight(monday)
    masks = [(i.start.astimezone(UTC).replace(tzinfo=None), i.end.astimezone(UTC).replace(tzinfo=None))
             for i in prov.incidents(t0, t0 + timedelta(days=28)) if i.category is not None]
    return grid, np.array([counts.get(g, 0) for g in grid], dtype=float), masks


# ---------------------------------------------------------------- candidates

def weekly_mean(tr, ytr, te, **_kw):
    """Mean of the same interval over the three training weeks."""
    return ytr.reshape(-1, WEEK).mean(axis=0)[: len(te)]


def mstl_ets(tr, ytr, te, **_kw):
    """statsmodels MSTL (daily and weekly seasons) + Holt's damped trend on the deseasonalised series."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing
    from statsmodels.tsa.seasonal import MSTL

    res = MSTL(ytr, periods=(96, WEEK)).fit()
    seas = res.seasonal.sum(axis=1)
    adj = ytr - seas
    trend = ExponentialSmoothing(adj, trend="add", damped_trend=True).fit().forecast(len(te))
    season = np.tile(seas[-WEEK:], len(te) // WEEK + 1)[: len(te)]
    return np.maximum(trend + season, 0.0)


def glm(trend):
    def run(tr, ytr, te, *, tz, holidays, masks):
        return np.array(F.fit_predict(tr, ytr, te, tz=tz, holidays=holidays, masks=masks, trend=trend).mean)
    return run


CANDIDATES = {
    "seasonal_naive": lambda tr, ytr, te, **_kw: np.array(F.seasonal_naive(tr, ytr, te)),
    "weekly_mean": weekly_mean,
    "mstl_ets": mstl_ets,
    "glm_how_no_trend": glm(False),
    F.MODEL: glm(True),
}


def wape(pred: np.ndarray, actual: np.ndarray) -> float:
    return float(np.abs(pred - actual).sum() / actual.sum())


def evaluate(name: str, grid, y, tz, holidays=frozenset(), masks=()) -> dict:
    tr, te = grid[: 3 * WEEK], grid[3 * WEEK:]
    ytr, yte = y[: 3 * WEEK], y[3 * WEEK:]
    row: dict = {"data": name, "test_calls": int(yte.sum())}
    for cand, fn in CANDIDATES.items():
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pred = fn(tr, ytr, te, tz=tz, holidays=holidays, masks=masks)
        row[cand] = round(wape(np.asarray(pred), yte), 4)
        row[f"{cand}_s"] = round(time.perf_counter() - t0, 3)
    fc = F.fit_predict(tr, ytr, te, tz=tz, holidays=holidays, masks=masks)
    lo, hi, mean = np.array(fc.lower), np.array(fc.upper), np.array(fc.mean)
    judged = (mean > 0) | (yte > 0)
    row["coverage80"] = round(float(((yte >= lo) & (yte <= hi))[judged].mean()), 3)
    row["gain_vs_naive"] = round(1 - row[F.MODEL] / row["seasonal_naive"], 3)
    return row


# ---------------------------------------------------------------- intraday

HORIZON = 8  # intervals: 15 minutes .. 2 hours, the wall's "next two hours"
PRIOR_SHARES = (0.05, 0.1, 0.25)
INTRADAY = ("seasonal_naive", "profile", *(f"today_p{p}" for p in PRIOR_SHARES), "last3h_p0.1")


def intraday(name: str, grid, y, tz, holidays=frozenset(), masks=()) -> dict:
    """WAPE of each intraday method over every whole hour of the fourth week and horizons 1..8."""
    t0 = time.perf_counter()
    day_fc: dict[int, np.ndarray] = {}  # local day index (from the grid start) -> forecast of its 96 + 8 intervals
    for d in range(20, 28):
        mid = 96 * d
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fc = F.fit_predict(grid[:mid], y[:mid], grid[mid: mid + 96 + HORIZON], tz=tz, holidays=holidays,
                               masks=masks)
        day_fc[d] = np.array(fc.mean)
    fit_s = time.perf_counter() - t0

    def expected(d: int, a: int, b: int) -> float:
        """Expected calls of grid intervals [a, b) from the fits of their own days (no look-ahead)."""
        return float(sum(day_fc[i // 96][i - 96 * (i // 96)] for i in range(a, b)))

    err = {m: np.zeros(HORIZON) for m in INTRADAY}
    actual = np.zeros(HORIZON)
    for hour in range(3 * WEEK, 4 * WEEK, 4):
        d = hour // 96
        mid, fc = 96 * d, day_fc[d]
        day_expected = float(fc[:96].sum())
        obs_today, exp_today = float(y[mid:hour].sum()), float(fc[: hour - mid].sum())
        obs_3h, exp_3h = float(y[hour - 12: hour].sum()), expected(d, hour - 12, hour)
        ratios = {f"today_p{p}": F.intraday_ratio(obs_today, exp_today, day_expected=day_expected, prior_share=p)
                  for p in PRIOR_SHARES}
        ratios["last3h_p0.1"] = F.intraday_ratio(obs_3h, exp_3h, day_expected=day_expected, prior_share=0.1)
        for k in range(HORIZON):
            t = hour + k
            if t >= 4 * WEEK:
                break
            base = fc[t - mid]
            preds = {"seasonal_naive": y[t - WEEK], "profile": base} | {m: base * r for m, r in ratios.items()}
            for m, v in preds.items():
                err[m][k] += abs(v - y[t])
            actual[k] += y[t]
    row: dict = {"data": name, "test_calls": int(y[3 * WEEK:].sum()), "fits_s": round(fit_s, 1)}
    for m in INTRADAY:
        row[m] = round(float(err[m].sum() / actual.sum()), 4)
        for k, label in ((0, "15m"), (3, "1h"), (7, "2h")):
            row[f"{m}@{label}"] = round(float(err[m][k] / actual[k]), 4)
    return row


def run_intraday(series) -> dict:
    rows = [intraday(*s) for s in series]
    cols = ["test_calls", *INTRADAY]
    print("intraday WAPE, every whole hour of the test week, horizons 15 min .. 2 h pooled")
    print(f"{'data':34}" + "".join(f"{c:>16}" for c in cols))
    for r in rows:
        print(f"{r['data']:34}" + "".join(f"{r[c]:>16}" for c in cols), flush=True)
    for label in ("15m", "1h", "2h"):
        print(f"  at {label}: " + ", ".join(f"{m} {rows[0][f'{m}@{label}']}" for m in INTRADAY) + " (technion)")
    sims = [r for r in rows if r["data"].startswith("sim")]
    summary = {m: round(statistics.median(r[m] for r in sims), 4) for m in INTRADAY} if sims else {}
    print("median intraday WAPE over the simulated windows:", json.dumps(summary))
    if sims:
        for label in ("15m", "1h", "2h"):
            print(f"  sim median at {label}: " + json.dumps(
                {m: round(statistics.median(r[f'{m}@{label}'] for r in sims), 4) for m in INTRADAY}))
    for m in INTRADAY[2:]:
        changes = [r[m] / r["profile"] - 1 for r in sims] if sims else [0.0]
        print(f"  {m}: WAPE change against the profile over the simulated windows "
              f"{min(changes):+.1%} .. {max(changes):+.1%}")
    best = min(INTRADAY, key=lambda m: summary.get(m, 0.0) + rows[0][m])
    print("best intraday by (technion + median simulated) WAPE:", best)
    return {"rows": rows, "sim_median": summary, "best": best}


def all_series():
    grid, y = technion_series()
    yield "technion 1999-02 (real)", grid, y, ZoneInfo(technion.DEFAULT_TZ)
    for monday in SIM_WINDOWS:
        for city in SIM_CITIES:
            grid, y, masks = sim_series(city, monday)
            yield f"sim {city} from {monday}", grid, y, SHANGHAI, profiles.HOLIDAYS, masks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    ap.add_argument("--part", choices=("day-ahead", "intraday", "all"), default="all",
                    help="day-ahead: train 3 weeks, forecast the 4th; intraday: hourly 15 min-2 h forecasts")
    args = ap.parse_args()
    import scipy
    import statsmodels

    print(describe(f"statsmodels {statsmodels.__version__}", f"scipy {scipy.__version__}"))
    series = list(all_series())
    out: dict = {}
    if args.part in ("intraday", "all"):
        out["intraday"] = run_intraday(series)
    if args.part == "intraday":
        if args.json:
            args.json.write_text(json.dumps(out, indent=1))
        return
    rows = [evaluate(*s) for s in series]
    cols = ["test_calls", *CANDIDATES, "gain_vs_naive", "coverage80", f"{F.MODEL}_s"]
    print(f"{'data':34}" + "".join(f"{c:>18}" for c in cols))
    for r in rows:
        print(f"{r['data']:34}" + "".join(f"{r[c]:>18}" for c in cols))
    sims = [r for r in rows if r["data"].startswith("sim")]
    summary = {c: round(statistics.median(r[c] for r in sims), 4) for c in CANDIDATES}
    print("median WAPE over the simulated windows:", json.dumps(summary))
    best = min(CANDIDATES, key=lambda c: summary[c] + rows[0][c])
    print("best by (technion + median simulated) WAPE:", best)
    if args.json:
        args.json.write_text(json.dumps(out | {"rows": rows, "sim_median": summary, "best": best}, indent=1))


if __name__ == "__main__":
    main()
