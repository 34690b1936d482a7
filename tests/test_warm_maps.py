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
