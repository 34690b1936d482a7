"""Draw the samples of a ``bench/soak.py --out FILE.json`` run as one SVG of small panels.

    python bench/soak_chart.py FILE.json docs/img/soak.svg

Four panels over the run's minutes, one line per series: memory (web processes, worker job, MB),
latency (POST and wall refresh p50/p95, ms), Redis (keys, keys without TTL, used MB) and events
(sent and stored, thousands; the sending rate). Plain SVG, no plotting library: the project does
not depend on one.
"""

from __future__ import annotations

import json
import sys
from html import escape
from pathlib import Path

WIDTH, PANEL_H, LEFT, RIGHT, TOP, GAP = 760, 150, 60, 170, 44, 34
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]


def _nice_max(value: float) -> float:
    """A round axis top at or above ``value``."""
    if value <= 0:
        return 1.0
    step = 10 ** (len(str(int(value))) - 1)
    for mult in (1, 2, 2.5, 5, 10):
        if value <= mult * step:
            return mult * step
    return 10 * step


def _panel(top: float, title: str, minutes: list[float], series: list[tuple[str, list[float | None]]],
           x_max: float, dashed: set[str] = frozenset(), scale_after: float = 0.0) -> list[str]:
    """One panel; with ``scale_after`` the y axis fits the samples after that minute (warm-up values
    above it are drawn at the top, and the title says how high they went)."""
    values = [v for _, ys in series for m, v in zip(minutes, ys) if v is not None and m > scale_after]
    y_max = _nice_max(max(values) if values else 1.0)
    off_scale = [v for _, ys in series for v in ys if v is not None and v > y_max]
    if off_scale:
        title += f" (warm-up up to {max(off_scale):,.0f}, off scale)"
    plot_w = WIDTH - LEFT - RIGHT
    out = [f'<text x="{LEFT}" y="{top - 8}" font-weight="bold">{escape(title)}</text>',
           f'<rect x="{LEFT}" y="{top}" width="{plot_w}" height="{PANEL_H}" fill="none" stroke="#999"/>']
    for i in range(5):  # horizontal grid and y labels
        y = top + PANEL_H - i * PANEL_H / 4
        out.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{y_max * i / 4:g}</text>')
    for minute in range(0, int(x_max) + 1, 5 if x_max > 10 else 1):  # x labels
        x = LEFT + plot_w * minute / x_max
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + PANEL_H}" stroke="#eee"/>')
        out.append(f'<text x="{x:.1f}" y="{top + PANEL_H + 14}" text-anchor="middle">{minute}</text>')
    for n, (name, ys) in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        points = [f"{LEFT + plot_w * m / x_max:.1f},{top + PANEL_H - PANEL_H * min(y, y_max) / y_max:.1f}"
                  for m, y in zip(minutes, ys) if y is not None]
        dash = ' stroke-dasharray="5,3"' if name in dashed else ""
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.6"{dash} points="{" ".join(points)}"/>')
        ly = top + 12 + 16 * n
        out.append(f'<line x1="{WIDTH - RIGHT + 10}" x2="{WIDTH - RIGHT + 30}" y1="{ly - 4}" y2="{ly - 4}" '
                   f'stroke="{colour}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{WIDTH - RIGHT + 35}" y="{ly}">{escape(name)}</text>')
    return out


def render(data: dict) -> str:
    samples, summary = data["samples"], data["summary"]
    minutes = [s["minute"] for s in samples]
    x_max = max(1.0, float(int(max(minutes) + 0.999))) if minutes else 1.0

    def col(key: str, scale: float = 1.0) -> list[float | None]:
        return [None if s.get(key) is None else s[key] * scale for s in samples]

    warm_up = 2.0  # minutes: gunicorn workers import, the panels are computed the first time
    panels = [
        ("Memory (RSS, MB)", [("web (gunicorn)", col("web_rss_mb")), ("worker job", col("job_rss_mb"))], set(), 0.0),
        ("Latency (ms)", [("POST p50", col("post_p50_ms")), ("POST p95", col("post_p95_ms")),
                          ("wall p50", col("wall_p50_ms")), ("wall p95", col("wall_p95_ms"))],
         {"POST p95", "wall p95"}, warm_up),
        ("Redis", [("keys", col("redis_keys")), ("keys without TTL", col("redis_keys_no_ttl")),
                   ("used MB", col("redis_mb"))], set(), 0.0),
        ("Events", [("sent (k)", col("sent", 1e-3)), ("stored (k)", col("stored", 1e-3)),
                    ("rate (events/s)", col("rate")), ("load avg x10", col("load1", 10))],
         {"stored (k)", "load avg x10"}, 0.0),
    ]
    height = TOP + len(panels) * (PANEL_H + GAP + 14) + 20
    head = (f"soak {summary['date']}: {summary['minutes']:g} min, {summary['sustained_rate']:g} of "
            f"{summary['target_rate']:g} events/s, {summary['walls']} walls polling, {summary['server']}")
    tail = (f"sent {summary['sent']:,}, stored {summary['stored']:,}, lost {summary['lost']}; "
            f"{summary['machine']}")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
           f'<text x="{LEFT}" y="14" font-size="12">{escape(head)}</text>',
           f'<text x="{LEFT}" y="30" font-size="11">{escape(tail)}</text>']
    for i, (title, series, dashed, scale_after) in enumerate(panels):
        top = TOP + 14 + i * (PANEL_H + GAP + 14)
        out += _panel(top, title, minutes, series, x_max, dashed, scale_after)
    out.append(f'<text x="{LEFT + (WIDTH - LEFT - RIGHT) / 2}" y="{height - 6}" text-anchor="middle">minutes</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.strip().split("\n\n")[1].strip())
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    target.write_text(render(json.loads(source.read_text())))


if __name__ == "__main__":
    main()
