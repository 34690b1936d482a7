"""Number formatting for screens: thousands separators, percentages, waits, changes. Pure functions."""

from __future__ import annotations


def fmt_int(value: float | None) -> str:
    return "—" if value is None else f"{int(round(value)):,}"


def fmt_pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def fmt_wait(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}" if s < 3600 else f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def fmt_change(value: float | None) -> str:
    """A relative change as '▲12%' / '▼3%'; a change that rounds to 0% is '±0%' (never '▼0%')."""
    if value is None:
        return "—"
    percent = round(abs(value) * 100)
    if percent == 0:
        return "±0%"
    return f"{'▲' if value > 0 else '▼'}{percent}%"


def rel(today: float | None, base: float | None) -> float | None:
    if today is None or not base:
        return None
    return (today - base) / base
