"""Scope resolution: which cities and districts a region code covers.

A scope is a region code of a province, a city or a district. Calls carry only a city;
tickets carry a city and a district. Every metric query filters through ``resolve_scope``.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from cockpit.errors import UnknownScope  # noqa: F401 - raised here, imported by callers from here too
from cockpit.store.models import Call, Region, Ticket

LEVELS = ("province", "city", "district")


class Scope(NamedTuple):
    """A resolved scope: its level, the city codes it covers and, for a district, the district."""

    level: str
    city_codes: tuple[str, ...]
    district_codes: tuple[str, ...] | None  # None = every district of the cities


def _is_adcode(code: str) -> bool:
    return len(code) == 6 and code.isdigit()


def _adcode_level(code: str) -> str:
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "city"
    return "district"


def _known_cities(session: Session) -> set[str]:
    """City codes seen in regions, calls or tickets (for adcode fallback without a regions table)."""
    codes = set(session.scalars(select(Region.code).where(Region.level == "city")))
    codes |= set(session.scalars(select(Call.city).distinct()))
    codes |= set(session.scalars(select(Ticket.city).distinct()))
    return codes


def resolve_scope(session: Session, scope: str) -> Scope:
    """Resolve a region code to ``(level, city_codes, district_codes)``.

    - a city: ``("city", (scope,), None)``;
    - a province: the cities whose ``regions.parent`` is it, or, when the regions table has none,
      the cities whose 6-digit adcode shares its 2-digit prefix ('620000' covers '62xx00');
    - a district: ``("district", (its city,), (scope,))``: its city is ``regions.parent``, or the
      adcode's first four digits + '00'.

    Unknown codes that are not adcodes are taken as cities (a deployment may use its own codes,
    e.g. the Technion import's 'technion'). Raises ``UnknownScope`` for an empty code.
    Read-only; never commits.
    """
    scope = (scope or "").strip()
    if not scope:
        raise UnknownScope("scope is required")
    region = session.get(Region, scope)
    level = region.level if region is not None else (_adcode_level(scope) if _is_adcode(scope) else "city")
    if level == "province":
        cities = sorted(
            session.scalars(select(Region.code).where(Region.parent == scope, Region.level == "city"))
        )
        if not cities and _is_adcode(scope):
            prefix = scope[:2]
            cities = sorted(c for c in _known_cities(session) if _is_adcode(c) and c[:2] == prefix
                            and _adcode_level(c) == "city")
        return Scope("province", tuple(cities), None)
    if level == "district":
        city = region.parent if region is not None and region.parent else None
        if city is None:
            city = scope[:4] + "00" if _is_adcode(scope) else scope
        return Scope("district", (city,), (scope,))
    return Scope("city", (scope,), None)


SCOPE_LEVEL_TTL_S = 60.0


def scope_level(session: Session, scope: str) -> str | None:
    """The level of a scope the cockpit knows, or None: a region in the regions table, or a code
    that calls or tickets carry (a city, or a ticket's district). Unlike ``resolve_scope`` it
    invents nothing: '999999' or a mistyped '62010' is None. Read-only.

    The access checks ask it on every page and screen connect: a level found is kept a minute in
    the process's caches (``Stores.caches``, which ``Stores`` sessions carry); a code not found is
    asked again each time, so a region loaded meanwhile counts at once (and a known code only makes
    the check stricter: its scope is then required)."""
    scope = (scope or "").strip()
    if not scope:
        return None
    caches = session.info.get("cockpit_caches")
    if caches is None:
        return _scope_level(session, scope)
    key = ("scope_level", scope)
    level, _ = caches.ttl.get(key, SCOPE_LEVEL_TTL_S, lambda: _scope_level(session, scope))
    if level is None:
        caches.ttl.forget(key)
    return level


def _scope_level(session: Session, scope: str) -> str | None:
    region = session.get(Region, scope)
    if region is not None:
        return region.level
    if session.scalar(select(Call.city).where(Call.city == scope).limit(1)) is not None:
        return "city"
    if session.scalar(select(Ticket.city).where(Ticket.city == scope).limit(1)) is not None:
        return "city"
    if session.scalar(select(Ticket.district).where(Ticket.district == scope).limit(1)) is not None:
        return "district"
    return None


def population_table(session: Session) -> dict[str, int | None]:
    """{code: population or None} of every region in the table."""
    return {code: pop for code, pop in session.execute(select(Region.code, Region.population))}


def population_of(code: str, table: dict[str, int | None]) -> int | None:
    """The one population rule: the regions table's figure for a code it holds (None when the table
    has none, e.g. a deployment's region file without the property), else the bundled 2020 census
    (``geo.population``), else None. ``table`` is ``population_table`` (or a part of it)."""
    if code in table:
        return int(table[code]) if table[code] is not None else None
    import geo  # noqa: PLC0415 - geo.regions imports this package; bind late

    try:
        return geo.population(code)
    except Exception:  # noqa: BLE001 - unknown codes have no population
        return None


def populations(session: Session, codes: list[str]) -> dict[str, int]:
    """Population per region code (``population_of``), for the codes that have one."""
    if not codes:
        return {}
    table = {code: pop for code, pop in session.execute(
        select(Region.code, Region.population).where(Region.code.in_(codes)))}
    found = {code: population_of(code, table) for code in codes}
    return {code: pop for code, pop in found.items() if pop is not None}


def name_table(session: Session, codes: list[str] | None = None) -> dict[str, tuple[str, str | None]]:
    """{code: (name, name_en)} of every region in the table, or of those of ``codes`` it holds."""
    stmt = select(Region.code, Region.name, Region.name_en)
    if codes is not None:
        if not codes:
            return {}
        stmt = stmt.where(Region.code.in_(codes))
    return {c: (n, e) for c, n, e in session.execute(stmt)}


def region_codes(session: Session) -> list[str]:
    """Every region code in the table."""
    return list(session.scalars(select(Region.code)))


def is_unknown(session: Session, code: str) -> bool:
    """Whether the region table holds regions but not ``code`` (an empty table rules nothing out)."""
    return session.scalar(select(Region.code).limit(1)) is not None and session.get(Region, code) is None


def child_levels(session: Session, parent: str) -> dict[str, str]:
    """{code: level} of the regions whose parent is ``parent`` (empty when none is loaded)."""
    return dict(session.execute(select(Region.code, Region.level).where(Region.parent == parent)).all())


def cities_of(session: Session, scope: str) -> list[tuple[str, str, str | None]]:
    """(code, name, name_en) of the cities under ``scope``, or of ``scope`` itself when it is a city; by code."""
    return [tuple(r) for r in session.execute(
        select(Region.code, Region.name, Region.name_en).where(
            (Region.parent == scope) & (Region.level == "city") | (Region.code == scope) & (Region.level == "city")
        ).order_by(Region.code)
    ).all()]


def province_and_cities(session: Session, province: str) -> list[tuple[str, str, str, str | None]]:
    """(code, level, name, name_en) of ``province`` and of its cities, by code."""
    return [tuple(r) for r in session.execute(
        select(Region.code, Region.level, Region.name, Region.name_en).where(
            (Region.code == province) | ((Region.parent == province) & (Region.level == "city"))
        ).order_by(Region.code)
    ).all()]


def centroids(session: Session, codes: list[str]) -> dict[str, tuple[float, float] | None]:
    """(lat, lon) of each region: the regions table's, else the bundled boundary's label point,
    else None (WGS84 degrees). Cached for the life of the session."""
    cache = session.info.setdefault("region_centroids", {})
    missing = [c for c in codes if c not in cache]
    if missing:
        rows = {code: (lat, lon) for code, lat, lon in session.execute(
            select(Region.code, Region.lat, Region.lon).where(Region.code.in_(missing)))}
        for code in missing:
            lat, lon = rows.get(code, (None, None))
            cache[code] = (float(lat), float(lon)) if lat is not None and lon is not None else _bundled_centroid(code)
    return {c: cache[c] for c in codes}


@functools.lru_cache(maxsize=4096)
def _bundled_centroid(code: str) -> tuple[float, float] | None:
    from geo import boundaries

    try:
        info = boundaries.region_info(code)
    except Exception:  # noqa: BLE001 - no boundary data: the district is a zone of its own
        return None
    if not info or info.get("label_lat") is None or info.get("label_lon") is None:
        return None
    return float(info["label_lat"]), float(info["label_lon"])


def parent_table(session: Session) -> dict[str, str | None]:
    """{code: parent code} of every region in the regions table. Read-only."""
    return dict(session.execute(select(Region.code, Region.parent)).all())


def city_of(session: Session, code: str) -> str | None:
    """The city a district of the regions table belongs to (its parent, when that is a city); None
    when ``code`` is unknown or not under a city. Read-only."""
    region = session.get(Region, code)
    parent = session.get(Region, region.parent) if region is not None and region.parent else None
    return parent.code if parent is not None and parent.level == "city" else None


def table_level(session: Session, code: str) -> str | None:
    """The level the regions table gives ``code`` ('province', 'city', 'district'), None when absent."""
    region = session.get(Region, code)
    return region.level if region is not None else None
