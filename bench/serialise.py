"""Benchmark: serialising the screens' component trees, Dash's ``to_json`` (plotly's orjson engine,
the baseline) against ``layouts.serialise.component_json`` (the C encoder), in the same run.

Trees: the province map (Gansu's 14 cities), a city's district map (Lanzhou), and the wall and
province page skeletons the routing callback answers. CPU time per call, best of --repeat runs of
--calls calls each.

    python bench/serialise.py [--calls 20] [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe  # noqa: E402

import orjson  # noqa: E402
import plotly  # noqa: E402
from dash._utils import to_json  # noqa: E402

from cockpit.settings import Settings  # noqa: E402
from layouts import province, wall  # noqa: E402
from layouts.mapdata import screen_map  # noqa: E402
from layouts.page import PageContext  # noqa: E402
from layouts.serialise import component_json  # noqa: E402


def best_ms(fn, tree, calls: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for _ in range(calls):
            fn(tree)
        best = min(best, (time.process_time() - started) / calls)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(describe(f"plotly {plotly.__version__}", f"orjson {orjson.__version__}"))
    settings = Settings()
    trees = {
        "province map 620000": screen_map("620000", "zh", {"620100": 3}, id="m", label="件", better="lower",
                                          integer=True),
        "district map 620100": screen_map("620100", "zh", {"620102": 3}, id="m", label="件", better="lower",
                                          integer=True),
        "wall skeleton 620100": wall.wall_page(PageContext(lang="zh", settings=settings, query={}, path="/wall/620100"),
                                               "620100"),
        "province skeleton 620000": province.province_page(
            PageContext(lang="zh", settings=settings, query={}, path="/province/620000"), "620000"),
    }
    print(f"{'tree':28s} {'bytes':>8s} {'to_json ms':>11s} {'component_json ms':>18s} {'speed-up':>9s}")
    for name, tree in trees.items():
        base = best_ms(to_json, tree, args.calls, args.repeat)
        fast = best_ms(component_json, tree, args.calls, args.repeat)
        print(f"{name:28s} {len(component_json(tree).encode()):8d} {base:11.2f} {fast:18.2f} {base / fast:8.1f}x")


if __name__ == "__main__":
    main()
