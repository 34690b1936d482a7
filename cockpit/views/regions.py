"""Names, populations and member cities of the regions a screen shows, cached on ``stores.caches``.

Names come from the regions table, else the bundled boundaries; the scope's level and cities
from ``store.regions.resolve_scope``. Both change rarely, so they are kept SLOW_TTL_S in process.
"""

from __future__ import annotations

from collections.abc import Sequence

from cockpit.store import regions
from geo.names import english_name
from cockpit.store.db import Stores
from cockpit.views.sources import SOURCE_ERRORS

SLOW_TTL_S = 60.0  # region names, scopes; also the slow panels' refresh period


def region_names(stores: Stores, codes: Sequence[str], *, use_table: bool = True) -> dict[str, dict[str, str]]:
    """{code: {"zh": name, "en": name_en}} from the regions table, else the bundled boundaries; an
    English name missing from both is the Chinese name in pinyin (``geo.names.english_name``)."""
    out: dict[str, dict[str, str]] = {}

    def load() -> dict[str, tuple[str, str | None]]:
        with stores.read_session() as session:
            return regions.name_table(session)

    table: dict[str, tuple[str, str | None]] = {}
    if use_table:
        try:
            table, _ = stores.caches.ttl.get(("regions",), SLOW_TTL_S, load)
        except SOURCE_ERRORS:
            table = {}
    for code in codes:
        if code in table:
            zh, en = table[code]
        else:
            zh, en = _bundled_name(code)
        out[code] = {"zh": zh or code, "en": en or (english_name(code, zh) if zh else code)}
    return out


def _bundled_name(code: str) -> tuple[str | None, str | None]:
    from geo import boundaries

    try:
        info = boundaries.region_info(code)
    except Exception:  # noqa: BLE001 - a name is decoration; the code stands in
        info = None
    if not info:
        return None, None
    return info.get("name"), info.get("name_en")


def populations(stores: Stores, codes: Sequence[str], *, use_table: bool = True) -> dict[str, int | None]:
    """{code: resident population or None} by ``store.regions.population_of`` (the regions table,
    else the bundled census); the table is cached SLOW_TTL_S. A failing database (or
    ``use_table=False``, while SQL is known to be down) leaves the census."""

    def load() -> dict[str, int | None]:
        with stores.read_session() as session:
            return regions.population_table(session)

    table: dict[str, int | None] = {}
    if use_table:
        try:
            table, _ = stores.caches.ttl.get(("populations",), SLOW_TTL_S, load)
        except SOURCE_ERRORS:
            table = {}
    return {code: regions.population_of(code, table) for code in codes}


def resolve(stores: Stores, scope: str) -> tuple[str, tuple[str, ...]]:
    """(level, city codes) of a scope; cached in process like the region names (regions rarely change)."""

    def load() -> tuple[str, tuple[str, ...]]:
        with stores.read_session() as session:
            resolved = regions.resolve_scope(session, scope)
        return resolved.level, tuple(resolved.city_codes)

    return stores.caches.ttl.get(("resolve", scope), SLOW_TTL_S, load)[0]


def province_cities(stores: Stores, scope: str) -> list[str]:
    """The cities of a province: bundled boundaries first, then what the SQL scope knows; cached in
    process SLOW_TTL_S like the scopes (the boundaries' codes cost a GeoJSON parse, ~20 ms idle)."""
    from geo import boundaries

    def load() -> tuple[str, ...]:
        codes: list[str] = []
        if boundaries.known(scope):
            codes = list(boundaries.features(scope)["code"])
        for code in resolve(stores, scope)[1]:
            if code not in codes:
                codes.append(code)
        return tuple(sorted(codes))

    return list(stores.caches.ttl.get(("province_cities", scope), SLOW_TTL_S, load)[0])
