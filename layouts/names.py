"""Names for display: places in the page's language, ticket vocabulary (statuses, callbacks),
alert titles built from an alert's structured fields. No UI string lives elsewhere."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from geo.names import english_name, has_cjk
from layouts.i18n import MESSAGES, register, t

register({
    "status.created": {"zh": "已受理", "en": "Created"},
    "status.dispatched": {"zh": "已派单", "en": "Dispatched"},
    "status.returned": {"zh": "已退回", "en": "Returned"},
    "status.responded": {"zh": "办理中", "en": "Responded"},
    "status.closed": {"zh": "已办结", "en": "Closed"},
    "status.reopened": {"zh": "重办中", "en": "Reopened"},
    "resolved.yes": {"zh": "已解决", "en": "resolved"},
    "resolved.no": {"zh": "未解决", "en": "not resolved"},
    "resolved.unknown": {"zh": "解决情况不明", "en": "resolution unknown"},
    "satisfaction.very_satisfied": {"zh": "非常满意", "en": "very satisfied"},
    "satisfaction.satisfied": {"zh": "满意", "en": "satisfied"},
    "satisfaction.basic": {"zh": "基本满意", "en": "fairly satisfied"},
    "satisfaction.dissatisfied": {"zh": "不满意", "en": "dissatisfied"},
    "satisfaction.unreachable": {"zh": "未联系上", "en": "not reached"},
    "alert.title.ticket": {"zh": "工单{ticket}{rule}", "en": "{rule}: ticket {ticket}"},
    "alert.title.place": {"zh": "{place}{rule}", "en": "{rule}: {place}"},
})


@lru_cache(maxsize=4096)
def _bundled(code: str, version: int) -> tuple[str | None, str | None]:
    from geo import boundaries

    try:
        info = boundaries.region_info(code)
    except Exception:  # noqa: BLE001 - a name is decoration; the code stands in
        info = None
    return (info.get("name"), info.get("name_en")) if info else (None, None)


def place_name(code: str | None, lang: str, known: Mapping[str, str] | None = None) -> str:
    """A region's name in ``lang``: Chinese from ``known`` (code -> name, e.g. from the regions
    table) or the bundled boundaries; English from the boundaries or pinyin; else the code."""
    if not code:
        return "—"
    from geo import boundaries

    zh, en = _bundled(code, boundaries.custom_version())
    zh = (known or {}).get(code) or zh
    if lang == "en":
        return en or (english_name(code, zh) if zh else code)
    return zh or code


def english_or(name: str | None, code: str, lang: str) -> str:
    """``name`` unless the page is English and it is Chinese (an old regions row without name_en)."""
    if lang == "en" and (not name or has_cjk(name)):
        return place_name(code, "en")
    return name or code


def term(prefix: str, value: str | None, lang: str) -> str:
    """A vocabulary value ('status', 'closed') in ``lang``; unknown values as they are."""
    if value in (None, ""):
        return ""
    key = f"{prefix}.{value}"
    return t(key, lang) if key in MESSAGES else str(value)


def alert_title(alert: Mapping, lang: str, names: Mapping[str, str] | None = None) -> str:
    """An alert's title from its structured fields: rule + the one ticket, or rule + its place.

    Chinese pages keep the stored title when there is one (the watchpoint wrote it in the
    house wording); English pages always build it, so no Chinese sentence leaks through.
    """
    stored = alert.get("title") or ""
    if lang != "en" and stored:
        return stored
    rule = term("rule", alert.get("rule"), lang) or str(alert.get("rule") or "")
    detail = alert.get("detail") or {}
    tickets = ((detail.get("filter") or {}).get("ticket_ids") or detail.get("ticket_ids") or [])
    ticket = alert.get("ticket_id") or (tickets[0] if len(tickets) == 1 else None)
    if ticket:
        return t("alert.title.ticket", lang).format(ticket=ticket, rule=rule)
    place = alert.get("district") or alert.get("city") or alert.get("scope")
    if place:
        return t("alert.title.place", lang).format(place=place_name(place, lang, names), rule=rule)
    return rule or stored
