"""A screen's connect is cheap (issue 15): the routing callback of a wall or province page answers
with a skeleton kept per path and query, the index HTML is built once per process, and neither
skips a check: unknown regions and pages outside the caller's scope are answered as before."""

from __future__ import annotations

import pytest

from callbacks import routing
from cockpit.auth import kiosk
from tests.login import client_for, csrf_of


def _route(client, path: str, search: str = ""):
    body = {"output": routing.ROUTE_OUTPUT,
            "outputs": [{"id": "app-page", "property": "children"}, {"id": "app-lang", "property": "data"}],
            "inputs": [{"id": "app-url", "property": "pathname", "value": path},
                       {"id": "app-url", "property": "search", "value": search}],
            "changedPropIds": ["app-url.pathname"], "state": []}
    resp = client.post("/_dash-update-component", json=body, headers={"X-CSRFToken": csrf_of(client)})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return resp.get_json()


def _without_hook(app):
    funcs = app.server.before_request_funcs[None]
    hook = next(f for f in funcs if f.__name__ == "_screen_route")
    funcs.remove(hook)
    return lambda: funcs.append(hook)


@pytest.mark.parametrize("path,search", [("/wall/620100", "?lang=zh"), ("/wall/620100", "?lang=en&kiosk=1"),
                                         ("/province/620000", "?kiosk=1"), ("/province/620000/", "?metric=score"),
                                         ("/wall/620100", "")])
def test_conn001_a_screens_kept_route_answer_equals_the_callbacks(wall_app, path, search):
    app, stores = wall_app
    client = client_for(app)
    kept = _route(client, path, search)
    again = _route(client, path, search)
    restore = _without_hook(app)
    try:
        own = _route(client, path, search)
    finally:
        restore()
    assert kept == again == own
    assert stores.caches.ttl._data.get(("screen_route", path.rstrip("/"), search, True)) is not None  # admin: links


def test_conn002_the_skeleton_is_built_once_per_path_and_query(wall_app, monkeypatch):
    app, _ = wall_app
    built = []
    entries = []
    for pattern, builder in routing.ROUTES:
        def counting(ctx, _builder=builder, **groups):
            built.append((ctx.path, ctx.lang))
            return _builder(ctx, **groups)
        entries.append((pattern, counting))
    monkeypatch.setattr(routing, "ROUTES", entries)
    clients = [client_for(app, role="leader", scope="620000") for _ in range(3)]
    for client in clients:
        _route(client, "/wall/620100", "?kiosk=1")
        _route(client, "/wall/620100", "?kiosk=1&lang=en")
        _route(client, "/province/620000", "?kiosk=1")
    assert sorted(built) == [("/province/620000", "zh"), ("/wall/620100", "en"), ("/wall/620100", "zh")]
    _route(clients[0], "/", "")  # other pages are the callback's, every time
    _route(clients[0], "/", "")
    assert built.count(("/", "zh")) == 2


def test_conn003_kept_skeletons_never_skip_the_scope_and_region_checks(wall_app):
    app, stores = wall_app
    province = client_for(app, role="leader", scope="620000")
    assert "ck-forbidden" not in str(_route(province, "/wall/620200", "?kiosk=1"))  # kept now
    city = client_for(app, role="leader", scope="620100")
    assert "ck-forbidden" in str(_route(city, "/wall/620200", "?kiosk=1"))
    assert "ck-forbidden" not in str(_route(city, "/wall/620100", "?kiosk=1"))
    with stores.session() as session:
        _, link = kiosk.create(session, scope="620100", created_by="test")
    screen = app.server.test_client()
    assert screen.get(link).status_code == 302
    assert "ck-forbidden" in str(_route(screen, "/wall/620200", "?kiosk=1"))
    assert "ck-forbidden" in str(_route(screen, "/province/620000", "?kiosk=1"))
    assert "ck-forbidden" not in str(_route(screen, "/wall/620100", "?kiosk=1"))
    unknown = str(_route(province, "/wall/999999", "?kiosk=1"))
    assert "999999" in unknown and not any(k[:3] == ("screen_route", "/wall/999999", "?kiosk=1")
                                           for k in stores.caches.ttl._data)
    anonymous = app.server.test_client()
    resp = anonymous.post("/_dash-update-component", json={"output": routing.ROUTE_OUTPUT})
    assert resp.status_code == 401


def test_conn004_the_index_html_is_built_once_per_process(wall_app, monkeypatch):
    from dash import Dash

    app, _ = wall_app
    client = client_for(app, role="leader", scope="620000")
    calls = []
    original = Dash._generate_scripts_html
    monkeypatch.setattr(Dash, "_generate_scripts_html", lambda self: calls.append(1) or original(self))
    pages = [client.get(path).get_data(as_text=True) for path in ("/wall/620100", "/province/620000", "/")]
    assert len(set(pages)) == 1 and ("_dash-renderer" in pages[0] or "DashRenderer" in pages[0])
    assert len(calls) <= 1  # the first page of this process built it (or an earlier test's did)


def test_conn005_layout_and_dependencies_are_kept_bytes_equal_to_dashs(wall_app):
    app, _ = wall_app
    client = client_for(app, role="leader", scope="620000")
    kept = [client.get(path) for path in ("/_dash-layout", "/_dash-dependencies")]
    funcs = app.server.before_request_funcs[None]
    hook = next(f for f in funcs if f.__name__ == "_kept_dash_json")
    funcs.remove(hook)
    try:
        own = [client.get(path) for path in ("/_dash-layout", "/_dash-dependencies")]
    finally:
        funcs.append(hook)
    for mine, dash in zip(kept, own):
        assert mine.status_code == dash.status_code == 200
        assert mine.get_json() == dash.get_json() and mine.mimetype == "application/json"
    assert any(d["output"].startswith("..app-page.children") for d in kept[1].get_json())
    assert app.server.test_client().get("/_dash-layout").status_code == 401  # the guard runs first


def test_conn004_kept_skeletons_drill_to_supervise_only_for_who_may_open_it(wall_app):
    """A wall's kept skeleton carries whether a district click drills to /supervise: a leader (who
    may not open it) never gets the one kept for a supervisor of the same path and query."""
    from bench.screens import find_prop

    app, _ = wall_app
    config = {"type": "wall-config", "index": "wall"}
    supervisor = client_for(app, role="supervisor", scope="620000")
    assert find_prop(_route(supervisor, "/wall/620100", "?lang=zh"), config, "data")["supervise"] is True
    leader = client_for(app, role="leader", scope="620000")
    assert find_prop(_route(leader, "/wall/620100", "?lang=zh"), config, "data")["supervise"] is False
