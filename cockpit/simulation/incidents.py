"""The incident schedule: surges, seat shortages and storm days, deterministic from the seed.

Incidents are drawn per local day from ``(seed, date)`` alone, for the whole province, so the
same seed always yields the same list whatever window or cities are asked for. Each incident is
also a machine-readable record (city, district, category, start, end, kind) so tests and the
cockpit's watchpoints can be checked against what really happened.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

from cockpit.simulation import catalog

LOCAL_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")  # China keeps no daylight saving time
SURGE_DAILY_P = 0.35
SHORTAGE_DAILY_P = 0.15
STORM_DAILY_P = 0.05
SURGE_FACTOR = 5.0  # contacts of the district x category during the surge, against normal
STORM_EXTRA = 0.8  # extra contacts during a storm day, as a share of the city's normal volume
SHORTAGE_ABSENT = 0.45  # share of one shift's seats that do not turn up


@dataclass(frozen=True)
class Incident:
    """One scheduled incident. ``start``/``end`` are aware UTC datetimes; ``end`` is exclusive."""

    id: str
    kind: str  # heating_failure | water_outage | seat_shortage | flood | snowstorm
    city: str
    district: str | None
    category: tuple[str, str] | None
    start: datetime
    end: datetime
    factor: float
    shift: str | None
    note: str

    def as_dict(self) -> dict:
        """JSON-ready form: ISO times in UTC, category as a list."""
        return {
            "id": self.id,
            "kind": self.kind,
            "city": self.city,
            "district": self.district,
            "category": list(self.category) if self.category else None,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "factor": self.factor,
            "shift": self.shift,
            "note": self.note,
        }


def _weighted(rng: random.Random, items: list, weights: list[float]):
    return rng.choices(items, weights=weights, k=1)[0]


def _at(day: date, hours: float) -> datetime:
    local = datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ) + timedelta(hours=hours)
    return local.astimezone(UTC)


def incidents_on(seed: int, day: date) -> list[Incident]:
    """All incidents starting on local date ``day`` in the province, in start order."""
    rng = random.Random(f"{seed}:incidents:{day.isoformat()}")
    all_cities = list(catalog.cities().values())
    pops = [c.population for c in all_cities]
    winter = day.month in (11, 12, 1, 2, 3)
    summer = day.month in (5, 6, 7, 8, 9)
    out: list[Incident] = []
    tag = day.strftime("%Y%m%d")

    if rng.random() < SURGE_DAILY_P:
        city = _weighted(rng, all_cities, pops)
        district = _weighted(rng, list(city.districts), [d.population for d in city.districts])
        start_h = 7 + rng.randrange(13 * 4) / 4
        if winter:
            kind, category, hours = "heating_failure", catalog.HEATING, 3.0
            note = f"{district.name}供热管网故障，片区暖气停供"
        else:
            kind, category, hours = "water_outage", catalog.WATER, 4.0
            note = f"{district.name}供水主管爆裂，片区停水"
        out.append(
            Incident(
                f"inc-{seed}-{tag}-surge",
                kind,
                city.code,
                district.code,
                category,
                _at(day, start_h),
                _at(day, start_h + hours),
                SURGE_FACTOR,
                None,
                note,
            )
        )
    if rng.random() < SHORTAGE_DAILY_P:
        city = _weighted(rng, all_cities, pops)
        shift, start_h, end_h = "B", 7.0, 15.5  # the early shift carries the morning peak
        out.append(
            Incident(
                f"inc-{seed}-{tag}-seats",
                "seat_shortage",
                city.code,
                None,
                None,
                _at(day, start_h),
                _at(day, end_h),
                SHORTAGE_ABSENT,
                shift,
                f"{city.name}12345热线{shift}班次坐席缺员（流感病假）",
            )
        )
    storm = rng.random() < STORM_DAILY_P
    if storm and (summer or winter):
        city = _weighted(rng, all_cities, pops)
        if summer:
            kind, category, note = "flood", catalog.FLOOD, f"{city.name}强降雨，城区多处积水内涝"
        else:
            kind, category, note = "snowstorm", catalog.SNOW, f"{city.name}暴雪，道路积雪结冰"
        out.append(
            Incident(
                f"inc-{seed}-{tag}-storm",
                kind,
                city.code,
                None,
                category,
                _at(day, 8.0),
                _at(day, 20.0),
                STORM_EXTRA,
                None,
                note,
            )
        )
    out.sort(key=lambda i: (i.start, i.id))
    return out


def local_date(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TZ).date()


def incidents(
    start: datetime, duration: timedelta, *, seed: int, cities: list[str] | None = None
) -> list[Incident]:
    """Incidents overlapping ``[start, start + duration)`` (aware datetimes), in start order."""
    end = start + duration
    d0, d1 = local_date(start), local_date(end)
    out: list[Incident] = []
    for n in range((d1 - d0).days + 1):
        for inc in incidents_on(seed, d0 + timedelta(days=n)):
            if inc.start < end and inc.end > start and (cities is None or inc.city in cities):
                out.append(inc)
    return out
