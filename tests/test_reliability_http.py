"""Issue 12, defects 7 and 8: every bad request is a 400 naming the field; a locked database a 503.

Through the real Flask server of the app (Dash callbacks included), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from app import create_app
from cockpit.store import tokens
from cockpit.store.db import Stores
from layouts import ids
from tests.factories import Stream
from tests.login import client_for, csrf_of


@pytest.fixture
def client(stores):
    """Logged in as an admin of the province (pages, Dash callbacks and the read API need a session)."""
    return client_for(create_app(stores.settings, stores=stores))


@pytest.fixture
def token(stores):
    with stores.session() as session:
        return tokens.create(session, "feed", ["620100"])


def _grid(client, request):
    body = {
        "output": f"{ids.SUP_GRID}.getRowsResponse",
        "outputs": {"id": ids.SUP_GRID, "property": "getRowsResponse"},
        "inputs": [{"id": ids.SUP_GRID, "property": "getRowsRequest", "value": request}],
        "state": [{"id": ids.SUP_QUERY, "property": "data", "value": {}},
                  {"id": ids.LANG_STORE, "property": "data", "value": "zh"}],
        "changedPropIds": [f"{ids.SUP_GRID}.getRowsRequest"],
    }
    client.get("/supervise")  # Dash serves callbacks once the app has handled a request
    return client.post("/_dash-update-component", json=body, headers={"X-CSRFToken": csrf_of(client)})


@pytest.mark.parametrize("request_, field", [
    ({"startRow": "abc", "endRow": 100}, "startRow"),
    ({"startRow": 10**30, "endRow": 10**30 + 100}, "startRow"),
    ({"startRow": 0, "endRow": 100, "filterModel": [1, 2]}, "filterModel"),
    ({"startRow": 0, "endRow": 100, "sortModel": {"colId": "status"}}, "sortModel"),
    ({"startRow": 0, "endRow": 100, "filterModel": {"created_at": {"filterType": "date", "type": "equals",
                                                                  "dateFrom": 20261128}}},
     "filterModel.created_at.dateFrom"),
])
def test_rel020_bad_grid_requests_are_400_naming_the_field(client, request_, field):
    response = _grid(client, request_)
    assert response.status_code == 400, response.data[:300]
    assert response.get_json()["field"] == field


def test_rel021_a_good_grid_request_still_answers_rows(client):
    response = _grid(client, {"startRow": 0, "endRow": 100, "sortModel": [{"colId": "status", "sort": "asc"}],
                              "filterModel": {"created_at": {"filterType": "date", "type": "equals",
                                                             "dateFrom": "2026-11-28 00:00:00"}}})
    assert response.status_code == 200
    block = response.get_json()["response"][ids.SUP_GRID]["getRowsResponse"]
    assert block["rowData"] == [] and block["rowCount"] == 0


@pytest.mark.parametrize("path, field", [
    ("/api/v1/kpi?scope=620100&from=0001-01-01", "from"),
    ("/api/v1/kpi?scope=620100&from=2026-11-01&to=9999-12-31T23:59:59", "to"),
    ("/api/v1/staffing?scope=620100&at=0001-01-01", "at"),
    ("/api/v1/alerts/99999999999999999999999", "alert_id"),
    ("/api/v1/alerts?since=0001-01-01", "since"),
    (f"/supervise/export.csv?alert={10**30}", "alert"),
    (f"/supervise/export.xlsx?alert={10**30}", "alert"),
])
def test_rel022_out_of_range_parameters_are_400_naming_the_field(client, path, field):
    response = client.get(path)
    assert response.status_code == 400, (path, response.status_code, response.data[:200])
    assert response.get_json()["field"] == field


def test_rel023_json_nested_100000_deep_is_a_400(client, token):
    deep = "[" * 100_000 + "]" * 100_000
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    response = client.post("/api/v1/events", data=deep, headers=auth)
    assert response.status_code == 400 and "nested too deeply" in response.get_json()["error"]
    session_headers = {"Content-Type": "application/json", "X-CSRFToken": csrf_of(client)}
    response = client.post("/api/v1/alerts/1/ack", data=deep, headers=session_headers)
    assert response.status_code == 400 and response.get_json()["field"] == "(body)"
    response = client.post("/_dash-update-component", data=deep, headers=session_headers)
    assert response.status_code == 400


def test_rel024_http_errors_under_api_are_json(client, token):
    auth = {"Authorization": f"Bearer {token}", "X-CSRFToken": csrf_of(client)}
    response = client.post("/api/v1/nope", headers=auth)  # GETs of unknown paths are the Dash pages' business
    assert response.status_code in (403, 404, 405) and response.is_json
    response = client.delete("/api/v1/events", headers=auth)
    assert response.status_code in (403, 404, 405) and response.is_json


# --- defect 8: a locked database ------------------------------------------------------------


class _Locker:
    """Hold the database's write lock from another connection, as a long migration or a stuck
    transaction would: SQLite BEGIN IMMEDIATE, PostgreSQL LOCK TABLE events."""

    def __init__(self, stores: Stores) -> None:
        self.stores = stores
        self.ready, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        if self.stores.dialect == "postgresql":
            with self.stores.engine.connect() as conn:
                conn.execute(text("LOCK TABLE events IN ACCESS EXCLUSIVE MODE"))
                self.ready.set()
                self.release.wait(30)
                conn.rollback()
        else:
            conn = sqlite3.connect(self.stores.engine.url.database, isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
            self.ready.set()
            self.release.wait(30)
            conn.execute("ROLLBACK")
            conn.close()

    def __enter__(self):
        self.thread.start()
        assert self.ready.wait(10)
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join(10)


def test_rel025_locked_database_gives_503_with_retry_after_and_health_fails(stores):
    fast = Stores.open(stores.settings.with_(db_lock_timeout_s=1.0), redis_client=stores.redis)
    client = create_app(fast.settings, stores=fast).server.test_client()
    with fast.session() as session:
        token = tokens.create(session, "feed", ["620100"])
    auth = {"Authorization": f"Bearer {token}"}
    s = Stream(base=datetime.now(UTC) - timedelta(hours=1), prefix="lock-")
    events = [s.event("call.offered", i, call_id=f"c{i}") for i in range(3)]
    assert client.get("/healthz").status_code == 200
    with _Locker(fast):
        started = time.monotonic()
        response = client.post("/api/v1/events", json=events, headers=auth)
        took = time.monotonic() - started
        assert response.status_code == 503 and response.is_json
        assert response.headers["Retry-After"] == "5" and response.get_json()["retry_after_s"] == 5
        assert took < 5, took
        health = client.get("/healthz")
        assert health.status_code == 503 and health.headers["Retry-After"]
        assert health.get_json()["database"]["ok"] is False
        assert "not writable" in health.get_json()["database"]["error"]
    retry = client.post("/api/v1/events", json=events, headers=auth)
    assert retry.status_code == 200 and retry.get_json()["accepted"] == 3
    assert client.get("/healthz").get_json()["ok"] is True
    fast.engine.dispose()


def test_rel026_health_reports_the_live_store_state(client, stores, redis_client):
    report = client.get("/healthz").get_json()
    assert report["redis"]["live"] in ("missing", "ok")
    redis_client.set("ck:rebuilding", "x", ex=5)
    assert client.get("/healthz").get_json()["redis"]["live"] == "rebuilding"
    assert json.dumps(report)
