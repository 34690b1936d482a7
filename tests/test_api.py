"""The HTTP API through the real Flask server of the app, on SQLite and PostgreSQL with real Redis."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app import create_app
from tests.login import client_for
from cockpit.store import tokens
from cockpit.store.models import DeadLetter, EventRecord
from tests.factories import Stream


@pytest.fixture
def client(stores):
    app = create_app(stores.settings, stores=stores)
    return app.server.test_client()  # events are posted with bearer tokens, no session


@pytest.fixture
def token(stores):
    with stores.session() as session:
        return tokens.create(session, "lanzhou-feed", ["620100"])


def _auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _events(n: int = 3, city: str = "620100") -> list[dict]:
    s = Stream(city=city, base=datetime.now(UTC) - timedelta(hours=1), prefix=f"api-{city}-")
    return [s.event("call.offered", i, call_id=f"c{i}") for i in range(n)]


def test_api001_post_events_json_array(client, token, stores):
    events = _events(3)
    response = client.post("/api/v1/events", json=events, headers=_auth(token))
    assert response.status_code == 200
    assert response.get_json() == {"accepted": 3, "duplicates": 0, "rejected": []}
    again = client.post("/api/v1/events", json=events, headers=_auth(token))
    assert again.get_json() == {"accepted": 0, "duplicates": 3, "rejected": []}


def test_api002_ndjson_with_a_bad_event_names_field(client, token, stores):
    events = _events(2)
    events[1]["wait_s"] = 3  # not a field of call.offered
    body = "\n".join(json.dumps(e) for e in events)
    response = client.post("/api/v1/events", data=body, headers={**_auth(token), "Content-Type": "application/x-ndjson"})
    data = response.get_json()
    assert response.status_code == 200
    assert data["accepted"] == 1
    assert data["rejected"] == [
        {"index": 1, "event_id": events[1]["event_id"], "errors": [{"field": "wait_s", "message": "unknown field"}]}
    ]
    with stores.session() as session:
        assert session.scalar(select(func.count()).select_from(DeadLetter)) == 1


def test_api003_401_without_or_with_wrong_token(client):
    assert client.post("/api/v1/events", json=_events(1)).status_code == 401
    assert client.post("/api/v1/events", json=_events(1), headers=_auth("ck_nope")).status_code == 401


def test_api004_403_outside_scope_and_nothing_stored(client, token, stores):
    response = client.post("/api/v1/events", json=_events(1) + _events(1, city="620200"), headers=_auth(token))
    assert response.status_code == 403
    assert response.get_json()["cities"] == ["620200"]
    with stores.session() as session:
        assert session.scalar(select(func.count()).select_from(EventRecord)) == 0


def test_api005_province_token_covers_its_cities(client, stores):
    with stores.session() as session:
        province = tokens.create(session, "gansu", ["620000"])
    response = client.post("/api/v1/events", json=_events(1, city="620200"), headers=_auth(province))
    assert response.status_code == 200 and response.get_json()["accepted"] == 1


def test_api006_413_on_too_many_events_or_bytes(client, token, stores):
    many = [{"event_id": str(i)} for i in range(stores.settings.max_batch_events + 1)]
    assert client.post("/api/v1/events", json=many, headers=_auth(token)).status_code == 413
    big = b"[" + b" " * (stores.settings.max_body_bytes + 1) + b"]"
    assert client.post("/api/v1/events", data=big, headers=_auth(token),
                       content_type="application/json").status_code == 413


def test_api007_400_on_garbage(client, token):
    response = client.post("/api/v1/events", data=b"{not json", headers=_auth(token),
                           content_type="application/json")
    assert response.status_code == 400
    assert "not JSON" in response.get_json()["error"]


def test_api008_schema_and_health(client):
    client = client_for(client.application)  # the schema needs a session (or a token); /healthz does not
    schema = client.get("/api/v1/events/schema").get_json()
    assert "call.offered" in json.dumps(schema)
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.get_json()["database"]["ok"] and health.get_json()["redis"]["ok"]
