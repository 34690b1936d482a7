"""The space-time scan's trade-off curve: record its cylinders once, apply many thresholds offline.

``record``: evaluates ``rules_stscan.scan_all`` every 15 minutes over the evaluation days of a
simulated study (a SQLite file made by ``bench/watchpoints.py --sim-out``) and pickles every
cylinder whose own tail probability is below 10⁻² (time, city, centre, zone, category, window,
O, E, tail p, family-wise p, cylinders of the city). ``sweep``: replays the district rule's alert
logic (``rules_stscan._findings``: strongest cylinder first, no overlap per category, an open
alert continues in a zone that holds its centre and stays open while p < ``stscan_p_clear``) for
each false-alarm budget and floor, and scores the alerts as ``bench/watchpoints.py`` does
(``explains``). Give an incident-free recording too and each line adds its alerts per city-week.

    python bench/watch_sweep.py record --db .sim/s9/sim.sqlite3 --days 63 --out s9.pkl
    python bench/watch_sweep.py record --db .sim/n10/sim.sqlite3 --days 56 --out n10.pkl \
        --rules '{"scan_significance": "montecarlo"}'
    python bench/watch_sweep.py sweep --seed 9 s9.pkl [n10.pkl]
"""

from __future__ import annotations

import argparse
import importlib
import json
import pickle
import statistics
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cockpit.settings import Settings  # noqa: E402
from cockpit.store.db import Stores  # noqa: E402
from cockpit.watch import rules_stscan as st  # noqa: E402
from cockpit.watch.config import Context, WatchConfig  # noqa: E402

INC = importlib.import_module("cockpit.simulation.incidents")


def record(db: Path, days: int, out: str, rules: dict, eval_from: datetime | None, redis_url: str) -> None:
    from bench.watchpoints import study_window

    _start, first_eval, end = study_window(days)
    at = eval_from or first_eval
    settings = Settings(var_dir=db.parent, database_url=f"sqlite:///{db}", redis_url=redis_url)
    settings = settings.with_(watchpoints={"rules": {"volume_anomaly": {"method": "stscan", **rules}}})
    stores = Stores.open(settings)
    cfg = WatchConfig(settings)
    rec, ticks = [], 0
    t0, c0 = time.perf_counter(), time.process_time()
    first = at
    while at <= end:
        with stores.session() as session:
            ctx = Context(session, settings, None, at.replace(tzinfo=None), cfg, memory={})
            for scan in st.scan_all(ctx, "volume_anomaly"):
                ncyl = int(np.count_nonzero(scan.exp > 0))
                for z, ci, j in np.argwhere((scan.p_tail < 1e-2) & (scan.llr > 0)):
                    centre, members = scan.zones[z]
                    rec.append((at, scan.city, centre, members, scan.cats[ci], int(j), float(scan.obs[z, ci, j]),
                                float(scan.exp[z, ci, j]), float(scan.p_tail[z, ci, j]), float(scan.p[z, ci, j]),
                                ncyl))
        ticks += 1
        at += timedelta(minutes=15)
    cpu = time.process_time() - c0
    with open(out, "wb") as fh:
        pickle.dump({"rec": rec, "first_eval": first, "end": end, "rules": rules, "ticks": ticks,
                     "cpu_s": cpu}, fh)
    print(f"{ticks} ticks, {len(rec)} cylinders recorded, {time.perf_counter() - t0:.0f} s wall, {cpu:.0f} CPU s "
          f"({cpu / ticks * 1000:.0f} CPU ms a tick)")
    stores.close()


def alerts(rec: list, budget: float, min_count: int = 5, p_clear: float = 0.05) -> list[tuple]:
    """The district rule's alerts from recorded cylinders at ``budget`` false alerts per city-week
    (``rules_stscan._findings`` replayed): ``[(fired_at, city, centre, zone, category, O, E, tail p)]``."""
    alpha = budget / st.EVALS_PER_WEEK
    by_tick: dict[datetime, list] = defaultdict(list)
    for r in rec:
        by_tick[r[0]].append(r)
    open_: dict[tuple, bool] = {}
    out = []
    for at in sorted(by_tick):
        cand = sorted((r for r in by_tick[at] if r[9] < max(alpha, p_clear)), key=lambda r: (r[8], -r[6]))
        taken: dict[tuple, set] = defaultdict(set)
        done: set[tuple] = set()
        now_open: dict[tuple, bool] = {}
        for _at, city, centre, members, cat, _j, o, e, pt, p, _n in cand:
            if (city, cat, centre) in done or taken[(city, cat)] & set(members):
                continue
            held = [d for d in members if (city, d, cat) in open_]
            centre = held[0] if held else centre
            if (city, cat, centre) in done:
                continue
            reopen = (city, centre, cat) in open_
            floor = max(1, min_count // 2) if reopen else min_count
            if p >= (p_clear if reopen else alpha) or o < floor:
                continue
            taken[(city, cat)] |= set(members)
            done.add((city, cat, centre))
            now_open[(city, centre, cat)] = True
            if not reopen:
                out.append((at, city, centre, members, cat, o, e, pt))
        open_ = now_open
    return out


def explains(inc, alert) -> bool:
    """``bench/watchpoints.explains`` for a recorded alert."""
    at, city, _centre, members, cat = alert[:5]
    if not (inc.start <= at <= inc.end + timedelta(hours=1)) or city != inc.city:
        return False
    return inc.district is None or (inc.district in members and tuple(cat) == tuple(inc.category))


def score(found: list, incs: list, cities: int, weeks: float) -> dict:
    true = [a for a in found if any(explains(i, a) for i in incs)]
    delays, missed = [], []
    for i in incs:
        hit = [a[0] for a in found if explains(i, a)]
        if hit:
            delays.append((min(hit) - i.start).total_seconds() / 60)
        else:
            missed.append(i)
    return {"alerts": len(found), "explained": len(true), "precision": len(true) / len(found) if found else 1.0,
            "found": len(delays), "incidents": len(incs), "recall": len(delays) / len(incs) if incs else 1.0,
            "median": statistics.median(delays) if delays else None,
            "false_per_city_week": (len(found) - len(true)) / (cities * weeks), "missed": missed,
            "false": [a for a in found if a not in true]}


def _load(path: str) -> dict:
    with open(path, "rb") as fh:
        d = pickle.load(fh)
    d["rec"] = [((r[0] if r[0].tzinfo else r[0].replace(tzinfo=UTC)),) + tuple(r[1:]) for r in d["rec"]]
    d["weeks"] = (d["end"] - d["first_eval"]).total_seconds() / (7 * 86400)
    d["cities"] = sorted({r[1] for r in d["rec"]})
    return d


def sweep(seed: int, study: str, quiet: str | None, budgets: list[float], floors: list[int], verbose: bool) -> None:
    s = _load(study)
    q = _load(quiet) if quiet else None
    cities = s["cities"]
    incs = [i for i in INC.incidents(s["first_eval"], s["end"] - s["first_eval"], seed=seed)
            if i.kind != "seat_shortage" and i.city in cities and i.start >= s["first_eval"]]
    print(f"study {study}: {len(cities)} cities, {s['weeks']:.1f} weeks, {len(incs)} incidents, "
          f"rules {json.dumps(s.get('rules'))}" + (f"; incident-free {quiet}: {q['weeks']:.1f} weeks" if q else ""))
    for floor in floors:
        for b in budgets:
            r = score(alerts(s["rec"], b, floor), incs, len(cities), s["weeks"])
            line = (f"floor {floor} budget {b:6g}: alerts {r['alerts']:3d} explained {r['explained']:3d} precision "
                    f"{r['precision']:.2f} found {r['found']}/{r['incidents']} recall {r['recall']:.2f} median "
                    f"{r['median'] if r['median'] is None else round(r['median'])} min, false per city-week "
                    f"{r['false_per_city_week']:.3f}")
            if q:
                f = alerts(q["rec"], b, floor)
                line += f" | incident-free: {len(f)} alerts, {len(f) / (len(q['cities']) * q['weeks']):.3f} per city-week"
            print(line)
            if verbose:
                for i in r["missed"]:
                    print(f"    missed {i.kind} {i.city}/{i.district} {i.start:%m-%d %H:%M} UTC")
                for a in r["false"]:
                    print(f"    false {a[0]:%m-%d %H:%M} {a[1]}/{','.join(a[3])} {'/'.join(a[4])} O {a[5]:.0f} "
                          f"E {a[6]:.2f} p {a[7]:.1e}")
                if q:
                    for a in f:
                        print(f"    incident-free {a[0]:%m-%d %H:%M} {a[1]}/{','.join(a[3])} {'/'.join(a[4])} "
                              f"O {a[5]:.0f} E {a[6]:.2f} p {a[7]:.1e}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("--db", required=True, type=Path)
    r.add_argument("--days", type=int, required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--rules", default="{}", help="district rule overrides (JSON)")
    r.add_argument("--eval-from", default=None)
    r.add_argument("--redis", default="redis://127.0.0.1:6379/9", help="Redis of the stores (not written to)")
    w = sub.add_parser("sweep")
    w.add_argument("--seed", type=int, required=True)
    w.add_argument("study")
    w.add_argument("quiet", nargs="?")
    w.add_argument("--budgets", default="0.01,0.03,0.1,0.3,1,3,10")
    w.add_argument("--floors", default="5,4")
    w.add_argument("-v", action="store_true", help="list misses and false alerts")
    args = ap.parse_args()
    if args.cmd == "record":
        ef = datetime.fromisoformat(args.eval_from) if args.eval_from else None
        record(args.db, args.days, args.out, json.loads(args.rules), ef.replace(tzinfo=ef.tzinfo or UTC) if ef else None,
               args.redis)
    else:
        sweep(args.seed, args.study, args.quiet, [float(x) for x in args.budgets.split(",")],
              [int(x) for x in args.floors.split(",")], args.v)


if __name__ == "__main__":
    main()
