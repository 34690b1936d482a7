"""The ``regions`` table from boundaries: bundled defaults and a deployment's own GeoJSON.

Functions take a SQLAlchemy session first and never commit (the caller owns the transaction).
Upserts are idempotent: running twice leaves the same rows.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

import geo
from cockpit.store.models import Region, RegionShape
from geo import boundaries
from geo.gcj02 import geometry_gcj_to_wgs

REGION_FIELDS = ("name", "name_en", "level", "parent", "population", "lat", "lon")


class RegionFileError(ValueError):
    """A GeoJSON file for ``cockpit regions load`` that cannot be used (message says where)."""


def upsert_regions(session: Session, rows: list[dict]) -> tuple[int, int]:
    """Insert or update Region rows by code; returns (inserted, updated). Idempotent."""
    codes = [r["code"] for r in rows]
    existing: dict[str, Region] = {}
    for start in range(0, len(codes), 500):
        chunk = codes[start:start + 500]
        existing.update({r.code: r for r in session.scalars(select(Region).where(Region.code.in_(chunk)))})
    inserted = updated = 0
    for row in rows:
        region = existing.get(row["code"])
        if region is None:
            session.add(Region(code=row["code"], **{k: row.get(k) for k in REGION_FIELDS}))
            inserted += 1
        elif any(getattr(region, k) != row.get(k) for k in REGION_FIELDS):
            for k in REGION_FIELDS:
                setattr(region, k, row.get(k))
            updated += 1
    session.flush()
    return inserted, updated


def default_region_rows() -> list[dict]:
    """Rows for every bundled region: China's provinces (parent '100000'), Gansu's cities and
    districts, Beijing's districts, NYC ('NYC', boroughs 'NYC-MN', community districts 'NYC-MN01')."""
    frame = boundaries.bundled_features()
    frame = frame[frame["level"] != "decor"]
    rows = []
    for row in frame.itertuples(index=False):
        rows.append({
            "code": row.code, "name": row.name, "name_en": boundaries.plain(row.name_en), "level": row.level,
            "parent": row.parent, "population": geo.population(row.code),
            "lat": float(row.label_lat), "lon": float(row.label_lon),
        })
    nyc = boundaries.ROOTS["NYC"]
    rows.append({"code": "NYC", "name": nyc["name"], "name_en": nyc["name_en"], "level": "city",
                 "parent": None, "population": None, "lat": nyc["label_lat"], "lon": nyc["label_lon"]})
    return rows


def load_default_regions(session: Session) -> tuple[int, int]:
    """Upsert all 228 bundled regions; returns (inserted, updated). Idempotent."""
    return upsert_regions(session, default_region_rows())


def _label(geom) -> tuple[float, float]:
    parts = shapely.get_parts(geom)
    largest = parts[int(np.argmax(shapely.area(parts)))]
    point = shapely.centroid(largest)
    if not largest.contains(point):
        point = largest.point_on_surface()
    return round(point.y, 6), round(point.x, 6)


def read_region_file(path: Path, *, level: str, parent: str | None, code_prop: str, name_prop: str,
                     name_en_prop: str | None = None, population_prop: str | None = None,
                     gcj02: bool = False) -> list[dict]:
    """GeoJSON features (WGS84, valid, properties as ``boundaries.COLUMNS``) from a region file.

    ``path`` is GeoJSON (optionally .gz) in WGS84 lon/lat, or GCJ-02 with ``gcj02=True``.
    Raises RegionFileError naming the feature for a missing code/name, a non-polygon
    geometry or a duplicate code.
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise RegionFileError(f"{path}: not readable GeoJSON ({exc})") from exc
    feats = data.get("features") if isinstance(data, dict) else None
    if not feats:
        raise RegionFileError(f"{path}: no features")
    out, seen = [], set()
    for i, f in enumerate(feats):
        props = f.get("properties") or {}
        code, name = props.get(code_prop), props.get(name_prop)
        if code in (None, "") or name in (None, ""):
            raise RegionFileError(f"feature {i}: property {code_prop!r} or {name_prop!r} missing")
        code = str(code)
        if code in seen:
            raise RegionFileError(f"feature {i}: duplicate code {code}")
        seen.add(code)
        try:
            geom = shapely.from_geojson(json.dumps(f.get("geometry")))
        except Exception as exc:  # noqa: BLE001 - any parse failure is the file's fault
            raise RegionFileError(f"feature {i} ({code}): bad geometry ({exc})") from exc
        if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise RegionFileError(f"feature {i} ({code}): geometry must be a Polygon or MultiPolygon")
        if gcj02:
            geom = geometry_gcj_to_wgs(geom)
        geom = shapely.make_valid(geom, method="structure", keep_collapsed=False)
        lat, lon = _label(geom)
        population = props.get(population_prop) if population_prop else None
        try:
            population = int(float(population)) if population not in (None, "") else None
        except (TypeError, ValueError) as exc:
            raise RegionFileError(f"feature {i} ({code}): population {population!r} is not a number") from exc
        out.append({"type": "Feature", "properties": {
            "code": code, "name": str(name), "name_en": props.get(name_en_prop) if name_en_prop else None,
            "level": level, "parent": parent, "city": parent if level == "district" else code,
            "population": population,
            "label_lat": lat, "label_lon": lon,
        }, "geometry": json.loads(shapely.to_geojson(geom))})
    return out


def store_region_features(session: Session, feats: list[dict]) -> tuple[int, int]:
    """Upsert Region rows and their RegionShape geometry; returns (inserted, updated) regions."""
    rows = []
    for f in feats:
        p = f["properties"]
        rows.append({"code": p["code"], "name": p["name"], "name_en": p["name_en"], "level": p["level"],
                     "parent": p["parent"], "population": p["population"], "lat": p["label_lat"],
                     "lon": p["label_lon"]})
        shape_row = session.get(RegionShape, p["code"])
        text = json.dumps(f["geometry"], separators=(",", ":"))
        if shape_row is None:
            session.add(RegionShape(code=p["code"], geojson=text))
        else:
            shape_row.geojson = text
    return upsert_regions(session, rows)


def register_stored_shapes(session: Session) -> int:
    """Make every RegionShape (with its Region row) known to geo.boundaries / geo.locate.

    Call once at app start and after ``cockpit regions load``; returns how many were registered.
    """
    stmt = select(Region, RegionShape).join(RegionShape, RegionShape.code == Region.code)
    pairs = session.execute(stmt).all()
    feats = []
    for region, shape_row in pairs:
        feats.append({"type": "Feature", "properties": {
            "code": region.code, "name": region.name, "name_en": region.name_en, "level": region.level,
            "parent": region.parent, "city": region.parent if region.level == "district" else region.code,
            "population": region.population, "label_lat": region.lat, "label_lon": region.lon,
        }, "geometry": json.loads(shape_row.geojson)})
    if feats:
        boundaries.register_features(feats)
    return len(feats)


def list_regions(session: Session, *, parent: str | None = None) -> list[dict]:
    """Regions ordered by code (children of ``parent`` if given) as dicts:
    code, name, name_en, level, parent, population."""
    stmt = select(Region).order_by(Region.code)
    if parent is not None:
        stmt = stmt.where(Region.parent == parent)
    return [{"code": r.code, "name": r.name, "name_en": r.name_en, "level": r.level, "parent": r.parent,
             "population": r.population} for r in session.scalars(stmt)]
