"""Screen maps: boundaries prepared for a wall (names in the page language, coordinates rounded)
and one function that classifies a metric and draws it, so every map on every screen follows the
same rules: at least five classes from the data where the data allow, red = needs attention
(reversed for metrics where higher is better), the unit in the legend title.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from dash import html

from layouts.choropleth import choropleth_map, class_colors, classify

# Coordinate decimals sent to the browser: a wall pixel is ~300 m on a city map and ~2 km on a
# province map, so 4 (~10 m) and 3 (~100 m) decimals lose nothing visible and cut the bytes.
CITY_DECIMALS, PROVINCE_DECIMALS = 4, 3


def _round_coords(value: Any, decimals: int) -> Any:
    if isinstance(value, float):
        return round(value, decimals)
    if isinstance(value, list):
        return [_round_coords(v, decimals) for v in value]
    return value


@lru_cache(maxsize=64)
def _screen_geojson(code: str, lang: str) -> str:
    from geo import boundaries
    from geo.names import english_name

    shapes = boundaries.geojson(code)
    for feature in shapes["features"]:
        props = feature["properties"]
        if lang == "en":
            props["name"] = props.get("name_en") or english_name(props["code"], props.get("name") or "")
    decimals = PROVINCE_DECIMALS if code.endswith("0000") else CITY_DECIMALS
    for feature in shapes["features"]:
        geometry = feature["geometry"]
        geometry["coordinates"] = _round_coords(geometry["coordinates"], decimals)
    return json.dumps(shapes, ensure_ascii=False)


@lru_cache(maxsize=64)
def screen_feature_count(code: str) -> int:
    """How many shapes ``code``'s screen map has (as cached as ``_screen_geojson``, without decoding
    it on every render); KeyError for an unknown code."""
    return len(screen_codes(code))


@lru_cache(maxsize=64)
def screen_codes(code: str) -> tuple[str, ...]:
    """The codes of the regions on ``code``'s screen map, in map order; KeyError for an unknown code."""
    return tuple(f["properties"]["code"] for f in json.loads(_screen_geojson(code, "zh"))["features"])


@lru_cache(maxsize=64)
def _screen_digest(code: str, lang: str) -> str:
    """The geometry digest of a screen map (``choropleth._geometry_digest``), hashed once per
    process: the key of its kept label positions and legend corner."""
    from layouts.choropleth import _geometry_digest

    return _geometry_digest(screen_geojson(code, lang)["features"])


def screen_map(code: str, lang: str, values: dict[str, float | None], *, id: str | dict, label: str,
               better: str, integer: bool, tile_url: str = "") -> html.Div:
    """``metric_map`` of ``code``'s screen map (``screen_geojson``) without copying or hashing its
    boundaries again: what a wall or province render draws. KeyError for an unknown code."""
    return metric_map(screen_geojson(code, lang), values, id=id, label=label, better=better, integer=integer,
                      lang=lang, tile_url=tile_url, owned=True, geometry_digest=_screen_digest(code, lang))


def warm_screen_maps(codes: list[str], langs: tuple[str, ...] = ("zh", "en")) -> int:
    """Prepare the screen map of each of ``codes`` in each language as a render does (boundaries
    read and rounded, label placement), so the first screens to connect after a web process starts
    do not pay it: about 2 s for Gansu's boundaries and 0.05-0.4 s a map, per process. Returns how
    many maps were prepared; a code without boundaries is skipped."""
    done = 0
    for code in codes:
        for lang in langs:
            try:
                screen_map(code, lang, {}, id="warm", label="", better="lower", integer=True)
            except KeyError:
                break
            done += 1
    return done


def screen_geojson(code: str, lang: str = "zh") -> dict:
    """The children of ``code`` for a screen map: names in ``lang``, coordinates rounded.

    A fresh dict each call; KeyError for an unknown code.
    """
    return json.loads(_screen_geojson(code, lang))


def metric_map(shapes: dict, values: dict[str, float | None], *, id: str | dict, label: str, better: str,
               integer: bool, lang: str, tile_url: str = "", owned: bool = False,
               geometry_digest: str | None = None) -> html.Div:
    """A screen choropleth of ``values`` by region code: ``classify`` breaks, ``class_colors``.

    ``label`` is the legend title with its unit, e.g. "接通率 (%)"; ``better`` 'higher' | 'lower'.
    ``owned`` and ``geometry_digest`` as in ``choropleth_map`` (``screen_map`` passes both).
    """
    breaks = classify(values, integer=integer)
    colors = class_colors(len(breaks) + 1, better=better)
    return html.Div(choropleth_map(shapes, values, id=id, metric_label=label, breaks=breaks, colors=colors,
                                   tile_url=tile_url, lang=lang, owned=owned, geometry_digest=geometry_digest),
                    className="ck-wall-mapbox")
