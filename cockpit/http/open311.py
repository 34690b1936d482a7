"""Open311 GeoReport v2 read endpoints under ``/open311/v2/`` (a Flask blueprint).

``services.json``, ``requests.json``, ``requests/<id>.json`` and ``discovery.json`` (``.xml``
too). Access (checked by the guard of cockpit.auth.web before these views run): a session, a
bearer token or Open311's own ``api_key`` query parameter, limited to the caller's scope. With
``COCKPIT_OPEN311_PUBLIC=1`` the read side is open without a key (the data are masked either way;
see docs/open311.md). Errors use the spec's shape, a list of ``{"code", "description"}``, plus the
``field`` at fault.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, current_app, jsonify, request

from cockpit import georeport
from cockpit.georeport import Caller, GeoReportError
from cockpit.metrics.definitions import DEFINITIONS_VERSION
from cockpit.timeutil import utcnow
from cockpit.store.db import Stores
from cockpit.errors import UnknownScope

bp = Blueprint("cockpit_open311", __name__, url_prefix="/open311/v2")

FORMATS = ("json", "xml")
PARAMS = ("jurisdiction_id", "service_request_id", "service_code", "start_date", "end_date", "status",
          "page", "page_size")


def _stores() -> Stores:
    return current_app.config["COCKPIT_STORES"]


def caller() -> Caller:
    """The caller, as the access guard found them (cockpit.auth.web): a session, a bearer token or
    Open311's ``api_key`` (a token), or the public reader when COCKPIT_OPEN311_PUBLIC=1."""
    from cockpit.auth.web import current_principal

    return Caller(tuple(current_principal().scopes))


def _errors(status: int, message: str, field: str | None, fmt: str):
    body = [{"code": status, "description": message, **({"field": field} if field else {})}]
    if fmt == "xml":
        root = ET.Element("errors")
        for err in body:
            node = ET.SubElement(root, "error")
            for key, value in err.items():
                ET.SubElement(node, key).text = str(value)
        return _xml_response(root, status)
    return jsonify(body), status


def _xml_response(root: ET.Element, status: int = 200) -> Response:
    text = ET.tostring(root, encoding="unicode")
    return Response('<?xml version="1.0" encoding="utf-8"?>' + text, status=status,
                    mimetype="text/xml")


def _to_xml(root_name: str, item_name: str, items: list[dict[str, Any]]) -> ET.Element:
    root = ET.Element(root_name)
    for item in items:
        node = ET.SubElement(root, item_name)
        for key, value in item.items():
            child = ET.SubElement(node, key)
            if isinstance(value, bool):
                child.text = "true" if value else "false"
            elif value is not None:
                child.text = str(value)
    return root


def _answer(fmt: str, root_name: str, item_name: str, items: list[dict[str, Any]]):
    if fmt == "xml":
        return _xml_response(_to_xml(root_name, item_name, items))
    return jsonify(items)


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise GeoReportError("format", f"format must be json or xml, got {fmt!r}", 404)
    return fmt


def _run(fmt: str, work):
    try:
        fmt = _format(fmt)
    except GeoReportError as exc:
        return _errors(exc.status, exc.message, exc.field, "json")
    stores = _stores()
    try:
        return work(fmt, stores, caller())
    except GeoReportError as exc:
        return _errors(exc.status, exc.message, exc.field, fmt)
    except UnknownScope as exc:
        return _errors(404, str(exc), "jurisdiction_id", fmt)


@bp.get("/discovery.<fmt>")
def get_discovery(fmt: str):
    """Where the endpoint is and which formats it speaks (no key needed: it holds no data)."""
    try:
        fmt = _format(fmt)
    except GeoReportError as exc:
        return _errors(exc.status, exc.message, exc.field, "json")
    doc = georeport.discovery(request.url_root.rstrip("/") + bp.url_prefix, changeset=DEFINITIONS_VERSION)
    if fmt == "xml":
        root = ET.Element("discovery")
        for key in ("changeset", "contact", "key_service"):
            ET.SubElement(root, key).text = doc[key]
        endpoints = ET.SubElement(root, "endpoints")
        for ep in doc["endpoints"]:
            node = ET.SubElement(endpoints, "endpoint")
            for key in ("specification", "url", "changeset", "type"):
                ET.SubElement(node, key).text = ep[key]
            formats = ET.SubElement(node, "formats")
            for f in ep["formats"]:
                ET.SubElement(formats, "format").text = f
        return _xml_response(root)
    return jsonify(doc)


@bp.get("/services.<fmt>")
def get_services(fmt: str):
    """The service list: one service per top-level category in the caller's scope."""
    def work(fmt, stores, caller):
        with stores.session() as session:
            items = georeport.services(session, caller=caller,
                                       jurisdiction_id=request.args.get("jurisdiction_id"))
        return _answer(fmt, "services", "service", items)
    return _run(fmt, work)


@bp.get("/requests.<fmt>")
def get_requests(fmt: str):
    """Service requests: ?start_date&end_date&status&service_code&service_request_id[&page&page_size]."""
    def work(fmt, stores, caller):
        params = {name: request.args.get(name) for name in PARAMS}
        with stores.session() as session:
            items = georeport.requests(session, caller=caller, tz=stores.settings.tz, now=utcnow(),
                                       params=params)
        return _answer(fmt, "service_requests", "request", items)
    return _run(fmt, work)


@bp.get("/requests/<request_id>.<fmt>")
def get_request(request_id: str, fmt: str):
    """One service request (a one-element list, as the spec shows it)."""
    def work(fmt, stores, caller):
        with stores.session() as session:
            items = georeport.one_request(session, caller=caller, tz=stores.settings.tz,
                                          request_id=request_id,
                                          jurisdiction_id=request.args.get("jurisdiction_id"))
        return _answer(fmt, "service_requests", "request", items)
    return _run(fmt, work)
