"""The HTTP API for events (a Flask blueprint; no Dash here)."""

from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, request

from cockpit import events
from cockpit.http import errors
from cockpit.store import probe
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
    except RecursionError:
        raise ValueError("nested too deeply") from None
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
            except RecursionError:
                raise ValueError(f"line {number}: nested too deeply") from None
        return out
    return data if isinstance(data, list) else [data]


@bp.get("/healthz")
def healthz():
    """Database (reachable *and* writable within a second) and Redis (reachable, live store state)."""
    report = probe.health(stores(), recent_failure=errors.recent_database_failure(current_app))
    response = jsonify(report)
    response.status_code = 200 if report["ok"] else 503
    if not report["ok"]:
        response.headers["Retry-After"] = str(errors.RETRY_AFTER_S)
    return response


@bp.get("/api/v1/events/schema")
def event_schema():
    return jsonify(events.json_schema())


@bp.post("/api/v1/events")
def post_events():
    """Ingest a JSON array or NDJSON body of events for a bearer token's scope.

    The guard (cockpit.auth.web) has authenticated the token and set the body limit, which holds
    while the body is read (chunked bodies too). Every event's city and district must lie in the
    token's scope, the city must be a city and the district a known district of that city.
    """
    from cockpit.auth.web import current_principal

    settings = stores().settings
    principal = current_principal()
    if principal.kind != "token":
        return _error(401, "missing bearer token")
    scopes = list(principal.scopes)
    if request.content_length is not None and request.content_length > settings.max_body_bytes:
        return _error(413, f"body over {settings.max_body_bytes} bytes")
    body = request.get_data(cache=False)
    if len(body) > settings.max_body_bytes:
        return _error(413, f"body over {settings.max_body_bytes} bytes")
    try:
        raws = parse_body(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return _error(400, f"body is not JSON: {exc}")
    if len(raws) > settings.max_batch_events:
        return _error(413, f"more than {settings.max_batch_events} events in one request")
    places = {(str(r.get("city")), str(r["district"]) if r.get("district") not in (None, "") else None)
              for r in raws if isinstance(r, dict) and r.get("city") is not None}
    with stores().session() as session:
        problems = place_problems(session, scopes, places)
    if problems:
        return _error(403, "events outside the token's scope", places=problems, scopes=scopes,
                      cities=sorted({p["city"] for p in problems}))
    result = ingest_batch(stores(), raws, source="api")
    return jsonify(result.as_dict()), 200


def place_problems(session, scopes: list[str], places: set[tuple[str, str | None]]) -> list[dict]:
    """Why each (city, district) of a batch may not be written with ``scopes`` (empty list: all fine)."""
    from cockpit.auth import policy
    from cockpit.auth.scope import covers_code, covers_place
    from cockpit.store.regions import child_levels

    out = []
    for city, district in sorted(places, key=lambda p: (p[0], p[1] or "")):
        reason = None
        if policy.level_of(city, session) != "city":
            reason = "city is not a city code"
        elif district is None and not covers_code(session, scopes, city):
            reason = "city outside the token's scope"
        elif district is not None:
            known = child_levels(session, city)
            if known and known.get(district) != "district":
                reason = "district unknown in this city"
            elif not known and not (district.isdigit() and len(district) == 6 and district[:4] + "00" == city
                                    and not district.endswith("00")):
                reason = "district does not belong to the city"
            elif not covers_place(session, scopes, city, district):
                reason = "district outside the token's scope"
        if reason:
            out.append({"city": city, "district": district, "reason": reason})
    return out
