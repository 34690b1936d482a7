"""The frame every wall screen shares (city wall, province): panels, header, status badge, meta.

Every panel has an "as of" label and turns stale in the browser (assets/wall.js) when its data is
older than its ``max_age_ms``; ``panel_meta`` carries those figures from a snapshot to the browser.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from dash import html

from layouts import ids
from layouts.i18n import register, t
from layouts.page import PageContext

register({
    "wall.title": {"zh": "12345 热线数据大屏", "en": "12345 Hotline Wall"},
    "wall.stale": {"zh": "数据过期", "en": "Stale"},
    "wall.failed": {"zh": "数据源故障", "en": "source failed"},
    "wall.panel_failed": {"zh": "数据源故障", "en": "Failed"},
    "wall.ok": {"zh": "数据正常", "en": "Data live"},
    "wall.no_data_badge": {"zh": "暂无数据", "en": "No data yet"},
    "wall.not_fresh": {"zh": "数据未更新", "en": "Not updating"},
    "wall.backfill": {"zh": "历史数据回填中 {n}/{total} 天", "en": "Loading history {n}/{total} days"},
    "wall.rebuilding": {"zh": "实时数据重建中", "en": "Rebuilding live figures"},
    "wall.last_event": {"zh": "最新事件", "en": "Last event"},
    "wall.lang": {"zh": "English", "en": "中文"},
})


def swap_lang_href(path: str, query: dict[str, str], lang: str) -> str:
    """The same page in the other language, other query parameters kept."""
    other = "en" if lang == "zh" else "zh"
    return f"{path}?{urlencode({**query, 'lang': other})}"


def panel(name: str, title: str, body: Any = None, *, extra: str = "") -> html.Section:
    """A panel: title, as-of label (filled in by assets/wall.js) and a body updated by callbacks."""
    return html.Section(
        [
            html.Div([html.H3(title, className="ck-wall-panel-title"),
                      html.Span(id={"type": ids.WALL_AS_OF, "index": name}, className="ck-wall-as-of")],
                     className="ck-wall-panel-head"),
            html.Div(body, id={"type": ids.WALL_BODY, "index": name}, className="ck-wall-panel-body"),
        ],
        id={"type": ids.WALL_PANEL, "index": name},
        className=f"ck-wall-panel ck-wall-{name} {extra}".strip(),
    )


def screen_config(ctx: PageContext, *, page: str, code: str) -> dict:
    """What the browser needs for the clock and the freshness badges (assets/wall.js); ``supervise``:
    whether the viewer may open /supervise (a district click drills there only then)."""
    return {
        "page": page, "code": code, "lang": ctx.lang, "tz": ctx.settings.timezone, "kiosk": ctx.kiosk,
        "supervise": ctx.may("/supervise"),
        "locale": "zh-CN" if ctx.lang == "zh" else "en-GB",
        "labels": {"as_of": t("common.as_of", ctx.lang), "stale": t("wall.stale", ctx.lang),
                   "failed": t("wall.panel_failed", ctx.lang)},
    }


def screen_header(ctx: PageContext, title: str, *, status_id: str, title_id: str,
                  subtitle: str | None = None) -> html.Header:
    nav = [] if ctx.kiosk else [html.A(t("wall.lang", ctx.lang), href=swap_lang_href(ctx.path, ctx.query, ctx.lang),
                                       className="ck-wall-lang")]
    return html.Header(
        [
            html.Div([html.H1(title, id=title_id, className="ck-wall-title"),
                      html.Span(subtitle or t("wall.title", ctx.lang), className="ck-wall-subtitle")],
                     className="ck-wall-brand"),
            html.Div([html.Span(id=status_id, className="ck-wall-status"),
                      html.Span(id=ids.WALL_CLOCK, className="ck-wall-clock"), *nav], className="ck-wall-right"),
        ],
        className="ck-wall-header",
    )


def screen_root(ctx: PageContext, children: list, *, root_id: str, page: str) -> html.Div:
    classes = f"ck-wall-screen ck-{page}-screen" + (" ck-kiosk" if ctx.kiosk else "")
    return html.Div(children, id=root_id, className=classes, lang="zh-CN" if ctx.lang == "zh" else "en")


def panel_meta(sections: dict[str, dict | None], previous: dict | None, failed: set[str]) -> dict:
    """{panel: {as_of_ms, max_age_ms, failed}}: new as-of where a panel got data, else the last one."""
    out = dict(previous or {})
    for name, section in sections.items():
        old = out.get(name) or {}
        if section is not None:
            out[name] = {"as_of_ms": section["as_of_ms"], "max_age_ms": section["max_age_ms"],
                         "failed": name in failed}
        else:
            out[name] = {"as_of_ms": old.get("as_of_ms"), "max_age_ms": old.get("max_age_ms"),
                         "failed": name in failed or bool(old.get("failed"))}
    return out


FRESH_MS = 5 * 60 * 1000  # no event for this long: the data are not current, whatever the panels say


def status_badge(failed: Sequence[str], lang: str, *, last_event_ms: int | None = None, tz=None,
                 now_ms: int | None = None, has_data: bool = True,
                 backfill: tuple[int, int] | None = None, live_state: str = "ok") -> html.Span:
    """The screen's data badge. Green 'live' only when every source answered, the screen has data
    and the newest event is under FRESH_MS old; otherwise 'source failed' (red), 'no data yet'
    (grey) or 'not updating' (amber). ``backfill`` (days loaded, days needed) adds the history
    still loading. ``live_state`` other than ok/unknown (the live store restarted and is being rebuilt,
    so its figures are partial) gives 'rebuilding' (amber). The newest event's time is shown in local
    time (``tz``)."""
    last = ""
    if last_event_ms and tz is not None:
        moment = datetime.fromtimestamp(last_event_ms / 1000, tz)
        last = f" · {t('wall.last_event', lang)} {moment:%H:%M:%S}"
    extra = []
    if backfill is not None and backfill[0] < backfill[1]:
        extra.append(html.Span(t("wall.backfill", lang).format(n=backfill[0], total=backfill[1]),
                               className="ck-wall-backfill", **{"data-backfill": f"{backfill[0]}/{backfill[1]}"}))
    if failed:
        badge = html.Span(f"⚠ {t('wall.failed', lang)}{last}", className="ck-wall-badge ck-wall-badge-failed",
                          title=", ".join(failed), **{"data-state": "failed"})
    elif live_state not in ("ok", "unknown"):
        badge = html.Span(f"⟳ {t('wall.rebuilding', lang)}{last}", className="ck-wall-badge ck-wall-badge-rebuilding",
                          title=live_state, **{"data-state": "rebuilding"})
    elif not has_data:
        badge = html.Span(f"○ {t('wall.no_data_badge', lang)}", className="ck-wall-badge ck-wall-badge-nodata",
                          **{"data-state": "no-data"})
    elif last_event_ms and now_ms and now_ms - last_event_ms > FRESH_MS:
        badge = html.Span(f"◐ {t('wall.not_fresh', lang)}{last}", className="ck-wall-badge ck-wall-badge-old",
                          **{"data-state": "old"})
    else:
        badge = html.Span(f"● {t('wall.ok', lang)}{last}", className="ck-wall-badge ck-wall-badge-ok",
                          **{"data-state": "ok"})
    return html.Span([*extra, badge], className="ck-wall-badges") if extra else badge


def signature(*parts: Any) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
