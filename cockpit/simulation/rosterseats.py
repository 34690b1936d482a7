"""The simulator's seats from a roster of the planner, so simulated traffic meets a planned floor.

``RosterSeats`` is the ``roster`` hook of ``cockpit.simulation.Province``: called with a city and a
local day, it answers that day's seats (``callcentre.Seat``: on shift from the plan's start to its
end, breaks and lunch at the plan's starts, handed out in turn so neighbours never pause
together), or None for a day no roster covers (the simulator then staffs itself). A shift past
midnight is cut there; its remainder is on the next day's floor under the same seat id. Seats are
in seconds from the local midnight of the day.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any

from cockpit.planning.roster import assign_breaks
from cockpit.simulation import callcentre

DAY_S = 86_400.0
log = logging.getLogger(__name__)


def _seconds(hhmm: str) -> float:
    h, m = hhmm.split(":")
    return int(h) * 3600.0 + int(m) * 60.0


def _people(city: str, day: date, shift: dict[str, Any]) -> list[callcentre.Seat]:
    """The people of one planned shift: (start, end, breaks) in seconds from ``day``'s midnight."""
    start = _seconds(shift["start"])
    end = start + shift["minutes"] * 60.0
    by_pause: dict[int, dict[int, int]] = {}
    lengths: dict[int, tuple[float, str]] = {}
    for b in shift["breaks"]:
        by_pause.setdefault(b["pause"], {})[b["offset_min"] // 15] = b["people"]
        lengths[b["pause"]] = (b["minutes"] * 60.0, b["kind"])
    orders = {k: assign_breaks(shift["people"], starts) for k, starts in by_pause.items()}
    seats = []
    for n in range(shift["people"]):
        breaks = []
        for k, order in orders.items():
            if n < len(order):
                b0 = start + order[n] * 900.0
                breaks.append((b0, b0 + lengths[k][0], lengths[k][1]))
        seats.append(callcentre.Seat(f"{city}-{day:%a}{shift['shift']}{n + 1:02d}", shift["shift"], start, end,
                                     sorted(breaks)))
    return seats


class RosterSeats:
    """Seats per (city, local day) from roster documents (``cockpit roster --json``), by city and
    ISO week; days before ``since`` are not planned (None)."""

    def __init__(self, docs: Iterable[dict[str, Any]] = (), *, since: date | None = None,
                 lookup: Callable[[str, date], dict[str, Any] | None] | None = None) -> None:
        self._docs: dict[tuple[str, date], dict[str, Any]] = {}
        for doc in docs:
            self._docs[(doc["scope"], date.fromisoformat(doc["monday"]))] = doc
        self._lookup = lookup
        self.since = since

    def _doc(self, city: str, day: date) -> dict[str, Any] | None:
        monday = day - timedelta(days=day.weekday())
        doc = self._docs.get((city, monday))
        if doc is None and self._lookup is not None:
            doc = self._lookup(city, monday)
        return doc

    def _shifts(self, city: str, day: date) -> list[dict[str, Any]] | None:
        doc = self._doc(city, day)
        if doc is None:
            return None
        return next((d["shifts"] for d in doc["days"] if d["date"] == day.isoformat()), None)

    def __call__(self, city: str, day: date) -> list[callcentre.Seat] | None:
        if self.since is not None and day < self.since:
            return None
        try:
            return self._seats(city, day)
        except (KeyError, TypeError, ValueError) as exc:  # a plan kept by an older version: staff as before
            log.warning("roster of %s on %s not usable (%s); the simulator staffs the day", city, day, exc)
            return None

    def _seats(self, city: str, day: date) -> list[callcentre.Seat] | None:
        today = self._shifts(city, day)
        if today is None:
            return None
        seats = []
        for shift in today:
            for s in _people(city, day, shift):
                s.end = min(s.end, DAY_S)
                s.breaks = [b for b in s.breaks if b[0] < s.end]
                seats.append(s)
        for shift in self._shifts(city, day - timedelta(days=1)) or []:  # the night before, past midnight
            for s in _people(city, day - timedelta(days=1), shift):
                if s.end <= DAY_S:
                    continue
                breaks = [(b0 - DAY_S, b1 - DAY_S, r) for b0, b1, r in s.breaks if b1 > DAY_S]
                seats.append(callcentre.Seat(s.seat_id, s.group, 0.0, s.end - DAY_S,
                                             [(max(b0, 0.0), b1, r) for b0, b1, r in breaks]))
        return seats


def planned_minus_absent(seats: list[callcentre.Seat], absent: dict[str, float]) -> list[callcentre.Seat]:
    """Drop the share ``absent[shift]`` of the seats starting within two hours of the simulator's
    shift of that name (an incident's no-shows), the last ones of each planned shift first."""
    if not absent:
        return seats
    starts = {name: s * 3600.0 for name, s, _e in callcentre.SHIFTS}
    out = []
    groups: dict[tuple[str, float], list[callcentre.Seat]] = {}
    for s in seats:
        groups.setdefault((s.group, s.start), []).append(s)
    for (_g, start), members in groups.items():
        share = max((f for name, f in absent.items() if abs(starts.get(name, -1e9) - start) <= 7200.0), default=0.0)
        keep = len(members) - round(len(members) * share)
        out += members[:keep]
    return out
