"""The regions table (SQLite and PostgreSQL) and the `cockpit regions` commands."""

from __future__ import annotations

import json

import pytest
import shapely
from click.testing import CliRunner
from sqlalchemy import func, select

import geo
from cockpit.cli import main
from cockpit.store.models import Region, RegionShape
from geo import boundaries
from geo.gcj02 import gcj_to_wgs
from geo.locate import locate
from geo.regions import list_regions, load_default_regions, register_stored_shapes


@pytest.fixture(autouse=True)
def _forget_registered():
    boundaries.clear_registered()
    yield
    boundaries.clear_registered()


def _square(x: float, y: float, size: float) -> dict:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


def _write(path, features: list[dict]):
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def _cli(stores, tmp_path, *args):
    env = {"COCKPIT_DATABASE_URL": stores.settings.sqlalchemy_url, "COCKPIT_VAR_DIR": str(tmp_path / "var")}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_geo040_load_default_regions_is_idempotent(stores):
    with stores.session() as s:
        inserted, updated = load_default_regions(s)
    assert (inserted, updated) == (228, 0)
    with stores.session() as s:
        assert load_default_regions(s) == (0, 0)
        s.get(Region, "620100").name = "changed"
    with stores.session() as s:
        assert load_default_regions(s) == (0, 1)
        by_level = dict(s.execute(select(Region.level, func.count()).group_by(Region.level)).all())
        assert by_level == {"province": 34, "city": 15, "district": 87 + 16 + 71, "borough": 5}
        lanzhou = s.get(Region, "620100")
        assert (lanzhou.name, lanzhou.name_en, lanzhou.parent, lanzhou.population) == (
            "兰州市", "Lanzhou", "620000", 4_359_446)
        assert boundaries.geometry("620100").contains(shapely.Point(lanzhou.lon, lanzhou.lat))
        assert s.get(Region, "620000").population == 25_019_831
        assert s.get(Region, "620000").parent == "100000"
        jiayuguan = s.get(Region, "620201")
        assert (jiayuguan.parent, jiayuguan.level, jiayuguan.population) == ("620200", "district", 312_663)
        assert s.get(Region, "620200").population == 312_663
        assert s.get(Region, "NYC-MN01").parent == "NYC-MN"
        assert s.get(Region, "NYC-MN").parent == "NYC"
        assert s.get(Region, "NYC").level == "city"
        assert s.get(Region, "100000_JD") is None
        assert [r["code"] for r in list_regions(s, parent="110000")][:2] == ["110101", "110102"]


def test_geo041_cli_list_and_locate(stores, tmp_path):
    assert "228 inserted" in _cli(stores, tmp_path, "regions", "load-defaults").output
    out = _cli(stores, tmp_path, "regions", "list", "--parent", "620000", "--json")
    rows = json.loads(out.output)
    assert len(rows) == 14 and rows[0] == {"code": "620100", "name": "兰州市", "name_en": "Lanzhou",
                                           "level": "city", "parent": "620000", "population": 4_359_446}
    text = _cli(stores, tmp_path, "regions", "list", "--parent", "620100").output
    assert "城关区" in text and "1,484,016" in text
    located = json.loads(_cli(stores, tmp_path, "regions", "locate", "40.758", "-73.9855", "--json").output)
    assert (located["district"], located["city"], located["district_name"]) == (
        "NYC-MN05", "NYC", "Manhattan CD 5")
    located = json.loads(_cli(stores, tmp_path, "regions", "locate", "36.0611", "103.8343", "--json").output)
    assert (located["district"], located["city_name"]) == ("620102", "兰州市")
    nowhere = _cli(stores, tmp_path, "regions", "locate", "0", "0", "--json").output
    assert json.loads(nowhere)["district"] is None


def test_geo042_cli_load_own_city(stores, tmp_path):
    city = _write(tmp_path / "city.geojson", [
        {"type": "Feature", "properties": {"adcode": 990100, "NAME": "示例市"},
         "geometry": _square(10.0, 50.0, 1.0)}])
    districts = _write(tmp_path / "districts.geojson", [
        {"type": "Feature", "properties": {"adcode": 990101, "NAME": "东区", "pop": "1200"},
         "geometry": _square(10.0, 50.0, 0.5)},
        {"type": "Feature", "properties": {"adcode": 990102, "NAME": "西区", "pop": 800},
         # a self-intersecting bow-tie: repaired on load
         "geometry": {"type": "Polygon", "coordinates": [[[10.5, 50.0], [11.0, 50.5], [11.0, 50.0],
                                                          [10.5, 50.5], [10.5, 50.0]]]}},
    ])
    out = _cli(stores, tmp_path, "regions", "load", str(city), "--level", "city", "--parent", "990000",
               "--code-prop", "adcode", "--name-prop", "NAME")
    assert out.exit_code == 0 and "1 inserted" in out.output
    args = ["regions", "load", str(districts), "--level", "district", "--parent", "990100",
            "--code-prop", "adcode", "--name-prop", "NAME", "--population-prop", "pop"]
    assert "2 inserted" in _cli(stores, tmp_path, *args).output
    assert "0 inserted, 0 updated" in _cli(stores, tmp_path, *args).output
    with stores.session() as s:
        assert s.get(Region, "990101").population == 1200
        shape_row = s.get(RegionShape, "990102")
        geom = shapely.from_geojson(shape_row.geojson)
        assert geom.is_valid and geom.area == pytest.approx(0.125)
        assert register_stored_shapes(s) == 3
    assert set(boundaries.features("990100")["code"]) == {"990101", "990102"}
    assert locate(50.25, 10.25) == ("990101", "990100")
    assert geo.population("990100") == 2000
    located = json.loads(_cli(stores, tmp_path, "regions", "locate", "50.25", "10.25", "--json").output)
    assert (located["district"], located["district_name"]) == ("990101", "东区")


def test_geo043_cli_load_converts_gcj02_and_reports_bad_files(stores, tmp_path):
    f = _write(tmp_path / "gcj.geojson", [
        {"type": "Feature", "properties": {"code": "990201", "name": "甲"},
         "geometry": _square(103.0, 36.0, 0.1)}])
    out = _cli(stores, tmp_path, "regions", "load", str(f), "--level", "district", "--parent", "990200",
               "--gcj02")
    assert out.exit_code == 0
    with stores.session() as s:
        geom = shapely.from_geojson(s.get(RegionShape, "990201").geojson)
    lon, lat = gcj_to_wgs(103.0, 36.0)
    assert shapely.Point(float(lon), float(lat)).distance(geom.boundary) < 1e-9
    assert geom.bounds[0] != 103.0

    bad = _write(tmp_path / "bad.geojson", [
        {"type": "Feature", "properties": {"name": "无编码"}, "geometry": _square(1, 1, 1)}])
    out = CliRunner().invoke(main, ["regions", "load", str(bad), "--level", "district"],
                             env={"COCKPIT_DATABASE_URL": stores.settings.sqlalchemy_url})
    assert out.exit_code != 0 and "feature 0" in out.output
    line = _write(tmp_path / "line.geojson", [
        {"type": "Feature", "properties": {"code": "L1", "name": "线"},
         "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}])
    out = CliRunner().invoke(main, ["regions", "load", str(line), "--level", "district"],
                             env={"COCKPIT_DATABASE_URL": stores.settings.sqlalchemy_url})
    assert out.exit_code != 0 and "Polygon" in out.output
    with stores.session() as s:
        assert s.get(Region, "L1") is None
