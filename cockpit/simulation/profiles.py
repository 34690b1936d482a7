"""Arrival, patience and service-time profiles of the simulated call centres.

The fitted constants below were produced by ``scripts/fit_profiles.py`` from the Technion
"Anonymous Bank" call log (February 1999); docs/simulation.md gives the method and the fit.
Everything marked *assumption* is a modelling choice for a 24/7 public hotline that the bank's
log cannot tell (it closed at weekends and kept no after-call work).
"""

from __future__ import annotations

import math
from datetime import date

from cockpit.periods import CN_HOLIDAYS

# --- fitted by scripts/fit_profiles.py (Technion Anonymous Bank, 1999-02; 30,277 calls on 20 workdays)
HOUR_SHAPE_FITTED = (
    0.00319,
    0.00096,
    0.00046,
    0.00012,
    0.00012,
    0.00060,
    0.00332,
    0.02664,
    0.06259,
    0.07181,
    0.08308,
    0.07436,
    0.06259,
    0.07691,
    0.07669,
    0.07558,
    0.07678,
    0.06245,
    0.05571,
    0.04395,
    0.03928,
    0.04066,
    0.03531,
    0.02682,
)
WEEKDAY_LEVEL_FITTED = (1.0115, 0.9456, 1.0478, 1.0391, 0.9560)  # Mon..Fri <- the bank's Sun..Thu
PATIENCE_MEAN_S = 347.7  # exponential, censored MLE: 3,932 abandons / 1,367,207 s waited
SERVICE_LOG_MU = 4.5634  # lognormal talk+hold time, ln seconds (median 95.9 s)
SERVICE_LOG_SIGMA = 1.2602

# --- assumptions for a 24/7 hotline
NIGHT_FLOOR = 0.004  # a 12345 line answers all night: no hour below 0.4 % of the day's calls
WEEKEND_LEVEL = 0.68  # Saturday/Sunday volume against an average workday
HOLIDAY_LEVEL = 0.60  # public holidays: a little below a Sunday
SERVICE_MAX_S = 3600.0  # the log's longest call was 4,264 s; cap the lognormal tail at an hour
HOLD_SHARE = 0.18  # share of calls with a hold; hold time is part of the fitted service time
ACW_TICKET_LOG_MU = math.log(50.0)  # after-call work when a ticket is written: median 50 s
ACW_TICKET_LOG_SIGMA = 0.5
ACW_PLAIN_LOG_MU = math.log(12.0)  # after a consultation answered at once: median 12 s
ACW_PLAIN_LOG_SIGMA = 0.5
# Web, WeChat and app messages arrive later into the evening than calls (assumption).
MESSAGE_EVENING_SHIFT_H = 1.5


def _floored(shape: tuple[float, ...]) -> tuple[float, ...]:
    raised = [max(x, NIGHT_FLOOR) for x in shape]
    total = sum(raised)
    return tuple(x / total for x in raised)


HOUR_SHAPE: tuple[float, ...] = _floored(HOUR_SHAPE_FITTED)
"""Share of a day's calls in each local hour 0..23 (sums to 1)."""


def _message_shape() -> tuple[float, ...]:
    shifted = []
    whole = int(MESSAGE_EVENING_SHIFT_H)
    frac = MESSAGE_EVENING_SHIFT_H - whole
    for h in range(24):
        a = HOUR_SHAPE[(h - whole) % 24]
        b = HOUR_SHAPE[(h - whole - 1) % 24]
        shifted.append((1 - frac) * a + frac * b)
    flat = [0.7 * x + 0.3 / 24 for x in shifted]
    total = sum(flat)
    return tuple(x / total for x in flat)


MESSAGE_HOUR_SHAPE: tuple[float, ...] = _message_shape()
"""Share of a day's web/WeChat/app messages in each local hour (flatter, later than calls)."""

_WORKDAY_MEAN = sum(WEEKDAY_LEVEL_FITTED) / 5
DAY_LEVEL: tuple[float, ...] = tuple(x / _WORKDAY_MEAN for x in WEEKDAY_LEVEL_FITTED) + (WEEKEND_LEVEL,) * 2
"""Volume of each weekday (Monday = 0) against an average workday."""

HOLIDAYS: frozenset[date] = CN_HOLIDAYS  # the State Council days off (cockpit.periods)


def day_level(day: date) -> float:
    """Volume of a local calendar day against an average workday (holidays lowest)."""
    if day in HOLIDAYS:
        return HOLIDAY_LEVEL
    return DAY_LEVEL[day.weekday()]


def is_workday(day: date) -> bool:
    """True on Monday..Friday that are not public holidays (used for staffing and unit hours)."""
    return day.weekday() < 5 and day not in HOLIDAYS


def hourly_call_rates(daily_calls: float, day: date) -> list[float]:
    """Expected calls offered in each local hour 0..23 of ``day`` for a city of ``daily_calls``.

    ``daily_calls`` is the volume of an average workday; the result includes the day's level.
    """
    level = day_level(day)
    return [daily_calls * level * s for s in HOUR_SHAPE]
