"""Message catalogues: Simplified Chinese by default, English on request. No UI string lives elsewhere."""

from __future__ import annotations

DEFAULT_LANG = "zh"
LANGS = ("zh", "en")

MESSAGES: dict[str, dict[str, str]] = {
    "app.title": {"zh": "12345 热线数据驾驶舱", "en": "12345 Hotline Data Cockpit"},
    "home.heading": {"zh": "各市今日概况", "en": "Cities today"},
    "home.city": {"zh": "城市", "en": "City"},
    "home.offered": {"zh": "呼入量", "en": "Calls offered"},
    "home.answered": {"zh": "接通量", "en": "Answered"},
    "home.abandoned": {"zh": "放弃量", "en": "Abandoned"},
    "home.tickets": {"zh": "今日工单", "en": "Tickets today"},
    "home.waiting": {"zh": "排队中", "en": "Waiting"},
    "home.empty": {"zh": "暂无实时数据", "en": "No live data yet"},
    "common.as_of": {"zh": "数据时间", "en": "As of"},
    "common.lang_switch": {"zh": "English", "en": "中文"},
    "common.home": {"zh": "首页", "en": "Home"},
    "common.logout": {"zh": "退出登录", "en": "Log out"},
    "common.not_found": {"zh": "页面不存在", "en": "Page not found"},
}


def register(messages: dict[str, dict[str, str]]) -> None:
    """Add a page's catalogue (each layout module registers its own at import; keys are unique)."""
    clash = set(messages) & set(MESSAGES)
    if clash:
        raise ValueError(f"message keys defined twice: {sorted(clash)}")
    MESSAGES.update(messages)


def t(key: str, lang: str = DEFAULT_LANG) -> str:
    """The message ``key`` in ``lang`` (falls back to Chinese, then to the key itself)."""
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry.get(DEFAULT_LANG) or key


def pick_lang(query_lang: str | None, default: str = DEFAULT_LANG) -> str:
    return query_lang if query_lang in LANGS else default
