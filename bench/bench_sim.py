"""Speed of the traffic simulator: generate N days of the whole province (default 28).

Prints machine info, a baseline measured in the same run (building the same number of small
dicts in a plain loop, the floor of any pure-Python event generator), the simulator's time and
events per second, the connection rate and the contacts per day.

Usage: python bench/bench_sim.py [--days 28] [--seed 1]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import time
from collections import Counter
from datetime import timedelta

from cockpit.simulation import Province, local_midnight
from cockpit.simulation.incidents import LOCAL_TZ


def baseline(n: int) -> float:
    t = time.perf_counter()
    out = []
    gc.disable()  # the simulator pauses the cyclic GC while it builds a day; so does the baseline
    for i in range(n):
        out.append(
            (
                i,
                f"e{i:07d}",
                {
                    "event_id": f"e{i:07d}",
                    "type": "call.offered",
                    "occurred_at": "x",
                    "city": "620100",
                    "source": "sim",
                    "call_id": i,
                },
            )
        )
    took = time.perf_counter() - t
    gc.enable()
    return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=28)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    print(
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cpus, "
        f"load {os.getloadavg()[0]:.2f}"
    )
    from datetime import date

    start = local_midnight(date(2026, 12, 7))
    end = start + timedelta(days=args.days)
    prov = Province(seed=args.seed, origin=start)
    list(prov.events(start, start + timedelta(seconds=1)))  # load boundaries and point pools first
    prov = Province(seed=args.seed, origin=start)
    t, cpu = time.perf_counter(), time.process_time()
    counts: Counter = Counter()
    n = 0
    messages = 0
    for _ms, _id, ev in prov.keyed_events(start, end):
        counts[ev["type"]] += 1
        n += 1
        if ev["type"] == "ticket.created" and ev["channel"] != "phone":
            messages += 1
    took, took_cpu = time.perf_counter() - t, time.process_time() - cpu
    base = baseline(n)
    print(f"baseline: {n:,} plain dicts in {base:.2f} s ({n / base:,.0f}/s)")
    print(
        f"simulate: {args.days} days, {n:,} events in {took:.2f} s ({n / took:,.0f} events/s, "
        f"{took / args.days:.2f} s per province-day, {took / base:.1f}x baseline)"
    )
    print(f"simulate CPU time: {took_cpu:.2f} s ({took_cpu / args.days:.2f} s per province-day)")
    print(
        f"contacts/day {(counts['call.offered'] + messages) / args.days:,.0f} "
        f"(calls {counts['call.offered'] / args.days:,.0f}), tickets created/day "
        f"{counts['ticket.created'] / args.days:,.0f}, connection rate "
        f"{counts['call.answered'] / counts['call.offered']:.3f}"
    )
    print("events by type: " + ", ".join(f"{k} {v:,}" for k, v in counts.most_common()))
    print(f"window {start.astimezone(LOCAL_TZ).isoformat()} .. {end.astimezone(LOCAL_TZ).isoformat()}")


if __name__ == "__main__":
    main()
