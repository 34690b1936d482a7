"""The OpenAPI 3.1 document of the JSON API, served at ``GET /api/v1/openapi.json``.

The event schemas come from ``cockpit.events`` (one definition); parameters and answers are written
here next to the routes' contracts. ``tests/test_reliability_fuzz.py`` runs schemathesis against it:
no request built from this document may get a 500.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, jsonify

from cockpit import events

bp = Blueprint("cockpit_openapi", __name__)

ERROR = {"type": "object", "required": ["error"],
         "properties": {"error": {"type": "string"}, "field": {"type": "string"},
                        "retry_after_s": {"type": "integer"}}}
ANY_OBJECT = {"type": "object"}
_NULLABLE = {"type": ["string", "null"]}
SILENCE = {"type": "object", "required": ["id", "by", "comment", "starts_at", "ends_at"],
           "properties": {"id": {"type": "integer"}, "rule": _NULLABLE, "city": _NULLABLE, "district": _NULLABLE,
                          "category": _NULLABLE,
                          "by": {"type": "string"}, "comment": {"type": "string"},
                          "starts_at": {"type": "string"}, "ends_at": {"type": "string"}}}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict:
    names = {400: "bad request (names the field)", 401: "missing or invalid token", 403: "outside the token's scope",
             404: "not found", 405: "method not allowed", 413: "too large",
             503: "a store is unavailable; retry after Retry-After seconds"}
    out = {str(c): _json({"$ref": "#/components/schemas/Error"}, names[c]) for c in codes}
    if 503 in codes:
        out["503"]["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
    return out


def _query(name: str, description: str, schema: dict | None = None, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": schema or {"type": "string"}}


def _event_schemas() -> dict[str, Any]:
    """The event JSON Schema with its ``$defs`` moved to components (OpenAPI resolves refs from the root)."""
    schema = events.json_schema()
    defs = schema.pop("$defs", {})
    text = json.dumps({"Event": schema, **defs}).replace('"#/$defs/', '"#/components/schemas/')
    return json.loads(text)


def document() -> dict[str, Any]:
    scope = _query("scope", "region code: a province, city or district", {"type": "string", "maxLength": 64},
                   required=True)
    window = [_query("from", "ISO 8601 date or date-time (local zone when none)"),
              _query("to", "ISO 8601 date or date-time, after from")]
    alert_id = {"name": "alert_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
    bearer = [{"bearer": []}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "12345 hotline cockpit API", "version": "1"},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                **_event_schemas(),
                "Error": ERROR,
                "Silence": SILENCE,
                "IngestAnswer": {
                    "type": "object", "required": ["accepted", "duplicates", "rejected"],
                    "properties": {
                        "accepted": {"type": "integer"}, "duplicates": {"type": "integer"},
                        "rejected": {"type": "array", "items": {
                            "type": "object", "required": ["index", "errors"],
                            "properties": {"index": {"type": "integer"},
                                           "event_id": {"type": ["string", "null"]},
                                           "errors": {"type": "array", "items": {
                                               "type": "object", "required": ["field", "message"],
                                               "properties": {"field": {"type": "string"},
                                                              "message": {"type": "string"}}}}}}},
                    },
                },
            },
        },
        "paths": {
            "/healthz": {"get": {"summary": "database (writable) and Redis (live store state)",
                                 "responses": {"200": _json(ANY_OBJECT, "healthy"),
                                               "503": _json(ANY_OBJECT, "a store is failing")}}},
            "/api/v1/openapi.json": {"get": {"summary": "this document",
                                             "responses": {"200": _json(ANY_OBJECT, "OpenAPI 3.1")}}},
            "/api/v1/events/schema": {"get": {"summary": "JSON Schema of one event",
                                              "responses": {"200": _json(ANY_OBJECT, "JSON Schema")}}},
            "/api/v1/events": {"post": {
                "summary": "ingest events (a JSON array, one object, or NDJSON)",
                "security": bearer,
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "oneOf": [{"$ref": "#/components/schemas/Event"},
                              {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}]}}}},
                "responses": {"200": _json({"$ref": "#/components/schemas/IngestAnswer"},
                                           "accepted, duplicates and rejected (field and reason)"),
                              **_errors(400, 401, 403, 413, 503)},
            }},
            "/api/v1/kpi": {"get": {
                "summary": "KPIs of a scope over a window",
                "parameters": [scope, *window, _query("sl_threshold", "seconds", {"type": "number"})],
                "responses": {"200": _json(ANY_OBJECT, "KPI document"), **_errors(400, 503)},
            }},
            "/api/v1/rankings": {"get": {
                "summary": "league table",
                "parameters": [scope, _query("level", "district, unit or city"), *window],
                "responses": {"200": _json(ANY_OBJECT, "rankings"), **_errors(400, 503)},
            }},
            "/api/v1/staffing": {"get": {
                "summary": "required vs staffed seats",
                "parameters": [scope, _query("at", "ISO 8601 date-time"),
                               _query("target", "service level target 0.01..0.999", {"type": "number"})],
                "responses": {"200": _json(ANY_OBJECT, "staffing"), **_errors(400, 503)},
            }},
            "/api/v1/staffing/erlang": {"get": {
                "summary": "Erlang C (and A) for one interval",
                "parameters": [_query(n, n, {"type": "number"}) for n in
                               ("arrivals_per_hour", "aht", "target", "threshold", "patience")],
                "responses": {"200": _json(ANY_OBJECT, "required seats"), **_errors(400)},
            }},
            "/api/v1/alerts": {"get": {
                "summary": "alerts, newest first",
                "parameters": [_query(n, n) for n in ("scope", "state", "rule", "since", "until")]
                + [_query("limit", "1..", {"type": "integer"}), _query("offset", "0..", {"type": "integer"})],
                "responses": {"200": _json(ANY_OBJECT, "alerts"), **_errors(400, 503)},
            }},
            "/api/v1/alerts/{alert_id}": {"get": {
                "summary": "one alert with its history", "parameters": [alert_id],
                "responses": {"200": _json(ANY_OBJECT, "alert"), **_errors(400, 404, 503)},
            }},
            "/api/v1/alerts/{alert_id}/{action}": {"post": {
                "summary": "acknowledge, escalate or resolve an alert",
                "security": bearer,
                "parameters": [alert_id, {"name": "action", "in": "path", "required": True,
                                          "schema": {"type": "string", "enum": ["ack", "escalate", "resolve"]}}],
                "requestBody": {"required": False, "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"by": {"type": "string"}, "to": {"type": "string"},
                                                     "note": {"type": "string"}, "due": {"type": "string"}}}}}},
                "responses": {"200": _json(ANY_OBJECT, "the alert after the action"),
                              **_errors(400, 401, 403, 404, 503)},
            }},
            "/api/v1/silences": {
                "get": {
                    "summary": "silences inside the caller's scope, latest end first",
                    "parameters": [_query("state", "active (default) or all", {"type": "string", "enum": ["active", "all"]}),
                                   _query("limit", "1..1000", {"type": "integer"})],
                    "responses": {"200": _json({"type": "object", "required": ["silences"], "properties": {
                        "silences": {"type": "array", "items": {"$ref": "#/components/schemas/Silence"}}}},
                        "silences"), **_errors(400, 401, 403, 503)},
                },
                "post": {
                    "summary": "silence the alerts a matcher covers until ends_at; the owner is the caller",
                    "security": bearer,
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {
                        "type": "object", "required": ["comment", "ends_at"],
                        "properties": {
                            "rule": {"type": "string", "description": "a watchpoint rule name"},
                            "city": {"type": "string", "maxLength": 32, "description": "city code"},
                            "district": {"type": "string", "maxLength": 32, "description": "district code"},
                            "category": {"type": "string", "maxLength": 64,
                                         "description": "ticket category (first level), as the alert's detail"},
                            "comment": {"type": "string", "maxLength": 500, "description": "why (required)"},
                            "ends_at": {"type": "string", "description": "ISO 8601 date-time, within 30 days"}}}}}},
                    "responses": {"201": _json({"$ref": "#/components/schemas/Silence"}, "the silence"),
                                  **_errors(400, 401, 403, 503)},
                },
            },
            "/api/v1/silences/{silence_id}": {"delete": {
                "summary": "end a silence now (audited)",
                "security": bearer,
                "parameters": [{"name": "silence_id", "in": "path", "required": True,
                                "schema": {"type": "integer", "minimum": 1}}],
                "responses": {"200": _json({"$ref": "#/components/schemas/Silence"}, "the silence, ended"),
                              **_errors(400, 401, 403, 404, 503)},
            }},
        },
    }


@bp.get("/api/v1/openapi.json")
def openapi_json():
    return jsonify(document())
