"""The province simulator in columns: one city-day as numpy arrays per table, no Python object per event.

The same model as ``cockpit.simulation.engine`` (same profiles, staffing, shifts and breaks, FCFS
queue with patience, incidents, districts, categories, ticket life cycles, point pools), drawn
from numpy's generator instead of ``random.Random``: the same statistical history, not the same
draws. Ids carry an ``x`` so they never collide with the object simulator's ids
(``tests/test_columnar.py`` checks the distributions against it).

API (what the loaders use):

- ``CityDayGen(seed, scale=...).city_day(city, day)`` -> ``CityDay``: the tables of everything
  caused by contacts arriving on local ``day`` in ``city`` (ticket steps up to 14 days later):
  ``calls`` (one row per call, its 2-3 events' ids and times), ``seat_changes`` (one row per
  ``seat.state`` event), ``tickets`` (one row per ``ticket.created``) and ``steps`` (one row per later
  ticket event). Columns are numpy arrays (times as epoch milliseconds, UTC; durations as integer
  tenths of a second; names as codes into the ``CityDay``'s lookup lists); free text (ticket text,
  address, caller) as lists.
- ``CityDay.raw_events()``: the same history as raw event dicts (the object simulator's form), for
  ``cockpit.ingest`` / ``cockpit.bulk`` and tests.
- ``city_days(seed, cities, first, last, scale)``: ``CityDay``s of a date range.

Event ids are ``col{seed}-{city}-{yyyymmdd}-{kind}{n:07d}`` (kind a: seats, c: calls, t: tickets),
numbered by ``CityDay.event_id``.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from heapq import heapify, heappop, heapreplace

import numpy as np

from cockpit.simulation import callcentre, catalog, profiles
from cockpit.simulation.engine import (
    CONSULT_TICKET_SHARE,
    MESSAGE_CHANNELS,
    PHONE_SHARE,
    POINT_POOL,
    REPEAT_SHARE,
    TICKET_SHARE,
    Province,
    address_at,
    local_midnight,
)
from cockpit.simulation.incidents import incidents_on
from cockpit.simulation.tickets import (
    DUE_H,
    HORIZON_S,
    LONG_CHAIN_SHARE,
    NO_CALLBACK_BASE,
    NO_CALLBACK_OVERUSE,
    REOPEN_SHARE,
    RESOLUTIONS,
    RETURN_BASE_P,
    RETURN_PRONE_P,
    RETURN_REASONS,
    SAT_GOOD,
    SAT_LATE_SHIFT,
    SAT_LEVELS,
    SAT_POOR,
)

DAY_MS = 86_400_000
LOCAL_OFFSET_MS = 8 * 3_600_000
HORIZON_MS = int(HORIZON_S * 1000)

# Codes of the tables' coded columns.
STATES = ("ready", "not_ready", "offline", "on_call", "acw")  # codes are stored: append only
SEAT_REASONS = ("", "login", "logout", "break", "lunch", "training", "meeting")  # "" = no reason
CHANNELS = ("phone",) + tuple(name for name, _share in MESSAGE_CHANNELS)  # phone, wechat, app, web
URGENCIES = ("normal", "urgent", "emergency")
STEP_TYPES = ("ticket.dispatched", "ticket.returned", "ticket.transferred", "ticket.responded",
              "ticket.closed", "ticket.callback", "ticket.reopened")
DISPATCHED, RETURNED, TRANSFERRED, RESPONDED, CLOSED, CALLBACK, REOPENED = range(7)
STEP_REASONS = ("",) + RETURN_REASONS + ("回访不满意，重新办理",)  # returned / reopened reasons
CONSULT_RESOLUTION = "热线坐席直接答复"
STEP_RESOLUTIONS = ("",) + RESOLUTIONS + (CONSULT_RESOLUTION,)
RESOLVED = ("yes", "no", "unknown")
KINDS = {"seat": "a", "call": "c", "ticket": "t"}
_SAT_GOOD = np.array(SAT_GOOD)
_SAT_POOR = np.array(SAT_POOR)


def _i64(values) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


@dataclass
class CityDay:
    """One city-day's tables. Times: epoch ms (UTC); ``*_ds``: tenths of a second; codes index the
    lists named in the comments. ``*_seq``: the event's number within its kind (``event_id``)."""

    seed: int
    city: str
    day: date
    seat_ids: list[str]
    units: list[str]
    districts: list[str]  # district codes
    # calls: one row per offered call
    calls: dict[str, np.ndarray] = field(default_factory=dict)
    # call_no, offered_ms, answered (bool), outcome_ms (answer or abandon), ended_ms (-1 when abandoned),
    # seat (index into seat_ids, -1), wait_ds, talk_ds, hold_ds, acw_ds, offered_seq, outcome_seq, ended_seq
    seat_changes: dict[str, np.ndarray] = field(default_factory=dict)
    # seat, state (STATES), reason (SEAT_REASONS), ms, seq
    tickets: dict[str, np.ndarray | list] = field(default_factory=dict)
    # ticket_no, created_ms, district (index), category (catalog.CATEGORIES index), channel (CHANNELS),
    # urgency (URGENCIES), lat, lon, due_ms, call_no (-1: none), seq; text, caller, address: lists
    steps: dict[str, np.ndarray] = field(default_factory=dict)
    # ticket (row of tickets), type (STEP_TYPES), ms, unit (index into units), from_unit (transferred),
    # auto (bool), confidence (nan: none), reason (STEP_REASONS), resolution (STEP_RESOLUTIONS),
    # no_callback (bool), resolved (RESOLVED), satisfaction (SAT_LEVELS), seq

    @property
    def tag(self) -> str:
        return self.day.strftime("%Y%m%d")

    def event_prefix(self, kind: str) -> str:
        return f"col{self.seed}-{self.city}-{self.tag}-{KINDS[kind]}"

    def call_ids(self, nos: np.ndarray) -> list[str]:
        prefix = f"C{self.seed}-{self.city}-{self.tag}-x"
        return [f"{prefix}{n:05d}" for n in nos.tolist()]

    def ticket_ids(self, nos: np.ndarray) -> list[str]:
        prefix = f"T{self.seed}-{self.city}-{self.tag}-x"
        return [f"{prefix}{n:05d}" for n in nos.tolist()]

    def event_ids(self, kind: str, seqs: np.ndarray) -> list[str]:
        prefix = self.event_prefix(kind)
        return [f"{prefix}{n:07d}" for n in seqs.tolist()]

    def n_events(self) -> int:
        calls = self.calls
        return (3 * len(calls["call_no"]) - int((calls["ended_ms"] < 0).sum()) + len(self.seat_changes["ms"])
                + len(self.tickets["ticket_no"]) + len(self.steps["ms"]))

    def clip(self, lo_ms: int, hi_ms: int) -> "CityDay":
        """Only the events with ``lo_ms <= occurred_at < hi_ms``: a call keeps the columns of its events
        inside the window (-1 / its outcome flag for the others); rows with none are dropped."""
        c = dict(self.calls)
        inside = lambda ms: (ms >= lo_ms) & (ms < hi_ms)  # noqa: E731
        off, out, end = inside(c["offered_ms"]), inside(c["outcome_ms"]), inside(c["ended_ms"])
        keep = off | out | end
        c = {k: v[keep] for k, v in c.items()}
        c["offered_ms"] = np.where(off[keep], c["offered_ms"], -1)
        c["outcome_ms"] = np.where(out[keep], c["outcome_ms"], -1)
        c["ended_ms"] = np.where(end[keep], c["ended_ms"], -1)
        s = {k: v[inside(self.seat_changes["ms"])] for k, v in self.seat_changes.items()}
        t_keep = inside(self.tickets["created_ms"])
        t = {k: (v[t_keep] if isinstance(v, np.ndarray) else [x for x, k_ in zip(v, t_keep) if k_])
             for k, v in self.tickets.items()}
        st_keep = inside(self.steps["ms"])
        st = {k: v[st_keep] for k, v in self.steps.items()}
        out_day = CityDay(self.seed, self.city, self.day, self.seat_ids, self.units, self.districts, c, s, t, st)
        out_day.ticket_nos = self.tickets["ticket_no"]  # steps' ``ticket`` still index the unclipped tickets
        out_day.clipped = True
        return out_day

    def step_ticket_nos(self) -> np.ndarray:
        """The ticket number of each step (steps index the unclipped day's tickets)."""
        nos = getattr(self, "ticket_nos", self.tickets["ticket_no"])
        return nos[self.steps["ticket"]]

    def raw_events(self) -> list[dict]:
        """Everything as raw event dicts like the object simulator's (``occurred_at`` in +08:00),
        sorted by (time, event id)."""
        out: list[tuple[int, str, dict]] = []
        base = {"city": self.city, "source": "sim"}

        def emit(ms: int, eid: str, typ: str, fields: dict) -> None:
            out.append((ms, eid, {"event_id": eid, "type": typ, "occurred_at": iso_local(ms), **base, **fields}))

        c = self.calls
        cids = self.call_ids(c["call_no"])
        e_off, e_out = self.event_ids("call", c["offered_seq"]), self.event_ids("call", c["outcome_seq"])
        e_end = self.event_ids("call", np.maximum(c["ended_seq"], 0))
        for cid, seat_no, answered, off, out_ms, end, w, tk, hd, aw, eo, eu, ee in zip(
                cids, c["seat"].tolist(), c["answered"].tolist(), c["offered_ms"].tolist(), c["outcome_ms"].tolist(),
                c["ended_ms"].tolist(), c["wait_ds"].tolist(), c["talk_ds"].tolist(), c["hold_ds"].tolist(),
                c["acw_ds"].tolist(), e_off, e_out, e_end):
            seat = self.seat_ids[seat_no] if seat_no >= 0 else None
            if off >= 0:
                emit(off, eo, "call.offered", {"call_id": cid, "channel": "phone"})
            if out_ms >= 0:
                if answered:
                    emit(out_ms, eu, "call.answered", {"call_id": cid, "seat_id": seat, "wait_s": w / 10})
                else:
                    emit(out_ms, eu, "call.abandoned", {"call_id": cid, "wait_s": w / 10})
            if end >= 0:
                emit(end, ee, "call.ended", {"call_id": cid, "seat_id": seat, "talk_s": tk / 10, "hold_s": hd / 10,
                                             "acw_s": aw / 10})
        s = self.seat_changes
        for eid, seat, state, reason, ms in zip(self.event_ids("seat", s["seq"]), s["seat"].tolist(),
                                                s["state"].tolist(), s["reason"].tolist(), s["ms"].tolist()):
            fields = {"seat_id": self.seat_ids[seat], "state": STATES[state]}
            if reason:
                fields["reason"] = SEAT_REASONS[reason]
            emit(ms, eid, "seat.state", fields)
        t = self.tickets
        tids = self.ticket_ids(t["ticket_no"])
        call_nos = t["call_no"]
        call_ids = self.call_ids(np.maximum(call_nos, 0))
        for i, eid in enumerate(self.event_ids("ticket", t["seq"])):
            cat = catalog.CATEGORIES[t["category"][i]]
            fields = {"ticket_id": tids[i], "district": self.districts[t["district"][i]],
                      "lat": float(t["lat"][i]), "lon": float(t["lon"][i]), "category": list(cat.path),
                      "channel": CHANNELS[t["channel"][i]], "urgency": URGENCIES[t["urgency"][i]],
                      "text": t["text"][i], "caller": t["caller"][i], "address": t["address"][i],
                      "due_at": iso_local(int(t["due_ms"][i]))}
            if call_nos[i] >= 0:
                fields["call_id"] = call_ids[i]
            emit(int(t["created_ms"][i]), eid, "ticket.created", fields)
        st = self.steps
        for i, (eid, tno) in enumerate(zip(self.event_ids("ticket", st["seq"]), self.ticket_ids(self.step_ticket_nos()))):
            emit(int(st["ms"][i]), eid, STEP_TYPES[st["type"][i]], self.step_fields(i, tno))
        out.sort(key=lambda x: (x[0], x[1]))
        return [e for _ms, _eid, e in out]

    def step_fields(self, i: int, ticket_id: str) -> dict:
        """The fields of step ``i`` beyond the envelope (its event's own, in the schema's order)."""
        st, kind = self.steps, int(self.steps["type"][i])
        unit = self.units[st["unit"][i]]
        if kind == DISPATCHED:
            fields = {"ticket_id": ticket_id, "unit": unit, "auto": bool(st["auto"][i])}
            if not math.isnan(st["confidence"][i]):
                fields["confidence"] = float(st["confidence"][i])
            return fields
        if kind == RETURNED:
            return {"ticket_id": ticket_id, "unit": unit, "reason": STEP_REASONS[st["reason"][i]]}
        if kind == TRANSFERRED:
            return {"ticket_id": ticket_id, "from_unit": self.units[st["from_unit"][i]], "to_unit": unit}
        if kind == RESPONDED:
            return {"ticket_id": ticket_id, "unit": unit}
        if kind == CLOSED:
            return {"ticket_id": ticket_id, "unit": unit, "resolution": STEP_RESOLUTIONS[st["resolution"][i]],
                    "no_callback": bool(st["no_callback"][i])}
        if kind == CALLBACK:
            return {"ticket_id": ticket_id, "resolved": RESOLVED[st["resolved"][i]],
                    "satisfaction": SAT_LEVELS[st["satisfaction"][i]]}
        return {"ticket_id": ticket_id, "reason": STEP_REASONS[st["reason"][i]]}


_MINUTES: dict[int, str] = {}


def iso_local(ms: int) -> str:
    """Epoch ms as ISO 8601 in China time with milliseconds (the object simulator's form)."""
    minute, rem = divmod(ms + LOCAL_OFFSET_MS, 60_000)
    prefix = _MINUTES.get(minute)
    if prefix is None:
        day, m = divmod(minute, 1440)
        prefix = _MINUTES[minute] = f"{date.fromordinal(719_163 + day).isoformat()}T{m // 60:02d}:{m % 60:02d}:"
    return f"{prefix}{rem // 1000:02d}.{rem % 1000:03d}+08:00"


def _poisson_times(rng: np.random.Generator, rates, t_from: float = 0.0, t_to: float = 86_400.0) -> np.ndarray:
    """Arrival times (s from local midnight) of a Poisson process with hourly ``rates``, sorted."""
    rates = np.asarray(rates, dtype=float)
    lo = np.maximum(np.arange(24) * 3600.0, t_from)
    hi = np.minimum(np.arange(1, 25) * 3600.0, t_to)
    span = np.clip(hi - lo, 0.0, None)
    counts = rng.poisson(np.clip(rates, 0.0, None) * span / 3600.0)
    starts = np.repeat(lo, counts)
    times = starts + rng.random(len(starts)) * np.repeat(span, counts)
    times.sort()
    return times


def _office(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unit actions at night move to the next morning 08:00-10:00 local (``tickets._office``)."""
    local = (t + 8 * 3600.0) % 86_400.0
    night = (local < 8 * 3600.0) | (local >= 20 * 3600.0)
    day0 = t - local + np.where(local >= 20 * 3600.0, 86_400.0, 0.0)
    return np.where(night, day0 + 8 * 3600.0 + rng.random(len(t)) * 7200.0, t)


def _lognorm(rng: np.random.Generator, median, sigma: float, n: int) -> np.ndarray:
    return median * np.exp(rng.normal(0.0, sigma, n))


def _pick(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """Row-wise weighted choice: ``weights`` (n, k) -> index per row."""
    cum = np.cumsum(weights, axis=1)
    x = rng.random(len(weights)) * cum[:, -1]
    return np.minimum((cum <= x[:, None]).sum(axis=1), weights.shape[1] - 1)


def _serve(arrival: list, patience: list, handle: list, seats: list[callcentre.Seat]) -> tuple[list, list, list]:
    """``callcentre.run_queue`` on plain lists: FCFS on the seats on shift and off break; a caller
    hangs up when the first free seat comes later than arrival + patience. Returns the seat index
    (-1: abandoned) and answer time per call, and each seat's busy-until time."""
    free = [(seat.start, i) for i, seat in enumerate(seats)]
    heapify(free)
    ends = [seat.end for seat in seats]
    breaks = [[(b0, b1) for b0, b1, _r in seat.breaks] for seat in seats]
    busy = [seat.start for seat in seats]
    n = len(arrival)
    seat_of, start_of = [-1] * n, [0.0] * n
    for k in range(n):
        a = arrival[k]
        while free:
            t, i = free[0]
            cand = a if a > t else t
            ok = cand
            for b0, b1 in breaks[i]:
                if b0 <= ok < b1:
                    ok = b1
            if ok >= ends[i]:
                heappop(free)
                continue
            if ok != cand:
                heapreplace(free, (ok, i))
                continue
            if cand - a > patience[k]:
                break
            seat_of[k], start_of[k] = i, cand
            done = cand + handle[k]
            busy[i] = done
            heapreplace(free, (done, i))
            break
    return seat_of, start_of, busy


def _detail_rows(base: list[tuple[int, int, int, float]], served: np.ndarray, bounds: np.ndarray,
                 start: np.ndarray, talk_end: np.ndarray, job_end: np.ndarray, to_ms) -> list[tuple[int, int, int, float]]:
    """The seat states of each answered call, as an ACD reports them (the object simulator's
    ``seat_detail``): ``on_call`` at the answer, ``acw`` when the talk ends, ``ready`` when the
    after-call work ends, unless the seat's next call, a break or the logout starts at that moment
    (compared in stored milliseconds). Rows as ``seat_rows``: (seat, state, reason, seconds)."""
    on_call, acw, ready = STATES.index("on_call"), STATES.index("acw"), STATES.index("ready")
    pauses: dict[int, set[int]] = {}
    for i, state, _reason, t in base:
        if state != ready:  # a break or the logout
            pauses.setdefault(i, set()).add(int(to_ms(np.array([t]))[0]))
    rows: list[tuple[int, int, int, float]] = []
    for i in range(len(bounds) - 1):
        jobs = served[bounds[i]:bounds[i + 1]]
        if not len(jobs):
            continue
        s, e = start[jobs], job_end[jobs]
        s_ms, e_ms = to_ms(s), to_ms(e)
        taken = pauses.get(i, set())
        for k, (s0, t0, e0) in enumerate(zip(s.tolist(), talk_end[jobs].tolist(), e.tolist())):
            rows.append((i, on_call, 0, s0))
            rows.append((i, acw, 0, t0))
            end_ms = int(e_ms[k])
            if end_ms not in taken and not (k + 1 < len(jobs) and int(s_ms[k + 1]) == end_ms):
                rows.append((i, ready, 0, e0))
    return rows


class _Steps:
    """Ticket steps collected in columns while the life cycles are drawn, stage by stage."""

    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []

    def add(self, ticket: np.ndarray, kind: int, t: np.ndarray, unit: np.ndarray, **extra) -> None:
        n = len(ticket)
        if n == 0:
            return
        part = {"ticket": ticket, "type": np.full(n, kind, np.int8), "t": t, "unit": unit}
        for key, value in extra.items():
            part[key] = np.broadcast_to(value, (n,)).copy() if np.ndim(value) == 0 else value
        self.parts.append(part)

    def table(self) -> dict[str, np.ndarray]:
        defaults = {"from_unit": (-1, np.int32), "auto": (False, bool), "confidence": (np.nan, float),
                    "reason": (0, np.int8), "resolution": (0, np.int8), "no_callback": (False, bool),
                    "resolved": (0, np.int8), "satisfaction": (0, np.int8)}
        cols: dict[str, list] = {k: [] for k in ("ticket", "type", "t", "unit", *defaults)}
        for part in self.parts:
            n = len(part["ticket"])
            for k in cols:
                if k in part:
                    cols[k].append(part[k])
                else:
                    value, dtype = defaults[k]
                    cols[k].append(np.full(n, value, dtype))
        out = {}
        for k, v in cols.items():
            dtype = defaults[k][1] if k in defaults else (float if k == "t" else np.int32)
            out[k] = np.concatenate(v).astype(dtype) if v else np.zeros(0, dtype)
        return out


class CityDayGen:
    """Columnar city-days of one seeded province (``scale`` as ``Province``'s). Reuse one object:
    it keeps the district point pools and the week's recurring problems."""

    def __init__(self, seed: int, *, scale: float = 1.0, incidents: bool = True, seat_detail: bool = False) -> None:
        self.seed, self.scale, self.incidents_on = seed, scale, incidents
        self.seat_detail = seat_detail
        self.prov = Province(seed=seed, scale=scale, incidents=incidents)  # pools, week problems, volumes
        self._cities: dict[str, dict] = {}

    def _city(self, code: str) -> dict:
        info = self._cities.get(code)
        if info is None:
            city = catalog.cities()[code]
            units = [city.hotline_unit]
            index = {city.hotline_unit: 0}

            def unit(name: str) -> int:
                if name not in index:
                    index[name] = len(units)
                    units.append(name)
                return index[name]

            dept = np.array([unit(city.dept_unit(c.dept)) for c in catalog.CATEGORIES], np.int32)
            dist_unit = np.array([unit(catalog.district_unit(d)) for d in city.districts], np.int32)
            flags = {name: np.array([u in group for u in units])
                     for name, group in (("prone", catalog.RETURN_PRONE), ("slow", catalog.SLOW_UNITS),
                                         ("overuse", catalog.NO_CALLBACK_OVERUSE), ("poor", catalog.POOR_SATISFACTION))}
            info = {"city": city, "units": units, "dept": dept, "dist_unit": dist_unit, **flags,
                    "dists": list(city.districts), "dist_codes": [d.code for d in city.districts],
                    "dist_index": {d.code: i for i, d in enumerate(city.districts)},
                    "dist_p": np.array([d.population for d in city.districts], float)}
            info["dist_p"] /= info["dist_p"].sum()
            self._cities[code] = info
        return info

    def city_day(self, city_code: str, day: date) -> CityDay:
        info = self._city(city_code)
        city = info["city"]
        seed_key = zlib.crc32(f"{self.seed}:{city_code}:{day.isoformat()}:columnar".encode())
        rng = np.random.default_rng(seed_key)
        day0_ms = int(local_midnight(day).timestamp() * 1000)
        daily = self.prov._daily[city_code]
        level = profiles.day_level(day)
        incs = [i for i in incidents_on(self.seed, day) if i.city == city_code] if self.incidents_on else []
        cats = catalog.CATEGORIES
        cat_w = np.array([c.weight * catalog.month_weight(c, day.month) for c in cats])
        cat_p = cat_w / cat_w.sum()
        hour_shape = np.array(profiles.HOUR_SHAPE)

        # --- arrivals: calls and messages, then the incidents' extra contacts (tag = incident index)
        phone_daily = daily * PHONE_SHARE
        arr = _poisson_times(rng, phone_daily * level * hour_shape)
        arr_tag = np.full(len(arr), -1, np.int32)
        msg = _poisson_times(rng, daily * (1 - PHONE_SHARE) * level * np.array(profiles.MESSAGE_HOUR_SHAPE))
        shares = np.array([s for _n, s in MESSAGE_CHANNELS])
        msg_ch = 1 + np.searchsorted(np.cumsum(shares), rng.random(len(msg)) * shares.sum(), side="right")
        msg_ch = np.minimum(msg_ch, len(CHANNELS) - 1)
        msg_tag = np.full(len(msg), -1, np.int32)
        day0_s = day0_ms / 1000.0
        for k, inc in enumerate(incs):
            if inc.category is None:
                continue
            s, e = inc.start.timestamp() - day0_s, inc.end.timestamp() - day0_s
            if inc.district is not None:
                d = city.districts[info["dist_index"][inc.district]]
                share = cat_p[catalog.CATEGORY_INDEX[inc.category]] * d.population / city.population
                rates = (inc.factor - 1.0) * daily * level * hour_shape * share
            else:
                rates = inc.factor * daily * level * hour_shape
            extra = _poisson_times(rng, rates, s, e)
            phone = rng.random(len(extra)) < 0.8
            arr, arr_tag = np.concatenate([arr, extra[phone]]), np.concatenate([arr_tag, np.full(phone.sum(), k, np.int32)])
            msg = np.concatenate([msg, extra[~phone]])
            msg_ch = np.concatenate([msg_ch, np.full((~phone).sum(), 1)])  # wechat
            msg_tag = np.concatenate([msg_tag, np.full((~phone).sum(), k, np.int32)])
        order = np.argsort(arr, kind="stable")
        arr, arr_tag = arr[order], arr_tag[order]
        order = np.argsort(msg, kind="stable")
        msg, msg_ch, msg_tag = msg[order], msg_ch[order], msg_tag[order]

        # --- staffing and the queue
        plan_level = 1.0 if profiles.is_workday(day) else level
        counts = callcentre.plan_shifts(callcentre.required_seats(list(phone_daily * plan_level * hour_shape)))
        absent = {i.shift: i.factor for i in incs if i.kind == "seat_shortage" and i.shift}
        seats = callcentre.build_seats(city_code, counts, random.Random(seed_key), absent)
        n = len(arr)
        talk = np.minimum(rng.lognormal(profiles.SERVICE_LOG_MU, profiles.SERVICE_LOG_SIGMA, n), profiles.SERVICE_MAX_S)
        ticketed = (arr_tag >= 0) | (rng.random(n) < TICKET_SHARE)
        acw = np.where(ticketed, rng.lognormal(profiles.ACW_TICKET_LOG_MU, profiles.ACW_TICKET_LOG_SIGMA, n),
                       rng.lognormal(profiles.ACW_PLAIN_LOG_MU, profiles.ACW_PLAIN_LOG_SIGMA, n))
        patience = rng.exponential(profiles.PATIENCE_MEAN_S, n)
        seat_l, start_l, busy = _serve(arr.tolist(), patience.tolist(), (talk + acw).tolist(), seats)
        seat_of, start = np.array(seat_l, np.int32), np.array(start_l)
        answered = seat_of >= 0
        holds = rng.random(n) < profiles.HOLD_SHARE
        hold_frac = 0.1 + 0.2 * rng.random(n)

        # --- calls table (ids in time order of the call's offer)
        seq_c = np.arange(n, dtype=np.int64)
        to_ms = lambda t: day0_ms + np.floor(t * 1000.0 + 0.5).astype(np.int64)  # noqa: E731
        talk_ds = np.round(talk * 10).astype(np.int64)
        hold_ds = np.where(holds, np.round(talk * hold_frac * 10), 0).astype(np.int64)
        calls = {
            "call_no": np.arange(n, dtype=np.int64),
            "offered_ms": to_ms(arr),
            "answered": answered,
            "outcome_ms": np.where(answered, to_ms(start), to_ms(arr + patience)),
            "ended_ms": np.where(answered, to_ms(start + talk), -1),
            "seat": seat_of,
            "wait_ds": np.where(answered, np.round((start - arr) * 10), np.round(patience * 10)).astype(np.int64),
            "talk_ds": np.where(answered, talk_ds - hold_ds, 0),
            "hold_ds": np.where(answered, hold_ds, 0),
            "acw_ds": np.where(answered, np.round(acw * 10), 0).astype(np.int64),
            "offered_seq": 3 * seq_c, "outcome_seq": 3 * seq_c + 1,
            "ended_seq": np.where(answered, 3 * seq_c + 2, -1),
        }

        # --- seat changes: login, breaks (delayed by a call in progress, never cut), logout
        seat_rows: list[tuple[int, int, int, float]] = []
        if len(seats):
            by_seat = np.argsort(seat_of, kind="stable")
            served = by_seat[answered[by_seat]]
            bounds = np.searchsorted(seat_of[served], np.arange(len(seats) + 1))
            job_end = start + talk + acw
            for i, seat in enumerate(seats):
                jobs = served[bounds[i]:bounds[i + 1]]  # arrival order = start order on one seat
                starts, ends = start[jobs], job_end[jobs]
                seat_rows.append((i, 0, 1, seat.start))
                for b0, b1, reason in seat.breaks:
                    j = int(np.searchsorted(starts, b0)) - 1
                    actual = max(b0, float(ends[j])) if j >= 0 else b0
                    if actual < b1 and actual < seat.end:
                        seat_rows.append((i, 1, SEAT_REASONS.index(reason), actual))
                        seat_rows.append((i, 0, 0, b1))
                seat_rows.append((i, 2, 2, max(seat.end, busy[i])))
            if self.seat_detail:  # after the rows above, so their event ids do not depend on the detail
                seat_rows += _detail_rows(seat_rows, served, bounds, start, start + talk, job_end, to_ms)
        sr = np.array(seat_rows, dtype=float).reshape(-1, 4)
        seat_changes = {"seat": sr[:, 0].astype(np.int32), "state": sr[:, 1].astype(np.int8),
                        "reason": sr[:, 2].astype(np.int8), "ms": to_ms(sr[:, 3]),
                        "seq": np.arange(len(sr), dtype=np.int64)}

        # --- tickets: phone tickets after the call's work, consultations logged half the time, messages
        plain = answered & ~ticketed
        consult_logged = plain & (rng.random(n) < CONSULT_TICKET_SHARE)
        phone_t = np.flatnonzero((answered & ticketed) | consult_logged)
        m = len(msg)
        created_s = np.concatenate([(start + talk + acw)[phone_t], msg + rng.lognormal(math.log(300.0), 0.8, m)])
        channel = np.concatenate([np.zeros(len(phone_t), np.int8), msg_ch.astype(np.int8)])
        tag = np.concatenate([np.where(ticketed[phone_t], arr_tag[phone_t], -1), msg_tag])
        consultation = np.concatenate([consult_logged[phone_t], np.zeros(m, bool)])
        call_no = np.concatenate([phone_t, np.full(m, -1)]).astype(np.int64)
        nt = len(created_s)
        created_ms = to_ms(created_s)
        district = rng.choice(len(info["dists"]), nt, p=info["dist_p"]).astype(np.int32)
        category = rng.choice(len(cats), nt, p=cat_p).astype(np.int32)
        for k, inc in enumerate(incs):
            mine = tag == k
            if inc.category is not None and mine.any():
                category[mine] = catalog.CATEGORY_INDEX[inc.category]
                if inc.district is not None:
                    district[mine] = info["dist_index"][inc.district]
        repeat = (tag < 0) & ~consultation & (rng.random(nt) < REPEAT_SHARE)
        u_addr = rng.random(nt)
        callers = [_phone(v) for v in rng.integers(0, 2**32, nt).tolist()]
        dists = info["dists"]
        addresses = [_address(dists[d], u) for d, u in zip(district.tolist(), u_addr.tolist())]
        if repeat.any():
            problems = self.prov._week_problems(city, day)
            picks = rng.integers(0, len(problems), int(repeat.sum()))
            for i, p in zip(np.flatnonzero(repeat).tolist(), picks.tolist()):
                d, address, cat, caller = problems[p]
                district[i], category[i] = info["dist_index"][d.code], catalog.CATEGORIES.index(cat)
                addresses[i], callers[i] = address, caller
        emergency = np.array([c.emergency for c in cats])[category]
        urgent_p = np.array([c.urgent for c in cats])[category]
        u = rng.random(nt)
        urgency = np.where(u < emergency, 2, np.where(u < emergency + urgent_p, 1, 0)).astype(np.int8)
        urgency[consultation] = 0
        lat, lon = np.empty(nt), np.empty(nt)
        for i, (d, address) in enumerate(zip(district.tolist(), addresses)):
            lat[i], lon[i] = self.prov._pool(dists[d])[zlib.crc32(address.encode()) % POINT_POOL]
        due_h = np.array([DUE_H[x] for x in URGENCIES])[urgency]
        due_ms = to_ms(created_s + due_h * 3600.0)
        tpl = rng.random(nt)
        texts = [cats[c].templates[int(x * len(cats[c].templates))].format(addr=a)
                 for c, x, a in zip(category.tolist(), tpl.tolist(), addresses)]
        tickets = {"ticket_no": np.arange(nt, dtype=np.int64), "created_ms": created_ms, "district": district,
                   "category": category, "channel": channel, "urgency": urgency, "lat": lat, "lon": lon,
                   "due_ms": due_ms, "call_no": call_no, "text": texts, "caller": callers, "address": addresses}

        steps = self._lifecycles(rng, info, day0_s + created_s, district, category, urgency, consultation)
        steps_ms = np.floor(steps.pop("t") * 1000.0 + 0.5).astype(np.int64)
        order = np.lexsort((steps["type"], steps_ms, steps["ticket"]))
        steps = {k: v[order] for k, v in steps.items()}
        steps["ms"] = steps_ms[order]
        # ticket event ids: the created events first, then every later step
        tickets["seq"] = np.arange(nt, dtype=np.int64)
        steps["seq"] = nt + np.arange(len(steps["ms"]), dtype=np.int64)
        return CityDay(self.seed, city_code, day, [s.seat_id for s in seats], info["units"], info["dist_codes"],
                       calls, seat_changes, tickets, steps)

    def _lifecycles(self, rng: np.random.Generator, info: dict, t0: np.ndarray, district: np.ndarray,
                    category: np.ndarray, urgency: np.ndarray, consultation: np.ndarray) -> dict[str, np.ndarray]:
        """Every ticket's steps after ``ticket.created`` (``tickets.simulate_ticket``, a stage at a time
        for all tickets still alive)."""
        cats = catalog.CATEGORIES
        out = _Steps()
        nt = len(t0)
        limit = t0 + HORIZON_S
        hotline = 0
        # consultations: answered by the seat at once, a callback now and then
        c = np.flatnonzero(consultation)
        out.add(c, CLOSED, t0[c] + 5 + rng.random(len(c)) * 25, np.full(len(c), hotline, np.int32),
                resolution=np.int8(len(STEP_RESOLUTIONS) - 1), no_callback=False)
        cb = c[rng.random(len(c)) < 0.3]
        if len(cb):
            t = _office(t0[cb] + _lognorm(rng, 20 * 3600.0, 0.4, len(cb)), rng)
            out.add(cb, CALLBACK, t, np.full(len(cb), hotline, np.int32), resolved=np.int8(0),
                    satisfaction=_pick(rng, np.tile(_SAT_GOOD, (len(cb), 1))).astype(np.int8))

        r = np.flatnonzero(~consultation)
        nr = len(r)
        due = t0[r] + np.array([DUE_H[x] for x in URGENCIES])[urgency[r]] * 3600.0
        urgent = urgency[r] != 0
        share = np.array([x.district_share for x in cats])[category[r]]
        right = np.where((share > 0) & (rng.random(nr) < share), info["dist_unit"][district[r]],
                         info["dept"][category[r]]).astype(np.int32)
        u = rng.random(nr)
        confidence = np.round(1.0 - 0.65 * u * u, 3)
        auto = confidence >= 0.8
        quick = auto | (urgency[r] == 2)
        t = t0[r] + np.where(quick, 30 + rng.random(nr) * 150, _lognorm(rng, 1500.0, 0.7, nr))
        long_chain = rng.random(nr) < LONG_CHAIN_SHARE
        one_wrong = ~long_chain & (rng.random(nr) < 0.3 * (1.0 - confidence))
        chain_len = np.where(long_chain, 2 + (rng.random(nr) * 2).astype(int), np.where(one_wrong, 1, 0))
        chain = np.full((nr, 3), -1, np.int32)
        for k in range(3):
            need = chain_len > k
            chain[need, k] = self._wrong_units(rng, info, right[need])
        unit = np.where(chain_len > 0, chain[:, 0], right).astype(np.int32)
        out.add(r, DISPATCHED, t, unit, auto=auto, confidence=confidence)
        alive = np.ones(nr, bool)
        for k in range(1, 4):  # hops: chain[k] (or the right unit after the last wrong one)
            hop = alive & (chain_len >= k)
            if not hop.any():
                break
            nxt = np.where(chain_len > k, chain[:, min(k, 2)], right)
            step = _lognorm(rng, np.where(urgent, 1.5 * 3600.0, 6 * 3600.0), 0.8, nr)
            t = np.where(hop, t + step, t)
            over = hop & (t > limit[r])
            alive &= ~over
            hop &= ~over
            ret = hop & (rng.random(nr) < 0.6)
            idx = np.flatnonzero(ret)
            out.add(r[idx], RETURNED, t[idx], unit[idx],
                    reason=(1 + (rng.random(len(idx)) * 2).astype(np.int8)))
            t = np.where(ret, t + _lognorm(rng, 40 * 60.0, 0.6, nr), t)
            out.add(r[idx], DISPATCHED, t[idx], nxt[idx].astype(np.int32), auto=False)
            tr = np.flatnonzero(hop & ~ret)
            out.add(r[tr], TRANSFERRED, t[tr], nxt[tr].astype(np.int32), from_unit=unit[tr])
            unit = np.where(hop, nxt, unit).astype(np.int32)
        prone = info["prone"][unit]
        back = alive & (rng.random(nr) < np.where(prone, RETURN_PRONE_P, RETURN_BASE_P))
        t = np.where(back, t + _lognorm(rng, 5 * 3600.0, 0.8, nr), t)
        over = back & (t > limit[r])
        alive &= ~over
        back &= ~over
        idx = np.flatnonzero(back)
        out.add(r[idx], RETURNED, t[idx], unit[idx], reason=(3 + (rng.random(len(idx)) * 2).astype(np.int8)))
        t = np.where(back, t + _lognorm(rng, 3600.0, 0.6, nr), t)
        out.add(r[idx], DISPATCHED, t[idx], unit[idx], auto=False)

        slow = np.where(info["slow"][unit], 1.0, 0.0)
        for round_no in range(3):
            if not alive.any():
                break
            window = np.maximum(due - t, 1800.0)
            respond = t + np.minimum(_lognorm(rng, np.where(urgent, 0.08, 0.05) * window, 0.7, nr) * (1 + slow),
                                     0.9 * window)
            respond = np.where(urgent, respond, _office(respond, rng))
            close = respond + _lognorm(rng, np.where(urgent, 0.3, 0.35) * window, 0.6, nr) * (1 + 1.3 * slow)
            close = np.where(urgent, close, _office(close, rng))
            alive &= respond <= limit[r]
            idx = np.flatnonzero(alive)
            out.add(r[idx], RESPONDED, respond[idx], unit[idx])
            alive &= close <= limit[r]
            overuse = info["overuse"][unit]
            no_cb = rng.random(nr) < np.where(overuse, NO_CALLBACK_OVERUSE, NO_CALLBACK_BASE)
            idx = np.flatnonzero(alive)
            out.add(r[idx], CLOSED, close[idx], unit[idx], no_callback=no_cb[idx],
                    resolution=(1 + (rng.random(len(idx)) * len(RESOLUTIONS)).astype(np.int8)))
            alive &= ~no_cb
            cb_t = _office(close + _lognorm(rng, 18 * 3600.0, 0.5, nr), rng)
            alive &= cb_t <= limit[r]
            poor = info["poor"][unit] & (round_no == 0)
            weights = np.where(poor[:, None], _SAT_POOR, _SAT_GOOD)
            weights[:, 3] += np.where(close > due, SAT_LATE_SHIFT, 0.0)
            level = _pick(rng, weights)
            ur = rng.random(nr)
            resolved = np.where(level == 4, 2, np.where(level == 3, np.where(ur < 0.7, 1, 0), np.where(ur < 0.95, 0, 1)))
            idx = np.flatnonzero(alive)
            out.add(r[idx], CALLBACK, cb_t[idx], unit[idx], resolved=resolved[idx].astype(np.int8),
                    satisfaction=level[idx].astype(np.int8))
            alive &= (level == 3) & (rng.random(nr) < REOPEN_SHARE)
            t = cb_t + _lognorm(rng, 2 * 3600.0, 0.5, nr)
            alive &= t <= limit[r]
            idx = np.flatnonzero(alive)
            out.add(r[idx], REOPENED, t[idx], unit[idx], reason=np.int8(len(STEP_REASONS) - 1))
            t = t + _lognorm(rng, 30 * 60.0, 0.5, nr)
            out.add(r[idx], DISPATCHED, t[idx], unit[idx], auto=False)
            due = np.where(alive, t + 72 * 3600.0, due)
        del nt
        return out.table()

    def _wrong_units(self, rng: np.random.Generator, info: dict, right: np.ndarray) -> np.ndarray:
        """A unit other than ``right`` per row (``tickets._wrong_unit``): a district or a department."""
        out = np.full(len(right), 0, np.int32)  # the hotline when 8 tries all hit the right unit
        pending = np.arange(len(right))
        many = len(info["dist_unit"]) > 1
        for _ in range(8):
            if not len(pending):
                break
            k = len(pending)
            use_district = (rng.random(k) < 0.5) & many
            cand = np.where(use_district, info["dist_unit"][rng.integers(0, len(info["dist_unit"]), k)],
                            info["dept"][rng.integers(0, len(catalog.CATEGORIES), k)])
            ok = cand != right[pending]
            out[pending[ok]] = cand[ok]
            pending = pending[~ok]
        return out


def _address(d: catalog.District, u: float) -> str:
    return address_at(d, u)  # the object simulator's addresses


def _phone(v: int) -> str:
    return f"1{'35789'[v % 5]}{v // 5 % 10}****{v // 50 % 10_000:04d}"


def city_days(seed: int, cities: list[str], first: date, last: date, *, scale: float = 1.0,
              incidents: bool = True, gen: CityDayGen | None = None) -> Iterator[CityDay]:
    """The ``CityDay``s of ``first..last`` (local dates, inclusive), day by day, city by city."""
    gen = gen or CityDayGen(seed, scale=scale, incidents=incidents)
    day = first
    while day <= last:
        for city in cities:
            yield gen.city_day(city, day)
        day += timedelta(days=1)
