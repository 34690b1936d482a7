"""Point -> district lookup on the full-resolution WGS84 boundaries.

The index covers every region of level 'district' (Gansu's 86 county-level divisions plus
Jiayuguan 620201, Beijing's 16 districts, NYC's community districts, and registered regions).
Points on a shared edge go to the first district in index order. Coordinates are WGS84 degrees;
a GCJ-02 point must be converted first (``geo.gcj02.gcj_to_wgs``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import geopandas as gpd
import numpy as np
import shapely

from geo import boundaries

# Codes a reporter may use for a district whose polygon carries another code.
# Jiayuguan's district is 620201; its city code is also used for it (census, simulation catalogue).
DISTRICT_ALIASES = {"620200": "620201"}


@dataclass(frozen=True)
class _Index:
    codes: np.ndarray
    cities: np.ndarray
    geoms: np.ndarray
    tree: shapely.STRtree
    bounds: np.ndarray
    frame: gpd.GeoDataFrame
    code_set: frozenset


@lru_cache(maxsize=2)
def _index(version: int) -> _Index:
    frame = boundaries.all_features(False)
    frame = frame[frame["level"] == "district"].reset_index(drop=True)
    geoms = np.asarray(frame.geometry.values, dtype=object)
    shapely.prepare(geoms)
    slim = gpd.GeoDataFrame({"code": frame["code"].values}, geometry=frame.geometry.values,
                            crs=boundaries.CRS)
    return _Index(
        codes=frame["code"].to_numpy(dtype=object),
        cities=frame["city"].to_numpy(dtype=object),
        geoms=geoms,
        tree=shapely.STRtree(geoms),
        bounds=shapely.bounds(geoms),
        frame=slim,
        code_set=frozenset(frame["code"]),
    )


def _current() -> _Index:
    return _index(boundaries.custom_version())


def locate(lat: float, lon: float) -> tuple[str, str] | None:
    """(district_code, city_code) of a WGS84 point, or None outside every known district.

    ``city_code`` is the hotline's region: a Gansu city, '110000' for Beijing, 'NYC'.
    Uses a cached STRtree over prepared polygons; a few microseconds per call.
    """
    if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    idx = _current()
    for i in sorted(idx.tree.query(shapely.Point(lon, lat))):
        if shapely.intersects_xy(idx.geoms[i], lon, lat):
            return idx.codes[i], idx.cities[i]
    return None


def locate_many(lats, lons) -> np.ndarray:
    """District code (object array, None where outside or NaN) for each WGS84 point.

    Same answers as ``locate`` point by point (first district in index order wins on shared
    edges). Vectorised per district: a numpy bounding-box filter, then a prepared-polygon
    ``intersects_xy``; no point objects are built, so it beats a geopandas ``sjoin`` (which
    must create 1,000,000 shapely Points first) by about 3x; see bench/geo_locate.py.
    """
    lats = np.asarray(lats, dtype=float).ravel()
    lons = np.asarray(lons, dtype=float).ravel()
    if lats.shape != lons.shape:
        raise ValueError("lats and lons differ in length")
    hit = np.full(lats.shape[0], -1, dtype=np.int64)
    finite = np.isfinite(lats) & np.isfinite(lons)
    if finite.any():
        idx = _current()
        lo_x, hi_x = lons[finite].min(), lons[finite].max()
        lo_y, hi_y = lats[finite].min(), lats[finite].max()
        for i, (x0, y0, x1, y1) in enumerate(idx.bounds):
            if x1 < lo_x or x0 > hi_x or y1 < lo_y or y0 > hi_y:
                continue
            cand = np.flatnonzero((lons >= x0) & (lons <= x1) & (lats >= y0) & (lats <= y1) & (hit < 0))
            if cand.size:
                inside = shapely.intersects_xy(idx.geoms[i], lons[cand], lats[cand])
                hit[cand[inside]] = i
    out = np.full(lats.shape[0], None, dtype=object)
    found = hit >= 0
    if found.any():
        out[found] = _current().codes[hit[found]]
    return out


def locate_many_sjoin(lats, lons) -> np.ndarray:
    """Reference implementation of ``locate_many`` with a geopandas sjoin (bench and tests only)."""
    lats = np.asarray(lats, dtype=float)
    lons = np.asarray(lons, dtype=float)
    out = np.full(lats.shape[0], None, dtype=object)
    idx = _current()
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lons, lats), crs=boundaries.CRS)
    joined = gpd.sjoin(points, idx.frame, how="inner", predicate="intersects")
    joined = joined.sort_values("index_right", kind="stable")
    joined = joined[~joined.index.duplicated(keep="first")]
    out[joined.index.to_numpy()] = joined["code"].to_numpy(dtype=object)
    return out


def district_mismatch(reported_district: str | None, lat: float | None, lon: float | None) -> bool | None:
    """True if a WGS84 point lies in a district other than the one reported; a data-quality flag.

    None when unknown: no reported district, a code without a boundary, no/invalid coordinates,
    or a point outside every known district. '620200' (Jiayuguan's city code) counts as 620201.
    """
    if not reported_district or lat is None or lon is None:
        return None
    reported = DISTRICT_ALIASES.get(reported_district, reported_district)
    if reported not in _current().code_set:
        return None
    found = locate(lat, lon)
    if found is None:
        return None
    return found[0] != reported
