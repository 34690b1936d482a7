"""Live per-city overview read from Redis (today in the configured zone)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from cockpit.store import live
from cockpit.store.models import Region
from cockpit.store.db import Stores


@dataclass(frozen=True)
class CityToday:
    code: str
    name: str
    offered: int
    answered: int
    abandoned: int
    tickets: int
    waiting: int


def cities_today(stores: Stores, *, scope: str, now: datetime | None = None) -> tuple[list[CityToday], datetime]:
    """Today's live counts for every city in ``scope`` (a province code, or a city code)."""
    now = now or datetime.now(UTC)
    with stores.session() as session:
        regions = session.execute(
            select(Region.code, Region.name).where(
                (Region.parent == scope) & (Region.level == "city") | (Region.code == scope) & (Region.level == "city")
            ).order_by(Region.code)
        ).all()
    names = dict(regions) or {code: code for code in live.known_cities(stores.redis)}
    day = live.day_str(now, stores.settings.tz)
    out = []
    for code, name in names.items():
        totals = live.day_totals(stores.redis, [code], day)
        waiting = live.waiting(stores.redis, [code], now=now)
        out.append(CityToday(code, name, totals.get("off", 0), totals.get("ans", 0), totals.get("abn", 0),
                             totals.get("tkt", 0), waiting.calls))
    return out, now
