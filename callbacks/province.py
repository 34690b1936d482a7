"""Province overview refresh and the city drill-down (clock and freshness: callbacks/wall.py)."""

from __future__ import annotations

import logging

from dash import ClientsideFunction, Dash, Input, Output, State

from callbacks.shared_payload import with_viewer_links
from cockpit.views import province
from cockpit.auth.web import require_region
from cockpit.store.db import Stores
from layouts import ids
from layouts.province import province_update

log = logging.getLogger(__name__)

# The refresh's outputs, (id, property) in order (the callback and the screen stream send the same list).
PROVINCE_OUTPUTS = (({"type": ids.WALL_BODY, "index": "map"}, "children"),
                    ({"type": ids.WALL_BODY, "index": "totals"}, "children"),
                    ({"type": ids.WALL_BODY, "index": "table"}, "children"),
                    (ids.PROVINCE_MAP_SIG, "data"), ({"type": ids.WALL_META, "index": "province"}, "data"),
                    (ids.PROVINCE_STATUS, "children"), (ids.PROVINCE_TITLE, "children"), (ids.PROVINCE_DONE, "data"))


def province_outputs(stores: Stores, request, metric, config, meta, map_sig) -> tuple:
    """The outputs of one province refresh (also rendered once per scope by callbacks/shared_payload.py)."""
    try:
        snapshot = province.province_snapshot(stores, config["code"])
    except Exception:  # noqa: BLE001 - a wall never shows an error page; it marks the panels instead
        log.exception("province refresh failed for %s", config.get("code"))
        snapshot = None
    return province_update(snapshot, lang=config["lang"], metric=metric or "tickets_today",
                           kiosk=bool(config.get("kiosk")), previous_meta=meta, previous_map_sig=map_sig,
                           tile_url=stores.settings.tile_url, request=request, tz=stores.settings.tz,
                           supervise=bool(config.get("supervise")))


def province_failed_outputs(stores: Stores, metric, config, meta) -> tuple:
    """The outputs of a province refresh whose sources cannot be reached (the screen stream's
    failure event): every value kept, every panel marked failed; reads nothing."""
    return province_update(None, lang=config["lang"], metric=metric or "tickets_today", kiosk=bool(config.get("kiosk")),
                           previous_meta=meta, previous_map_sig=None, tz=stores.settings.tz)


def register(app: Dash, stores: Stores) -> None:

    @app.callback(
        *[Output(cid, prop) for cid, prop in PROVINCE_OUTPUTS],
        Input(ids.PROVINCE_REQUEST, "data"),
        Input(ids.PROVINCE_METRIC, "value"),
        State({"type": ids.WALL_CONFIG, "index": "province"}, "data"),
        State({"type": ids.WALL_META, "index": "province"}, "data"),
        State(ids.PROVINCE_MAP_SIG, "data"),
        prevent_initial_call=True,  # the push stream paints a new screen; else the gate's first request
    )
    def refresh_province(request, metric, config, meta, map_sig):
        """Interval tick or metric choice -> city map, province totals, league table (last good values kept on failure)."""
        require_region(stores, (config or {}).get("code"))  # a crafted callback for another region: 403
        return province_outputs(stores, request, metric, with_viewer_links(stores, config), meta, map_sig)

    app.clientside_callback(
        ClientsideFunction(namespace="cockpit", function_name="gateRefresh"),
        Output(ids.PROVINCE_REQUEST, "data"),
        Input(ids.PROVINCE_REFRESH, "n_intervals"),
        Input(ids.PROVINCE_KICK, "data"),
        State(ids.PROVINCE_REQUEST, "data"),
        State(ids.PROVINCE_DONE, "data"),
        State({"type": ids.WALL_CONFIG, "index": "province"}, "data"),  # the push stream it opens
        State(ids.PROVINCE_METRIC, "value"),
        State(ids.PROVINCE_MAP_SIG, "data"),
    )

    app.clientside_callback(
        ClientsideFunction(namespace="cockpit", function_name="drillCity"),
        Output(ids.PROVINCE_DRILL, "data"),
        Input(ids.PROVINCE_MAP_GEO, "clickData"),
        State({"type": ids.WALL_CONFIG, "index": "province"}, "data"),
        prevent_initial_call=True,
    )
