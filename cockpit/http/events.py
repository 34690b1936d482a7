"""The HTTP API for events (a Flask blueprint; no Dash here)."""

from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, request

from cockpit import events
from cockpit.store import tokens
from cockpit.ingest import ingest_batch
from cockpit.store.db import Stores

bp = Blueprint("cockpit_api", __name__)


def stores() -> Stores:
    return current_app.config["COCKPIT_STORES"]


def _error(status: int, message: str, **extra):
    return jsonify({"error": message, **extra}), status


def parse_body(body: bytes) -> list:
    """A JSON array, a single JSON object, or NDJSON -> list of raw events. Raises ValueError."""
    text = body.decode("utf-8").strip()
    if not text:
        raise ValueError("empty body")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as whole_error:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) < 2:
            raise ValueError(str(whole_error)) from whole_error
        out = []
        for number, line in enumerate(lines, start=1):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"line {number}: {exc}") from exc
        return out
    return data if isinstance(data, list) else [data]


@bp.get("/healthz")
def healthz():
    report = stores().health()
    return jsonify(report), (200 if report["ok"] else 503)


@bp.get("/api/v1/events/schema")
def event_schema():
    return jsonify(events.json_schema())


@bp.post("/api/v1/events")
def post_events():
    """Ingest a JSON array or NDJSON body of events for a bearer token's scope."""
    settings = stores().settings
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return _error(401, "missing bearer token")
    with stores().session() as session:
        token = tokens.verify(session, header[len("Bearer "):].strip())
        if token is None:
            return _error(401, "invalid or revoked token")
        scopes = list(token.scopes)
    if request.content_length is not None and request.content_length > settings.max_body_bytes:
        return _error(413, f"body over {settings.max_body_bytes} bytes")
    body = request.get_data(cache=False)
    if len(body) > settings.max_body_bytes:
        return _error(413, f"body over {settings.max_body_bytes} bytes")
    try:
        raws = parse_body(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return _error(400, f"body is not JSON: {exc}")
    if not isinstance(raws, list):
        return _error(400, "body must be a JSON array, an object or NDJSON")
    if len(raws) > settings.max_batch_events:
        return _error(413, f"more than {settings.max_batch_events} events in one request")
    cities = {str(r.get("city")) for r in raws if isinstance(r, dict) and r.get("city") is not None}
    with stores().session() as session:
        outside = tokens.covers(session, scopes, cities)
    if outside:
        return _error(403, "events outside the token's scope", cities=sorted(outside), scopes=scopes)
    result = ingest_batch(stores(), raws, source="api")
    return jsonify(result.as_dict()), 200
