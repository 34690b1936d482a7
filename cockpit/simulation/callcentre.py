"""One city's call centre for one local day: staffing, shifts with breaks, and an FCFS queue.

Connection rate, waits and abandonment are not drawn: they come out of ``run_queue``, which
serves calls first-come-first-served on whichever seats are on shift and not on a break, while
each waiting caller hangs up when their patience runs out. All times here are seconds from the
local midnight of the simulated day.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from cockpit.simulation import profiles

# name, start, end (hours from local midnight); breaks are placed relative to the start.
SHIFTS: tuple[tuple[str, float, float], ...] = (
    ("A", 0.0, 8.0),  # night
    ("B", 7.0, 15.5),  # early
    ("C", 8.5, 17.5),  # day
    ("D", 11.0, 19.5),  # middle
    ("E", 15.5, 24.25),  # late; a quarter of an hour past midnight to empty the queue
)
MIN_DAY_SEATS = 3  # no centre leaves one person alone on the phones by day
SAFETY_BETA = 0.0  # square-root safety term; 0 staffs the bare load, rounding and shift overlaps add slack
BREAK_SHRINKAGE = 0.88  # share of a shift that a seat is available for calls
MEAN_HANDLE_S = math.exp(profiles.SERVICE_LOG_MU + profiles.SERVICE_LOG_SIGMA**2 / 2) + 50.0
TRAINING_SHARE = 0.08  # seats a day that also spend 45 min in training or a team meeting


@dataclass
class Seat:
    seat_id: str
    group: str
    start: float
    end: float
    breaks: list[tuple[float, float, str]] = field(default_factory=list)  # sorted, disjoint

    def available_at(self, t: float) -> float | None:
        """Earliest time >= t at which the seat may take a call, or None past the shift end."""
        for b0, b1, _reason in self.breaks:
            if b0 <= t < b1:
                t = b1
        return t if t < self.end else None


@dataclass
class Served:
    """One offered call and what happened to it; ``seat`` is None when it was abandoned."""

    arrival: float
    patience: float
    talk: float
    acw: float
    tag: int
    seat: int | None = None
    start: float = 0.0


def required_seats(hourly_calls: Sequence[float], handle_s: float = MEAN_HANDLE_S) -> list[int]:
    """Seats needed on the phones in each hour for the given expected calls per hour."""
    out = []
    for h, calls in enumerate(hourly_calls):
        load = calls * handle_s / 3600.0
        seats = (load + SAFETY_BETA * math.sqrt(load)) / BREAK_SHRINKAGE
        out.append(max(MIN_DAY_SEATS if 7 <= h < 22 else 1, math.ceil(seats)))
    return out


def plan_shifts(required: Sequence[int]) -> dict[str, int]:
    """Greedy cover of the hourly requirement with the fixed shift templates.

    For each hour in turn, any shortfall is filled with the template that covers the whole hour
    and starts latest, so it reaches furthest into the day.
    """
    counts = {name: 0 for name, _s, _e in SHIFTS}
    cover = [0] * 24
    for h in range(24):
        deficit = required[h] - cover[h]
        if deficit <= 0:
            continue
        s, name, e = max((s, name, e) for name, s, e in SHIFTS if s <= h and h + 1 <= e)
        counts[name] += deficit
        for k in range(24):
            if s <= k and k + 1 <= e:
                cover[k] += deficit
    return counts


def build_seats(
    city: str, counts: dict[str, int], rng: random.Random, absent: dict[str, float] | None = None
) -> list[Seat]:
    """Seats for the day with staggered breaks, lunch and the odd training or meeting.

    ``absent`` maps a shift name to the share of its seats that do not turn up (an incident).
    """
    seats: list[Seat] = []
    for name, s_h, e_h in SHIFTS:
        n = counts.get(name, 0)
        missing = round(n * (absent or {}).get(name, 0.0))
        for k in range(n):
            if k >= n - missing:
                break
            start, end = s_h * 3600.0, e_h * 3600.0
            wave = k % 4  # neighbouring seats never pause together
            breaks: list[tuple[float, float, str]] = []
            length = end - start
            first = start + 1.75 * 3600.0 + wave * 900.0
            breaks.append((first, first + 900.0, "break"))
            if length >= 8 * 3600.0 and name != "A":
                meal = start + length / 2 - 0.25 * 3600.0 + wave * 1800.0
                breaks.append((meal, meal + 1800.0, "lunch"))
                late = start + length - 2.25 * 3600.0 + wave * 900.0
                breaks.append((late, late + 900.0, "break"))
            if rng.random() < TRAINING_SHARE:
                reason = "training" if rng.random() < 0.6 else "meeting"
                t0 = start + 3.5 * 3600.0 + rng.random() * 1800.0
                if all(t0 + 2700.0 <= b0 or t0 >= b1 for b0, b1, _r in breaks):
                    breaks.append((t0, t0 + 2700.0, reason))
            breaks.sort()
            seats.append(Seat(f"{city}-{name}{k + 1:02d}", name, start, end, breaks))
    return seats


def run_queue(calls: list[Served], seats: list[Seat]) -> list[float]:
    """Serve ``calls`` (sorted by arrival) FCFS on ``seats``; fills ``seat`` and ``start``.

    A call is answered by the seat that can take it first; it is abandoned (``seat`` stays None)
    when that moment is later than arrival + patience. Returns each seat's busy-until time
    (after-call work included) at the end of the day.
    """
    free = [(seat.start, i) for i, seat in enumerate(seats)]
    heapq.heapify(free)
    busy_until = [seat.start for seat in seats]
    for call in calls:
        a = call.arrival
        while free:
            t, i = free[0]
            cand = a if a > t else t
            ok = seats[i].available_at(cand)
            if ok is None:
                heapq.heappop(free)
                continue
            if ok != cand:
                heapq.heapreplace(free, (ok, i))
                continue
            if cand - a > call.patience:
                break
            call.seat = i
            call.start = cand
            done = cand + call.talk + call.acw
            busy_until[i] = done
            heapq.heapreplace(free, (done, i))
            break
    return busy_until
