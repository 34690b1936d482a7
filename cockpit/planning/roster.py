"""Shift rostering: how many people work each shift so every 15-minute interval has the seats the
forecast needs, for the least paid time. An integer program solved by HiGHS (``scipy.optimize.milp``).

Variables, for shifts s (a template on a day), break rules k of s and allowed break starts t:

* ``x[s]`` people on shift s (integer, ``min_staff <= x[s] <= max_staff``);
* ``b[s,k,t]`` people of shift s taking break k at start t (integer; ``sum_t b[s,k,t] = x[s]``;
  ``2 b[s,k,t] <= x[s] + 1``: at most half of a shift, rounded up, pause together, so seats taken
  in turn - neighbours - never pause together);
* ``u[i]`` seats short in interval i (continuous, >= 0).

Coverage: ``sum_s x[s] on(s, i) - sum b[s,k,t] pause(k, t, i) + u[i] >= need[i]``. Objective:
paid hours ``sum x[s] paid(s)`` + ``SHORT_PENALTY`` per seat-hour short, so templates that cannot
cover an interval (max staff, no shift at that hour) still give the best plan and say where it
falls short. Interval indices are 0-based in the solved horizon; ``cyclic`` wraps a shift that
runs past the end back to the start (a week that repeats: Sunday's night shift covers Monday's
early hours). Pure functions except ``week_plan`` (read-only SQL through the forecast).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import numpy as np

from cockpit import timeutil
from cockpit.metrics import definitions


from cockpit.metrics import staffing
from cockpit.settings import Settings
from cockpit.errors import ParamError

PER_HOUR = 4
SHORT_PENALTY = 1000.0  # paid hours a seat-hour short is worth: coverage first, cost second
TIME_LIMIT_S = 30.0
MIP_GAP = 0.005

# Default shift templates of a 24/7 hotline (the setting ``planning.templates`` replaces them).
# start local HH:MM; hours on site, breaks included (unpaid lunch); breaks: minutes, and the
# window of their start in hours after the shift start; lunch likewise, unpaid.
DEFAULT_TEMPLATES: tuple[dict[str, Any], ...] = (
    {"name": "N", "start": "00:00", "hours": 8, "breaks": [{"minutes": 15, "from_h": 2, "to_h": 3},
                                                          {"minutes": 15, "from_h": 5, "to_h": 6}],
     "min": 1, "max": 60},
    {"name": "E", "start": "07:00", "hours": 8.5, "breaks": [{"minutes": 15, "from_h": 1.5, "to_h": 2.5},
                                                            {"minutes": 15, "from_h": 6, "to_h": 7}],
     "lunch": {"minutes": 30, "from_h": 3.75, "to_h": 5}, "min": 0, "max": 200},
    {"name": "D", "start": "08:30", "hours": 8.5, "breaks": [{"minutes": 15, "from_h": 1.5, "to_h": 2.5},
                                                            {"minutes": 15, "from_h": 6, "to_h": 7}],
     "lunch": {"minutes": 30, "from_h": 3.5, "to_h": 4.75}, "min": 0, "max": 200},
    {"name": "M", "start": "11:00", "hours": 8.5, "breaks": [{"minutes": 15, "from_h": 1.5, "to_h": 2.5},
                                                            {"minutes": 15, "from_h": 6, "to_h": 7}],
     "lunch": {"minutes": 30, "from_h": 3, "to_h": 4.25}, "min": 0, "max": 200},
    {"name": "L", "start": "15:30", "hours": 8.5, "breaks": [{"minutes": 15, "from_h": 1.5, "to_h": 2.5},
                                                            {"minutes": 15, "from_h": 6, "to_h": 7}],
     "lunch": {"minutes": 30, "from_h": 3, "to_h": 4.25}, "min": 0, "max": 200},
    {"name": "P", "start": "17:00", "hours": 4, "breaks": [{"minutes": 15, "from_h": 1.5, "to_h": 2.5}],
     "min": 0, "max": 100},
    {"name": "X", "start": "19:00", "hours": 5, "breaks": [{"minutes": 15, "from_h": 2, "to_h": 3}],
     "min": 0, "max": 100},
)


class RosterError(ParamError):
    """A template or requirement the planner cannot use: names the field and the reason."""


@dataclass(frozen=True)
class Pause:
    """A break of ``length`` intervals starting ``earliest``..``latest`` intervals after the shift start."""

    length: int
    earliest: int
    latest: int
    kind: str = "break"
    paid: bool = True


@dataclass(frozen=True)
class Shift:
    """One shift instance: ``start`` (interval index in the horizon), ``length`` intervals on site."""

    name: str
    start: int
    length: int
    pauses: tuple[Pause, ...] = ()
    min_staff: int = 0
    max_staff: int | None = None
    day: date | None = None

    @property
    def paid_hours(self) -> float:
        unpaid = sum(p.length for p in self.pauses if not p.paid)
        return (self.length - unpaid) / PER_HOUR


@dataclass
class Solution:
    """Head count per shift, break starts per shift and pause, seats on the phones per interval."""

    status: str
    counts: list[int]
    breaks: list[list[dict[int, int]]]  # per shift, per pause: {start offset: people}
    coverage: list[int]
    short: list[float]
    paid_hours: float
    seconds: float
    gap: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def solve(need: list[int], shifts: list[Shift], *, cyclic: bool = False, time_limit_s: float = TIME_LIMIT_S,
          short_penalty: float = SHORT_PENALTY) -> Solution:
    """The least paid time that covers ``need`` (seats on the phones per interval) with ``shifts``.

    Deterministic (HiGHS, single thread). Raises RosterError for a shift that does not fit.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import lil_matrix

    n_int = len(need)
    for s in shifts:
        if s.length <= 0 or (not cyclic and s.start + s.length > n_int) or s.length > n_int:
            raise RosterError("shifts", f"shift {s.name} does not fit the horizon")
        for p in s.pauses:
            if p.earliest < 0 or p.latest < p.earliest or p.latest + p.length > s.length:
                raise RosterError("breaks", f"a break of shift {s.name} falls outside the shift")
    # variable layout: x (per shift), then b (per shift, pause, start), then u (per interval)
    b_index: list[tuple[int, int, int]] = []  # (shift, pause, offset)
    for si, s in enumerate(shifts):
        for pi, p in enumerate(s.pauses):
            for off in range(p.earliest, p.latest + 1):
                b_index.append((si, pi, off))
    nx, nb = len(shifts), len(b_index)
    nv = nx + nb + n_int

    def idx(i: int) -> int | None:
        if 0 <= i < n_int:
            return i
        return i % n_int if cyclic else None

    cover = lil_matrix((n_int, nv))
    for si, s in enumerate(shifts):
        for k in range(s.length):
            i = idx(s.start + k)
            if i is not None:
                cover[i, si] += 1
    for j, (si, pi, off) in enumerate(b_index):
        p = shifts[si].pauses[pi]
        for k in range(p.length):
            i = idx(shifts[si].start + off + k)
            if i is not None:
                cover[i, nx + j] -= 1
    for i in range(n_int):
        cover[i, nx + nb + i] = 1
    constraints = [LinearConstraint(cover.tocsr(), lb=np.asarray(need, dtype=float), ub=np.inf)]
    if nb:
        n_groups = sum(len(s.pauses) for s in shifts)
        assign = lil_matrix((n_groups, nv))
        stagger = lil_matrix((nb, nv))
        group_of: dict[tuple[int, int], int] = {}
        for si, s in enumerate(shifts):
            for pi in range(len(s.pauses)):
                g = group_of.setdefault((si, pi), len(group_of))
                assign[g, si] = -1
        for j, (si, pi, _off) in enumerate(b_index):
            assign[group_of[(si, pi)], nx + j] = 1
            stagger[j, nx + j] = 2
            stagger[j, si] = -1
        constraints.append(LinearConstraint(assign.tocsr(), lb=0, ub=0))
        constraints.append(LinearConstraint(stagger.tocsr(), lb=-np.inf, ub=1))
    cost = np.concatenate([[s.paid_hours for s in shifts], np.zeros(nb),
                           np.full(n_int, short_penalty / PER_HOUR)])
    lower = np.concatenate([[s.min_staff for s in shifts], np.zeros(nb + n_int)])
    upper = np.concatenate([[np.inf if s.max_staff is None else s.max_staff for s in shifts],
                            np.full(nb, np.inf), np.full(n_int, np.inf)])
    integrality = np.concatenate([np.ones(nx + nb), np.zeros(n_int)])
    t0 = time.perf_counter()
    res = milp(cost, integrality=integrality, bounds=Bounds(lower, upper), constraints=constraints,
               options={"time_limit": time_limit_s, "mip_rel_gap": MIP_GAP, "presolve": True})
    seconds = time.perf_counter() - t0
    if res.x is None:
        raise RosterError("shifts", f"no roster found: {res.message}")
    x = np.round(res.x).astype(int)
    counts = x[:nx].tolist()
    breaks: list[list[dict[int, int]]] = [[{} for _p in s.pauses] for s in shifts]
    for j, (si, pi, off) in enumerate(b_index):
        if x[nx + j]:
            breaks[si][pi][off] = int(x[nx + j])
    coverage = coverage_of(n_int, shifts, counts, breaks, cyclic=cyclic)
    short = [max(0.0, float(n) - c) for n, c in zip(need, coverage)]
    paid = float(sum(c * s.paid_hours for c, s in zip(counts, shifts)))
    status = "optimal" if res.status == 0 else ("time_limit" if res.status == 1 else f"status_{res.status}")
    gap = getattr(res, "mip_gap", None)
    return Solution(status, counts, breaks, coverage, short, paid, seconds, gap,
                    {"variables": nv, "shifts": nx, "break_options": nb})


def coverage_of(n_int: int, shifts: list[Shift], counts: list[int], breaks: list[list[dict[int, int]]], *,
                cyclic: bool = False) -> list[int]:
    """Seats on the phones per interval: people on shift minus people on a break."""
    cov = [0] * n_int
    for s, n, bs in zip(shifts, counts, breaks):
        for k in range(s.length):
            i = s.start + k
            if cyclic:
                i %= n_int
            if 0 <= i < n_int:
                cov[i] += n
        for p, starts in zip(s.pauses, bs):
            for off, m in starts.items():
                for k in range(p.length):
                    i = s.start + off + k
                    if cyclic:
                        i %= n_int
                    if 0 <= i < n_int:
                        cov[i] -= m
    return cov


def assign_breaks(count: int, starts: dict[int, int]) -> list[int]:
    """Break start offsets for people 1..count of a shift, taken in turn from the solved counts so
    that consecutive people (neighbouring seats) never share a start when avoidable."""
    pool = sorted(starts.items())
    out: list[int] = []
    last = None
    left = dict(pool)
    for _ in range(count):
        options = [o for o, m in left.items() if m > 0]
        if not options:
            break
        choice = max((o for o in options if o != last), key=lambda o: (left[o], -o), default=options[0])
        out.append(choice)
        left[choice] -= 1
        last = choice
    return out


# ---------------------------------------------------------------- templates and a week

def _hhmm(text: str, field_name: str) -> dtime:
    try:
        return dtime.fromisoformat(text)
    except (TypeError, ValueError):
        raise RosterError(field_name, f"not a HH:MM time: {text!r}") from None


def templates(settings: Settings) -> list[dict[str, Any]]:
    """The deployment's shift templates (setting ``planning.templates``) or the defaults."""
    return list(settings.planning.get("templates") or DEFAULT_TEMPLATES)


def _pause(spec: dict, kind: str, paid: bool, shift_len: int, name: str) -> Pause:
    try:
        length = math.ceil(float(spec["minutes"]) / 15)
        earliest = round(float(spec["from_h"]) * PER_HOUR)
        latest = round(float(spec["to_h"]) * PER_HOUR)
    except (KeyError, TypeError, ValueError):
        raise RosterError("roster_templates", f"template {name}: a {kind} needs minutes, from_h and to_h") from None
    if latest + length > shift_len or earliest < 0 or latest < earliest:
        raise RosterError("roster_templates", f"template {name}: the {kind} window falls outside the shift")
    return Pause(length, earliest, latest, kind, paid)


def week_shifts(monday: date, tz, specs: list[dict[str, Any]]) -> list[Shift]:
    """Shift instances of every template on each day of the ISO week starting ``monday`` (local),
    as interval indices from the week's local Monday 00:00 (a DST-free zone is assumed)."""
    out = []
    for spec in specs:
        name = str(spec.get("name") or "?")
        start_t = _hhmm(spec.get("start", ""), "roster_templates")
        hours = float(spec.get("hours", 0))
        if not 1 <= hours <= 16:
            raise RosterError("roster_templates", f"template {name}: hours must be between 1 and 16")
        length = round(hours * PER_HOUR)
        pauses = [_pause(b, "break", True, length, name) for b in spec.get("breaks", [])]
        if spec.get("lunch"):
            pauses.append(_pause(spec["lunch"], "lunch", False, length, name))
        days = spec.get("days", list(range(7)))
        for d in range(7):
            if d not in days:
                continue
            first = d * 96 + start_t.hour * PER_HOUR + start_t.minute // 15
            out.append(Shift(name, first, length, tuple(pauses), int(spec.get("min", 0)),
                             None if spec.get("max") is None else int(spec["max"]), monday + timedelta(days=d)))
    return out


def parse_week(text: str | None, *, today: date) -> date:
    """``YYYY-Www`` -> the Monday of that ISO week; None -> next week's Monday."""
    if not text:
        return today - timedelta(days=today.weekday()) + timedelta(days=7)
    try:
        year, week = text.strip().upper().split("-W")
        return date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        raise RosterError("week", f"not an ISO week YYYY-Www: {text!r}") from None


def requirement(forecast: list[float], *, aht_s: float, patience_s: float | None, threshold_s: float,
                target: float) -> list[int]:
    """Seats needed on the phones per interval (Erlang A at the forecast mean)."""
    memo: dict[float, int] = {}
    out = []
    for n in forecast:
        key = round(n, 2)
        if key not in memo:
            memo[key] = staffing.required_erlang_a(key / timeutil.INTERVAL.total_seconds(), aht_s, patience_s,
                                                   threshold_s, target)
        out.append(memo[key])
    return out


def projected_service_level(seats: list[int], forecast: list[float], *, aht_s: float, patience_s: float | None,
                            threshold_s: float) -> list[float | None]:
    """Erlang A service level per interval at the planned seats (None without calls)."""
    out: list[float | None] = []
    memo: dict[tuple[int, float], float] = {}
    for n, f in zip(seats, forecast):
        if f <= 0:
            out.append(None)
            continue
        key = (n, round(f, 2))
        if key not in memo:
            memo[key] = staffing.erlang_a(n, key[1] / timeutil.INTERVAL.total_seconds(), aht_s, patience_s,
                                          threshold_s)["service_level"]
        out.append(memo[key])
    return out


def plan_week(session, *, cities: list[str], monday: date, now: datetime, settings: Settings,
              target: float | None = None) -> dict[str, Any]:
    """The roster of the ISO week starting local ``monday`` for ``cities``: forecast (the planning
    model, fitted on history before ``now``), seats required (Erlang A, AHT and patience of the
    last 7 days), the solved shifts and their breaks, coverage and projected service level per
    interval, and the totals. Read-only; deterministic for the same data and ``now``."""
    from cockpit.planning import forecast as planning_forecast

    tz = settings.tz
    now = timeutil.naive_utc(now)
    week0 = timeutil.naive_utc(datetime.combine(monday, dtime(0, 0), tzinfo=tz))
    starts = [week0 + k * timeutil.INTERVAL for k in range(7 * 96)]
    fc = planning_forecast.forecast_for(session, cities=cities, starts=starts, now=now, settings=settings)
    recent = staffing._offered(session, cities, now - staffing.ESTIMATE_WINDOW, now, settings)
    aht_s = definitions.aht(recent.handle_sum_s, recent.ended) or staffing.DEFAULT_AHT_S
    patience = staffing.patience_estimate(session, cities=cities, start=now - staffing.ESTIMATE_WINDOW, end=now)
    sl_target = target if target is not None else float(definitions.targets(settings)["service_level"]["target"])
    threshold = float(settings.sl_threshold_s)
    need = requirement(fc.mean, aht_s=aht_s, patience_s=patience, threshold_s=threshold, target=sl_target)
    shifts = week_shifts(monday, tz, templates(settings))
    sol = solve(need, shifts, cyclic=True)
    sl = projected_service_level(sol.coverage, fc.mean, aht_s=aht_s, patience_s=patience, threshold_s=threshold)

    def local_hm(index: int) -> str:
        return (week0 + index * timeutil.INTERVAL).replace(tzinfo=UTC).astimezone(tz).strftime("%H:%M")

    days: dict[str, list[dict[str, Any]]] = {(monday + timedelta(days=d)).isoformat(): [] for d in range(7)}
    for s, n, bs in zip(shifts, sol.counts, sol.breaks):
        if not n:
            continue
        pauses = []
        for k, (p, starts_p) in enumerate(zip(s.pauses, bs)):
            for off, m in sorted(starts_p.items()):
                pauses.append({"kind": p.kind, "pause": k, "start": local_hm(s.start + off),
                               "end": local_hm(s.start + off + p.length), "people": m,
                               "offset_min": off * 15, "minutes": p.length * 15})
        days[s.day.isoformat()].append({
            "shift": s.name, "start": local_hm(s.start), "end": local_hm(s.start + s.length), "people": n,
            "minutes": s.length * 15,
            "paid_hours": s.paid_hours, "breaks": pauses,
            "break_order": [local_hm(s.start + off) for off in assign_breaks(n, bs[0])] if bs else []})
    intervals = []
    for k, start in enumerate(starts):
        intervals.append({"start": start.replace(tzinfo=UTC).isoformat(),
                          "forecast": round(fc.mean[k], 3), "required": need[k], "planned": sol.coverage[k],
                          "projected_service_level": None if sl[k] is None else round(sl[k], 4)})
    over = sum(max(c - n, 0) for c, n in zip(sol.coverage, need)) / PER_HOUR
    under = sum(max(n - c, 0) for c, n in zip(sol.coverage, need)) / PER_HOUR
    below = sum(1 for v in sl if v is not None and v < sl_target)
    return {
        "week": f"{monday.isocalendar().year}-W{monday.isocalendar().week:02d}",
        "monday": monday.isoformat(), "timezone": settings.timezone,
        "service_level_target": sl_target, "sl_threshold_s": threshold, "aht_s": aht_s, "patience_s": patience,
        "forecast_method": fc.method, "forecast_basis": fc.basis,
        "templates": templates(settings),
        "days": [{"date": d, "shifts": rows} for d, rows in days.items()],
        "intervals": intervals,
        "totals": {"people_shifts": int(sum(sol.counts)), "paid_hours": round(sol.paid_hours, 2),
                   "over_staffed_seat_hours": over, "under_staffed_seat_hours": under,
                   "intervals_below_target": below, "forecast_calls": round(sum(fc.mean), 1)},
        "solver": {"name": "HiGHS (scipy.optimize.milp)", "status": sol.status,
                   "seconds": round(sol.seconds, 3), **sol.detail},
    }
