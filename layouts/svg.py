"""Small inline SVG charts as data URIs (no plotting library on the wall: light first load)."""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence

CURVE_COLORS = {"today": "#3fa7ff", "last_week": "#f5a623", "median": "#8fa3c4"}


def _svg_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _points(values: Sequence[float], top: float, width: float, height: float, step: int,
            x_span: int) -> str:
    pts = []
    last = len(values) - 1
    for i in list(range(0, last + 1, step)) + ([last] if last % step else []):
        x = width * i / max(x_span - 1, 1)
        y = height - (values[i] / top * height if top else 0.0)
        pts.append(f"{x:.1f},{y:.1f}")
    return " ".join(pts)


def curve_svg(today: Sequence[float] | None, last_week: Sequence[float] | None,
              median: Sequence[float] | None, *, width: int = 640, height: int = 300, lang: str = "zh") -> str:
    """Cumulative day curves as an SVG data URI: x = local minute 0..1439, shared y scale.

    ``today`` may be shorter than a day (it fills in minute by minute); baselines are full days.
    Hour ticks every six hours; the top gridline is labelled with the y maximum.
    """
    pad_l, pad_b, pad_t = 56, 26, 10
    w, h = width - pad_l - 30, height - pad_b - pad_t
    top = max([c[-1] for c in (today, last_week, median) if c] + [1.0])
    top = _nice_ceiling(top)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'font-family="Noto Sans CJK SC, sans-serif" font-size="16">',
             f'<g transform="translate({pad_l},{pad_t})">']
    for k in range(5):
        y = h - h * k / 4
        parts.append(f'<line x1="0" y1="{y:.1f}" x2="{w}" y2="{y:.1f}" stroke="#22304d" stroke-width="1"/>')
        parts.append(f'<text x="-8" y="{y + 5:.1f}" fill="#8fa3c4" text-anchor="end">{_short(top * k / 4, lang)}</text>')
    for hour in (0, 6, 12, 18, 24):
        x = w * hour * 60 / 1439
        parts.append(f'<text x="{x:.1f}" y="{h + 20}" fill="#8fa3c4" text-anchor="middle">{hour:02d}:00</text>')
    for name, curve, dash in (("median", median, "6 5"), ("last_week", last_week, "2 0"), ("today", today, "")):
        if not curve:
            continue
        stroke = CURVE_COLORS[name]
        sw = 4 if name == "today" else 2.5
        dash_attr = f' stroke-dasharray="{dash}"' if dash and dash != "2 0" else ""
        parts.append(f'<polyline fill="none" stroke="{stroke}" stroke-width="{sw}"{dash_attr} '
                     f'stroke-linejoin="round" points="{_points(curve, top, w, h, 5, 1440)}"/>')
    parts.append("</g></svg>")
    return _svg_uri("".join(parts))


def hour_bars_svg(counts: Sequence[float], *, width: int = 640, height: int = 300, color: str = "#3fa7ff",
                  lang: str = "zh") -> str:
    """Counts per local hour (up to 24 bars, hour 0 first) as an SVG data URI, integer y axis."""
    pad_l, pad_b, pad_t = 56, 26, 10
    w, h = width - pad_l - 20, height - pad_b - pad_t
    top = _nice_ceiling(max(list(counts) + [4.0]))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'font-family="Noto Sans CJK SC, sans-serif" font-size="16">',
             f'<g transform="translate({pad_l},{pad_t})">']
    for k in range(5):
        y = h - h * k / 4
        parts.append(f'<line x1="0" y1="{y:.1f}" x2="{w}" y2="{y:.1f}" stroke="#22304d" stroke-width="1"/>')
        parts.append(f'<text x="-8" y="{y + 5:.1f}" fill="#8fa3c4" text-anchor="end">{_short(top * k / 4, lang)}</text>')
    slot = w / 24
    for hour, n in enumerate(list(counts)[:24]):
        bar_h = h * n / top if top else 0
        parts.append(f'<rect x="{hour * slot + slot * 0.15:.1f}" y="{h - bar_h:.1f}" width="{slot * 0.7:.1f}" '
                     f'height="{bar_h:.1f}" fill="{color}"/>')
    for hour in (0, 6, 12, 18, 24):
        parts.append(f'<text x="{hour * slot:.1f}" y="{h + 20}" fill="#8fa3c4" text-anchor="middle">{hour:02d}:00</text>')
    parts.append("</g></svg>")
    return _svg_uri("".join(parts))


def sparkline_svg(values: Sequence[float], *, width: int = 160, height: int = 36, color: str = "#3fa7ff") -> str:
    """A small line of ``values`` (e.g. tickets per day) as an SVG data URI; last point dotted."""
    if not values:
        return _svg_uri(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}"></svg>')
    top = max(max(values), 1)
    n = len(values)
    pts = [(2 + (width - 6) * i / max(n - 1, 1), height - 3 - (height - 6) * v / top) for i, v in enumerate(values)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    lx, ly = pts[-1]
    return _svg_uri(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}">'
        f'<polyline fill="none" stroke="{color}" stroke-width="2" stroke-linejoin="round" points="{line}"/>'
        f'<circle cx="{lx:.1f}" cy="{ly:.1f}" r="3" fill="{color}"/></svg>')


def _nice_ceiling(x: float) -> float:
    """The smallest 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^n that is >= x: a chart's y maximum that
    the data fill (2,600 gets 3,000, not 5,000) and whose quarters are round numbers."""
    if x <= 100:  # small counts: a multiple of 4, so the four gridlines fall on whole numbers
        return float(max(4, math.ceil(x / 4) * 4))
    return float(min((b * 10**e for b in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8) for e in range(0, 13)
                      if b * 10**e >= x), default=x))


def _short(value: float, lang: str = "zh") -> str:
    """An axis label: 12,500 -> '1.3万' in Chinese, '12.5k' in English; small fractions keep a decimal."""
    if value >= 10_000:
        if lang == "en":
            return f"{value / 1000:.1f}k".replace(".0k", "k")
        return f"{value / 10_000:.1f}万".replace(".0万", "万")
    if value < 100 and not float(value).is_integer():
        return f"{value:.1f}"
    return f"{value:,.0f}"
