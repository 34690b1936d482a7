"""Per-minute curves of one local day (1,440 values): pure helpers for the wall's comparison curves."""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median

MINUTES = 1440


def cumulative(values: Sequence[int | float]) -> list[float]:
    """Running sum of ``values``."""
    out, total = [], 0.0
    for v in values:
        total += v
        out.append(total)
    return out


def intervals_to_minutes(per_interval: Sequence[float], minutes_per_interval: int = 15) -> list[float]:
    """Cumulative per-minute curve (1,440 values) from per-interval counts of one local day.

    Counts are spread evenly over their interval, so the curve is piecewise linear between
    interval ends and equals the exact cumulative count at every interval boundary.
    """
    out: list[float] = []
    total = 0.0
    for count in per_interval:
        step = count / minutes_per_interval
        for _ in range(minutes_per_interval):
            total += step
            out.append(total)
    return (out + [total] * MINUTES)[:MINUTES]


def median_curve(curves: Sequence[Sequence[float] | None]) -> list[float] | None:
    """Pointwise median of the curves present (None entries skipped); None if none is."""
    present = [c for c in curves if c is not None]
    if not present:
        return None
    return [median(values) for values in zip(*present)]
