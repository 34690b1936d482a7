"""A ticket's life after it is written: dispatch, returns, transfers, response, closure, callback,
reopening. Everything is decided when the ticket is created, from the day's random stream, so a
day's tickets (and their steps days later) are the same whatever window is asked for.

Times are epoch seconds (UTC). Steps later than ``HORIZON_S`` after creation are not emitted: the
ticket simply stays open, as a few real ones do.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from cockpit.simulation import catalog

HORIZON_S = 14 * 86_400.0
DUE_H = {"normal": 120.0, "urgent": 24.0, "emergency": 2.0}
LOCAL_OFFSET_S = 8 * 3600.0

# (very_satisfied, satisfied, basic, dissatisfied, unreachable)
SAT_LEVELS = ("very_satisfied", "satisfied", "basic", "dissatisfied", "unreachable")
SAT_GOOD = (0.46, 0.34, 0.10, 0.04, 0.06)
SAT_POOR = (0.18, 0.24, 0.16, 0.34, 0.08)
SAT_LATE_SHIFT = 0.08  # closing late moves this much probability to "dissatisfied"
NO_CALLBACK_BASE, NO_CALLBACK_OVERUSE = 0.03, 0.38
RETURN_BASE_P, RETURN_PRONE_P = 0.03, 0.25
LONG_CHAIN_SHARE = 0.015  # tickets that wander through 3-4 units (over-long transfer)
REOPEN_SHARE = 0.6  # dissatisfied callbacks that are sent back for rework
RETURN_REASONS = ("非本单位职责范围", "诉求地址不在辖区", "需其他部门协同办理", "信息不全无法办理")
RESOLUTIONS = ("已现场核实并处理完毕", "已协调相关单位解决", "已向市民解释相关政策", "已责令整改并持续跟踪")


@dataclass
class TicketSpec:
    ticket_id: str
    created: float
    city: catalog.City
    district: catalog.District
    category: catalog.Category
    urgency: str
    consultation: bool = False


Emit = Callable[[float, str, dict], None]  # emit(t_epoch_s, type, fields)


def _office(t: float, rng: random.Random) -> float:
    """Move a unit's action out of the night to the next morning (08:00-10:00 local)."""
    local = (t + LOCAL_OFFSET_S) % 86_400.0
    if 8 * 3600.0 <= local < 20 * 3600.0:
        return t
    day0 = t - local + (86_400.0 if local >= 20 * 3600.0 else 0.0)
    return day0 + 8 * 3600.0 + rng.random() * 7200.0


def _lognorm(rng: random.Random, median_s: float, sigma: float) -> float:
    return median_s * math.exp(rng.gauss(0.0, sigma))


def _pick(rng: random.Random, weights: tuple[float, ...]) -> int:
    x = rng.random() * sum(weights)
    for i, w in enumerate(weights):
        x -= w
        if x < 0:
            return i
    return len(weights) - 1


def correct_unit(spec: TicketSpec, rng: random.Random) -> str:
    if spec.category.district_share and rng.random() < spec.category.district_share:
        return catalog.district_unit(spec.district)
    return spec.city.dept_unit(spec.category.dept)


def _wrong_unit(spec: TicketSpec, right: str, rng: random.Random) -> str:
    for _ in range(8):
        if rng.random() < 0.5 and len(spec.city.districts) > 1:
            unit = catalog.district_unit(rng.choice(spec.city.districts))
        else:
            unit = spec.city.dept_unit(rng.choice(catalog.CATEGORIES).dept)
        if unit != right:
            return unit
    return spec.city.hotline_unit


def simulate_ticket(spec: TicketSpec, rng: random.Random, emit: Emit) -> None:
    """Emit every step of one ticket after ``ticket.created`` (which the caller emits)."""
    t0 = spec.created
    limit = t0 + HORIZON_S
    if spec.consultation:
        emit(
            t0 + 5 + rng.random() * 25,
            "ticket.closed",
            {
                "ticket_id": spec.ticket_id,
                "unit": spec.city.hotline_unit,
                "resolution": "热线坐席直接答复",
                "no_callback": False,
            },
        )
        if rng.random() < 0.3:
            t = t0 + _lognorm(rng, 20 * 3600.0, 0.4)
            idx = _pick(rng, SAT_GOOD)
            emit(
                _office(t, rng),
                "ticket.callback",
                {"ticket_id": spec.ticket_id, "resolved": "yes", "satisfaction": SAT_LEVELS[idx]},
            )
        return

    due = t0 + DUE_H[spec.urgency] * 3600.0
    urgent = spec.urgency != "normal"
    right = correct_unit(spec, rng)
    u = rng.random()
    confidence = round(1.0 - 0.65 * u * u, 3)  # 0.35..1, 55 % at or above the auto threshold
    auto = confidence >= 0.8
    t = t0 + (30 + rng.random() * 150 if auto or spec.urgency == "emergency" else _lognorm(rng, 1500.0, 0.7))

    # Who gets it first, and how it travels until it reaches the unit that handles it.
    chain: list[str] = []
    if rng.random() < LONG_CHAIN_SHARE:
        chain = [_wrong_unit(spec, right, rng) for _ in range(2 + int(rng.random() * 2))]
    elif rng.random() < 0.3 * (1.0 - confidence):
        chain = [_wrong_unit(spec, right, rng)]
    unit = chain[0] if chain else right
    emit(
        t,
        "ticket.dispatched",
        {"ticket_id": spec.ticket_id, "unit": unit, "auto": auto, "confidence": confidence},
    )
    for nxt in (chain[1:] + [right]) if chain else ():
        t += _lognorm(rng, 1.5 * 3600.0 if urgent else 6 * 3600.0, 0.8)
        if t > limit:
            return
        if rng.random() < 0.6:
            emit(
                t,
                "ticket.returned",
                {"ticket_id": spec.ticket_id, "unit": unit, "reason": rng.choice(RETURN_REASONS[:2])},
            )
            t += _lognorm(rng, 40 * 60.0, 0.6)
            emit(t, "ticket.dispatched", {"ticket_id": spec.ticket_id, "unit": nxt, "auto": False})
        else:
            emit(t, "ticket.transferred", {"ticket_id": spec.ticket_id, "from_unit": unit, "to_unit": nxt})
        unit = nxt
    prone = unit in catalog.RETURN_PRONE
    if rng.random() < (RETURN_PRONE_P if prone else RETURN_BASE_P):
        t += _lognorm(rng, 5 * 3600.0, 0.8)
        if t > limit:
            return
        emit(
            t,
            "ticket.returned",
            {"ticket_id": spec.ticket_id, "unit": unit, "reason": rng.choice(RETURN_REASONS[2:])},
        )
        t += _lognorm(rng, 60 * 60.0, 0.6)
        emit(t, "ticket.dispatched", {"ticket_id": spec.ticket_id, "unit": unit, "auto": False})

    slow = unit in catalog.SLOW_UNITS
    for round_no in range(3):
        window = max(due - t, 1800.0)
        respond = t + min(
            _lognorm(rng, (0.08 if urgent else 0.05) * window, 0.7) * (2.0 if slow else 1.0), 0.9 * window
        )
        respond = respond if urgent else _office(respond, rng)
        close = respond + _lognorm(rng, (0.3 if urgent else 0.35) * window, 0.6) * (2.3 if slow else 1.0)
        close = close if urgent else _office(close, rng)
        if respond > limit:
            return
        emit(respond, "ticket.responded", {"ticket_id": spec.ticket_id, "unit": unit})
        if close > limit:
            return
        overuse = unit in catalog.NO_CALLBACK_OVERUSE
        no_cb = rng.random() < (NO_CALLBACK_OVERUSE if overuse else NO_CALLBACK_BASE)
        emit(
            close,
            "ticket.closed",
            {
                "ticket_id": spec.ticket_id,
                "unit": unit,
                "resolution": rng.choice(RESOLUTIONS),
                "no_callback": no_cb,
            },
        )
        if no_cb:
            return
        cb = _office(close + _lognorm(rng, 18 * 3600.0, 0.5), rng)
        if cb > limit:
            return
        weights = list(SAT_POOR if unit in catalog.POOR_SATISFACTION and round_no == 0 else SAT_GOOD)
        if close > due:
            weights[3] += SAT_LATE_SHIFT
        level = SAT_LEVELS[_pick(rng, tuple(weights))]
        if level == "unreachable":
            resolved = "unknown"
        elif level == "dissatisfied":
            resolved = "no" if rng.random() < 0.7 else "yes"
        else:
            resolved = "yes" if rng.random() < 0.95 else "no"
        emit(
            cb, "ticket.callback", {"ticket_id": spec.ticket_id, "resolved": resolved, "satisfaction": level}
        )
        if level != "dissatisfied" or rng.random() >= REOPEN_SHARE:
            return
        t = cb + _lognorm(rng, 2 * 3600.0, 0.5)
        if t > limit:
            return
        emit(t, "ticket.reopened", {"ticket_id": spec.ticket_id, "reason": "回访不满意，重新办理"})
        t += _lognorm(rng, 30 * 60.0, 0.5)
        emit(t, "ticket.dispatched", {"ticket_id": spec.ticket_id, "unit": unit, "auto": False})
        due = t + 72 * 3600.0
