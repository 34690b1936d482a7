"""Callbacks, registered per app by ``register(app, stores)`` (never on Dash's global list)."""

from __future__ import annotations

from dash import Dash

from callbacks import assessment, home, reports, province, roster, routing, screen_stream, shared_payload, supervise, ticket, wall
from cockpit.store.db import Stores


def register(app: Dash, stores: Stores) -> None:
    routing.register(app, stores)
    home.register(app, stores)
    wall.register(app, stores)
    province.register(app, stores)
    kinds = [shared_payload.wall_kind(wall.wall_outputs, wall.WALL_OUTPUTS, wall.wall_failed_outputs),
             shared_payload.province_kind(province.province_outputs, province.PROVINCE_OUTPUTS,
                                          province.province_failed_outputs)]
    shared = shared_payload.register(app, stores, kinds)
    screen_stream.register(app, stores, shared)
    supervise.register(app, stores)
    ticket.register(app, stores)
    assessment.register(app, stores)
    reports.register(app, stores)
    roster.register(app, stores)
