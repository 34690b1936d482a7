"""Fit the simulator's default arrival, patience and service-time parameters to a real call log.

Input: the Technion "Anonymous Bank" per-call log (February 1999, 33,344 calls; see
tests/data/SOURCE.md; the bundled gzip copy is the default input). Output: the constants block pasted into
``cockpit/simulation/profiles.py`` plus goodness-of-fit figures quoted in docs/simulation.md.

Method
- Arrivals: calls (outcome AGENT or HANG; PHANTOM dropped) counted by the hour of ``vru_entry``.
  The bank's work week is Sunday..Thursday; its Friday (half day) and Saturday (closed until
  sunset) do not describe a 24/7 public hotline and are left out. The hour-of-day shape is the
  mean share of a workday's calls that fall in each hour; the day level is each workday's mean
  calls over the mean workday, mapped by position onto Monday..Friday (first workday -> Monday).
- Patience: exponential, censored MLE: rate = abandons in queue / total time waited by every
  queued call (served calls contribute their wait as censored observations). A Weibull fit with
  the same censoring is printed for comparison.
- Service: lognormal on ``ser_time`` > 0 of served calls: mu, sigma of log seconds.

Usage: python scripts/fit_profiles.py [PATH_TO_TSV]
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT = Path(__file__).resolve().parents[1] / "tests/data/technion_anonymous_bank_1999_02.tsv.gz"
WORKDAYS = [6, 0, 1, 2, 3]  # pandas day_of_week of Sun..Thu, in the order mapped to Mon..Fri


def load(path: Path) -> pd.DataFrame:
    d = pd.read_csv(path, sep="\t")
    d = d[d["outcome"] != "PHANTOM"].copy()
    d["day"] = pd.to_datetime("19" + d["date"].astype(str), format="%Y%m%d")
    d["dow"] = d["day"].dt.day_of_week
    d["hour"] = d["vru_entry"].str.split(":").str[0].astype(int)
    return d


def fit_arrivals(d: pd.DataFrame) -> dict:
    work = d[d["dow"].isin(WORKDAYS)]
    per_day_hour = (
        work.groupby(["day", "hour"]).size().unstack(fill_value=0).reindex(columns=range(24), fill_value=0)
    )
    shares = per_day_hour.div(per_day_hour.sum(axis=1), axis=0)
    shape = shares.mean(axis=0).to_numpy()
    daily = work.groupby("day").size()
    dow_of_day = work.groupby("day")["dow"].first()
    mean_by_dow = daily.groupby(dow_of_day).mean()
    level = np.array([mean_by_dow[w] for w in WORKDAYS]) / daily.mean()
    # Goodness of fit: model (shape x level x mean day) against the observed mean per (workday, hour).
    observed = per_day_hour.groupby(dow_of_day).mean().reindex(WORKDAYS).to_numpy()
    model = np.outer(level * daily.mean(), shape)
    r = float(np.corrcoef(observed.ravel(), model.ravel())[0, 1])
    r_days = float(
        np.corrcoef(per_day_hour.to_numpy().ravel(), np.outer(daily.to_numpy(), shape).ravel())[0, 1]
    )
    return {
        "shape": shape,
        "level": level,
        "r_cells": r,
        "r_days": r_days,
        "workdays": int(len(daily)),
        "calls": int(daily.sum()),
        "mean_day": float(daily.mean()),
    }


def fit_patience(d: pd.DataFrame) -> dict:
    queued = d[d["q_time"] > 0]
    abandoned = queued[queued["outcome"] == "HANG"]
    total_wait = float(queued["q_time"].sum())
    rate = len(abandoned) / total_wait
    out = {
        "queued": int(len(queued)),
        "abandoned": int(len(abandoned)),
        "total_wait_s": total_wait,
        "exp_mean_s": 1.0 / rate,
    }
    try:
        from scipy.optimize import minimize

        t = queued["q_time"].to_numpy(dtype=float)
        event = (queued["outcome"] == "HANG").to_numpy()

        def nll(params: np.ndarray) -> float:
            k, lam = np.exp(params)
            z = (t / lam) ** k
            return -float(np.sum(event * (np.log(k / lam) + (k - 1) * np.log(t / lam))) - np.sum(z))

        res = minimize(nll, x0=np.log([1.0, 1.0 / rate]), method="Nelder-Mead")
        k, lam = np.exp(res.x)
        out["weibull_k"], out["weibull_scale_s"] = float(k), float(lam)
        out["weibull_mean_s"] = float(lam * math.gamma(1 + 1 / k))
        out["aic_exp"] = 2 * 1 + 2 * nll(np.log([1.0, 1.0 / rate]))
        out["aic_weibull"] = 2 * 2 + 2 * float(res.fun)
    except ImportError:  # scipy is a test extra; the exponential fit does not need it
        pass
    return out


def fit_service(d: pd.DataFrame) -> dict:
    s = d[(d["outcome"] == "AGENT") & (d["ser_time"] > 0)]["ser_time"].to_numpy(dtype=float)
    logs = np.log(s)
    mu, sigma = float(logs.mean()), float(logs.std(ddof=1))
    return {
        "n": int(len(s)),
        "mu": mu,
        "sigma": sigma,
        "median_s": math.exp(mu),
        "mean_s": math.exp(mu + sigma**2 / 2),
        "observed_mean_s": float(s.mean()),
        "observed_median_s": float(np.median(s)),
    }


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    d = load(path)
    a, p, s = fit_arrivals(d), fit_patience(d), fit_service(d)
    print(
        f"# arrivals: {a['calls']} calls on {a['workdays']} workdays, mean {a['mean_day']:.1f}/day; "
        f"r(model, mean per weekday x hour) = {a['r_cells']:.3f}; r(per day x hour) = {a['r_days']:.3f}"
    )
    waited = f"{p['total_wait_s']:.0f} s waited by {p['queued']} queued calls"
    print(f"# patience: {p['abandoned']} abandons / {waited}")
    if "weibull_k" in p:
        print(
            f"# weibull (censored MLE): k={p['weibull_k']:.3f} scale={p['weibull_scale_s']:.1f} s "
            f"mean={p['weibull_mean_s']:.1f} s; AIC exp={p['aic_exp']:.1f} weibull={p['aic_weibull']:.1f}"
        )
    print(
        f"# service: n={s['n']} lognormal median {s['median_s']:.1f} s, mean {s['mean_s']:.1f} s "
        f"(observed mean {s['observed_mean_s']:.1f} s, median {s['observed_median_s']:.1f} s)"
    )
    print("HOUR_SHAPE = (" + ", ".join(f"{x:.5f}" for x in a["shape"]) + ")")
    print("WEEKDAY_LEVEL = (" + ", ".join(f"{x:.4f}" for x in a["level"]) + ")")
    print(f"PATIENCE_MEAN_S = {p['exp_mean_s']:.1f}")
    print(f"SERVICE_LOG_MU = {s['mu']:.4f}")
    print(f"SERVICE_LOG_SIGMA = {s['sigma']:.4f}")


if __name__ == "__main__":
    main()
