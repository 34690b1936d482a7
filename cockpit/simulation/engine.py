"""The province simulator: every city's calls, seats and tickets, one local day at a time.

Each (seed, city, local date) gets its own random stream and is simulated whole, including the
ticket steps that fall days later. A window ``[start, end)`` is then the union of the days that
can reach into it, filtered by time. So ``events(a, b)`` followed by ``events(b, c)`` yields
exactly ``events(a, c)``, and a live stream continues a seeded history without a seam.
"""

from __future__ import annotations

import bisect
import gc
import math
import random
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

from cockpit.simulation import catalog, callcentre, profiles
from cockpit.simulation.incidents import LOCAL_TZ, Incident, incidents_on
from cockpit.simulation.tickets import DUE_H, HORIZON_S, TicketSpec, simulate_ticket

PROVINCE_DAILY_CONTACTS = 20_000.0  # an average workday, all channels, before ``scale``
PHONE_SHARE = 0.72
MESSAGE_CHANNELS = (("wechat", 0.45), ("app", 0.25), ("web", 0.30))
TICKET_SHARE = 0.85  # answered calls that become a dispatched ticket
CONSULT_TICKET_SHARE = 0.5  # of the other answered calls, those still logged as a closed ticket
REPEAT_SHARE = 0.02  # contacts that repeat one of the week's problem complaints
POINT_POOL = 256  # sampled points per district; an address always maps to the same point
HORIZON_DAYS = math.ceil(HORIZON_S / 86_400.0) + 1
LOCAL_OFFSET_MS = 8 * 3_600_000
# "SS.mmm+08:00" for every millisecond of a minute: a table lookup beats formatting per event.
_SECOND_MS = tuple(f"{ms // 1000:02d}.{ms % 1000:03d}+08:00" for ms in range(60_000))

Sampler = Callable[[str, random.Random], tuple[float, float]]
# Point pools per sampler and district, shared by every Province of the process (they do not
# depend on the seed, and sampling inside polygons is the slow part of starting a simulation).
_POOLS: dict[object, dict[str, list[tuple[float, float]]]] = {}
Keyed = tuple[int, str, dict]  # (epoch ms, event_id, event)


def _geo_sampler() -> Sampler | None:
    try:
        from geo import boundaries
    except ImportError:
        return None
    return getattr(boundaries, "random_point_in", None)


def fallback_sampler(district: catalog.District) -> Sampler:
    """Jitter around the district centroid: used only when ``geo`` cannot place a point.

    The centroids are DataV's (GCJ-02, a few hundred metres off WGS84) and the jitter ignores the
    district's shape, so such points only roughly fall inside their district.
    """

    def sample(_code: str, rng: random.Random) -> tuple[float, float]:
        return district.lat + rng.gauss(0.0, 0.02), district.lon + rng.gauss(0.0, 0.025)

    return sample


class _Clock:
    """Formats epoch milliseconds as ISO 8601 in China time (+08:00), caching each minute's prefix."""

    def __init__(self) -> None:
        self.minutes: dict[int, str] = {}

    def minute_prefix(self, minute: int) -> str:
        """``YYYY-MM-DDTHH:MM:`` of a local minute number (minutes since 1970-01-01 00:00 local)."""
        day, m = divmod(minute, 1440)
        prefix = f"{date.fromordinal(719_163 + day).isoformat()}T{m // 60:02d}:{m % 60:02d}:"
        if len(self.minutes) > 100_000:
            self.minutes.clear()
        self.minutes[minute] = prefix
        return prefix

    def iso(self, ms: int) -> str:
        minute, rem = divmod(ms + LOCAL_OFFSET_MS, 60_000)
        prefix = self.minutes.get(minute) or self.minute_prefix(minute)
        return prefix + _SECOND_MS[rem]


def local_midnight(day: date) -> datetime:
    """The UTC instant of local (China) midnight starting ``day``."""
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ).astimezone(UTC)


def _to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware (UTC)")
    return round(moment.timestamp() * 1000)


class Province:
    """A seeded simulated province. Reuse one object to stream consecutive windows cheaply.

    ``cities`` limits the simulation to some city codes (default all 14). ``scale`` multiplies
    every volume (and staffing with it). ``incidents`` switches the incident schedule on.
    ``seat_detail`` adds on_call/acw/ready seat events for every call (live mode only; about
    three more events per call). ``origin``: days before its local date are not simulated, so
    no step of a ticket created before a seeded history began is emitted. ``sampler`` places a
    point in a district: ``sampler(district_code, rng) -> (lat, lon)``; default ``geo``.
    ``roster(city, day) -> list[callcentre.Seat] | None`` staffs a day from a plan (e.g.
    ``cockpit.simulation.rosterseats.RosterSeats``); None for a day lets the simulator staff itself.
    """

    def __init__(
        self,
        *,
        seed: int,
        cities: list[str] | None = None,
        scale: float = 1.0,
        incidents: bool = True,
        seat_detail: bool = False,
        origin: datetime | None = None,
        sampler: Sampler | None = None,
        roster: Callable[[str, date], list | None] | None = None,
    ) -> None:
        table = catalog.cities()
        unknown = [c for c in cities or [] if c not in table]
        if unknown:
            raise ValueError(f"unknown city codes: {', '.join(unknown)}; expected some of {', '.join(table)}")
        self.seed = seed
        self.cities = list(cities) if cities else list(table)
        self.scale = scale
        self.incidents_on = incidents
        self.seat_detail = seat_detail
        self.roster = roster
        self.origin_day = origin.astimezone(LOCAL_TZ).date() if origin else None
        self._sampler = sampler if sampler is not None else _geo_sampler()
        self._pools = _POOLS.setdefault(sampler if sampler is not None else "default", {})
        self._weeks: dict[tuple[str, int, int], list[tuple]] = {}
        self._cache: dict[tuple[str, date], list[Keyed]] = {}
        self._trimmed_ms = -(2**62)
        self._clock = _Clock()
        total = sum(c.population for c in table.values())
        self._daily = {
            code: PROVINCE_DAILY_CONTACTS * scale * table[code].population / total for code in self.cities
        }

    # --- public -----------------------------------------------------------------------------
    def events(self, start: datetime, end: datetime) -> Iterator[dict]:
        """Events with ``start <= occurred_at < end`` in time order (ties by event_id)."""
        yield from (ev for _ms, _eid, ev in self.keyed_events(start, end))

    def keyed_events(self, start: datetime, end: datetime) -> Iterator[Keyed]:
        """Like ``events`` but yields ``(epoch_ms, event_id, event)``."""
        lo_ms, hi_ms = _to_ms(start), _to_ms(end)
        if lo_ms < self._trimmed_ms:
            self._cache.clear()
            self._trimmed_ms = -(2**62)
        # Nothing before this window is asked for again (an earlier start resets the cache above),
        # so past days simulated for their late ticket steps keep only what is still to come: a live
        # stream starting mid-day otherwise held 15 whole province-days (~1.7 GB).
        self._trimmed_ms = max(self._trimmed_ms, lo_ms)
        day = start.astimezone(LOCAL_TZ).date()
        while True:
            day_lo = _to_ms(local_midnight(day))
            day_hi = _to_ms(local_midnight(day + timedelta(days=1)))
            if day_lo >= hi_ms:
                break
            lo, hi = max(lo_ms, day_lo), min(hi_ms, day_hi)
            merged: list[Keyed] = []
            for back in range(HORIZON_DAYS, -1, -1):
                src_day = day - timedelta(days=back)
                if self.origin_day and src_day < self.origin_day:
                    continue
                for city in self.cities:
                    lst = self._day(city, src_day)
                    i, j = bisect.bisect_left(lst, (lo,)), bisect.bisect_left(lst, (hi,))
                    merged += lst[i:j]
            merged.sort()  # sorted runs: timsort merges them in C, faster than heapq.merge here
            yield from merged
            if hi == day_hi:
                self._trim(day, day_hi)
            day += timedelta(days=1)

    def incidents(self, start: datetime, end: datetime) -> list[Incident]:
        """This province's incidents overlapping ``[start, end)`` (empty when switched off)."""
        if not self.incidents_on:
            return []
        out = []
        d = start.astimezone(LOCAL_TZ).date()
        while local_midnight(d) < end:
            out += [
                i
                for i in incidents_on(self.seed, d)
                if i.city in self.cities and i.start < end and i.end > start
            ]
            d += timedelta(days=1)
        return out

    # --- cache ------------------------------------------------------------------------------
    def _day(self, city: str, day: date) -> list[Keyed]:
        key = (city, day)
        lst = self._cache.get(key)
        if lst is None:
            # A day creates ~10^5 dicts that all survive; pausing the cyclic GC meanwhile saves
            # it from rescanning them (about 30 % of the run time). They hold no cycles.
            was_enabled = gc.isenabled()
            gc.disable()
            try:
                lst = self.simulate_city_day(city, day)
            finally:
                if was_enabled:
                    gc.enable()
            if self._trimmed_ms > 0:
                lst = lst[bisect.bisect_left(lst, (self._trimmed_ms,)) :]
            self._cache[key] = lst
        return lst

    def _trim(self, day: date, upto_ms: int) -> None:
        """Forget what is before ``upto_ms`` and the days that can no longer reach later windows."""
        oldest = day + timedelta(days=1) - timedelta(days=HORIZON_DAYS)
        for key in list(self._cache):
            if key[1] < oldest:
                del self._cache[key]
            else:
                lst = self._cache[key]
                self._cache[key] = lst[bisect.bisect_left(lst, (upto_ms,)) :]
        self._trimmed_ms = upto_ms

    # --- geography --------------------------------------------------------------------------
    def _pool(self, district: catalog.District) -> list[tuple[float, float]]:
        pool = self._pools.get(district.code)
        if pool is None:
            rng = random.Random(f"points:{district.code}")
            sampler = self._sampler
            try:
                if sampler is None:
                    raise LookupError
                pool = [tuple(sampler(district.code, rng)) for _ in range(POINT_POOL)]
            except Exception:  # noqa: BLE001 - a district geo cannot place falls back to its centroid
                fb = fallback_sampler(district)
                pool = [fb(district.code, rng) for _ in range(POINT_POOL)]
            pool = [(round(lat, 6), round(lon, 6)) for lat, lon in pool]
            self._pools[district.code] = pool
        return pool

    def _week_problems(self, city: catalog.City, day: date) -> list[tuple]:
        """The week's recurring complaints (district, address, category, caller), from (seed, city, week)."""
        year, week, _ = day.isocalendar()
        key = (city.code, year, week)
        probs = self._weeks.get(key)
        if probs is None:
            rng = random.Random(f"{self.seed}:{city.code}:week:{year}-{week}")
            n = max(3, round(self._daily[city.code] / 60))
            dists = list(city.districts)
            dweights = [d.population for d in dists]
            cweights = [c.weight * catalog.month_weight(c, day.month) for c in catalog.CATEGORIES]
            probs = []
            for _ in range(n):
                d = rng.choices(dists, dweights)[0]
                probs.append((d, _address(d, rng), rng.choices(catalog.CATEGORIES, cweights)[0], _phone(rng)))
            self._weeks[key] = probs
        return probs

    # --- one city, one day ------------------------------------------------------------------
    def simulate_city_day(self, city_code: str, day: date) -> list[Keyed]:
        """Everything caused by contacts arriving on local ``day`` in one city, sorted by (ms, id)."""
        return _CityDay(self, catalog.cities()[city_code], day).run()


def _address(d: catalog.District, rng: random.Random) -> str:
    return address_at(d, rng.random())


def address_at(d: catalog.District, u: float) -> str:
    """The address a uniform draw ``u`` picks: street, house number and building, all from one draw
    (the random stream, and so every other simulated figure, is the same as when addresses had no
    building). Shared with the columnar simulator."""
    streets = d.streets
    building = 1 + int(u * 1e10) % catalog.BUILDINGS
    return f"{d.name}{streets[int(u * len(streets))]}{1 + int(u * 1e6) % catalog.HOUSE_NUMBERS}号{building}栋"


def _phone(rng: random.Random) -> str:
    v = rng.getrandbits(32)
    return f"1{'35789'[v % 5]}{v // 5 % 10}****{v // 50 % 10_000:04d}"


class _CityDay:
    def __init__(self, prov: Province, city: catalog.City, day: date) -> None:
        self.p, self.city, self.day = prov, city, day
        self.rng = random.Random(f"{prov.seed}:{city.code}:{day.isoformat()}")
        self.day0 = local_midnight(day).timestamp()
        tag = day.strftime("%Y%m%d")
        self.prefix = f"sim{prov.seed}-{city.code}-{tag}-"
        self.ids = f"{prov.seed}-{city.code}-{tag}-"
        self.out: list[Keyed] = []
        # One counter per kind, so switching seat_detail (kind "b") never renames other events.
        self.seqs = {"a": 0, "b": 0, "c": 0, "t": 0}
        self.prefixes = {kind: f"{self.prefix}{kind}" for kind in self.seqs}
        self.n_tickets = 0
        self.clock = prov._clock
        self.minutes = prov._clock.minutes
        self.iso = prov._clock.iso
        self.code = city.code
        self.level = profiles.day_level(day)
        self.daily = prov._daily[city.code]
        cats = catalog.CATEGORIES
        self.cat_w = [c.weight * catalog.month_weight(c, day.month) for c in cats]
        self.cat_cum = _cumulative(self.cat_w)
        self.dists = list(city.districts)
        self.dist_cum = _cumulative([d.population for d in self.dists])
        self.incidents = (
            [i for i in incidents_on(prov.seed, day) if i.city == city.code] if prov.incidents_on else []
        )

    def emit(self, t: float, kind: str, typ: str, fields: dict) -> None:
        ms = int(t * 1000.0 + 0.5)
        minute, rem = divmod(ms + LOCAL_OFFSET_MS, 60_000)
        prefix = self.minutes.get(minute) or self.clock.minute_prefix(minute)
        n = self.seqs[kind]
        self.seqs[kind] = n + 1
        eid = f"{self.prefixes[kind]}{n:06d}"
        self.out.append(
            (
                ms,
                eid,
                {
                    "event_id": eid,
                    "type": typ,
                    "occurred_at": prefix + _SECOND_MS[rem],
                    "city": self.code,
                    "source": "sim",
                    **fields,
                },
            )
        )

    def emit_ticket(self, t: float, typ: str, fields: dict) -> None:
        self.emit(t, "t", typ, fields)

    # --- arrivals ---------------------------------------------------------------------------
    def _poisson_times(self, rates: list[float], t_from: float = 0.0, t_to: float = 86_400.0) -> list[float]:
        """Arrival times (s from local midnight) of a Poisson process with hourly ``rates``."""
        out: list[float] = []
        expo = self.rng.expovariate
        for h, rate in enumerate(rates):
            lo, hi = max(h * 3600.0, t_from), min((h + 1) * 3600.0, t_to)
            if rate <= 0 or lo >= hi:
                continue
            gap = 3600.0 / rate
            t = lo + expo(1.0) * gap
            while t < hi:
                out.append(t)
                t += expo(1.0) * gap
        return out

    def _surges(self) -> list[tuple[float, int, str]]:
        """Extra contacts of the day's incidents: (t, incident index, channel)."""
        extra: list[tuple[float, int, str]] = []
        total_w = sum(self.cat_w)
        for k, inc in enumerate(self.incidents):
            if inc.category is None:
                continue
            s = inc.start.timestamp() - self.day0
            e = inc.end.timestamp() - self.day0
            if inc.district is not None:
                d = next(x for x in self.dists if x.code == inc.district)
                share = (self.cat_w[catalog.CATEGORY_INDEX[inc.category]] / total_w) * (
                    d.population / self.city.population
                )
                rates = [
                    (inc.factor - 1.0) * self.daily * self.level * sh * share for sh in profiles.HOUR_SHAPE
                ]
            else:
                rates = [inc.factor * self.daily * self.level * sh for sh in profiles.HOUR_SHAPE]
            for t in self._poisson_times(rates, s, e):
                extra.append((t, k, "phone" if self.rng.random() < 0.8 else "wechat"))
        return extra

    # --- the day ----------------------------------------------------------------------------
    def run(self) -> list[Keyed]:
        rng = self.rng
        phone_daily = self.daily * PHONE_SHARE
        rates = [phone_daily * self.level * sh for sh in profiles.HOUR_SHAPE]
        arrivals = [(t, -1) for t in self._poisson_times(rates)]
        msg_rates = [self.daily * (1 - PHONE_SHARE) * self.level * sh for sh in profiles.MESSAGE_HOUR_SHAPE]
        messages = [(t, -1, _channel(rng)) for t in self._poisson_times(msg_rates)]
        for t, k, ch in self._surges():
            if ch == "phone":
                arrivals.append((t, k))
            else:
                messages.append((t, k, ch))
        arrivals.sort()
        messages.sort()

        seats = self._seats(phone_daily)
        for seat in seats:
            self.emit(
                self.day0 + seat.start,
                "a",
                "seat.state",
                {"seat_id": seat.seat_id, "state": "ready", "reason": "login"},
            )
        calls = []
        patience_rate = 1.0 / profiles.PATIENCE_MEAN_S
        for t, k in arrivals:
            talk = min(
                rng.lognormvariate(profiles.SERVICE_LOG_MU, profiles.SERVICE_LOG_SIGMA),
                profiles.SERVICE_MAX_S,
            )
            ticketed = k >= 0 or rng.random() < TICKET_SHARE
            if ticketed:
                acw = rng.lognormvariate(profiles.ACW_TICKET_LOG_MU, profiles.ACW_TICKET_LOG_SIGMA)
            else:
                acw = rng.lognormvariate(profiles.ACW_PLAIN_LOG_MU, profiles.ACW_PLAIN_LOG_SIGMA)
            calls.append(
                callcentre.Served(t, rng.expovariate(patience_rate), talk, acw, k if ticketed else -2)
            )
        busy = callcentre.run_queue(calls, seats)
        self._call_events(calls, seats)
        self._seat_events(calls, seats, busy)
        for call_no, call in enumerate(calls):
            if call.seat is None:
                continue
            created = self.day0 + call.start + call.talk + call.acw
            if call.tag == -2:
                if rng.random() < CONSULT_TICKET_SHARE:
                    self._ticket(created, "phone", -1, f"C{self.ids}{call_no:05d}", consultation=True)
            else:
                self._ticket(created, "phone", call.tag, f"C{self.ids}{call_no:05d}")
        for t, k, ch in messages:
            self._ticket(self.day0 + t + rng.lognormvariate(math.log(300.0), 0.8), ch, k, None)
        self.out.sort()
        return self.out

    def _seats(self, phone_daily: float) -> list[callcentre.Seat]:
        plan_level = 1.0 if profiles.is_workday(self.day) else self.level
        hourly = [phone_daily * plan_level * sh for sh in profiles.HOUR_SHAPE]
        counts = callcentre.plan_shifts(callcentre.required_seats(hourly))
        absent = {i.shift: i.factor for i in self.incidents if i.kind == "seat_shortage" and i.shift}
        planned = self.p.roster(self.city.code, self.day) if self.p.roster is not None else None
        if planned is not None:
            from cockpit.simulation.rosterseats import planned_minus_absent

            return planned_minus_absent(planned, absent)
        return callcentre.build_seats(self.city.code, counts, self.rng, absent)

    def _call_events(self, calls: list[callcentre.Served], seats: list[callcentre.Seat]) -> None:
        day0, emit, rng = self.day0, self.emit, self.rng
        detail = self.p.seat_detail
        for n, call in enumerate(calls):
            call_id = f"C{self.ids}{n:05d}"
            t = day0 + call.arrival
            emit(t, "c", "call.offered", {"call_id": call_id, "channel": "phone"})
            if call.seat is None:
                emit(
                    t + call.patience,
                    "c",
                    "call.abandoned",
                    {"call_id": call_id, "wait_s": round(call.patience, 1)},
                )
                continue
            seat_id = seats[call.seat].seat_id
            start = day0 + call.start
            emit(
                start,
                "c",
                "call.answered",
                {"call_id": call_id, "seat_id": seat_id, "wait_s": round(call.start - call.arrival, 1)},
            )
            hold = (
                round(call.talk * (0.1 + 0.2 * rng.random()), 1)
                if rng.random() < profiles.HOLD_SHARE
                else 0.0
            )
            talk = round(call.talk, 1)
            emit(
                start + call.talk,
                "c",
                "call.ended",
                {
                    "call_id": call_id,
                    "seat_id": seat_id,
                    "talk_s": round(talk - hold, 1),
                    "hold_s": hold,
                    "acw_s": round(call.acw, 1),
                },
            )
            if detail:
                emit(start, "b", "seat.state", {"seat_id": seat_id, "state": "on_call"})
                emit(start + call.talk, "b", "seat.state", {"seat_id": seat_id, "state": "acw"})

    def _seat_events(
        self, calls: list[callcentre.Served], seats: list[callcentre.Seat], busy: list[float]
    ) -> None:
        """Breaks start when the seat is free (a call in progress delays, never cuts, a break)."""
        day0, emit = self.day0, self.emit
        per_seat: list[list[tuple[float, float]]] = [[] for _ in seats]
        for call in calls:
            if call.seat is not None:
                per_seat[call.seat].append((call.start, call.start + call.talk + call.acw))
        for i, seat in enumerate(seats):
            jobs = per_seat[i]
            starts = [s for s, _e in jobs]
            pauses: set[float] = set()
            for b0, b1, reason in seat.breaks:
                j = bisect.bisect_left(starts, b0) - 1
                actual = max(b0, jobs[j][1]) if j >= 0 else b0
                if actual < b1 and actual < seat.end:
                    emit(
                        day0 + actual,
                        "a",
                        "seat.state",
                        {"seat_id": seat.seat_id, "state": "not_ready", "reason": reason},
                    )
                    emit(day0 + b1, "a", "seat.state", {"seat_id": seat.seat_id, "state": "ready"})
                    pauses.add(actual)
            logout = max(seat.end, busy[i])
            pauses.add(logout)
            if self.p.seat_detail:
                for j, (_s, e) in enumerate(jobs):
                    if e not in pauses and not (j + 1 < len(jobs) and jobs[j + 1][0] == e):
                        emit(day0 + e, "b", "seat.state", {"seat_id": seat.seat_id, "state": "ready"})
            emit(
                day0 + logout,
                "a",
                "seat.state",
                {"seat_id": seat.seat_id, "state": "offline", "reason": "logout"},
            )

    # --- tickets ----------------------------------------------------------------------------
    def _ticket(
        self, created: float, channel: str, tag: int, call_id: str | None, consultation: bool = False
    ) -> None:
        rng = self.rng
        ticket_id = f"T{self.ids}{self.n_tickets:05d}"
        self.n_tickets += 1
        inc = self.incidents[tag] if tag >= 0 else None
        caller = None
        if inc is not None:
            district = (
                next(d for d in self.dists if d.code == inc.district) if inc.district else self._district()
            )
            category = catalog.CATEGORIES[catalog.CATEGORY_INDEX[inc.category]]
            address = _address(district, rng)
        elif not consultation and rng.random() < REPEAT_SHARE:
            district, address, category, caller = rng.choice(self.p._week_problems(self.city, self.day))
        else:
            district = self._district()
            category = catalog.CATEGORIES[bisect.bisect_right(self.cat_cum, rng.random() * self.cat_cum[-1])]
            address = _address(district, rng)
        if caller is None:
            caller = _phone(rng)
        u = rng.random()
        urgency = (
            "emergency"
            if u < category.emergency
            else ("urgent" if u < category.emergency + category.urgent else "normal")
        )
        if consultation:
            urgency = "normal"
        lat, lon = self.p._pool(district)[zlib.crc32(address.encode()) % POINT_POOL]
        due_ms = int((created + DUE_H[urgency] * 3600.0) * 1000.0 + 0.5)
        fields = {
            "ticket_id": ticket_id,
            "district": district.code,
            "lat": lat,
            "lon": lon,
            "category": list(category.path),
            "channel": channel,
            "urgency": urgency,
            "text": rng.choice(category.templates).format(addr=address),
            "caller": caller,
            "address": address,
            "due_at": self.iso(due_ms),
        }
        if call_id is not None:
            fields["call_id"] = call_id
        self.emit(created, "t", "ticket.created", fields)
        spec = TicketSpec(ticket_id, created, self.city, district, category, urgency, consultation)

        simulate_ticket(spec, rng, self.emit_ticket)

    def _district(self) -> catalog.District:
        return self.dists[bisect.bisect_right(self.dist_cum, self.rng.random() * self.dist_cum[-1])]


def _cumulative(weights: list[float]) -> list[float]:
    out, acc = [], 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return out


def _channel(rng: random.Random) -> str:
    u = rng.random()
    for name, share in MESSAGE_CHANNELS:
        u -= share
        if u < 0:
            return name
    return MESSAGE_CHANNELS[-1][0]


def generate(
    start: datetime,
    duration: timedelta,
    *,
    seed: int,
    cities: list[str] | None = None,
    scale: float = 1.0,
    incidents: bool = True,
    seat_detail: bool = False,
    origin: datetime | None = None,
    sampler: Sampler | None = None,
) -> Iterator[dict]:
    """Simulated events with ``start <= occurred_at < start + duration``, in occurred_at order.

    ``start`` must be timezone-aware. Deterministic: the same arguments give the same stream, and
    consecutive windows concatenate to the stream of their union. Events are plain dicts valid
    for ``cockpit.events.validate`` (``source`` "sim", ``occurred_at`` in +08:00).
    """
    prov = Province(
        seed=seed,
        cities=cities,
        scale=scale,
        incidents=incidents,
        seat_detail=seat_detail,
        origin=origin,
        sampler=sampler,
    )
    return prov.events(start, start + duration)
