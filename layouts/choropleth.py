"""Choropleth map builder (dash-leaflet 1.1) and stable class breaks.

Fill colours, tooltips and ranks are computed here, in Python, and put into each feature's
properties; the only JavaScript is the style function ``dashExtensions.cockpit.regionStyle`` in
assets/cockpit_map.js, which copies ``_fill`` into the Leaflet path style. No tile layer unless a
``tile_url`` is given: government networks are offline, so the default is a dark background
with region labels.
"""

from __future__ import annotations

import bisect
import copy
import hashlib
import json
import math
import threading
from collections.abc import Iterable
from html import escape as html_escape

import dash_leaflet as dl
import numpy as np
import shapely
import shapely.ops
from dash import html

from geo.names import has_cjk, map_label_zh
from layouts import i18n

# Five classes readable on the dark background, from calm (dark blue) to needing attention (red).
# A map whose metric is better when higher ("connection rate") runs the palette the other way, so
# on every map red means "look here" and a good region never reads as a bad one.
DEFAULT_COLORS = ["#1d3557", "#2a6f97", "#61a5c2", "#f4a261", "#e63946"]
MIN_CLASSES = 5
NO_DATA_COLOR = "#3a4458"
BACKGROUND = "#0b1220"
STYLE_FUNCTION = {"variable": "dashExtensions.cockpit.regionStyle"}
HOVER_FUNCTION = {"variable": "dashExtensions.cockpit.regionHover"}
# Labels: the font is 1/LABEL_SPAN_FRACTION of the map's larger span (so it scales with the panel,
# as the map does); a label box is LABEL_LINE_EM high, its text plus LABEL_PAD_EM wide, and two
# boxes keep LABEL_GAP_EM apart. FIT_PADDING_PX is the margin fitBounds leaves on each side.
LABEL_SPAN_FRACTION = 40
LABEL_LINE_EM, LABEL_PAD_EM, LABEL_GAP_EM = 1.3, 0.4, 0.1
FIT_PADDING_PX = 6
# The legend's box as a share of the map's extent (width, height), a little generous: at wall scale it
# is about a fifth of the map panel each way, and the panel is at least as large as the extent.
LEGEND_SHARE = (0.25, 0.3)
LEGEND_CORNERS = ("br", "tr", "bl", "tl")  # in order of preference when they hide as much
_PLACED: dict[tuple, list[tuple[float, float]]] = {}  # label positions by regions, texts, font, extent
_PLACED_LOCK = threading.Lock()
NICE_MANTISSAS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def _sub_id(id: str | dict, part: str) -> str | dict:
    if isinstance(id, dict):
        return {**id, "part": part}
    return f"{id}-{part}"


def _nice(x: float) -> float:
    """``x`` rounded to a nearby 'nice' number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^n)."""
    if x == 0 or not math.isfinite(x):
        return 0.0
    sign = -1.0 if x < 0 else 1.0
    e = math.floor(math.log10(abs(x)))
    m = abs(x) / 10**e
    best = min(NICE_MANTISSAS, key=lambda c: abs(c - m))
    return sign * float(f"{best * 10**e:.12g}")


def stable_breaks(values: Iterable[float | None] | dict, k: int = 5) -> list[float]:
    """Up to k-1 ascending class breaks for a choropleth, rounded to nice numbers.

    Quantile breaks (so each class holds about the same number of regions) rounded to
    1/1.2/1.5/2/2.5/3/4/5/6/8 x 10^n: a few percent of drift in the numbers as they tick
    keeps the same breaks, so colours do not flicker. None/NaN are ignored; duplicates and
    breaks outside (min, max] are dropped. Class of a value v = number of breaks <= v.
    """
    if isinstance(values, dict):
        values = values.values()
    data = sorted(float(v) for v in values if v is not None and math.isfinite(float(v)))
    if len(data) < 2 or data[0] == data[-1] or k < 2:
        return []
    lo, hi = data[0], data[-1]
    breaks: list[float] = []
    for i in range(1, k):
        pos = (len(data) - 1) * i / k
        below = math.floor(pos)
        q = data[below] + (data[min(below + 1, len(data) - 1)] - data[below]) * (pos - below)
        b = _nice(q)
        if lo < b <= hi and (not breaks or b > breaks[-1]):
            breaks.append(b)
    return breaks


def _round_to(x: float, decimals: int) -> float:
    return float(round(x, decimals)) if decimals < 12 else x


def classify(values: Iterable[float | None] | dict, k: int = MIN_CLASSES, *, integer: bool = False) -> list[float]:
    """Breaks for up to ``k`` classes of the data, for screen maps (class of v = breaks <= v).

    With at most ``k`` distinct values every value gets its own class (so a zero never shares a
    colour with a one). Otherwise quantile breaks (each class about as many regions), rounded to
    the coarsest precision of the data's range that still keeps ``k`` classes: percentages
    96.2 .. 98.4 break at tenths, counts 30 .. 1,600 at tens; the rounding keeps the colours
    from flickering as the figures tick. ``integer`` rounds breaks up to whole numbers (counts).
    None/NaN are ignored; fewer than two distinct values give no breaks.
    """
    if isinstance(values, dict):
        values = values.values()
    data = sorted(float(v) for v in values if v is not None and math.isfinite(float(v)))
    distinct = sorted(set(data))
    if len(distinct) < 2 or k < 2:
        return []
    if len(distinct) <= k:
        return distinct[1:]
    lo, hi = data[0], data[-1]
    # Quantile breaks placed on distinct data values, so no class is empty (a break interpolated
    # between two counts could leave a class with no region, showing fewer colours than the data
    # has). The j-th break may use at most the value that still leaves room for the breaks after it.
    raw: list[float] = []
    j = 0
    for i in range(1, k):
        target = len(data) * i / k
        last = len(distinct) - (k - i)
        j = max(j + 1, bisect.bisect_left(distinct, data[min(math.ceil(target), len(data) - 1)]))
        j = min(j, last)
        raw.append(distinct[j])
    coarse = -math.floor(math.log10((hi - lo) / (2 * k)))
    best: list[float] = []
    best_used = 0
    for decimals in range(min(coarse, 12), 13):
        breaks: list[float] = []
        for q in raw:
            b = _round_to(q, decimals)
            if integer:
                b = float(math.ceil(b))
            if lo < b <= hi and (not breaks or b > breaks[-1]):
                breaks.append(b)
        used = len({class_index(v, breaks) for v in distinct})
        if used > best_used:
            best, best_used = breaks, used
        if best_used == k:
            break
    return best


def class_colors(n_classes: int, *, better: str = "lower") -> list[str]:
    """``n_classes`` colours from calm to alert; ``better='higher'`` reverses them (low = red)."""
    n = max(n_classes, 1)
    if n == 1:
        colors = [DEFAULT_COLORS[1]]
    elif n >= len(DEFAULT_COLORS):
        colors = list(DEFAULT_COLORS[:n]) if n == len(DEFAULT_COLORS) else [
            DEFAULT_COLORS[min(len(DEFAULT_COLORS) - 1, i * len(DEFAULT_COLORS) // n)] for i in range(n)]
    else:
        colors = [DEFAULT_COLORS[round(i * (len(DEFAULT_COLORS) - 1) / (n - 1))] for i in range(n)]
    return colors[::-1] if better == "higher" else colors


def class_index(value: float, breaks: list[float]) -> int:
    """Class of ``value``: 0 below the first break, len(breaks) at or above the last."""
    return bisect.bisect_right(breaks, value)


i18n.register({
    "map.no_data": {"zh": "无数据", "en": "No data"},
    "map.all": {"zh": "全部", "en": "All"},
    "map.rank": {"zh": "第 {rank} / {total} 名", "en": "Rank {rank} of {total}"},
})


def _fmt(value: float | None, lang: str = i18n.DEFAULT_LANG) -> str:
    if value is None:
        return i18n.t("map.no_data", lang)
    if float(value).is_integer():
        return f"{int(value):,}"
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return text


def _ranks(values: dict[str, float | None]) -> dict[str, int]:
    """1 = highest; ties share the better rank."""
    known = sorted((v for v in values.values() if v is not None), reverse=True)
    return {code: known.index(v) + 1 for code, v in values.items() if v is not None}


def _legend(metric_label: str, breaks: list[float], colors: list[str], lang: str, corner: str = "br") -> html.Div:
    labels = []
    if not breaks:
        labels.append((colors[0], i18n.t("map.all", lang)))
    else:
        labels.append((colors[0], f"< {_fmt(breaks[0])}"))
        for i in range(1, len(breaks)):
            labels.append((colors[i], f"{_fmt(breaks[i - 1])} – {_fmt(breaks[i])}"))
        labels.append((colors[len(breaks)], f"≥ {_fmt(breaks[-1])}"))
    labels.append((NO_DATA_COLOR, i18n.t("map.no_data", lang)))
    rows = [
        html.Div([html.Span(className="ck-map-swatch", style={"background": c}), html.Span(text)],
                 className="ck-map-legend-row")
        for c, text in labels
    ]
    title = html.Div(metric_label, className="ck-map-legend-title")
    # Sizes live in assets/cockpit_map.css (wall screens scale them with the viewport).
    place = {"t": " ck-map-legend-top", "b": ""}[corner[0]] + {"l": " ck-map-legend-left", "r": ""}[corner[1]]
    return html.Div([title, *rows], className="ck-map-legend" + place, **{"data-corner": corner})


def _bounds(geojson: dict) -> list[list[float]] | None:
    geoms = [shapely.geometry.shape(f["geometry"]) for f in geojson.get("features", []) if f.get("geometry")]
    if not geoms:
        return None
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    return [[float(miny), float(minx)], [float(maxy), float(maxx)]]


def _label_point(geom) -> shapely.Point:
    """Where a region's name goes by default: the pole of inaccessibility of its largest part
    (polylabel), the point inside it farthest from its edges, so a thin or bent district's label
    never lands on its neighbour (a centroid can)."""
    parts = list(getattr(geom, "geoms", [geom]))
    largest = max(parts, key=lambda g: g.area)
    minx, miny, maxx, maxy = largest.bounds
    try:
        return shapely.ops.polylabel(largest, tolerance=max(maxx - minx, maxy - miny) / 200)
    except Exception:  # noqa: BLE001 - a degenerate ring: any point inside will do
        return largest.point_on_surface()


def _mercator(lon: float, lat: float) -> tuple[float, float]:
    """Web Mercator in degrees of longitude, the plane Leaflet draws and fits bounds in."""
    lat = max(-85.0, min(85.0, lat))
    return lon, math.degrees(math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)))


def _mercator_array(coords: np.ndarray) -> np.ndarray:
    lat = np.radians(np.clip(coords[:, 1], -85.0, 85.0))
    return np.column_stack([coords[:, 0], np.degrees(np.log(np.tan(np.pi / 4 + lat / 2)))])


def _unmercator(x: float, y: float) -> tuple[float, float]:
    return math.degrees(2 * math.atan(math.exp(math.radians(y))) - math.pi / 2), x


def _label_text(feature: dict) -> str:
    props = feature["properties"]
    name = props.get("name") or props["code"]
    return map_label_zh(name) if has_cjk(name) else name


def _text_em(text: str) -> float:
    """Width of ``text`` in em of the label font, a little generous (CJK 1 em, Latin about 0.6)."""
    return sum(1.0 if has_cjk(ch) else 0.62 for ch in text) + LABEL_PAD_EM


def _boxes_overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_labels(features: list[dict], font: float,
                 extent: tuple[float, float, float, float]) -> list[tuple[float, float]]:
    """(lat, lon) for each feature's label, so no two labels' boxes overlap where the map allows.

    ``font`` is the label font size in Web Mercator degrees (what the map's CSS sizes it to) and
    ``extent`` (minx, miny, maxx, maxy) the fitted map in the same plane; labels stay inside it.
    Each label starts at its region's polylabel; where that box would cover a label already
    placed (regions are placed smallest first: they have the fewest good spots) it moves to the
    nearest of the points around it, one half to two label sizes away, that is still on its own
    region and covers no label. Pure geometry: the same regions give the same positions.
    """
    shapes = [shapely.transform(shapely.geometry.shape(f["geometry"]), _mercator_array) for f in features]
    half_h = LABEL_LINE_EM * font / 2
    gap = LABEL_GAP_EM * font
    placed: list[tuple[float, float, float, float]] = []
    result: list[tuple[float, float] | None] = [None] * len(features)
    order = sorted(range(len(features)), key=lambda i: shapes[i].area)
    for i in order:
        shape = shapes[i]
        half_w = _text_em(_label_text(features[i])) * font / 2
        home = _label_point(shape)
        near = shape.buffer(half_h)
        candidates = [(home.x, home.y)]
        for step in (0.5, 1.0, 1.5, 2.0):
            for k in range(16):
                angle = 2 * math.pi * k / 16
                candidates.append((home.x + math.cos(angle) * step * 2 * half_w,
                                   home.y + math.sin(angle) * step * 2 * half_h * 1.6))
        best, best_cost = candidates[0], math.inf
        for rank, (x, y) in enumerate(candidates):
            box = (x - half_w - gap, y - half_h - gap, x + half_w + gap, y + half_h + gap)
            inside = (extent[0] <= x - half_w and x + half_w <= extent[2]
                      and extent[1] <= y - half_h and y + half_h <= extent[3])
            if rank and not near.contains(shapely.Point(x, y)):
                continue
            clashes = sum(_boxes_overlap(box, p) for p in placed)
            cost = clashes * 1000 + (0 if inside else 100) + math.hypot(x - home.x, (y - home.y)) / font
            if cost < best_cost:
                best, best_cost = (x, y), cost
        x, y = best
        placed.append((x - half_w, y - half_h, x + half_w, y + half_h))
        result[i] = _unmercator(x, y)
    return [r for r in result if r is not None]


def legend_corner(features: list[dict], extent: tuple[float, float, float, float]) -> str:
    """The corner of the map ("br", "tr", "bl", "tl": bottom/top, left/right) whose legend box
    (``LEGEND_SHARE`` of the extent, in Web Mercator like ``extent``) covers the least area of the
    regions, bottom right first among equals: the legend goes where it hides no region (Lanzhou's
    bottom right is 榆中县; its top right is empty)."""
    shapes = [shapely.transform(shapely.geometry.shape(f["geometry"]), _mercator_array)
              for f in features if f.get("geometry")]
    if not shapes:
        return "br"
    x0, y0, x1, y1 = extent
    w, h = (x1 - x0) * LEGEND_SHARE[0], (y1 - y0) * LEGEND_SHARE[1]
    boxes = {"br": (x1 - w, y0, x1, y0 + h), "tr": (x1 - w, y1 - h, x1, y1),
             "bl": (x0, y0, x0 + w, y0 + h), "tl": (x0, y1 - h, x0 + w, y1)}
    covered = {c: float(shapely.area(shapely.intersection(shapes, shapely.box(*boxes[c]))).sum())
               for c in LEGEND_CORNERS}
    least = min(covered.values())
    return next(c for c in LEGEND_CORNERS if covered[c] <= least * 1.05 + 1e-12)


def _geometry_digest(features: list[dict]) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for feature in features:
        digest.update(json.dumps(feature.get("geometry"), separators=(",", ":")).encode())
    return digest.hexdigest()


def kept_legend_corner(features: list[dict], extent: tuple[float, float, float, float],
                       digest: str | None = None) -> str:
    """``legend_corner``, kept per process like the label positions (same regions and extent).
    ``digest``: the regions' ``_geometry_digest`` when the caller knows it already."""
    key = ("legend", digest or _geometry_digest(features), tuple(extent))
    found = _PLACED.get(key)
    if found is None:
        found = legend_corner(features, extent)
        with _PLACED_LOCK:
            _PLACED[key] = found
    return found


def placed_labels(features: list[dict], font: float, extent: tuple[float, float, float, float],
                  digest: str | None = None) -> list[tuple[float, float]]:
    """``place_labels``, kept per process for the same regions (their geometry, hashed), label
    texts, font and extent. Placement is pure geometry (~230 ms for Gansu's 14 cities) while a
    screen's map is rebuilt whenever a value on it changes (its signature), i.e. every few
    seconds with live traffic; the positions only change with the boundaries or the language."""
    key = (digest or _geometry_digest(features), tuple(_label_text(f) for f in features), font, tuple(extent))
    found = _PLACED.get(key)
    if found is None:
        found = place_labels(features, font, extent)
        with _PLACED_LOCK:
            if len(_PLACED) > 256:  # every screen map of a province in two languages, with room
                _PLACED.clear()
            _PLACED[key] = found
    return list(found)


def choropleth_map(geojson: dict, values: dict[str, float | None], *, id: str | dict, metric_label: str,
                   breaks: list[float], colors: list[str], tile_url: str = "", labels: bool = True,
                   height: str = "100%", lang: str = i18n.DEFAULT_LANG, owned: bool = False,
                   geometry_digest: str | None = None):
    """A dark choropleth of ``geojson`` regions coloured by ``values[code]``, with legend and tooltips.

    ``geojson`` is a FeatureCollection whose features carry ``properties.code`` and ``.name``
    (as from ``geo.boundaries.geojson``); it is not modified unless ``owned`` (a fresh dict the caller
    hands over: decorated in place, not copied). ``geometry_digest``: the regions' geometry digest
    when the caller keeps one (else hashed here), the key of the kept label positions and legend
    corner; the copy and two hashes were most of a province map's render. ``colors`` needs
    len(breaks)+1 entries (class i = number of breaks <= value); regions missing from ``values`` or None get
    the no-data colour. The tooltip shows name, value and rank (1 = highest). The GeoJSON layer
    gets ``id`` (use its clickData for drill-down); the Map gets ``id`` + part 'map'.
    Returns an ``html.Div`` holding the map and the legend; the map is fitted to the regions'
    bounds and fitted again whenever its box changes size (``data-ck-fit``, assets/cockpit_map.js).
    """
    if len(colors) < len(breaks) + 1:
        raise ValueError(f"need {len(breaks) + 1} colors for {len(breaks)} breaks, got {len(colors)}")
    data = geojson if owned else copy.deepcopy(geojson)
    digest = geometry_digest or _geometry_digest(data.get("features", []))
    present = {f["properties"]["code"]: values.get(f["properties"]["code"]) for f in data.get("features", [])}
    ranks = _ranks(present)
    total = len(ranks)
    markers = []
    for feature in data.get("features", []):
        props = feature["properties"]
        value = present[props["code"]]
        props["value"] = value
        props["rank"] = ranks.get(props["code"])
        props["_fill"] = NO_DATA_COLOR if value is None else colors[class_index(value, breaks)]
        rank_text = (i18n.t("map.rank", lang).format(rank=ranks[props["code"]], total=total)
                     if value is not None else "")
        props["tooltip"] = f"<b>{props.get('name', props['code'])}</b><br>{metric_label}: {_fmt(value, lang)}" + (
            f"<br>{rank_text}" if rank_text else "")
    bounds = _bounds(data)
    box_style: dict = {}
    corner = "br"
    if bounds is not None:
        (south, west), (north, east) = bounds
        corner = kept_legend_corner(data.get("features", []), (*_mercator(west, south), *_mercator(east, north)),
                                    digest)
    if labels and bounds is not None:
        (south, west), (north, east) = bounds
        x0, y0 = _mercator(west, south)
        x1, y1 = _mercator(east, north)
        span_x, span_y = max(x1 - x0, 1e-9), max(y1 - y0, 1e-9)
        font = max(span_x, span_y) / LABEL_SPAN_FRACTION
        # fitBounds scales the map by min(width / span_x, height / span_y) (less the padding); the
        # font follows the same rule through container units, so labels keep the size in map
        # degrees that ``place_labels`` placed them with, at 1080p and 4K alike.
        pad = 2 * FIT_PADDING_PX
        box_style = {"--ck-map-label-w": f"calc((100cqw - {pad}px) * {font / span_x:.5f})",
                     "--ck-map-label-h": f"calc((100cqh - {pad}px) * {font / span_y:.5f})"}
        features = data.get("features", [])
        for feature, (lat, lon) in zip(features, placed_labels(features, font, (x0, y0, x1, y1), digest)):
            text = html_escape(_label_text(feature))
            markers.append(dl.DivMarker(
                position=[round(lat, 4), round(lon, 4)], interactive=False,
                iconOptions={"className": "ck-map-label", "html": f"<span>{text}</span>",
                             "iconSize": [0, 0], "iconAnchor": [0, 0]}))
    children = []
    if tile_url:
        children.append(dl.TileLayer(url=tile_url, attribution=""))
    children.append(dl.GeoJSON(id=id, data=data, style=STYLE_FUNCTION, hoverStyle=HOVER_FUNCTION,
                               zoomToBounds=False))
    if markers:
        children.append(dl.LayerGroup(markers, id=_sub_id(id, "labels")))
    # Fit through ``viewport`` (not the ``bounds`` prop: with viewport tracking on, dash-leaflet
    # 1.1.3 throws "reading 'equals'" in the browser console when ``bounds`` is set).
    map_kwargs: dict = {"center": [35.0, 104.0], "zoom": 4}
    fit_attrs: dict = {}
    if bounds is not None:
        (south, west), (north, east) = bounds
        span = max(east - west, (north - south) * 1.3, 1e-6)
        map_kwargs = {"center": [(south + north) / 2, (west + east) / 2],
                      "zoom": max(1, min(18, math.floor(math.log2(360 / span)))),
                      "viewport": {"bounds": bounds, "transition": "fitBounds",
                                  "options": {"padding": [FIT_PADDING_PX, FIT_PADDING_PX]}}}
        # assets/cockpit_map.js fits the map to these bounds again whenever its box changes size:
        # dash-leaflet fits it once, at mount, to whatever size the box had then.
        fit_attrs = {"data-ck-fit": json.dumps({"bounds": bounds, "padding": FIT_PADDING_PX})}
    # zoomSnap 0: fit the bounds exactly, not the nearest tenth of a zoom level below (up to 7 %
    # smaller), so the region fills its panel. No viewport tracking: nothing reads a screen map's
    # view, and dash-leaflet sends each move back as props and applies them to the map when they
    # come back rendered, after a refit on resize too (under load the map went back to the
    # previous fit, partly outside its box), and reads a map removed meanwhile (console errors).
    leaflet = dl.Map(children, id=_sub_id(id, "map"), zoomSnap=0, attributionControl=False, trackViewport=False,
                     style={"height": height, "width": "100%", "background": BACKGROUND}, **map_kwargs)
    return html.Div([leaflet, _legend(metric_label, breaks, colors, lang, corner)], className="ck-map",
                    style={"position": "relative", "height": height, "width": "100%", **box_style}, **fit_attrs)
