"""Live per-city overview read from Redis (today in the configured zone)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cockpit.store import live, regions
from cockpit.store.db import Stores

# Which region levels each screen shows: a wall is a city's (or one district's), the overview a province's.
SCREEN_LEVELS = {"wall": ("city", "district"), "province": ("province",)}


@dataclass(frozen=True)
class CityToday:
    code: str
    name: str
    name_en: str
    offered: int
    answered: int
    abandoned: int
    tickets: int
    waiting: int


def live_by_city(stores: Stores, cities: list[str], now: datetime) -> dict[str, tuple[dict[str, int], int]]:
    """{city: (today's live totals, calls waiting now)} for each city, in one Redis round trip.

    "Today" is the local day of ``settings.timezone`` at ``now`` (aware). Raises the Redis error.
    """
    day = live.day_str(now, stores.settings.tz)
    batch = live.Batch(stores.redis)
    reads = {c: (live.day_totals(stores.redis, [c], day, batch=batch), live.waiting(stores.redis, [c], now=now, batch=batch))
             for c in cities}
    batch.execute()
    return {c: (totals.value, wait.value.calls) for c, (totals, wait) in reads.items()}


def cities_today(stores: Stores, *, scope: str, now: datetime | None = None) -> tuple[list[CityToday], datetime]:
    """Today's live counts for every city in ``scope`` (a province code, or a city code)."""
    now = now or datetime.now(UTC)
    with stores.read_session() as session:
        rows = regions.cities_of(session, scope)
    names = {code: (name, en or name) for code, name, en in rows} or {
        code: (code, code) for code in live.known_cities(stores.redis)}
    figures = live_by_city(stores, list(names), now)
    out = []
    for code, (name, name_en) in names.items():
        totals, waiting = figures[code]
        out.append(CityToday(code, name, name_en, totals.get("off", 0), totals.get("ans", 0), totals.get("abn", 0),
                             totals.get("tkt", 0), waiting))
    return out, now


def screen_level(stores: Stores, page: str, code: str) -> str | None:
    """The level of ``code`` if screen ``page`` ('wall' | 'province') can show it, else None
    (unknown code, or a region of the wrong level: a province has no city wall). Every screen's
    connect asks it twice: ``regions.scope_level`` keeps a level found a minute and asks again
    for a code not found, so a region loaded meanwhile has its screen at once."""
    with stores.read_session() as session:
        level = regions.scope_level(session, code)
    return level if level in SCREEN_LEVELS.get(page, ()) else None


def known_screens(stores: Stores, province: str) -> list[dict]:
    """The screens a lost visitor can go to: the province, then each of its cities, as dicts
    {code, level, name, name_en}; cities from the regions table, else those with live data."""
    with stores.read_session() as session:
        rows = regions.province_and_cities(session, province)
    found = [{"code": c, "level": lv, "name": n, "name_en": e or n} for c, lv, n, e in rows]
    if not any(r["level"] == "city" for r in found):
        found += [{"code": c, "level": "city", "name": c, "name_en": c} for c in sorted(live.known_cities(stores.redis))]
    found.sort(key=lambda r: (r["level"] != "province", r["code"]))
    return found
