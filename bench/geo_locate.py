"""Benchmark: point -> district lookup (geo.locate), single points and bulk.

Prints machine info and, in the same run, baselines: a brute-force single-point lookup without
the STRtree, a geopandas sjoin of the same bulk points (the reference implementation), and the
TOOLCHAIN.md ceiling (sjoin of 1,000,000 points into 6 boxes). Medians of --repeat runs.

    python bench/geo_locate.py [--points 1000000] [--single 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe  # noqa: E402

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import shapely  # noqa: E402

from geo import boundaries  # noqa: E402
from geo.locate import _current, locate, locate_many, locate_many_sjoin  # noqa: E402


def machine() -> str:
    return describe(f"shapely {shapely.__version__} (GEOS {shapely.geos_version_string})",
                    f"geopandas {gpd.__version__}")

def timed(fn, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000, help="bulk points")
    parser.add_argument("--single", type=int, default=20_000, help="single-point calls per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    args = parser.parse_args()
    print(machine())

    t0 = time.perf_counter()
    gansu = boundaries.features("620000", level="district")
    locate(0.0, 0.0)
    print(f"load boundaries + build index: {time.perf_counter() - t0:.2f} s (once per process)")
    idx = _current()
    print(f"index: {len(idx.codes)} districts ({len(gansu)} in Gansu), "
          f"{int(shapely.get_num_coordinates(idx.geoms).sum()):,} vertices")

    rng = np.random.default_rng(42)
    minx, miny, maxx, maxy = gansu.total_bounds
    lats = rng.uniform(miny, maxy, args.points)
    lons = rng.uniform(minx, maxx, args.points)
    # Points that all fall inside a Gansu district: the realistic case for ticket locations.
    pool_lat = rng.uniform(miny, maxy, args.points * 4)
    pool_lon = rng.uniform(minx, maxx, args.points * 4)
    keep = np.flatnonzero(locate_many(pool_lat, pool_lon) != None)[: args.points]  # noqa: E711
    in_lats, in_lons = pool_lat[keep], pool_lon[keep]

    n = args.single
    sample = list(zip(in_lats[:n].tolist(), in_lons[:n].tolist()))

    def single():
        for lat, lon in sample:
            locate(lat, lon)

    def brute():
        for lat, lon in sample[: n // 10]:
            for i in range(len(idx.geoms)):
                if shapely.intersects_xy(idx.geoms[i], lon, lat):
                    break

    t_single = timed(single, args.repeat) / n * 1e6
    t_brute = timed(brute, args.repeat) / (n // 10) * 1e6
    print(f"locate() single point, inside Gansu: {t_single:.1f} us/point "
          f"(baseline brute force over {len(idx.geoms)} prepared polygons: {t_brute:.1f} us/point)")

    cases = (("uniform in Gansu bbox", (lats, lons)), ("all inside a district", (in_lats, in_lons)))
    for label, (la, lo) in cases:
        m = len(la)
        hits = int((locate_many(la, lo) != None).sum())  # noqa: E711
        t_many = timed(lambda: locate_many(la, lo), args.repeat)
        t_sjoin = timed(lambda: locate_many_sjoin(la, lo), 1)
        print(f"locate_many {m:,} points ({label}, {hits:,} hits): {t_many:.2f} s "
              f"({m / t_many / 1e6:.2f} M points/s); geopandas sjoin reference: {t_sjoin:.2f} s")

    step = (maxx - minx) / 6
    boxes = gpd.GeoDataFrame(geometry=[shapely.box(minx + i * step, miny, minx + (i + 1) * step, maxy)
                                       for i in range(6)], crs=boundaries.CRS)

    def toolchain_ceiling():
        pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lons, lats), crs=boundaries.CRS)
        gpd.sjoin(pts, boxes, predicate="within")

    t_ceiling = timed(toolchain_ceiling, 1)
    print(f"baseline: geopandas sjoin {args.points:,} points into 6 boxes: {t_ceiling:.2f} s "
          "(TOOLCHAIN.md: 0.77 s on the reference machine)")


if __name__ == "__main__":
    main()
