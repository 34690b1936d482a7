"""The screens' shared answers are serialised by ``layouts.serialise.component_json``: the same JSON
as Dash's ``to_json`` (plotly's orjson engine); bench/serialise.py measures the time."""

from __future__ import annotations

import datetime
import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import dcc, html
from dash._utils import to_json

from layouts.serialise import component_json


def _tree():
    from layouts.mapdata import screen_map

    hours = pd.date_range("2026-11-30", periods=5, freq="h", tz="Asia/Shanghai")
    line = go.Figure(go.Scatter(x=hours, y=np.array([1.5, np.nan, 3, np.inf, 2])))
    bars = go.Figure(go.Bar(x=[datetime.datetime(2026, 11, 30, 1, 2, 3), datetime.date(2026, 1, 1)],
                            y=[np.int64(3), np.float32(2.5)]))
    return html.Div([dcc.Graph(figure=line), dcc.Graph(figure=bars), html.Span(np.int64(5)),
                     html.A("</script><b>兰州</b>\u2028", href="/wall/620100?lang=zh"),
                     dcc.Store(id="s", data={"gap": float("nan"), "at": pd.Timestamp("2026-01-01 08:00:00")}),
                     screen_map("620000", "zh", {"620100": 3, "620200": None}, id="m", label="件", better="lower",
                                integer=True)])


def test_json001_the_same_json_as_dash_sends():
    tree = _tree()
    fast, dash_json = component_json(tree), to_json(tree)
    assert json.loads(fast) == json.loads(dash_json)
    assert "兰州" in fast and "</" not in fast and "\u2028" not in fast  # UTF-8 text, script-safe as before
