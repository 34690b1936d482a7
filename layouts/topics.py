"""The wall's hot-topics panel body, from the ``topics`` section of ``cockpit.views.wall.city_snapshot``.

One row per topic: its key phrase, requests today, growth against the same hours of the days
before and the district it is in. The key phrase is the citizens' own words: on an English page a
word the vocabulary tables translate (``cockpit.names_en``, the categories' and departments' names)
is given in English, any other in pinyin (no Chinese on English pages), and then the row says so
("words in pinyin") beside the topic's category in English. Every state that is not a ranked list says what
it is (no text, baseline loading, waiting for the worker); the panel is never empty.
"""

from __future__ import annotations

from typing import Any

from dash import html

from cockpit.names_en import CATEGORY_EN, DEPARTMENT_EN
from geo.names import has_cjk, pinyin_name
from layouts.categories import category_label
from layouts.fmt import fmt_int
from layouts.i18n import register, t
from layouts.names import place_name

register({
    "wall.topics": {"zh": "今日热点话题", "en": "Hot topics today"},
    "wall.topics_head": {"zh": "今日 {n} 条诉求 · 对比前{days}天同时段", "en": "{n} requests today, vs same hours of {days} days before"},
    "wall.topics_head_district": {"zh": "本区话题 · 对比前{days}天同时段", "en": "This district, vs same hours of {days} days before"},
    "wall.topics_loading": {"zh": "基线积累中 {n}/{total} 天 · 按诉求数排序", "en": "Baseline loading {n}/{total} days, largest first"},
    "wall.topics_pending": {"zh": "话题分析等待后台任务（每5分钟）", "en": "Waiting for the worker's topic analysis (every 5 min)"},
    "wall.topics_no_tickets": {"zh": "今日暂无工单，无话题可分析", "en": "No tickets today yet: no topics to find"},
    "wall.topics_no_text": {"zh": "今日 {n} 件工单均无诉求文本，无法分析话题",
                            "en": "None of today's {n} tickets has request text: no topics to find"},
    "wall.topics_none": {"zh": "暂无成组话题（3条以上相似诉求才成话题）",
                         "en": "No topic yet (a topic needs 3 similar requests)"},
    "wall.topics_growth_loading": {"zh": "积累中", "en": "loading"},
    "wall.topics_new": {"zh": "新", "en": "new"},
    "wall.topics_emerging": {"zh": "新兴话题：较基线增长2倍以上", "en": "Emerging: at least twice its baseline"},
    "wall.topics_pinyin": {"zh": "拼音", "en": "words in pinyin"},
    "wall.topics_pinyin_title": {"zh": "诉求原话的拼音（无英文对照）",
                                 "en": "The citizens' words in pinyin: no English translation in the vocabulary tables"},
})

SHOWN = 6  # rows that fit the panel at 16:9


def _word_en(word: str) -> str | None:
    """One word of a key phrase in English from the vocabulary tables, or None."""
    if not has_cjk(word):
        return word
    return CATEGORY_EN.get(word) or DEPARTMENT_EN.get(word)


def phrase(label: str, lang: str) -> str:
    """A topic's key phrase as shown: the words as citizens wrote them; on an English page each in
    English where the vocabulary tables have it, else in pinyin."""
    if lang != "en":
        return label
    return " ".join(_word_en(word) or pinyin_name(word) for word in label.split()) or "—"


def in_pinyin(label: str) -> bool:
    """Whether an English page shows some word of ``label`` in pinyin (no translation for it)."""
    return any(_word_en(word) is None for word in label.split())


def fmt_growth(growth: float | None, baseline: float | None, lang: str) -> str:
    """'×6.0' against the baseline; 'new' when nothing like it came before; '—' without a baseline."""
    if growth is None:
        return "—"
    if baseline == 0:
        return t("wall.topics_new", lang) + f" ×{growth:.1f}"
    return f"×{growth:.1f}"


def _row(topic: dict, lang: str, loading: bool) -> html.Div:
    district = topic.get("district")
    names = topic.get("district_name") or {}
    where = (names.get(lang) or place_name(district, lang)) if district else ""
    if loading:
        growth, cls = t("wall.topics_growth_loading", lang), "ck-wall-note ck-pending"
    else:
        growth = fmt_growth(topic.get("growth"), topic.get("baseline_per_period"), lang)
        cls = "ck-wall-note " + ("ck-hot" if topic.get("emerging") else "ck-down")
    label = topic.get("label") or ""
    text = phrase(label, lang)
    sub, title = [where], text
    if lang == "en" and in_pinyin(label):  # say what the reader sees, and what the topic is about
        if topic.get("category"):
            sub.append(category_label(topic["category"], lang))
        sub.append(t("wall.topics_pinyin", lang))
        title = f"{text} ({t('wall.topics_pinyin_title', lang)})"
    return html.Div([
        html.Span(str(topic.get("rank") or ""), className="ck-wall-topic-rank"),
        html.Div([html.Span(text, className="ck-wall-topic-label", title=title),
                  html.Span(" · ".join(p for p in sub if p), className="ck-wall-topic-sub")],
                 className="ck-wall-topic-text"),
        html.B(fmt_int(topic.get("count")), className="ck-wall-topic-count"),
        html.Span(growth, className=cls, title=t("wall.topics_emerging", lang) if topic.get("emerging") else None),
    ], className="ck-wall-topic" + (" ck-wall-topic-emerging" if topic.get("emerging") else ""),
        **{"data-rank": str(topic.get("rank") or "")})


def topics_body(s: dict, lang: str) -> Any:
    """The panel body for a ``topics`` section: states ``ok``, ``baseline_loading``, ``no_text``, ``pending``."""
    state = s.get("state")
    if state == "pending":
        return html.Div(t("wall.topics_pending", lang), className="ck-wall-empty ck-pending", **{"data-state": state})
    if state == "no_text":
        tickets = s.get("tickets") or 0
        message = t("wall.topics_no_text", lang).format(n=fmt_int(tickets)) if tickets \
            else t("wall.topics_no_tickets", lang)
        return html.Div(message, className="ck-wall-empty", **{"data-state": state})
    baseline = s.get("baseline") or {}
    loading = state == "baseline_loading"
    days = baseline.get("needed") or 4
    if loading:
        head = t("wall.topics_loading", lang).format(n=baseline.get("days", 0), total=days)
    elif s.get("district_only"):
        head = t("wall.topics_head_district", lang).format(days=days)
    else:
        head = t("wall.topics_head", lang).format(n=fmt_int(s.get("texts")), days=days)
    rows = [_row(topic, lang, loading) for topic in (s.get("topics") or [])[:SHOWN]]
    if not rows:
        rows = [html.Div(t("wall.topics_none", lang), className="ck-wall-empty")]
    return [html.Div(head, className="ck-wall-topic-head" + (" ck-pending" if loading else ""),
                     **{"data-state": state or ""}), *rows]
