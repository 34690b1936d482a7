"""Checks for what a browser may send the supervision grid and export: field and reason, or the values.

AG Grid's block requests arrive as JSON through a Dash callback, and the export's query string is
typed by hand as often as it is clicked: both are untrusted. ``check_grid_request`` and
``check_query`` raise ``RequestError`` naming the field (``startRow``, ``filterModel.created_at.dateFrom``,
``alert``) instead of letting a bad value reach SQL; the HTTP layer answers it with a 400.
"""

from __future__ import annotations

from datetime import date
from typing import Any

MAX_ROW = 10_000_000  # beyond any offset a person scrolls to; keeps OFFSET inside 64 bits
MAX_ID = 2**63 - 1  # the largest row id SQL stores
MAX_SORT_KEYS = 20
MAX_FILTERS = 50
FILTER_TYPES = ("text", "number", "date", "set")


class RequestError(ValueError):
    """A bad request value: ``field`` names it, ``message`` says why. Carries no HTTP status."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message

    def as_dict(self) -> dict[str, str]:
        return {"error": self.message, "field": self.field}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    return {str: "a string", dict: "an object", list: "an array", type(None): "null"}.get(type(value), type(value).__name__)


def _row(request: dict, name: str, default: int) -> int:
    value = request.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(name, f"must be an integer, got {_kind(value)}")
    if not 0 <= value <= MAX_ROW:
        raise RequestError(name, f"must be between 0 and {MAX_ROW}")
    return value


def _date_text(value: Any, field: str) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise RequestError(field, f"must be a date string (YYYY-MM-DD), got {_kind(value)}")
    try:
        date.fromisoformat(value[:10])
    except ValueError:
        raise RequestError(field, f"not a date (YYYY-MM-DD): {value[:40]!r}") from None


def check_grid_request(request: Any) -> dict:
    """A grid block request -> ``{"startRow", "endRow", "sortModel", "filterModel"}``, or RequestError."""
    if request is None:
        request = {}
    if not isinstance(request, dict):
        raise RequestError("(request)", f"must be an object, got {_kind(request)}")
    start = _row(request, "startRow", 0)
    end = _row(request, "endRow", start + 100)
    if end < start:
        raise RequestError("endRow", "must not be before startRow")
    sort_model = request.get("sortModel") or []
    if not isinstance(sort_model, list):
        raise RequestError("sortModel", f"must be an array, got {_kind(sort_model)}")
    if len(sort_model) > MAX_SORT_KEYS:
        raise RequestError("sortModel", f"more than {MAX_SORT_KEYS} sort keys")
    for i, spec in enumerate(sort_model):
        if not isinstance(spec, dict):
            raise RequestError(f"sortModel.{i}", f"must be an object, got {_kind(spec)}")
        if not isinstance(spec.get("colId"), str):
            raise RequestError(f"sortModel.{i}.colId", f"must be a string, got {_kind(spec.get('colId'))}")
        if spec.get("sort") not in ("asc", "desc", None):
            raise RequestError(f"sortModel.{i}.sort", "must be asc or desc")
    filter_model = request.get("filterModel") or {}
    if not isinstance(filter_model, dict):
        raise RequestError("filterModel", f"must be an object, got {_kind(filter_model)}")
    if len(filter_model) > MAX_FILTERS:
        raise RequestError("filterModel", f"more than {MAX_FILTERS} column filters")
    for col, spec in filter_model.items():
        where = f"filterModel.{col}"
        if not isinstance(spec, dict):
            raise RequestError(where, f"must be an object, got {_kind(spec)}")
        kind = spec.get("filterType")
        if kind is not None and kind not in FILTER_TYPES:
            raise RequestError(f"{where}.filterType", f"must be one of {', '.join(FILTER_TYPES)}")
        if not isinstance(spec.get("type", ""), str):
            raise RequestError(f"{where}.type", f"must be a string, got {_kind(spec.get('type'))}")
        if kind == "date":
            _date_text(spec.get("dateFrom"), f"{where}.dateFrom")
            _date_text(spec.get("dateTo"), f"{where}.dateTo")
        elif kind == "number":
            value = spec.get("filter")
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise RequestError(f"{where}.filter", f"must be a number, got {_kind(value)}")
            if isinstance(value, float) and value != value:
                raise RequestError(f"{where}.filter", "must be a finite number")
        elif kind == "text":
            value = spec.get("filter")
            if value is not None and not isinstance(value, (str, int, float)):
                raise RequestError(f"{where}.filter", f"must be a string, got {_kind(value)}")
    return {"startRow": start, "endRow": end, "sortModel": sort_model, "filterModel": filter_model}


def check_query(query: dict[str, str]) -> dict[str, str]:
    """The supervision URL query as the export gets it; ``alert`` must be a stored-size row id."""
    alert = query.get("alert")
    if alert:
        if not alert.isdigit() or len(alert) > 19 or int(alert) > MAX_ID:
            raise RequestError("alert", f"must be an alert id (1..{MAX_ID}), got {alert[:40]!r}")
    return query
