"""GCJ-02 ("Mars coordinates") <-> WGS84, vectorised with numpy.

Chinese web maps (AMap/Gaode, DataV, Tencent) publish coordinates in GCJ-02, an obfuscated
datum that shifts WGS84 positions by a smooth, position-dependent offset of a few hundred
metres. GPS fixes and most intranet tile layers are WGS84, so boundaries are converted once.

The forward transform (WGS84 -> GCJ-02) is the widely published reconstruction of the
algorithm (Krasovsky 1940 ellipsoid, a = 6378245 m, ee = 0.00669342162296594323); points outside
the rough China bounding box are not shifted. There is no closed-form inverse: ``gcj_to_wgs``
solves ``forward(w) = g`` by fixed-point iteration ``w <- w - (forward(w) - g)``, which converges
because the offset's derivative is tiny (|d offset / d position| < 1e-3). We iterate until every
point's residual is below ``TOLERANCE_DEG`` (1e-9 degree, about 0.1 mm), so the inverse error is far
below 1 m; the forward reconstruction itself matches the reference points to ~1e-8 degree.
"""

from __future__ import annotations

import numpy as np
import shapely

A = 6378245.0
EE = 0.00669342162296594323
TOLERANCE_DEG = 1e-9
MAX_ITERATIONS = 30


def _out_of_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _transform_lat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1 - EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((A * (1 - EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (A / sqrtmagic * np.cos(radlat) * np.pi)
    outside = _out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs_to_gcj(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 (degrees) -> GCJ-02 (degrees). Scalars or arrays; returns float arrays (lon, lat)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    dlon, dlat = _offset(lon, lat)
    return lon + dlon, lat + dlat


def gcj_to_wgs(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 (degrees) -> WGS84 (degrees) by iterative inversion; error < 1e-9 degree.

    Scalars or arrays; returns float arrays (lon, lat). Points outside China pass unchanged.
    """
    g_lon = np.asarray(lon, dtype=float)
    g_lat = np.asarray(lat, dtype=float)
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    for _ in range(MAX_ITERATIONS):
        f_lon, f_lat = wgs_to_gcj(w_lon, w_lat)
        r_lon, r_lat = f_lon - g_lon, f_lat - g_lat
        w_lon = w_lon - r_lon
        w_lat = w_lat - r_lat
        if max(np.max(np.abs(r_lon), initial=0.0), np.max(np.abs(r_lat), initial=0.0)) < TOLERANCE_DEG:
            break
    return w_lon, w_lat


def geometry_gcj_to_wgs(geometry):
    """Every vertex of a shapely geometry (or array of them) from GCJ-02 to WGS84 (x=lon, y=lat)."""

    def _convert(coords: np.ndarray) -> np.ndarray:
        x, y = gcj_to_wgs(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geometry, _convert)
