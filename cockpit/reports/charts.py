"""Charts as inline SVG text: a report must open offline and print the same, so no script, no URL.

Pure functions of numbers -> an ``<svg>`` string (text escaped). Colours from one sequential ramp.
"""

from __future__ import annotations

import math
from html import escape

RAMP = ("#eef4fb", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c")  # light -> dark: fewer -> more
BAR = "#3182bd"
FONT = "font-family:'Noto Sans CJK SC','Noto Sans SC','Microsoft YaHei',sans-serif"


def bar_chart(items: list[tuple[str, float]], *, value_format: str = "{:,.0f}", width: int = 640,
              bar_height: int = 22) -> str:
    """Horizontal bars, largest first as given; labels left, values right."""
    if not items:
        return ""
    label_w, value_w, gap = 180, 70, 6
    top = max(v for _, v in items) or 1
    height = len(items) * (bar_height + gap) + gap
    rows = []
    for i, (label, value) in enumerate(items):
        y = gap + i * (bar_height + gap)
        w = max(0.0, (width - label_w - value_w) * (value / top))
        rows.append(
            f'<text x="{label_w - 8}" y="{y + bar_height * 0.7:.1f}" text-anchor="end" font-size="13">'
            f"{escape(str(label))}</text>"
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_height}" fill="{BAR}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + bar_height * 0.7:.1f}" font-size="13">'
            f"{escape(value_format.format(value))}</text>")
    return (f'<svg class="ck-chart" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" style="{FONT}" role="img">{"".join(rows)}</svg>')


def _rings(geometry: dict) -> list[list[list[float]]]:
    if geometry["type"] == "Polygon":
        return geometry["coordinates"]
    if geometry["type"] == "MultiPolygon":
        return [ring for poly in geometry["coordinates"] for ring in poly]
    return []


def class_breaks(values: list[float], n: int = len(RAMP) - 1) -> list[float]:
    """Upper bounds of ``n`` equal-count classes of the positive values (ascending, unique)."""
    positive = sorted(v for v in values if v > 0)
    if not positive:
        return []
    bounds = sorted({positive[min(len(positive) - 1, math.ceil(len(positive) * (k + 1) / n) - 1)]
                     for k in range(n)})
    return bounds


def colour(value: float, breaks: list[float]) -> str:
    if value <= 0 or not breaks:
        return RAMP[0]
    for k, upper in enumerate(breaks):
        if value <= upper:
            return RAMP[1 + min(k, len(RAMP) - 2)]
    return RAMP[-1]


def area_map(collection: dict, counts: dict[str, float], *, name_key: str = "name", width: int = 640,
             height: int = 440) -> str:
    """A choropleth of ``counts`` by feature ``code`` over a GeoJSON FeatureCollection (WGS84).

    Equirectangular projection scaled by cos(mid-latitude), fitted into ``width`` x ``height``;
    each area labelled with its name and count at its label point (or its bounding-box centre).
    """
    feats = [f for f in collection.get("features", []) if _rings(f["geometry"])]
    if not feats:
        return ""
    xs = [p[0] for f in feats for r in _rings(f["geometry"]) for p in r]
    ys = [p[1] for f in feats for r in _rings(f["geometry"]) for p in r]
    k = math.cos(math.radians((min(ys) + max(ys)) / 2))
    span_x, span_y = (max(xs) - min(xs)) * k or 1e-9, (max(ys) - min(ys)) or 1e-9
    pad = 10
    scale = min((width - 2 * pad) / span_x, (height - 2 * pad) / span_y)

    def pt(lon: float, lat: float) -> tuple[float, float]:
        return pad + (lon - min(xs)) * k * scale, pad + (max(ys) - lat) * scale

    breaks = class_breaks([float(v) for v in counts.values()])
    shapes, labels = [], []
    for f in feats:
        props = f["properties"]
        code = props.get("code")
        n = counts.get(code, 0)
        d = " ".join("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in (pt(*p[:2]) for p in ring)) + " Z"
                     for ring in _rings(f["geometry"]))
        shapes.append(f'<path d="{d}" fill="{colour(n, breaks)}" stroke="#ffffff" stroke-width="1">'
                      f"<title>{escape(str(props.get(name_key) or code))}: {n:,}</title></path>")
        if props.get("label_lon") is not None and props.get("label_lat") is not None:
            lx, ly = pt(props["label_lon"], props["label_lat"])
        else:
            ring = _rings(f["geometry"])[0]
            lx, ly = pt((min(p[0] for p in ring) + max(p[0] for p in ring)) / 2,
                        (min(p[1] for p in ring) + max(p[1] for p in ring)) / 2)
        dark = colour(n, breaks) in RAMP[4:]
        labels.append(f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="middle" font-size="12" '
                      f'fill="{"#ffffff" if dark else "#222222"}">{escape(str(props.get(name_key) or code))} '
                      f"{n:,}</text>")
    return (f'<svg class="ck-map" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" style="{FONT}" role="img">{"".join(shapes)}{"".join(labels)}</svg>')
