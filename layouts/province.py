"""The provincial overview: cities on a map coloured by a chosen metric, and their league table.

Uses the wall's panel frame (layouts/wall.py), so the clock, as-of labels and stale marking work
the same way. Click a city (map or table) to open its wall; the drill link per row opens the
supervision view of that city.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from dash import dcc, html, no_update

from cockpit.views.province import PROVINCE_METRICS
from layouts import ids
from layouts.fmt import fmt_int, fmt_pct
from layouts.i18n import register, t
from layouts.names import english_or, place_name
from layouts.mapdata import screen_codes, screen_map
from layouts.page import PageContext
from layouts.screen import panel, panel_meta, screen_config, screen_header, screen_root, signature, status_badge
from layouts.svg import sparkline_svg

register({
    "province.title": {"zh": "全省总览 · 12345 热线", "en": "Province overview · 12345 hotline"},
    "province.totals": {"zh": "全省合计", "en": "Province totals"},
    "province.window.today": {"zh": "今日", "en": "Today"},
    "province.window.league": {"zh": "近{n}天", "en": "Last {n} days"},
    "province.window.trend": {"zh": "近{n}天", "en": "Last {n} days"},
    "province.total.offered": {"zh": "今日来电", "en": "Calls today"},
    "province.total.tickets": {"zh": "今日工单", "en": "Tickets today"},
    "province.total.connection": {"zh": "今日接通率", "en": "Connection rate today"},
    "province.total.response": {"zh": "响应率", "en": "Response rate"},
    "province.total.resolution": {"zh": "解决率", "en": "Resolution rate"},
    "province.total.satisfaction": {"zh": "满意率", "en": "Satisfaction rate"},
    "province.total.window": {"zh": "近{n}天", "en": "last {n} days"},
    "province.map": {"zh": "各市分布", "en": "Cities"},
    "province.table": {"zh": "各市排名", "en": "League table"},
    "province.metric.tickets_today": {"zh": "今日工单", "en": "Tickets today"},
    "province.metric.tickets_per_100k_today": {"zh": "今日每十万人工单", "en": "Tickets per 100k today"},
    "province.metric.offered_today": {"zh": "今日来电", "en": "Calls today"},
    "province.metric.connection_rate_today": {"zh": "今日接通率", "en": "Connection rate today"},
    "province.metric.score": {"zh": "综合得分（近30天）", "en": "Score (last 30 days)"},
    "province.unit.tickets_today": {"zh": "（件）", "en": " (count)"},
    "province.unit.tickets_per_100k_today": {"zh": "（件/10万人）", "en": " (per 100k residents)"},
    "province.unit.offered_today": {"zh": "（次）", "en": " (calls)"},
    "province.unit.connection_rate_today": {"zh": "（%）", "en": " (%)"},
    "province.unit.score": {"zh": "（分，目标=100）", "en": " (points, 100 = on target)"},
    "province.col.rank": {"zh": "排名", "en": "#"},
    "province.col.city": {"zh": "城市", "en": "City"},
    "province.col.offered": {"zh": "来电", "en": "Calls"},
    "province.col.tickets": {"zh": "工单", "en": "Tickets"},
    "province.col.connection_today": {"zh": "接通率", "en": "Connection"},
    "province.col.response": {"zh": "响应率", "en": "Response"},
    "province.col.resolution": {"zh": "解决率", "en": "Resolution"},
    "province.col.satisfaction": {"zh": "满意率", "en": "Satisfaction"},
    "province.col.on_time": {"zh": "按时办结率", "en": "On-time closure"},
    "province.col.connection": {"zh": "接通率", "en": "Connection"},
    "province.col.score": {"zh": "综合得分", "en": "Score"},
    "province.col.per_100k": {"zh": "每十万人工单", "en": "Tickets /100k"},
    "province.col.trend": {"zh": "每日工单", "en": "Tickets per day"},
    "province.drill": {"zh": "下钻", "en": "Drill"},
    "province.note": {"zh": "排名按近{n}天综合得分：各率与目标之比的均值 ×100（100 = 各率恰达目标）。",
                      "en": "Ranked by the last {n} days' score: mean of rate / target x 100 (100 = every rate on target)."},
    "province.note_backfill": {
        "zh": "历史数据回填中 {n}/{total} 天：近{days}天各率只含已回填的天数，暂不按目标着色，排名仅供参考。",
        "en": "Loading history {n}/{total} days: the {days}-day rates cover only the days loaded, are not coloured "
              "against targets yet, and the ranking is provisional."},
    "province.no_cities": {"zh": "暂无城市数据", "en": "No cities yet"},
})

PROVINCE_PANELS = ("map", "totals", "table")
# Which way is good, per map metric: red marks the cities to look at on every map.
METRIC_BETTER = {"tickets_today": "lower", "tickets_per_100k_today": "lower", "offered_today": "lower",
                 "connection_rate_today": "higher", "score": "higher"}
RATE_COLUMNS = (("response_rate", "province.col.response"), ("resolution_rate", "province.col.resolution"),
                ("satisfaction_rate", "province.col.satisfaction"), ("on_time_closure_rate", "province.col.on_time"),
                ("connection_rate", "province.col.connection"))


def province_page(ctx: PageContext, code: str) -> html.Div:
    """The province skeleton; the map and table fill in with the first push (or refresh, when polling)."""
    lang = ctx.lang
    metric = ctx.query.get("metric") if ctx.query.get("metric") in PROVINCE_METRICS else "tickets_today"
    map_title = html.Div([
        html.Span(t("province.map", lang)),
        dcc.RadioItems(id=ids.PROVINCE_METRIC, value=metric, inline=True, className="ck-province-metric",
                       options=[{"label": t(f"province.metric.{m}", lang), "value": m} for m in PROVINCE_METRICS]),
    ], className="ck-wall-map-title")
    return screen_root(ctx, [
        screen_header(ctx, place_name(code, lang), status_id=ids.PROVINCE_STATUS, title_id=ids.PROVINCE_TITLE,
                      subtitle=t("province.title", lang)),
        html.Main([panel("map", map_title), panel("totals", t("province.totals", lang)),
                   panel("table", t("province.table", lang))], className="ck-province-grid"),
        dcc.Interval(id=ids.PROVINCE_REFRESH, interval=ctx.settings.refresh_ms),
        dcc.Store(id=ids.PROVINCE_REQUEST),
        dcc.Store(id=ids.PROVINCE_DONE),
        dcc.Store(id=ids.PROVINCE_KICK),
        dcc.Interval(id=ids.WALL_TICK, interval=1000),
        dcc.Store(id={"type": ids.WALL_META, "index": "province"}, data={}),
        dcc.Store(id={"type": ids.WALL_CONFIG, "index": "province"},
                  data=screen_config(ctx, page="province", code=code)),
        dcc.Store(id=ids.PROVINCE_MAP_SIG),
        dcc.Store(id=ids.PROVINCE_DRILL),
    ], root_id=ids.PROVINCE_ROOT, page="province")


def _metric_value(row: dict, metric: str) -> float | None:
    value = row.get(metric)
    if metric == "score" and value is not None:
        return round(value * 100, 1)
    if metric == "connection_rate_today" and value is not None:
        return round(value * 100, 1)
    return value


def map_body(snapshot: dict, metric: str, lang: str, tile_url: str = "") -> Any:
    try:
        screen_codes(snapshot["scope"])
    except KeyError:
        return html.Div(t("wall.no_map", lang), className="ck-wall-empty")
    values = {r["code"]: _metric_value(r, metric) for r in snapshot["rows"]}
    label = t(f"province.metric.{metric}", lang) + t(f"province.unit.{metric}", lang)
    return screen_map(snapshot["scope"], lang, values, id=ids.PROVINCE_MAP_GEO, label=label,
                      better=METRIC_BETTER[metric], integer=metric in ("tickets_today", "offered_today"),
                      tile_url=tile_url)


def _city_href(code: str, lang: str, kiosk: bool) -> str:
    query = {"lang": lang, **({"kiosk": "1"} if kiosk else {})}
    return f"/wall/{code}?{urlencode(query)}"


def league_table(snapshot: dict, lang: str, *, kiosk: bool = False, backfill: tuple[int, int] | None = None,
                 supervise: bool = False) -> Any:
    """The cities' table: today's live columns, the league window's rates and score, the trend;
    a header row above names each group's window, so no figure's period is left to guess. While
    history is still loading (``backfill`` = days loaded, days needed) the window's rates are not
    coloured against their targets and the note says the ranking is provisional. The drill link
    per row (to /supervise) only for a viewer who may open it (``supervise``)."""
    rows = snapshot["rows"]
    if not rows:
        return html.Div(t("province.no_cities", lang), className="ck-wall-empty")
    n_days = len(snapshot.get("trend_days") or []) or 14
    league_days = snapshot.get("league_days") or 30
    groups = html.Tr([
        html.Th("", colSpan=2),
        html.Th(t("province.window.today", lang), colSpan=3, className="ck-league-group"),
        html.Th(t("province.window.league", lang).format(n=league_days), colSpan=len(RATE_COLUMNS) + 2,
                className="ck-league-group"),
        html.Th(t("province.window.trend", lang).format(n=n_days), className="ck-league-group"),
        html.Th(""),
    ], className="ck-league-groups")
    head = [t("province.col.rank", lang), t("province.col.city", lang), t("province.col.offered", lang),
            t("province.col.tickets", lang), t("province.col.connection_today", lang),
            *[t(label, lang) for _, label in RATE_COLUMNS], t("province.col.score", lang),
            t("province.col.per_100k", lang), t("province.col.trend", lang), ""]
    partial = backfill is not None and backfill[0] < backfill[1]
    body = []
    for r in rows:
        name = english_or(r["name"].get(lang), r["code"], lang)
        cells = [
            html.Td(fmt_int(r.get("rank"))),
            html.Td(html.A(name, href=_city_href(r["code"], lang, kiosk), className="ck-city-link")),
            html.Td(fmt_int(r.get("offered_today"))),
            html.Td(fmt_int(r.get("tickets_today"))),
            html.Td(fmt_pct(r.get("connection_rate_today")),
                    className=f"ck-status-{r['connection_status']}" if r.get("connection_status") else None),
        ]
        for key, _label in RATE_COLUMNS:
            status = None if partial else (r.get("status") or {}).get(key)
            cells.append(html.Td(fmt_pct(r.get(key)), className=f"ck-status-{status}" if status else None))
        cells += [
            html.Td("—" if r.get("score") is None else f"{r['score'] * 100:.1f}"),
            html.Td("—" if r.get("tickets_per_100k") is None else f"{r['tickets_per_100k']:.1f}"),
            html.Td(html.Img(src=sparkline_svg(r.get("trend") or []), className="ck-spark", alt="")),
            html.Td(html.A(t("province.drill", lang), href=f"/supervise?{urlencode({'city': r['code'], 'lang': lang})}",
                           className="ck-drill") if supervise else ""),
        ]
        body.append(html.Tr(cells, className="ck-row", **{"data-city": r["code"]}))
    return [
        html.Table([html.Thead([groups, html.Tr([html.Th(h) for h in head])]), html.Tbody(body)],
                   className="ck-league"),
        html.Div(t("province.note_backfill", lang).format(n=backfill[0], total=backfill[1], days=league_days)
                 if partial else t("province.note", lang).format(n=league_days),
                 className="ck-league-note ck-pending" if partial else "ck-league-note"),
    ]


def _total(label: str, value: str, *, status: str | None = None, note: str = "", name: str = "") -> html.Div:
    cls = "ck-province-total" + (f" ck-status-{status}" if status else "")
    return html.Div([html.Div(label, className="ck-wall-big-label"),
                     html.Div(value, className="ck-wall-big-value", **({"data-figure": name} if name else {})),
                     html.Div(note, className="ck-wall-big-notes")], className=cls)


def totals_body(totals: dict, lang: str, league_days: int, backfill: tuple[int, int] | None = None) -> list:
    """The province's headline figures: today's calls, tickets and connection rate (live), and the
    three assessed rates over the league window, each against its target. While history is still
    loading (``backfill`` = days loaded, days needed) the window is partial: the assessed rates say
    so instead of a green/red judgement against their targets."""
    targets = totals.get("targets") or {}
    status = totals.get("status") or {}
    window = t("province.total.window", lang).format(n=league_days)
    if backfill is not None and backfill[0] < backfill[1]:
        window = t("wall.backfill", lang).format(n=backfill[0], total=backfill[1])
        targets = {k: v for k, v in targets.items() if k == "connection_rate"}
        status = {k: v for k, v in status.items() if k == "connection_rate_today"}

    def target_note(key: str, prefix: str = "") -> str:
        target = targets.get(key)
        return (prefix + f"{t('wall.target', lang)} {fmt_pct(target, 0)}") if target is not None \
            else prefix.removesuffix(" · ")

    return [
        _total(t("province.total.offered", lang), fmt_int(totals.get("offered_today")), name="province_offered"),
        _total(t("province.total.tickets", lang), fmt_int(totals.get("tickets_today")), name="province_tickets"),
        _total(t("province.total.connection", lang), fmt_pct(totals.get("connection_rate_today")),
               status=status.get("connection_rate_today"), note=target_note("connection_rate"),
               name="province_connection"),
        *[_total(t(f"province.total.{label}", lang), fmt_pct(totals.get(key)), status=status.get(key),
                 note=target_note(key, window + " · "), name=f"province_{label}")
          for key, label in (("response_rate", "response"), ("resolution_rate", "resolution"),
                             ("satisfaction_rate", "satisfaction"))],
    ]


def _backfill(history: dict | None) -> tuple[int, int] | None:
    if not history or history.get("days") is None:
        return None
    return int(history["days"]), int(history["needed"])


def province_update(snapshot: dict | None, *, lang: str, metric: str, kiosk: bool, previous_meta: dict | None,
                    previous_map_sig: str | None, tile_url: str = "", request: Any = None, tz=None,
                    supervise: bool = False) -> tuple:
    """Outputs of one province refresh: map, totals, table, map signature, meta, status, title,
    answered request."""
    if snapshot is None:
        meta = panel_meta({p: None for p in PROVINCE_PANELS}, previous_meta, set(PROVINCE_PANELS))
        return (no_update, no_update, no_update, no_update, meta, status_badge(["province"], lang), no_update,
                request)
    failed = set(snapshot.get("failed") or [])
    live, league = snapshot["sections"].get("live"), snapshot["sections"].get("league")
    map_source = league if metric == "score" else live
    failed_panels = {"table", "totals"} if failed else set()
    if ("history" if metric == "score" else "live") in failed:
        failed_panels.add("map")
    map_out, sig = no_update, no_update
    if map_source is not None and snapshot["rows"]:
        new_sig = signature(snapshot["scope"], metric, lang, {r["code"]: r.get(metric) for r in snapshot["rows"]})
        if new_sig != previous_map_sig:
            map_out, sig = map_body(snapshot, metric, lang, tile_url), new_sig
    has_figures = live is not None or league is not None
    table = (league_table(snapshot, lang, kiosk=kiosk, backfill=_backfill(snapshot.get("history")),
                          supervise=supervise)
             if has_figures else no_update)
    totals = (totals_body(snapshot.get("totals") or {}, lang, snapshot.get("league_days") or 30,
                          _backfill(snapshot.get("history")))
              if has_figures else no_update)
    meta = panel_meta({"map": map_source, "totals": live or league, "table": live or league}, previous_meta,
                      failed_panels)
    title = english_or(snapshot["name"].get(lang), snapshot["scope"], lang)
    has_data = any(r.get("offered_today") or r.get("tickets_today") for r in snapshot["rows"])
    status = status_badge(sorted(failed), lang, last_event_ms=snapshot.get("last_event_ms"),
                          now_ms=snapshot.get("now_ms"), has_data=has_data, tz=tz,
                          backfill=_backfill(snapshot.get("history")), live_state=snapshot.get("live_state", "ok"))
    return map_out, totals, table, sig, meta, status, title, request
