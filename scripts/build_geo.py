"""Build the bundled boundaries in geo/data from the raw files under /work/shared/data.

    python scripts/build_geo.py [--src /work/shared/data] [--out geo/data]

Steps per layer (see docs/geo.md): read -> GCJ-02 to WGS84 (Chinese layers only) ->
make_valid -> coverage_clean (no overlaps, identical shared edges, small gaps closed) ->
parents dissolved from their children -> 1e-6 degree grid -> ``<layer>.geojson.gz``;
then coverage_simplify (topology-preserving) -> ``<layer>.web.geojson.gz`` for the browser.
The output is deterministic for a given input. Runtime code only reads geo/data.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import sys
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import shape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.gcj02 import geometry_gcj_to_wgs  # noqa: E402
from geo.names import NAME_EN, NYC_BOROUGHS  # noqa: E402

GRID = 1e-6  # about 0.1 m: far below the sources' own accuracy
# gap_width for coverage_clean (degrees): gaps narrower than this join a neighbour.
GAP_WIDTH = {"gansu": 0.005, "beijing": 0.002, "provinces": 0.01, "nyc": 0.0001}
# coverage_simplify tolerance (degrees) for the browser files, per layer.
WEB_TOLERANCE = {
    "cn_provinces": 0.02,
    "gansu_cities": 0.004,
    "gansu_districts": 0.003,
    "beijing_districts": 0.003,
    "nyc_boroughs": 0.0005,
    "nyc_community_districts": 0.0002,
}
# Light simplification of the (very dense) NYC files for the locate layer: about 1 m.
NYC_FULL_TOLERANCE = 0.00001


def _read(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["features"]


def _valid(geoms: np.ndarray) -> np.ndarray:
    return shapely.make_valid(geoms, method="structure", keep_collapsed=False)


def _clean(geoms: np.ndarray, gap: float) -> np.ndarray:
    out = shapely.coverage_clean(_valid(geoms), gap_width=gap)
    out = shapely.set_precision(out, GRID)
    out = _valid(out)
    assert shapely.is_valid(out).all()
    return out


def _label_point(geom) -> tuple[float, float]:
    parts = shapely.get_parts(geom)
    largest = parts[int(np.argmax(shapely.area(parts)))]
    point = shapely.centroid(largest)
    if not largest.contains(point):
        point = largest.point_on_surface()
    return round(point.y, 6), round(point.x, 6)


def _feature(geom, **props) -> dict:
    geom = shapely.transform(geom, lambda c: np.round(c, 6))
    lat, lon = _label_point(geom)
    props.setdefault("name_en", NAME_EN.get(props["code"]))
    props.update(label_lat=lat, label_lon=lon)
    return {"type": "Feature", "properties": props, "geometry": json.loads(shapely.to_geojson(geom))}


def _write(out: Path, layer: str, features: list[dict]) -> None:
    body = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False,
                      separators=(",", ":"))
    # mtime=0 keeps the gzip bytes identical between builds.
    (out / f"{layer}.geojson.gz").write_bytes(gzip.compress(body.encode("utf-8"), 9, mtime=0))


def _write_layer(out: Path, layer: str, geoms: np.ndarray, props: list[dict]) -> None:
    _write(out, layer, [_feature(g, **dict(p)) for g, p in zip(geoms, props)])
    # coverage_simplify only drops vertices, so the survivors stay on the 1e-6 grid; reducing
    # precision again per polygon would break shared edges.
    web = shapely.coverage_simplify(geoms, WEB_TOLERANCE[layer])
    assert shapely.is_valid(web).all()
    _write(out, f"{layer}.web", [_feature(g, **dict(p)) for g, p in zip(web, props)])
    sizes = [(out / f"{layer}{s}.geojson.gz").stat().st_size for s in ("", ".web")]
    print(f"{layer}: {len(geoms)} features, full {sizes[0]:,} B, web {sizes[1]:,} B gz")


def build_gansu(src: Path, out: Path) -> None:
    china = src / "china-boundaries"
    districts = _read(china / "gansu_620000_districts.json")
    cities = _read(china / "gansu_620000_cities.json")
    jiayuguan = next(f for f in cities if f["properties"]["adcode"] == 620200)
    population = {}
    with (china / "gansu_620000_population_2020.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            population[row["adcode"]] = int(row["population"])

    raw = [shape(f["geometry"]) for f in districts] + [shape(jiayuguan["geometry"])]
    props = [
        {"code": str(f["properties"]["adcode"]), "name": f["properties"]["name"], "level": "district",
         "parent": str(f["properties"]["parent"]["adcode"]), "city": str(f["properties"]["parent"]["adcode"]),
         "population": population[str(f["properties"]["adcode"])]}
        for f in districts
    ]
    # Jiayuguan has no county-level division: its city polygon is its one district, under the
    # GB/T 2260 code of its 市辖区 (620201), so no district shares a code with a city (codes are
    # the regions table's primary key); the census row is filed under 620200.
    props.append({"code": "620201", "name": "嘉峪关市", "level": "district", "parent": "620200",
                  "city": "620200", "population": population["620200"]})
    geoms = _clean(geometry_gcj_to_wgs(np.array(raw)), GAP_WIDTH["gansu"])
    _write_layer(out, "gansu_districts", geoms, props)

    city_props = []
    city_geoms = []
    for f in cities:
        code = str(f["properties"]["adcode"])
        members = [g for g, p in zip(geoms, props) if p["parent"] == code]
        city_geoms.append(shapely.coverage_union_all(members))
        city_props.append({"code": code, "name": f["properties"]["name"], "level": "city", "parent": "620000",
                           "city": code})
    _write_layer(out, "gansu_cities", _valid(np.array(city_geoms)), city_props)


def build_beijing(src: Path, out: Path) -> None:
    feats = _read(src / "china-boundaries" / "beijing_110000_districts.json")
    raw = np.array([shape(f["geometry"]) for f in feats])
    props = [{"code": str(f["properties"]["adcode"]), "name": f["properties"]["name"], "level": "district",
              "parent": "110000", "city": "110000"} for f in feats]
    geoms = _clean(geometry_gcj_to_wgs(raw), GAP_WIDTH["beijing"])
    _write_layer(out, "beijing_districts", geoms, props)


def build_provinces(src: Path, out: Path) -> None:
    feats = _read(src / "china-boundaries" / "china_100000_provinces.json")
    raw = np.array([shape(f["geometry"]) for f in feats])
    props = []
    for f in feats:
        code = str(f["properties"]["adcode"])
        if code == "100000_JD":
            # The South China Sea islands group: drawn on national maps, not a region.
            props.append({"code": code, "name": "南海诸岛", "name_en": "South China Sea Islands",
                          "level": "decor", "parent": "100000"})
        else:
            props.append({"code": code, "name": f["properties"]["name"], "level": "province",
                          "parent": "100000"})
    geoms = geometry_gcj_to_wgs(raw)
    # The islands group overlaps Hainan's own islands in the source: keep it out of the coverage.
    region_idx = [i for i, p in enumerate(props) if p["level"] == "province"]
    cleaned = np.array(geoms)
    cleaned[region_idx] = _clean(geoms[region_idx], GAP_WIDTH["provinces"])
    decor_idx = [i for i, p in enumerate(props) if p["level"] == "decor"]
    cleaned[decor_idx] = _valid(shapely.set_precision(_valid(geoms[decor_idx]), GRID))
    _write_layer(out, "cn_provinces", cleaned, props)


def build_nyc(src: Path, out: Path) -> None:
    feats = _read(src / "nyc-boundaries" / "community_districts.geojson")
    feats.sort(key=lambda f: int(f["properties"]["BoroCD"]))
    raw = np.array([shape(f["geometry"]) for f in feats])
    geoms = _clean(raw, GAP_WIDTH["nyc"])
    geoms = _valid(shapely.coverage_simplify(geoms, NYC_FULL_TOLERANCE))
    props = []
    for f in feats:
        boro_cd = int(f["properties"]["BoroCD"])
        letters, _, boro_en = NYC_BOROUGHS[boro_cd // 100]
        number = boro_cd % 100
        # 311 data names these "<n> <BOROUGH>"; numbers above 26 are joint interest areas (parks, airports).
        kind = "CD" if number <= 18 else "JIA"
        label = f"{boro_en} {kind} {number}"
        props.append({"code": f"NYC-{letters}{number:02d}", "name": label, "name_en": label,
                      "level": "district", "parent": f"NYC-{letters}", "city": "NYC"})
    _write_layer(out, "nyc_community_districts", geoms, props)

    boro_geoms, boro_props = [], []
    for digit, (letters, name_zh, name_en) in sorted(NYC_BOROUGHS.items()):
        members = [g for g, p in zip(geoms, props) if p["parent"] == f"NYC-{letters}"]
        boro_geoms.append(shapely.coverage_union_all(members))
        boro_props.append({"code": f"NYC-{letters}", "name": name_zh, "name_en": name_en, "level": "borough",
                           "parent": "NYC", "city": "NYC"})
    _write_layer(out, "nyc_boroughs", _valid(np.array(boro_geoms)), boro_props)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=Path("/work/shared/data"), help="raw data folder")
    parser.add_argument("--out", type=Path, default=ROOT / "geo" / "data", help="output folder")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    build_gansu(args.src, args.out)
    build_beijing(args.src, args.out)
    build_provinces(args.src, args.out)
    build_nyc(args.src, args.out)
    (args.out / "gansu_population_2020.csv").write_bytes(
        (args.src / "china-boundaries" / "gansu_620000_population_2020.csv").read_bytes())


if __name__ == "__main__":
    main()
