"""Names for display: places in the page's language, ticket vocabulary (statuses, callbacks),
alert titles built from an alert's structured fields. No UI string lives elsewhere."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from cockpit.names_en import unit_en
from geo.names import english_name, has_cjk, pinyin_name
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


def unit_label(name: str | None, lang: str) -> str:
    """A handling unit's name in ``lang`` (Chinese as stored; English region + department)."""
    if not name:
        return ""
    if lang != "en":
        return name
    return unit_en(name)


@lru_cache(maxsize=4096)
def _bundled(code: str, version: int) -> tuple[str | None, str | None]:
    from geo import boundaries

    try:
        return boundaries.region_names(code)
    except Exception:  # noqa: BLE001 - a name is decoration; the code stands in
        return None, None


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


# The watchpoints' safety words (cockpit.watch.config.SAFETY_WORDS) as an English reader needs them.
SAFETY_WORDS_EN = {
    "煤气泄漏": "coal-gas leak", "燃气泄漏": "gas leak", "燃气": "gas", "煤气": "coal gas",
    "天然气泄漏": "natural-gas leak", "燃气味": "smell of gas", "煤气味": "smell of coal gas",
    "天然气味": "smell of natural gas", "漏气": "gas escaping", "着火": "on fire", "火灾": "fire", "起火": "fire", "冒烟": "smoke",
    "爆炸": "explosion", "自杀": "suicide", "轻生": "suicide", "跳楼": "jumping", "不想活": "wants to die",
    "打人": "assault", "家暴": "domestic violence", "持刀": "knife", "砍人": "stabbing", "殴打": "beating",
    "绑架": "kidnapping", "昏迷": "unconscious", "晕倒": "fainted", "触电": "electric shock", "中毒": "poisoning",
}


def display_alert(alert: Mapping, lang: str) -> dict:
    """An alert item with the words its reason quotes in ``lang``: on an English page the matched
    safety words, categories and handling units are translated (the stored facts stay as found)."""
    if lang != "en":
        return dict(alert)
    from layouts.categories import category_label

    facts = dict(alert.get("facts") or {})
    if facts.get("words"):
        facts["words"] = [SAFETY_WORDS_EN.get(w) or (pinyin_name(w) if has_cjk(w) else w) for w in facts["words"]]
    for key in ("category", "subcategory"):
        if facts.get(key):
            facts[key] = category_label(facts[key], lang)
    if facts.get("handoff"):
        facts["handoff"] = [unit_label(u, lang) for u in facts["handoff"]]
    out = {**alert, "facts": facts}
    if alert.get("unit"):
        out["unit"] = unit_label(alert["unit"], lang)
    return out
