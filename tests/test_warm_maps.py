"""A serving web process prepares every screen map ahead (boundaries, rounded shapes, label
placement), so the first screens to connect after a start or a restart do not wait for them."""

from __future__ import annotations

import threading

from layouts import choropleth
from layouts.mapdata import screen_geojson, warm_screen_maps


def _placed_for(code: str, lang: str) -> bool:
    texts = tuple(choropleth._label_text(f) for f in screen_geojson(code, lang)["features"])
    return any(key[1] == texts for key in list(choropleth._PLACED))


def test_warm001_every_map_of_the_codes_in_both_languages_is_prepared(monkeypatch):
    monkeypatch.setattr(choropleth, "_PLACED", {})
    assert warm_screen_maps(["620100", "999999", "620000"]) == 4  # no boundaries for 999999: skipped
    for code in ("620100", "620000"):
        for lang in ("zh", "en"):
            assert _placed_for(code, lang), (code, lang)
    assert not _placed_for("620200", "zh")


def test_warm002_a_serving_app_prepares_the_maps_of_the_regions_table(sqlite_stores, monkeypatch):
    from app import create_app
    from geo.regions import load_default_regions

    with sqlite_stores.session() as session:
        load_default_regions(session)
    monkeypatch.setattr(choropleth, "_PLACED", {})
    create_app(sqlite_stores.settings, stores=sqlite_stores)  # a test's app: nothing ahead
    assert choropleth._PLACED == {}
    app = create_app(sqlite_stores.settings, stores=sqlite_stores, warm=True)
    for thread in threading.enumerate():
        if thread.name == "warm-screen-maps":
            thread.join(timeout=120)
    assert _placed_for("620000", "zh") and _placed_for("620100", "en") and _placed_for("623000", "zh")
    app.server.config["COCKPIT_SCREEN_STREAMS"].stop()


def test_warm003_a_screen_map_is_the_metric_map_of_its_boundaries_without_a_copy_or_a_hash(monkeypatch):
    """``screen_map`` hands the renderer a fresh dict it may decorate and the digest it keeps, so a
    render neither copies the boundaries nor hashes them again; what it draws is unchanged."""
    import json

    import plotly

    from layouts.mapdata import metric_map, screen_map

    values = {c: i for i, c in enumerate(["620102", "620103", "620104", "620105", "620111", "620121"])}
    kwargs = dict(id="m", label="件", better="lower", integer=True)
    for code, lang in (("620100", "zh"), ("620000", "en")):
        before = json.dumps(metric_map(screen_geojson(code, lang), values, lang=lang, **kwargs),
                            cls=plotly.utils.PlotlyJSONEncoder)
        screen_map(code, lang, values, **kwargs)  # the digest is kept
        hashed, copied = [], []
        real_digest, real_copy = choropleth._geometry_digest, choropleth.copy.deepcopy
        monkeypatch.setattr(choropleth, "_geometry_digest", lambda f: hashed.append(1) or real_digest(f))
        monkeypatch.setattr(choropleth.copy, "deepcopy", lambda x: copied.append(1) or real_copy(x))
        after = json.dumps(screen_map(code, lang, values, **kwargs), cls=plotly.utils.PlotlyJSONEncoder)
        monkeypatch.undo()
        assert after == before
        assert hashed == [] and copied == []
    assert screen_geojson("620100", "zh")["features"][0]["properties"].get("_fill") is None  # cache intact


def test_geo_known_codes_the_simplified_and_full_boundaries_hold_the_same_regions():
    """``boundaries.known`` and the population table read the simplified files only (a web process
    then never reads the full-resolution ones): both must hold the same regions, names, parents,
    levels and census figures (label points differ: they follow each file's outline)."""
    from geo import boundaries

    columns = ["code", "name", "name_en", "level", "parent", "city", "population"]
    simplified, full = (boundaries.bundled_features(s)[columns].sort_values("code").reset_index(drop=True)
                        for s in (True, False))
    assert len(simplified) > 200 and simplified.equals(full)
    assert boundaries.known("620100") and boundaries.known("100000") and not boundaries.known("999999")


def test_geo_names_come_from_the_simplified_boundaries_as_region_info_gives_them():
    """Pages show region names from ``region_names`` (simplified files); a wall's first page build
    used to load the full-resolution boundaries for them (over a second, holding every other request)."""
    from geo import boundaries

    codes = list(boundaries.bundled_features(False)["code"]) + ["100000", "NYC", "999999"]
    for code in codes:
        info = boundaries.region_info(code)
        assert boundaries.region_names(code) == ((info["name"], info["name_en"]) if info else (None, None)), code


def test_warm004_gunicorns_app_prepares_the_maps_before_it_takes_a_request(sqlite_stores, monkeypatch):
    """``warm="first"`` (``app:server``): the maps are ready when ``create_app`` returns, no thread
    left running; a worker accepts connections only after loading the app."""
    from app import create_app
    from geo.regions import load_default_regions

    with sqlite_stores.session() as session:
        load_default_regions(session)
    monkeypatch.setattr(choropleth, "_PLACED", {})
    app = create_app(sqlite_stores.settings, stores=sqlite_stores, warm="first")
    assert _placed_for("620000", "en") and _placed_for("620100", "zh") and _placed_for("623000", "en")
    assert not any(t.name == "warm-screen-maps" for t in threading.enumerate())
    app.server.config["COCKPIT_SCREEN_STREAMS"].stop()
