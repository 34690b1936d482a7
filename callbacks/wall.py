"""City wall refresh, the screen clock and freshness badges, district drill-down, the playlist.

The clock/freshness callback (assets/wall.js ``screenTick``) also serves the province page,
which uses the same panel frame; it is registered here once.
"""

from __future__ import annotations

import logging

from dash import ALL, Dash, Input, Output, State, ClientsideFunction

from callbacks.shared_payload import with_viewer_links
from cockpit.views import wall
from cockpit.auth.web import require_region
from cockpit.store.db import Stores
from layouts import ids
from layouts.wall import WALL_PANELS, wall_update

log = logging.getLogger(__name__)

# The refresh's outputs, (id, property) in order: the callback below and the screen stream
# (callbacks/screen_stream.py) send the same list.
WALL_OUTPUTS = (*[({"type": ids.WALL_BODY, "index": name}, "children") for name in WALL_PANELS],
                (ids.WALL_MAP_SIG, "data"), ({"type": ids.WALL_META, "index": "wall"}, "data"),
                (ids.WALL_STATUS, "children"), (ids.WALL_TITLE, "children"), (ids.WALL_DONE, "data"))


def wall_outputs(stores: Stores, request, mode, config, meta, map_sig) -> tuple:
    """The outputs of one wall refresh (also rendered once per scope by callbacks/shared_payload.py)."""
    settings = stores.settings
    try:
        snapshot = wall.city_snapshot(stores, config["code"])
    except Exception:  # noqa: BLE001 - a wall never shows an error page; it marks the panels instead
        log.exception("wall refresh failed for %s", config.get("code"))
        snapshot = None
    return wall_update(snapshot, lang=config["lang"], mode=mode or "count", previous_meta=meta,
                       previous_map_sig=map_sig, tz=settings.tz, tile_url=settings.tile_url, request=request,
                       supervise=bool(config.get("supervise")))


def wall_failed_outputs(stores: Stores, mode, config, meta) -> tuple:
    """The outputs of a wall refresh whose sources cannot be reached (the screen stream's failure
    event): every value kept, every panel marked failed; reads nothing."""
    return wall_update(None, lang=config["lang"], mode=mode or "count", previous_meta=meta, previous_map_sig=None,
                       tz=stores.settings.tz)


def register(app: Dash, stores: Stores) -> None:

    @app.callback(
        *[Output(cid, prop) for cid, prop in WALL_OUTPUTS],
        Input(ids.WALL_REQUEST, "data"),
        Input(ids.WALL_MAP_MODE, "value"),
        State({"type": ids.WALL_CONFIG, "index": "wall"}, "data"),
        State({"type": ids.WALL_META, "index": "wall"}, "data"),
        State(ids.WALL_MAP_SIG, "data"),
        prevent_initial_call=True,  # the push stream paints a new screen; else the gate's first request
    )
    def refresh_wall(request, mode, config, meta, map_sig):
        """Interval tick or map mode -> every panel of the city wall (last good values kept on failure)."""
        require_region(stores, (config or {}).get("code"))  # a crafted callback for another region: 403
        return wall_outputs(stores, request, mode, with_viewer_links(stores, config), meta, map_sig)

    # The refresh gate: an interval tick requests a refresh only when the push stream is not
    # delivering (assets/wall.js, callbacks/screen_stream.py) and the last one was answered (or is
    # overdue). Dash drops a response once a newer request of the same callback is out, so without
    # the gate a refresh slower than the interval would never reach the screen.
    app.clientside_callback(
        ClientsideFunction(namespace="cockpit", function_name="gateRefresh"),
        Output(ids.WALL_REQUEST, "data"),
        Input(ids.WALL_REFRESH, "n_intervals"),
        Input(ids.WALL_KICK, "data"),
        State(ids.WALL_REQUEST, "data"),
        State(ids.WALL_DONE, "data"),
        State({"type": ids.WALL_CONFIG, "index": "wall"}, "data"),  # the push stream it opens
        State(ids.WALL_MAP_MODE, "value"),
        State(ids.WALL_MAP_SIG, "data"),
    )

    app.clientside_callback(
        ClientsideFunction(namespace="cockpit", function_name="screenTick"),
        Output(ids.WALL_CLOCK, "children"),
        Output({"type": ids.WALL_PANEL, "index": ALL}, "className"),
        Output({"type": ids.WALL_AS_OF, "index": ALL}, "children"),
        Input(ids.WALL_TICK, "n_intervals"),
        # State, not Input: a pending refresh (slow or hung server) would hold back an Input's
        # dependants, and the clock and stale marking must keep running then.
        State({"type": ids.WALL_META, "index": ALL}, "data"),
        State({"type": ids.WALL_CONFIG, "index": ALL}, "data"),
    )
    app.clientside_callback(
        ClientsideFunction(namespace="cockpit", function_name="drillDistrict"),
        Output(ids.WALL_DRILL, "data"),
        Input(ids.WALL_MAP_GEO, "clickData"),
        State({"type": ids.WALL_CONFIG, "index": "wall"}, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="cockpit", function_name="playlistNext"),
        Output(ids.PLAYLIST_FRAME, "src"),
        Input(ids.PLAYLIST_TICK, "n_intervals"),
        State(ids.PLAYLIST_CONFIG, "data"),
        prevent_initial_call=True,
    )
