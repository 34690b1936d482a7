"""Every mode of every screen map has enough classes on demo-like data (simulated Gansu traffic)."""

from __future__ import annotations

from cockpit.views import province, wall
from cockpit.views.regions import populations
from geo.boundaries import geojson
from layouts.choropleth import class_index, classify
from layouts.province import METRIC_BETTER, _metric_value
from layouts.wall import single_region
from tests.screens_data import seed_demo_like


def _classes(values: dict, integer: bool) -> int:
    breaks = classify(values, integer=integer)
    return len({class_index(v, breaks) for v in values.values() if v is not None})


def test_scr020_every_map_mode_has_at_least_four_classes(sqlite_stores):
    now = seed_demo_like(sqlite_stores)
    snap = province.province_snapshot(sqlite_stores, "620000", now=now)
    assert snap["failed"] == []
    for metric in METRIC_BETTER:
        values = {r["code"]: _metric_value(r, metric) for r in snap["rows"]}
        n = _classes(values, integer=metric in ("tickets_today", "offered_today"))
        assert n >= 4, (metric, n, values)
    for feature in geojson("620000")["features"]:
        city = feature["properties"]["code"]
        if single_region(city):
            continue  # Jiayuguan: one shape, its wall shows tickets by hour instead of a map
        districts = [f["properties"]["code"] for f in geojson(city)["features"]]
        counts = (wall.city_snapshot(sqlite_stores, city, now=now, include_slow=False)
                  ["sections"]["districts"]["counts"])
        pops = populations(sqlite_stores, districts)
        count_values = {d: counts.get(d, 0) for d in districts}
        per100k = {d: counts.get(d, 0) * 100_000 / pops[d] for d in districts if pops.get(d)}
        want = min(4, len(districts))  # Jinchang has two districts: two classes is all a map can show
        for mode, values, integer in (("count", count_values, True), ("per100k", per100k, False)):
            assert _classes(values, integer) >= want, (city, mode, values)


def test_scr021_breaks_never_leave_a_class_empty():
    """Quantile breaks sit on data values: k distinct values or more always show k colours."""
    import random

    rng = random.Random(42)
    for _ in range(500):
        counts = [rng.randint(0, rng.choice([5, 50, 500])) for _ in range(rng.randint(6, 30))]
        values = dict(enumerate(counts))
        assert _classes(values, integer=True) == min(5, len(set(counts))), counts
    # The case seen on a city wall: quantiles interpolated between counts left class 2 empty.
    assert _classes(dict(enumerate([24, 26, 32, 33, 46, 47, 47])), integer=True) == 5
