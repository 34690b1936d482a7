"""Geography: bundled boundaries (WGS84), region hierarchy, population, point location.

Pure functions over data loaded once from ``geo/data``; never imports dash.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"

# Census rows that belong to a region other than their code says (see docs/geo.md):
# 620171 Lanzhou New Area has no polygon and is counted in Lanzhou; 620200 is Jiayuguan's 市辖区,
# whose polygon is the district 620201.
POPULATION_REMAP = {"620171": "620100", "620200": "620201"}


@lru_cache(maxsize=1)
def _census() -> tuple[dict[str, int], dict[str, int]]:
    """(population by district code, extra population to add to a parent) from the 2020 census."""
    own: dict[str, int] = {}
    extra: dict[str, int] = {}
    with (DATA_DIR / "gansu_population_2020.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            code, value = row["adcode"], int(row["population"])
            target = POPULATION_REMAP.get(code, code)
            if code == "620171":
                extra[target] = extra.get(target, 0) + value
            else:
                own[target] = value
    return own, extra


def population(code: str) -> int | None:
    """Resident population (2020 census, 1 Nov 2020) of a region, or None when unknown.

    Districts come from the census table; a city or province is the sum of its children plus
    census rows without a polygon (Lanzhou New Area 620171 goes to Lanzhou 620100). None if any
    child is unknown (e.g. Beijing, NYC: no bundled figures) or for registered regions without it.
    """
    from geo import boundaries

    return _population_table(boundaries.custom_version()).get(code)


@lru_cache(maxsize=2)
def _population_table(version: int) -> dict[str, int | None]:
    from geo import boundaries

    own, extra = _census()
    frame = boundaries.all_features(True)  # the same regions and figures as the full files, read faster
    frame = frame[frame["level"] != "decor"]
    stated = {c: (None if p is None or p != p else int(p)) for c, p in zip(frame["code"], frame["population"])}
    children: dict[str, list[str]] = {}
    for code, parent in zip(frame["code"], frame["parent"]):
        if parent:
            children.setdefault(parent, []).append(code)
    table: dict[str, int | None] = {}

    def _resolve(code: str, depth: int = 0) -> int | None:
        if code in table:
            return table[code]
        value: int | None
        if code in own:
            value = own[code]
        elif stated.get(code) is not None:
            value = stated[code]
        elif code in children and depth < 10:
            parts = [_resolve(child, depth + 1) for child in children[code]]
            value = None if any(p is None for p in parts) else sum(parts) + extra.get(code, 0)
        else:
            value = None
        table[code] = value
        return value

    for code in set(stated) | set(children):
        _resolve(code)
    return table


def per_100k(count: float | None, code: str) -> float | None:
    """``count`` per 100,000 residents of region ``code`` (2020 census), or None when unknown."""
    people = population(code)
    if count is None or not people:
        return None
    return count * 100_000 / people
