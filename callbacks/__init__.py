"""Callbacks, registered per app by ``register(app, stores)`` (never on Dash's global list)."""

from __future__ import annotations

from dash import Dash

from callbacks import home, routing
from cockpit.stores import Stores


def register(app: Dash, stores: Stores) -> None:
    routing.register(app, stores)
    home.register(app, stores)
