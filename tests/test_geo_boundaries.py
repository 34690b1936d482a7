"""Bundled boundaries: counts, validity, coverage topology, browser budgets, sampling, population."""

from __future__ import annotations

import gzip
import json
import random

import geopandas as gpd
import numpy as np
import pytest
import shapely

import geo
from geo import boundaries

GANSU_CITIES = {"620100", "620200", "620300", "620400", "620500", "620600", "620700", "620800", "620900",
                "621000", "621100", "621200", "622900", "623000"}
# County-level divisions per city (SOURCE.md: each equals the city's childrenNum); Jiayuguan 1.
DISTRICTS_PER_CITY = {"620100": 8, "620200": 1, "620300": 2, "620400": 5, "620500": 7, "620600": 4,
                      "620700": 6, "620800": 7, "620900": 7, "621000": 8, "621100": 7, "621200": 9,
                      "622900": 8, "623000": 8}
# 2020 census sums per city (SOURCE.md cross-check; Lanzhou includes Lanzhou New Area).
CITY_POPULATION = {"620100": 4_359_446, "620200": 312_663, "620300": 438_026, "620400": 1_512_110,
                   "620500": 2_984_659, "620600": 1_464_955, "620700": 1_131_016, "620800": 1_848_607,
                   "620900": 1_055_706, "621000": 2_179_716, "621100": 2_524_097, "621200": 2_407_272,
                   "622900": 2_109_750, "623000": 691_808}
DISTRICT_LAYERS = ("gansu_districts", "beijing_districts", "nyc_community_districts")


def _gz_size(obj: dict) -> int:
    return len(gzip.compress(json.dumps(obj, ensure_ascii=False).encode("utf-8")))


def _layer(name: str, web: bool):
    feats = boundaries._read_layer(name + (".web" if web else ""))
    return [f["properties"]["code"] for f in feats], np.array(
        [shapely.from_geojson(json.dumps(f["geometry"])) for f in feats])


def test_geo010_children_counts():
    assert set(boundaries.features("620000")["code"]) == GANSU_CITIES
    lanzhou = boundaries.features("620100")
    assert set(lanzhou["code"]) == {"620102", "620103", "620104", "620105", "620111", "620121", "620122",
                                    "620123"}
    assert list(boundaries.features("620200")["code"]) == ["620201"]
    assert boundaries.features("620200")["level"].tolist() == ["district"]
    assert boundaries.features("620200").geometry.iloc[0].equals(boundaries.geometry("620200"))
    assert len(boundaries.features("100000")) == 34
    assert "100000_JD" not in set(boundaries.features("100000")["code"])
    assert len(boundaries.features("110000")) == 16
    assert list(boundaries.features("NYC")["code"]) == ["NYC-MN", "NYC-BX", "NYC-BK", "NYC-QN", "NYC-SI"]
    assert len(boundaries.features("NYC-MN")) == 13  # 12 community districts + Central Park (64)
    assert len(boundaries.features("NYC", level="district")) == 71
    gansu = boundaries.features("620000", level="district")
    assert len(gansu) == 87
    assert gansu.groupby("parent").size().to_dict() == DISTRICTS_PER_CITY
    assert boundaries.features("620102").empty
    with pytest.raises(KeyError):
        boundaries.features("999999")


def test_geo011_every_loaded_geometry_is_valid_polygonal():
    for simplified in (False, True):
        frame = boundaries.all_features(simplified)
        assert len(frame) == 34 + 1 + 14 + 87 + 16 + 5 + 71
        assert frame.geometry.is_valid.all()
        assert not frame.geometry.is_empty.any()
        assert set(frame.geometry.geom_type) <= {"Polygon", "MultiPolygon"}
        assert frame.crs.to_epsg() == 4326


@pytest.mark.parametrize("layer", DISTRICT_LAYERS + ("gansu_cities", "cn_provinces"))
def test_geo012_layers_are_clean_coverages(layer):
    """No overlaps and identical shared edges, at both resolutions (the source had 73 overlaps)."""
    for web in (False, True):
        codes, geoms = _layer(layer, web)
        keep = [i for i, c in enumerate(codes) if c != "100000_JD"]
        assert shapely.coverage_is_valid(geoms[keep]), (layer, web)


def test_geo013_gansu_cities_are_the_union_of_their_districts():
    districts = boundaries.features("620000", level="district")
    for city in boundaries.features("620000").itertuples():
        union = shapely.union_all(districts[districts["parent"] == city.code].geometry.values)
        assert shapely.symmetric_difference(union, city.geometry).area < 1e-9 * max(city.geometry.area, 1)


def test_geo014_browser_budgets():
    assert _gz_size(boundaries.geojson("620000")) <= 300_000
    assert _gz_size(boundaries.geojson("100000")) <= 300_000
    assert _gz_size(boundaries.geojson("620000", level="district")) <= 300_000
    for city in sorted(GANSU_CITIES) + ["110000", "NYC", "NYC-BK"]:
        assert _gz_size(boundaries.geojson(city)) <= 200_000, city
    full = _gz_size(boundaries.geojson("620100", simplified=False))
    assert _gz_size(boundaries.geojson("620100")) < full


@pytest.mark.parametrize("layer", DISTRICT_LAYERS + ("gansu_cities",))
def test_geo015_simplified_neighbours_still_touch(layer):
    codes, full = _layer(layer, False)
    _, web = _layer(layer, True)
    tree = shapely.STRtree(full)
    left, right = tree.query(full, predicate="intersects")
    pairs = [(a, b) for a, b in zip(left, right) if a < b]
    shared = shapely.length(shapely.intersection(full[[a for a, _ in pairs]], full[[b for _, b in pairs]]))
    neighbours = [p for p, length in zip(pairs, shared) if length > 0.005]
    assert len(neighbours) >= len(codes) - 1
    for a, b in neighbours:
        assert shapely.intersection(web[a], web[b]).length > 0, (codes[a], codes[b])
        assert shapely.intersection(web[a], web[b]).area < 1e-12, (codes[a], codes[b])
    assert shapely.get_num_coordinates(web).sum() < shapely.get_num_coordinates(full).sum()


def test_geo016_geojson_for_the_browser():
    fc = boundaries.geojson("620100")
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 8
    props = fc["features"][0]["properties"]
    assert set(props) == set(boundaries.COLUMNS)
    assert props["parent"] == "620100" and props["city"] == "620100" and props["level"] == "district"
    assert json.loads(json.dumps(fc)) == fc
    chengguan = next(f for f in fc["features"] if f["properties"]["code"] == "620102")
    assert chengguan["properties"]["name"] == "城关区" and chengguan["properties"]["name_en"] == "Chengguan"
    assert chengguan["properties"]["population"] == 1_484_016
    for f in boundaries.geojson("620000")["features"]:
        assert f["properties"]["name_en"], f["properties"]["code"]
        assert f["properties"]["population"] == CITY_POPULATION[f["properties"]["code"]]
    assert boundaries.region_info("620000")["population"] == 25_019_831
    assert boundaries.geojson("110000")["features"][0]["properties"]["population"] is None


def test_geo017_label_points_lie_inside_their_region():
    frame = boundaries.all_features()
    frame = frame[frame["level"] != "decor"]
    inside = shapely.contains_xy(frame.geometry.values, frame["label_lon"].to_numpy(float),
                                 frame["label_lat"].to_numpy(float))
    assert inside.all(), list(frame["code"][~inside])


def test_geo018_random_point_in_is_deterministic_and_inside():
    a = boundaries.random_point_in("620102", random.Random(5))
    b = boundaries.random_point_in("620102", random.Random(5))
    c = boundaries.random_point_in("620102", random.Random(6))
    assert a == b and a != c
    rng = random.Random(42)
    for code in boundaries.features("620000", level="district")["code"].tolist() + ["110101", "NYC-MN64"]:
        lat, lon = boundaries.random_point_in(code, rng)
        assert boundaries.geometry(code).contains(shapely.Point(lon, lat)), code
    with pytest.raises(KeyError):
        boundaries.random_point_in("nope", rng)


@pytest.mark.parametrize("code", ["620123", "620923"])  # Yuzhong; Subei, tall (over 3 degrees)
def test_geo019_random_points_are_uniform_in_the_polygon(code):
    """Share of points per bounding-box quadrant matches the polygon's ground-area share in it."""
    geom = boundaries.geometry(code)
    minx, miny, maxx, maxy = geom.bounds
    midx, midy = (minx + maxx) / 2, (miny + maxy) / 2
    quads = [shapely.box(minx, miny, midx, midy), shapely.box(midx, miny, maxx, midy),
             shapely.box(minx, midy, midx, maxy), shapely.box(midx, midy, maxx, maxy)]
    albers = "+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +datum=WGS84"
    parts = gpd.GeoSeries([geom.intersection(q) for q in quads], crs=boundaries.CRS).to_crs(albers).area
    expected = parts.to_numpy() / parts.sum()
    rng = random.Random(1)
    n = 4000
    pts = [boundaries.random_point_in(code, rng) for _ in range(n)]
    counts = np.zeros(4)
    for lat, lon in pts:
        counts[(lon >= midx) + 2 * (lat >= midy)] += 1
    sigma = np.sqrt(n * expected * (1 - expected))
    assert (np.abs(counts - n * expected) < 4 * sigma + 1).all(), (counts, n * expected)


def test_geo020_population_2020_census():
    assert geo.population("620102") == 1_484_016
    for city, total in CITY_POPULATION.items():
        assert geo.population(city) == total, city
    assert geo.population("620000") == 25_019_831
    assert geo.population("620200") == 312_663
    assert geo.population("620201") == 312_663
    assert geo.population("110000") is None
    assert geo.population("NYC") is None
    assert geo.population("999999") is None


def test_geo021_per_100k():
    assert geo.per_100k(1_484_016, "620102") == pytest.approx(100_000)
    assert geo.per_100k(43.59446, "620100") == pytest.approx(1.0)
    assert geo.per_100k(10, "110000") is None and geo.per_100k(None, "620100") is None
