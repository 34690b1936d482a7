"""Callbacks, registered per app by ``register(app, stores)`` (never on Dash's global list)."""

from __future__ import annotations

from dash import Dash

from callbacks import assessment, home, reports, province, roster, routing, supervise, ticket, wall
from cockpit.store.db import Stores


def register(app: Dash, stores: Stores) -> None:
    routing.register(app, stores)
    home.register(app, stores)
    wall.register(app, stores)
    province.register(app, stores)
    supervise.register(app, stores)
    ticket.register(app, stores)
    assessment.register(app, stores)
    reports.register(app, stores)
    roster.register(app, stores)
