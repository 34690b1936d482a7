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
    if value is None:
        return "—"
    arrow = "▲" if value > 0 else ("▼" if value < 0 else "")
    return f"{arrow}{abs(value) * 100:.0f}%"


def rel(today: float | None, base: float | None) -> float | None:
    if today is None or not base:
        return None
    return (today - base) / base
