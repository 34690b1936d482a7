"""GCJ-02 <-> WGS84: reference points, round trip, and that the bundle really is WGS84."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
import shapely

from geo import boundaries
from geo.gcj02 import gcj_to_wgs, geometry_gcj_to_wgs, wgs_to_gcj

DATA = Path(__file__).parent / "data"

# (wgs lat, wgs lon, gcj lat, gcj lon): the reference vectors of googollee/eviltransform's tests,
# reproduced by independent implementations in many languages.
REFERENCE = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]


def _metres(lat1, lon1, lat2, lon2):
    dy = (lat2 - lat1) * 111_320.0
    dx = (lon2 - lon1) * 111_320.0 * np.cos(np.radians(lat1))
    return np.hypot(dx, dy)


@pytest.mark.parametrize("wlat,wlon,glat,glon", REFERENCE)
def test_geo001_forward_matches_reference_points(wlat, wlon, glat, glon):
    lon, lat = wgs_to_gcj(wlon, wlat)
    assert float(_metres(lat, lon, glat, glon)) < 0.01


@pytest.mark.parametrize("wlat,wlon,glat,glon", REFERENCE)
def test_geo002_inverse_recovers_reference_points(wlat, wlon, glat, glon):
    lon, lat = gcj_to_wgs(glon, glat)
    assert float(_metres(lat, lon, wlat, wlon)) < 0.01


def test_geo003_round_trip_error_far_below_one_metre_across_china():
    rng = np.random.default_rng(42)
    lat = rng.uniform(18.0, 53.0, 20_000)
    lon = rng.uniform(74.0, 134.0, 20_000)
    glon, glat = wgs_to_gcj(lon, lat)
    shift = _metres(lat, lon, glat, glon)
    assert shift.min() > 1.0  # the obfuscation really moves points (hundreds of metres)
    wlon, wlat = gcj_to_wgs(glon, glat)
    assert _metres(lat, lon, wlat, wlon).max() < 0.001


def test_geo004_outside_china_is_unchanged():
    lon, lat = gcj_to_wgs([-73.9855, 139.6917], [40.758, 35.6895])
    assert lon.tolist() == [-73.9855, 139.6917] and lat.tolist() == [40.758, 35.6895]


def test_geo005_geometry_transform_moves_every_vertex_by_the_inverse():
    ring = [(103.80, 36.00), (103.90, 36.00), (103.90, 36.10), (103.80, 36.00)]
    out = geometry_gcj_to_wgs(shapely.Polygon(ring))
    coords = shapely.get_coordinates(out)
    expect_lon, expect_lat = gcj_to_wgs([c[0] for c in ring], [c[1] for c in ring])
    assert np.allclose(coords[:, 0], expect_lon) and np.allclose(coords[:, 1], expect_lat)


def test_geo006_bundled_boundaries_are_the_converted_source():
    """Source (GCJ-02) vertices, converted, lie on the bundled boundary; unconverted ones do not."""
    sample = json.loads((DATA / "geo_gcj02_vertices.json").read_text(encoding="utf-8"))["districts"]
    for code, vertices in sample.items():
        edge = boundaries.geometry(code).boundary
        glon = np.array([v[0] for v in vertices])
        glat = np.array([v[1] for v in vertices])
        wlon, wlat = gcj_to_wgs(glon, glat)
        converted = shapely.distance(edge, shapely.points(wlon, wlat))
        raw = shapely.distance(edge, shapely.points(glon, glat))
        # coverage cleaning moves some vertices (slivers between neighbours); most are exact.
        assert np.median(converted) < 2e-6, code
        assert np.median(raw) > 3e-4, code  # GCJ-02 lies tens to hundreds of metres off the edge


def test_geo007_random_round_trip_python_floats():
    rng = random.Random(7)
    for _ in range(100):
        lat, lon = rng.uniform(25, 45), rng.uniform(90, 120)
        glon, glat = wgs_to_gcj(lon, lat)
        wlon, wlat = gcj_to_wgs(glon, glat)
        assert math.isclose(float(wlat), lat, abs_tol=1e-8) and math.isclose(float(wlon), lon, abs_tol=1e-8)
