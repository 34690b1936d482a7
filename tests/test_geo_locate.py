"""Point location: single, bulk (same answers as single and as a geopandas sjoin), mismatch flag."""

from __future__ import annotations

import random

import numpy as np

from geo import boundaries
from geo.locate import district_mismatch, locate, locate_many, locate_many_sjoin


def _districts() -> list[tuple[str, str]]:
    frame = boundaries.all_features()
    frame = frame[frame["level"] == "district"]
    return list(zip(frame["code"], frame["city"]))


def test_geo030_every_district_locates_its_own_random_points():
    rng = random.Random(3)
    districts = _districts()
    assert len(districts) == 87 + 16 + 71
    for code, city in districts:
        for _ in range(3):
            lat, lon = boundaries.random_point_in(code, rng)
            assert locate(lat, lon) == (code, city), code


def test_geo031_known_places():
    # WGS84 positions of well-known places (OpenStreetMap).
    assert locate(40.7580, -73.9855) == ("NYC-MN05", "NYC")  # Times Square
    assert locate(40.7829, -73.9654) == ("NYC-MN64", "NYC")  # Central Park
    assert locate(40.6413, -73.7781) == ("NYC-QN83", "NYC")  # JFK airport
    assert locate(39.8013, 98.2143) == ("620201", "620200")  # Jiayuguan Pass
    assert locate(40.0000, 116.3264) == ("110108", "110000")  # Tsinghua University, Haidian
    assert locate(36.0611, 103.8343) == ("620102", "620100")  # Lanzhou, Chengguan
    assert locate(0.0, 0.0) is None
    assert locate(float("nan"), 103.8) is None


def test_geo032_locate_many_equals_locate_and_sjoin():
    rng = np.random.default_rng(11)
    n = 3000
    minx, miny, maxx, maxy = boundaries.features("620000").total_bounds
    lats = np.concatenate([rng.uniform(miny, maxy, n), rng.uniform(40.5, 40.9, 500), [np.nan, 10.0]])
    lons = np.concatenate([rng.uniform(minx, maxx, n), rng.uniform(-74.2, -73.7, 500), [100.0, np.nan]])
    many = locate_many(lats, lons)
    single = [None if (r := locate(a, b)) is None else r[0] for a, b in zip(lats, lons)]
    assert list(many) == single
    assert list(locate_many_sjoin(lats, lons)) == single
    hits = sum(v is not None for v in single)
    assert 0.2 * n < hits < n + 500  # Gansu fills part of its bbox; NYC box mostly land
    assert len(locate_many([], [])) == 0


def test_geo033_district_mismatch():
    lat, lon = 36.0611, 103.8343  # Chengguan 620102
    assert district_mismatch("620102", lat, lon) is False
    assert district_mismatch("620103", lat, lon) is True
    assert district_mismatch("110101", lat, lon) is True
    assert district_mismatch(None, lat, lon) is None
    assert district_mismatch("", lat, lon) is None
    assert district_mismatch("620102", None, lon) is None
    assert district_mismatch("not-a-code", lat, lon) is None
    assert district_mismatch("620100", lat, lon) is None  # a city, not a district
    assert district_mismatch("620102", 0.0, 0.0) is None
    assert district_mismatch("620201", 39.8013, 98.2143) is False  # Jiayuguan's one district
    assert district_mismatch("620200", 39.8013, 98.2143) is False  # its city code, used for it too
    assert district_mismatch("620200", lat, lon) is True
