"""Bundled region boundaries (WGS84), loaded once from geo/data, and pure helpers on them.

Every feature carries: ``code, name, name_en, level, parent, city, population, label_lat,
label_lon``. ``city`` is the region whose hotline serves the feature (a Gansu city, Beijing
110000, ``NYC``). Geometries are valid, non-overlapping within a layer, in WGS84 lon/lat degrees.
Two resolutions: the full files (locate, random points) and ``.web`` files simplified with
topology preserved for the browser. Deployments can add their own regions with
``register_features`` (see ``geo.regions.register_stored_shapes``).
"""

from __future__ import annotations

import gzip
import json
import math
import random
import threading
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import geo

DATA_DIR = Path(__file__).parent / "data"
LAYERS = (
    "cn_provinces",
    "gansu_cities",
    "gansu_districts",
    "beijing_districts",
    "nyc_boroughs",
    "nyc_community_districts",
)
COLUMNS = ["code", "name", "name_en", "level", "parent", "city", "population", "label_lat", "label_lon"]
CRS = "EPSG:4326"
MAX_SAMPLE_TRIES = 100_000
# Roots without a polygon of their own in the bundle: their children are the map.
ROOTS = {
    "100000": {"code": "100000", "name": "中国", "name_en": "China", "level": "country", "parent": None,
               "city": None, "population": None, "label_lat": 35.0, "label_lon": 104.0},
    "NYC": {"code": "NYC", "name": "纽约市", "name_en": "New York City", "level": "city", "parent": None,
            "city": "NYC", "population": None, "label_lat": 40.7128, "label_lon": -74.006},
}

_lock = threading.Lock()
_custom: list[dict] = []
_custom_version = 0


def _read_layer(name: str) -> list[dict]:
    with gzip.open(DATA_DIR / f"{name}.geojson.gz", "rt", encoding="utf-8") as fh:
        return json.load(fh)["features"]


def _to_frame(feats: list[dict]) -> gpd.GeoDataFrame:
    from geo.names import english_name

    rows = [{c: f["properties"].get(c) for c in COLUMNS} for f in feats]
    for row in rows:  # every region has an English name: official where known, else pinyin
        if not row.get("name_en"):
            row["name_en"] = english_name(str(row["code"]), row.get("name"))
    geoms = [shapely.from_geojson(json.dumps(f["geometry"])) for f in feats]
    frame = gpd.GeoDataFrame(pd.DataFrame(rows, columns=COLUMNS), geometry=geoms, crs=CRS)
    return frame


@lru_cache(maxsize=2)
def _bundled(simplified: bool) -> gpd.GeoDataFrame:
    suffix = ".web" if simplified else ""
    feats = [f for layer in LAYERS for f in _read_layer(layer + suffix)]
    return _to_frame(feats)


def bundled_features(simplified: bool = False) -> gpd.GeoDataFrame:
    """The regions shipped in geo/data only (no registered ones)."""
    return _bundled(simplified)


@lru_cache(maxsize=4)
def _all_cached(simplified: bool, version: int) -> gpd.GeoDataFrame:
    frame = _bundled(simplified)
    if _custom:
        frame = pd.concat([frame[~frame["code"].isin({f["properties"]["code"] for f in _custom})],
                           _to_frame(_custom)], ignore_index=True)
    return frame


def all_features(simplified: bool = False) -> gpd.GeoDataFrame:
    """Every known region (bundled + registered) with geometry; includes ``level == 'decor'`` rows.

    The frame is cached and shared: treat it as read-only (``features`` returns copies).
    """
    return _all_cached(simplified, _custom_version)


def custom_version() -> int:
    """Changes whenever ``register_features`` changes the set (cache key for derived indexes)."""
    return _custom_version


def register_features(features: list[dict]) -> None:
    """Add or replace regions from GeoJSON features (WGS84, properties as in COLUMNS). Idempotent."""
    global _custom_version
    with _lock:
        by_code = {f["properties"]["code"]: f for f in _custom}
        for f in features:
            by_code[str(f["properties"]["code"])] = f
        _custom[:] = list(by_code.values())
        _custom_version += 1


def clear_registered() -> None:
    """Forget all registered (non-bundled) regions."""
    global _custom_version
    with _lock:
        _custom.clear()
        _custom_version += 1


def known(code: str) -> bool:
    """True if ``code`` is a region with a boundary (bundled or registered), or a root in ROOTS.

    Asked of the simplified boundaries, which hold the same regions (test_geo_known_codes): a web
    process drawing screen maps then never reads the full-resolution files (0.5 s at its start)."""
    return code in ROOTS or code in _names(_custom_version)


def region_names(code: str) -> tuple[str | None, str | None]:
    """(Chinese, English) name of a region (bundled, registered or a root), or (None, None).

    Read from the simplified boundaries, which name the same regions as the full ones
    (test_geo_known_codes): a page that only shows names does not load the full-resolution files."""
    if code in ROOTS:
        return ROOTS[code]["name"], ROOTS[code]["name_en"]
    return _names(_custom_version).get(code, (None, None))


@lru_cache(maxsize=4)
def _names(version: int) -> dict[str, tuple[str | None, str | None]]:
    frame = all_features(True)
    return {str(c): (plain(n), plain(e)) for c, n, e in zip(frame["code"], frame["name"], frame["name_en"])}


def region_info(code: str) -> dict | None:
    """The properties (no geometry) of one region, or None."""
    frame = all_features()
    rows = frame[frame["code"] == code]
    if rows.empty:
        return dict(ROOTS[code]) if code in ROOTS else None
    info = {k: plain(v) for k, v in rows.iloc[0][COLUMNS].items()}
    info["population"] = geo.population(code)
    return info


def plain(value):
    """A numpy/pandas scalar as a plain Python value (NaN -> None), for JSON."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _children(frame: gpd.GeoDataFrame, parent_code: str, level: str | None) -> gpd.GeoDataFrame:
    regions = frame[frame["level"] != "decor"]
    if level is None:
        out = regions[regions["parent"] == parent_code]
    else:
        parents = dict(zip(regions["code"], regions["parent"]))

        def _under(code: str) -> bool:
            seen = 0
            while code in parents and seen < 10:
                code = parents[code]
                if code == parent_code:
                    return True
                seen += 1
            return False

        out = regions[(regions["level"] == level) & regions["code"].map(_under)]
    out = out.reset_index(drop=True)
    # Parents carry no census figure in the files: fill the summed one (geo.population).
    out["population"] = pd.array([geo.population(c) for c in out["code"]], dtype="Int64")
    return out


def features(level_code: str, *, level: str | None = None) -> gpd.GeoDataFrame:
    """The children of region ``level_code`` as a GeoDataFrame (full resolution, WGS84).

    '100000' -> provinces, '620000' -> 14 cities, '620100' -> 8 districts, '620200' -> the
    Jiayuguan polygon as its one district (code 620201), 'NYC' -> 5 boroughs, 'NYC-MN' -> its
    community districts. With ``level`` (e.g. 'district'), all descendants at that level instead.
    Raises KeyError for an unknown code; a known region without children gives an empty frame.
    """
    if not known(level_code):
        raise KeyError(level_code)
    return _children(all_features(False), level_code, level)


def geojson(parent_code: str, simplified: bool = True, *, level: str | None = None) -> dict:
    """The children of ``parent_code`` as a GeoJSON FeatureCollection dict for the browser.

    Properties: code, name, name_en, level, parent, city, population, label_lat, label_lon.
    ``simplified`` uses the topology-preserving browser files (neighbours still share edges).
    Coordinates are WGS84 [lon, lat]. Raises KeyError for an unknown code.
    """
    if not known(parent_code):
        raise KeyError(parent_code)
    # Cached as text: every caller gets its own fresh dict to decorate.
    return json.loads(_geojson_text(parent_code, simplified, level, _custom_version))


@lru_cache(maxsize=256)
def _geojson_text(parent_code: str, simplified: bool, level: str | None, version: int) -> str:
    frame = _children(all_features(simplified), parent_code, level)
    feats = []
    for row in frame.itertuples(index=False):
        props = {c: plain(getattr(row, c)) for c in COLUMNS}
        feats.append({"type": "Feature", "id": props["code"], "properties": props,
                      "geometry": json.loads(shapely.to_geojson(row.geometry))})
    return json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False)


def geometry(code: str, simplified: bool = False):
    """The shapely geometry of one region (WGS84). Raises KeyError when it has none."""
    frame = all_features(simplified)
    rows = frame[frame["code"] == code]
    if rows.empty:
        raise KeyError(code)
    return rows.geometry.iloc[0]


@lru_cache(maxsize=512)
def _prepared(code: str, version: int):
    geom = geometry(code)
    shapely.prepare(geom)
    return geom


def random_point_in(district_code: str, rng: random.Random) -> tuple[float, float]:
    """A point (lat, lon) uniformly distributed (by ground area) in the region's WGS84 polygon.

    Rejection sampling from the bounding box, thinned by cos(lat) so that a degree cell's
    shrinking ground area near the poles is respected (matters for tall counties spanning
    several degrees). Uses only ``rng.random()``: the same rng state gives the same point.
    Raises KeyError for a code without a boundary.
    """
    geom = _prepared(district_code, _custom_version)
    minx, miny, maxx, maxy = geom.bounds
    cos_max = math.cos(math.radians(min(abs(miny), abs(maxy)) if miny * maxy > 0 else 0.0))
    for _ in range(MAX_SAMPLE_TRIES):
        lon = minx + (maxx - minx) * rng.random()
        lat = miny + (maxy - miny) * rng.random()
        if rng.random() * cos_max > math.cos(math.radians(lat)):
            continue
        if shapely.contains_xy(geom, lon, lat):
            return lat, lon
    raise RuntimeError(f"no point found inside {district_code}")  # pragma: no cover - degenerate polygon
