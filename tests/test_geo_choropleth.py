"""The choropleth builder's component tree, and stable class breaks."""

from __future__ import annotations

import random
import re
from pathlib import Path

import dash_leaflet as dl
import pytest
from dash import html

from geo.boundaries import geojson
from layouts.choropleth import (
    DEFAULT_COLORS,
    NO_DATA_COLOR,
    STYLE_FUNCTION,
    HOVER_FUNCTION,
    choropleth_map,
    class_index,
    stable_breaks,
)

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def _walk(component):
    yield component
    children = getattr(component, "children", None)
    if children is None or isinstance(children, str):
        return
    if not isinstance(children, (list, tuple)):
        children = [children]
    for child in children:
        if child is not None and not isinstance(child, (str, int, float)):
            yield from _walk(child)


def _of(tree, kind):
    return [c for c in _walk(tree) if isinstance(c, kind)]


def _map(**kw):
    fc = geojson("620000")
    values = {f["properties"]["code"]: float(i * 10) for i, f in enumerate(fc["features"])}
    values["620200"] = None
    args = dict(id="test-map", metric_label="工单量", breaks=[30.0, 60.0, 90.0, 120.0], colors=DEFAULT_COLORS)
    args.update(kw)
    return fc, values, choropleth_map(fc, values, **args)


def test_geo050_one_feature_per_region_with_colour_rank_and_tooltip():
    fc, values, tree = _map()
    [layer] = _of(tree, dl.GeoJSON)
    assert layer.id == "test-map"
    feats = layer.data["features"]
    assert [f["properties"]["code"] for f in feats] == [f["properties"]["code"] for f in fc["features"]]
    assert "_fill" not in fc["features"][0]["properties"]  # input not modified
    by_code = {f["properties"]["code"]: f["properties"] for f in feats}
    assert by_code["620100"]["_fill"] == DEFAULT_COLORS[0]  # 0 < 30
    assert by_code["620400"]["_fill"] == DEFAULT_COLORS[1]  # 30 -> class 1 (breaks are lower bounds)
    assert by_code["623000"]["_fill"] == DEFAULT_COLORS[4]  # 130 >= 120
    assert by_code["620200"]["_fill"] == NO_DATA_COLOR and by_code["620200"]["rank"] is None
    assert by_code["623000"]["rank"] == 1 and by_code["620100"]["rank"] == 13
    tip = by_code["623000"]["tooltip"]
    assert "甘南藏族自治州" in tip and "工单量: 130" in tip and "第 1 / 13 名" in tip
    assert "无数据" in by_code["620200"]["tooltip"]
    assert layer.style == STYLE_FUNCTION and layer.hoverStyle == HOVER_FUNCTION


def test_geo051_legend_labels_and_bounds():
    _, _, tree = _map()
    [legend] = [c for c in _of(tree, html.Div) if "ck-map-legend" in (getattr(c, "className", None) or "").split()]
    texts = [c.children for c in _of(legend, html.Span) if isinstance(c.children, str)]
    assert texts == ["< 30", "30 – 60", "60 – 90", "90 – 120", "≥ 120", "无数据"]
    assert legend.children[0].children == "工单量"
    [leaflet] = _of(tree, dl.Map)
    assert leaflet.viewport["transition"] == "fitBounds"
    (south, west), (north, east) = leaflet.viewport["bounds"]
    assert south < leaflet.center[0] < north and west < leaflet.center[1] < east
    assert 32 < south < 33 and 92 < west < 93 and 42 < north < 43 and 108 < east < 109
    assert leaflet.id == "test-map-map"
    assert leaflet.style["background"]


def test_geo058_english_legend_and_tooltips_come_from_the_catalogue():
    _, _, tree = _map(metric_label="Tickets", lang="en")
    [legend] = [c for c in _of(tree, html.Div) if "ck-map-legend" in (getattr(c, "className", None) or "").split()]
    texts = [c.children for c in _of(legend, html.Span) if isinstance(c.children, str)]
    assert texts[-1] == "No data"
    by_code = {f["properties"]["code"]: f["properties"] for f in _of(tree, dl.GeoJSON)[0].data["features"]}
    assert "Rank 1 of 13" in by_code["623000"]["tooltip"] and "No data" in by_code["620200"]["tooltip"]


def test_geo052_tile_layer_only_when_configured():
    _, _, tree = _map()
    assert _of(tree, dl.TileLayer) == []
    _, _, tree = _map(tile_url="http://tiles.intranet/{z}/{x}/{y}.png")
    [tiles] = _of(tree, dl.TileLayer)
    assert tiles.url == "http://tiles.intranet/{z}/{x}/{y}.png"


def test_geo053_labels_and_dict_ids():
    _, _, tree = _map(id={"type": "map", "index": "gansu"})
    markers = _of(tree, dl.DivMarker)
    assert len(markers) == 14
    # short names on the map (the tooltip keeps the full one), wrapped so a browser can measure the text
    assert {m.iconOptions["html"] for m in markers} >= {"<span>兰州</span>", "<span>临夏州</span>"}
    assert _of(tree, dl.GeoJSON)[0].id == {"type": "map", "index": "gansu"}
    assert _of(tree, dl.Map)[0].id == {"type": "map", "index": "gansu", "part": "map"}
    _, _, tree = _map(labels=False)
    assert _of(tree, dl.DivMarker) == []


def test_geo054_needs_enough_colours():
    with pytest.raises(ValueError):
        _map(colors=DEFAULT_COLORS[:3])


def test_geo055_style_functions_exist_in_assets():
    js = (ASSETS / "cockpit_map.js").read_text(encoding="utf-8")
    assert "window.dashExtensions.cockpit" in js
    for ref in (STYLE_FUNCTION, HOVER_FUNCTION):
        name = ref["variable"].split(".")[-1]
        assert re.search(rf"\b{name}\s*:\s*function", js), name


def test_geo056_stable_breaks_are_nice_and_stable():
    values = list(range(1, 101))
    breaks = stable_breaks(values)
    assert breaks == [20.0, 40.0, 60.0, 80.0]
    rng = random.Random(9)
    data = [rng.lognormvariate(5, 1) for _ in range(86)]
    base = stable_breaks(data)
    assert len(base) == 4 and base == sorted(set(base))
    for b in base:  # nice: mantissa in the allowed set
        m = b / 10 ** len(str(int(b))) * 10
        assert round(m, 6) in {1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0}
    unchanged = 0
    for _ in range(50):  # numbers tick up by 0-2 %: breaks mostly stay put
        ticked = [v * (1 + rng.uniform(0, 0.02)) for v in data]
        unchanged += stable_breaks(ticked) == base
    assert unchanged >= 40
    assert stable_breaks({"a": 1.0, "b": None, "c": float("nan"), "d": 1.0}) == []
    assert stable_breaks([]) == []
    assert stable_breaks([0, 0, 0, 5, 9], k=5)[-1] <= 9


def test_geo057_class_index():
    assert [class_index(v, [10.0, 20.0]) for v in (0, 9.99, 10, 19, 20, 1e9)] == [0, 0, 1, 1, 2, 2]


def test_geo059_classify_gives_five_classes_for_close_percentages_and_counts():
    from layouts.choropleth import classify

    # The province's connection rates of 2026-11-30 (two classes split at 100 under nice rounding).
    rates = [100.0, 96.9, 90.8, 97.1, 96.0, 98.0, 96.2, 96.9, 95.5, 98.0, 95.4, 93.9, 97.3, 97.4]
    breaks = classify(rates)
    assert len(breaks) == 4 and all(90.8 < b <= 100 for b in breaks)
    assert len({class_index(v, breaks) for v in rates}) == 5
    counts = [109, 903, 365, 790, 162, 798, 263, 908, 411, 716, 526, 563, 1146, 1600]
    breaks = classify(counts, integer=True)
    assert len(breaks) == 4 and all(b == int(b) for b in breaks)
    assert classify([3, 1, 2]) == [2, 3]  # few distinct values: one class each
    assert classify([5, 5, None]) == []
    ticked = [v * 1.01 for v in counts]
    assert classify(ticked, integer=True) == breaks or len(classify(ticked, integer=True)) == 4


def test_geo060_label_sits_inside_its_region():
    import shapely

    from layouts.choropleth import _label_point

    for feature in geojson("620100")["features"]:
        shape = shapely.geometry.shape(feature["geometry"])
        assert shape.contains(_label_point(shape)), feature["properties"]["code"]


def test_geo061_placed_labels_never_overlap_and_stay_by_their_region():
    """Gansu's crowded south-east (临夏 / 定西 / 甘南 / 兰州): boxes apart, each label on or by its city."""
    import shapely

    from layouts.choropleth import (LABEL_LINE_EM, LABEL_SPAN_FRACTION, _bounds, _label_text, _mercator,
                                    _text_em, place_labels)
    from layouts.mapdata import screen_geojson

    for lang in ("zh", "en"):
        features = screen_geojson("620000", lang)["features"]
        (south, west), (north, east) = _bounds({"features": features})
        x0, y0 = _mercator(west, south)
        x1, y1 = _mercator(east, north)
        font = max(x1 - x0, y1 - y0) / LABEL_SPAN_FRACTION
        points = place_labels(features, font, (x0, y0, x1, y1))
        assert points == place_labels(features, font, (x0, y0, x1, y1))  # deterministic
        boxes = []
        for feature, (lat, lon) in zip(features, points):
            x, y = _mercator(lon, lat)
            w, h = _text_em(_label_text(feature)) * font / 2, LABEL_LINE_EM * font / 2
            boxes.append((_label_text(feature), (x - w, y - h, x + w, y + h)))
            assert shapely.geometry.shape(feature["geometry"]).distance(shapely.Point(lon, lat)) < 1.0, lang
        for i, (name_a, a) in enumerate(boxes):
            for name_b, b in boxes[i + 1:]:
                apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
                assert apart, (lang, name_a, name_b)


def test_geo062_label_positions_are_kept_for_the_same_regions_and_redone_for_others(monkeypatch):
    """A screen's map is rebuilt whenever one of its values changes; the label placement (pure
    geometry, ~230 ms for Gansu) is kept per regions, texts, font and extent, never reused for
    other geometry."""
    import copy

    from layouts import choropleth
    from layouts.choropleth import LABEL_SPAN_FRACTION, _bounds, _mercator, place_labels, placed_labels
    from layouts.mapdata import screen_geojson

    features = screen_geojson("620000", "zh")["features"]
    (south, west), (north, east) = _bounds({"features": features})
    x0, y0 = _mercator(west, south)
    x1, y1 = _mercator(east, north)
    font = max(x1 - x0, y1 - y0) / LABEL_SPAN_FRACTION
    extent = (x0, y0, x1, y1)
    expected = place_labels(features, font, extent)
    calls = []
    monkeypatch.setattr(choropleth, "place_labels", lambda *a: calls.append(1) or place_labels(*a))
    monkeypatch.setattr(choropleth, "_PLACED", {})
    assert placed_labels(features, font, extent) == expected and len(calls) == 1
    assert placed_labels(copy.deepcopy(features), font, extent) == expected  # a fresh copy, as every render has
    assert len(calls) == 1
    assert placed_labels(features, font * 1.5, extent) == place_labels(features, font * 1.5, extent)
    assert len(calls) == 2
    moved = copy.deepcopy(features)  # one city's outline moved: its label must follow
    moved[0]["geometry"] = {"type": "Polygon", "coordinates": [[[x + 0.3, y] for x, y in ring]
                            for ring in _outer_rings(moved[0]["geometry"])[:1]]}
    assert placed_labels(moved, font, extent) == place_labels(moved, font, extent) != expected
    assert len(calls) == 3


def _outer_rings(geometry: dict) -> list:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"][0]]
    return [poly[0] for poly in geometry["coordinates"]]


def test_geo063_the_legend_takes_the_corner_where_it_hides_no_region():
    """Lanzhou's bottom right is 榆中县: a legend there covered the bottom of it on the wall. The
    legend goes to the corner whose box covers the least of the regions (its top right is empty)."""
    import shapely

    from layouts.choropleth import LEGEND_SHARE, _bounds, _mercator, _mercator_array

    fc = geojson("620100")
    values = {f["properties"]["code"]: 1.0 for f in fc["features"]}
    tree = choropleth_map(fc, values, id="m", metric_label="工单量", breaks=[1.0, 2.0, 3.0, 4.0], colors=DEFAULT_COLORS)
    legend = next(c for c in _walk(tree) if "ck-map-legend" in (getattr(c, "className", "") or "").split())
    corner = getattr(legend, "data-corner")
    (south, west), (north, east) = _bounds(fc)
    x0, y0 = _mercator(west, south)
    x1, y1 = _mercator(east, north)
    w, h = (x1 - x0) * LEGEND_SHARE[0], (y1 - y0) * LEGEND_SHARE[1]
    shapes = [shapely.transform(shapely.geometry.shape(f["geometry"]), _mercator_array) for f in fc["features"]]
    region = shapely.union_all(shapes)

    def hidden(c: str) -> float:
        left = x0 if c[1] == "l" else x1 - w
        bottom = y0 if c[0] == "b" else y1 - h
        return region.intersection(shapely.box(left, bottom, left + w, bottom + h)).area / (w * h)

    assert hidden("br") > 0.2  # where it was: over 榆中县
    assert hidden(corner) < 0.02, (corner, hidden(corner))
    assert ("ck-map-legend-top" in legend.className) == (corner[0] == "t")
    assert ("ck-map-legend-left" in legend.className) == (corner[1] == "l")
