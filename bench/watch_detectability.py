"""How detectable are the simulator's incidents at all? An oracle bound for the volume goals of issue 13.

The oracle knows what no detector can: the simulator's exact expected ticket counts of every
district x sub-category x 15-minute interval (daily volume x day level x hour shape x category
weight of the month x district population share, as ``cockpit.simulation.engine`` draws them),
and, with ``--scope incident``, that surges only ever hit the incident's sub-category and last
exactly as long as the incident (so it scans that one sub-category with that one window). Its
statistic is the Poisson tail ``-log P(X >= O | E)`` of every window ending at every 15-minute
tick, and its threshold is set by Monte Carlo so that an incident-free run of ``--weeks`` weeks of
the given cities raises any alert with probability ``--false`` (0.5: a coin flip; the goal asks
for none at all). The probability that each incident of the study crosses that threshold in a
window ending during the incident or up to an hour after (the bench's matching) is then estimated
from draws of the incident's own counts (normal + (factor - 1) x the phone profile, as the engine
makes them).

Nothing here is fitted to data: it is an upper bound on the recall of any detector meeting the
false-alarm goal with the same matching. ``--scope all`` scans every sub-category (what a deployed
detector must do, since it does not know where the next incident will be).

    python bench/watch_detectability.py --seed 9 --scope incident
    python bench/watch_detectability.py --seed 9 --scope all --replicates 40
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from scipy.stats import poisson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cockpit.simulation import catalog, profiles  # noqa: E402
from cockpit.simulation.engine import PHONE_SHARE, TICKET_SHARE, CONSULT_TICKET_SHARE, Province  # noqa: E402

INC = importlib.import_module("cockpit.simulation.incidents")  # the package re-exports a function of that name
STUDY_CITIES = ["620100", "620300", "620500", "620800", "620900", "621000", "621200"]
# Share of a normal contact that becomes a ticket, by channel (engine.py): answered calls become a
# dispatched ticket (TICKET_SHARE) or a logged consultation (half of the rest); every message does.
PHONE_TICKETS = PHONE_SHARE * (TICKET_SHARE + (1 - TICKET_SHARE) * CONSULT_TICKET_SHARE)
MESSAGE_TICKETS = 1 - PHONE_SHARE


def normal_rates(prov: Province, city_code: str, cats: list[tuple], day0: date, days: int) -> np.ndarray:
    """Expected normal tickets: district x category x 15-minute interval over ``days`` local days."""
    city = catalog.cities()[city_code]
    shape = np.repeat([PHONE_TICKETS * profiles.HOUR_SHAPE[h] + MESSAGE_TICKETS * profiles.MESSAGE_HOUR_SHAPE[h]
                       for h in range(24)], 4) / 4.0
    pops = np.array([d.population for d in city.districts], dtype=float) / city.population
    out = np.zeros((len(pops), len(cats), 96 * days))
    for n in range(days):
        day = day0 + timedelta(days=n)
        weights = [c.weight * catalog.month_weight(c, day.month) for c in catalog.CATEGORIES]
        total = sum(weights)
        level = profiles.day_level(day) * prov._daily[city_code]
        for k, cat in enumerate(cats):
            share = weights[catalog.CATEGORY_INDEX[cat]] / total
            out[:, k, 96 * n:96 * (n + 1)] = pops[:, None] * (level * share * shape)[None]
    return out


def window_stat(x: np.ndarray, e: np.ndarray, width: int) -> np.ndarray:
    """``-log P(X >= O | E)`` of every window of ``width`` intervals along the last axis."""
    cx = np.cumsum(x, axis=-1)
    ce = np.cumsum(e, axis=-1)
    o = cx[..., width:] - cx[..., :-width]
    m = ce[..., width:] - ce[..., :-width]
    return -poisson.logsf(o - 1, m)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("--days", type=int, default=63, help="the study's length (four baseline weeks first)")
    ap.add_argument("--cities", default=",".join(STUDY_CITIES))
    ap.add_argument("--scope", choices=("incident", "all"), default="incident",
                    help="scan only the incidents' sub-categories with their own length, or every sub-category "
                         "with windows of 1-4 h")
    ap.add_argument("--weeks", type=int, default=4, help="length of the incident-free run")
    ap.add_argument("--false", type=float, default=0.5, help="allowed P(any alert) on the incident-free run")
    ap.add_argument("--replicates", type=int, default=200)
    ap.add_argument("--draws", type=int, default=4000, help="draws per incident")
    args = ap.parse_args()
    from bench.watchpoints import study_window

    t0 = time.process_time()
    rng = np.random.default_rng(args.seed)
    cities = args.cities.split(",")
    start, first_eval, end = study_window(args.days)
    prov = Province(seed=args.seed, cities=cities, origin=start)
    incs = [i for i in INC.incidents(first_eval, end - first_eval, seed=args.seed)
            if i.district and i.city in cities and i.start >= first_eval]
    if args.scope == "incident":
        cats = sorted({i.category for i in incs})
        widths = sorted({int((i.end - i.start).total_seconds() // 900) for i in incs})
    else:
        cats = [c.path for c in catalog.CATEGORIES if len(c.path) > 1]
        widths = [4, 8, 12, 16]
    # The null: the heating season's November (the month of most incidents), every city of the study.
    day0 = INC.local_date(first_eval) + timedelta(days=7)
    days = 7 * args.weeks
    null = [normal_rates(prov, c, cats, day0, days).reshape(-1, 96 * days) for c in cities]
    e_all = np.vstack(null)
    maxima = np.empty(args.replicates)
    for r in range(args.replicates):
        x = rng.poisson(e_all)
        maxima[r] = max(window_stat(x, e_all, w).max() for w in widths)
    thr = float(np.quantile(maxima, 1 - args.false))
    print(f"seed {args.seed}, {len(cities)} cities, scope {args.scope}: {e_all.shape[0]} keys x {len(widths)} windows "
          f"x {96 * days} ticks; threshold for P(any alert in {args.weeks} incident-free weeks) = {args.false}: "
          f"-log p >= {thr:.2f} (a window's p < {math.exp(-thr):.1e}; {args.replicates} replicates)")
    total = 0.0
    for inc in incs:
        city = catalog.cities()[inc.city]
        di = [d.code for d in city.districts].index(inc.district)
        day = INC.local_date(inc.start)
        e = normal_rates(prov, inc.city, [inc.category], day, 2)[di, 0]
        s = int((inc.start - INC._at(day, 0)).total_seconds() // 900)
        n = int((inc.end - inc.start).total_seconds() // 900)
        phone = np.repeat(list(profiles.HOUR_SHAPE) * 2, 4) / 4.0
        weights = [c.weight * catalog.month_weight(c, day.month) for c in catalog.CATEGORIES]
        share = weights[catalog.CATEGORY_INDEX[inc.category]] / sum(weights) * city.districts[di].population / city.population
        surge = np.zeros_like(e)
        surge[s:s + n] = (inc.factor - 1) * prov._daily[inc.city] * profiles.day_level(day) * share * phone[s:s + n]
        x = rng.poisson(e + surge, size=(args.draws, len(e)))
        hit = np.zeros(args.draws, dtype=bool)
        for w in (widths if args.scope == "all" else [n]):
            st = window_stat(x, e, w)  # column j: the window ending at interval j + w
            lo, hi = max(s + 1 - w, 0), s + n + 4 - w + 1
            hit |= (st[:, lo:hi] >= thr).any(axis=1)
        total += hit.mean()
        print(f"  {inc.kind:15s} {inc.city}/{inc.district} {inc.start.astimezone(INC.LOCAL_TZ):%m-%d %H:%M} local: "
              f"expected {e[s:s + n].sum():6.2f} normal + {surge.sum():6.2f} surge tickets; P(found) {hit.mean():.2f}")
    print(f"=> the oracle's expected recall over {len(incs)} district incidents: {total / len(incs):.2f} "
          f"({time.process_time() - t0:.0f} CPU s)")


if __name__ == "__main__":
    main()
