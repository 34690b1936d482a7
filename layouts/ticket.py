"""/tickets/<id>: one ticket's whole history, clocks, place, related tickets and its alerts."""

from __future__ import annotations

from urllib.parse import quote

from datetime import UTC, datetime

import dash_leaflet as dl
from dash import dcc, html

from cockpit.watch.vocab import reason
from layouts import ids
from layouts.categories import category_label, category_path_label
from layouts.i18n import register, t
from layouts.names import alert_title, display_alert, place_name, term, unit_label
from layouts.page import PageContext
from layouts.shell import header
from layouts.supervise import breadcrumb

register({
    "tk.title": {"zh": "工单详情", "en": "Ticket"},
    "tk.not_found": {"zh": "工单不存在", "en": "No such ticket"},
    "tk.timeline": {"zh": "办理过程", "en": "Timeline"},
    "tk.clocks": {"zh": "时限", "en": "Clocks"},
    "tk.place": {"zh": "位置", "en": "Place"},
    "tk.no_place": {"zh": "无坐标", "en": "No coordinates"},
    "tk.related": {"zh": "相关工单（同地址或同来电人）", "en": "Related tickets (same address or caller)"},
    "tk.no_related": {"zh": "无", "en": "None"},
    "tk.text": {"zh": "诉求内容", "en": "Text"},
    "tk.no_text": {"zh": "未记录诉求内容", "en": "No text recorded"},
    "tk.not_set": {"zh": "未设定", "en": "Not set"},
    "tk.alerts": {"zh": "预警与督办", "en": "Alerts"},
    "tk.no_alerts": {"zh": "无预警", "en": "No alerts"},
    "tk.note": {"zh": "说明", "en": "Note"},
    "tk.to": {"zh": "督办对象", "en": "Escalate to"},
    "tk.due": {"zh": "督办期限", "en": "Due"},
    "tk.ack": {"zh": "签收", "en": "Acknowledge"},
    "tk.escalate": {"zh": "督办", "en": "Escalate"},
    "tk.resolve": {"zh": "解除", "en": "Resolve"},
    "tk.since_prev": {"zh": "距上一步", "en": "since previous"},
    "tk.since_created": {"zh": "距受理", "en": "since created"},
    "tk.due_at": {"zh": "办理时限", "en": "Due"},
    "tk.due_left": {"zh": "剩余", "en": "Left"},
    "tk.overdue_by": {"zh": "已超期", "en": "Overdue by"},
    "tk.closed_late": {"zh": "超期办结", "en": "Closed late by"},
    "tk.response_due": {"zh": "响应时限", "en": "Respond by"},
    "tk.responded_in": {"zh": "响应用时", "en": "Responded in"},
    "tk.open_for": {"zh": "已办理", "en": "Open for"},
    "tk.closed_in": {"zh": "办结用时", "en": "Closed in"},
    "tk.unit": {"zh": "承办单位", "en": "Unit"},
    "tk.status": {"zh": "状态", "en": "Status"},
    "tk.category": {"zh": "类别", "en": "Category"},
    "tk.address": {"zh": "地址", "en": "Address"},
    "tk.caller": {"zh": "来电人", "en": "Caller"},
    "tk.masked_note": {"zh": "个人信息默认脱敏显示。", "en": "Personal data is masked by default."},
    "tk.unmask": {"zh": "显示完整信息（将记入审计日志）", "en": "Show personal data (recorded in the audit log)"},
    "tk.mask": {"zh": "恢复脱敏显示", "en": "Mask personal data again"},
    "tk.history": {"zh": "处理记录", "en": "History"},
    "tk.system": {"zh": "系统", "en": "system"},
    "tk.district": {"zh": "区县", "en": "District"},
    "tk.act_hint": {"zh": "处理预警：以当前登录用户记录；督办需填写督办对象，解除需填写说明",
                    "en": "Actions are recorded as the logged-in user; escalating needs a target, resolving a note"},
    "tk.done": {"zh": "已{action}", "en": "{action}: done"},
    "tk.err.by": {"zh": "请先填写操作人", "en": "Fill in your name first"},
    "tk.err.to": {"zh": "督办需要填写督办对象", "en": "Escalating needs a target (escalate to)"},
    "tk.err.note": {"zh": "解除预警需要填写说明", "en": "Resolving needs a note"},
    "tk.err.not_firing": {"zh": "只有告警中的预警可以签收", "en": "Only a firing alert can be acknowledged"},
    "tk.err.resolved": {"zh": "该预警已解除", "en": "This alert is already resolved"},
    "tk.err.pending": {"zh": "待确认的预警不能督办", "en": "A pending alert cannot be escalated yet"},
    "tk.err.other": {"zh": "操作未完成，请刷新后重试", "en": "The action did not go through; reload and try again"},
    "step.ticket.created": {"zh": "受理", "en": "Created"},
    "step.ticket.dispatched": {"zh": "派单", "en": "Dispatched"},
    "step.ticket.returned": {"zh": "退单", "en": "Returned"},
    "step.ticket.transferred": {"zh": "转办", "en": "Transferred"},
    "step.ticket.responded": {"zh": "响应", "en": "Responded"},
    "step.ticket.closed": {"zh": "办结", "en": "Closed"},
    "step.ticket.callback": {"zh": "回访", "en": "Callback"},
    "step.ticket.reopened": {"zh": "重办", "en": "Reopened"},
    "action.opened": {"zh": "产生", "en": "Opened"},
    "action.fired": {"zh": "告警", "en": "Fired"},
    "action.updated": {"zh": "更新", "en": "Updated"},
    "action.acknowledged": {"zh": "签收", "en": "Acknowledged"},
    "action.escalated": {"zh": "督办", "en": "Escalated"},
    "action.resolved": {"zh": "解除", "en": "Resolved"},
})


def action_id(action: str, alert_id: int) -> dict:
    """Pattern id of an alert action button on the ticket page."""
    return {"type": ids.TK_ACTION, "action": action, "alert": alert_id}


def _field(label: str, control) -> html.Label:
    return html.Label([html.Span(label, className="ck-tk-label"), control], className="ck-tk-field")


def ticket_page(ctx: PageContext, ticket_id: str) -> html.Div:
    """The frame of /tickets/<id>: body filled by a callback; the action inputs live here (outside
    the body, so what was typed survives a redraw) right after the alert cards."""
    lang = ctx.lang
    other = "en" if lang == "zh" else "zh"
    path = "/tickets/" + quote(ticket_id, safe="")
    unmask = ctx.query.get("unmask") == "1"
    privacy = html.A(t("tk.mask" if unmask else "tk.unmask", lang), className="ck-tk-unmask",
                     href=f"{path}?lang={lang}" if unmask else f"{path}?unmask=1&lang={lang}")
    return html.Div([
        header(f"{t('tk.title', lang)} {ticket_id}", lang, switch_href=f"{path}?lang={other}"),
        dcc.Store(id=ids.TK_ID, data=ticket_id),
        dcc.Store(id=ids.TK_UNMASK, data=unmask),
        html.P([t("tk.masked_note", lang), " ", privacy], className="ck-tk-privacy"),
        html.Div(id=ids.TK_MESSAGE, className="ck-tk-message"),
        html.Div(id=ids.TK_BODY, className="ck-tk-body"),
        html.Div([
            html.P(t("tk.act_hint", lang), className="ck-tk-hint"),
            html.Div([
                _field(t("tk.note", lang), dcc.Input(id=ids.TK_NOTE, className="ck-tk-input ck-tk-note")),
                _field(t("tk.to", lang), dcc.Input(id=ids.TK_TO, className="ck-tk-input")),
                _field(t("tk.due", lang), dcc.Input(id=ids.TK_DUE, type="date", className="ck-tk-input")),
            ], className="ck-tk-action-inputs"),
        ], className="ck-tk-actions-box"),
    ], className="ck-page ck-ticket", lang="zh-CN" if lang == "zh" else "en")


ACTION_PAST = {"ack": "action.acknowledged", "escalate": "action.escalated", "resolve": "action.resolved"}


def check_action(action: str, *, by: str, note: str, to: str, lang: str) -> str | None:
    """The reason (in ``lang``) an action cannot be sent as typed, else None."""
    if not by.strip():
        return t("tk.err.by", lang)
    if action == "escalate" and not to.strip():
        return t("tk.err.to", lang)
    if action == "resolve" and not note.strip():
        return t("tk.err.note", lang)
    return None


def action_error(message: str, lang: str) -> str:
    """A refusal from the alert store (English, for logs) as a message in ``lang``."""
    text = message or ""
    for needle, key in (("'by'", "tk.err.by"), ("'to'", "tk.err.to"), ("note is required", "tk.err.note"),
                        ("only a firing alert", "tk.err.not_firing"), ("already resolved", "tk.err.resolved"),
                        ("pending alert", "tk.err.pending")):
        if needle in text:
            return t(key, lang)
    return t("tk.err.other", lang)


def duration(seconds: float | None, lang: str) -> str:
    """A duration as '2天3小时' / '2d 3h' (largest two units)."""
    if seconds is None:
        return ""
    s = int(abs(seconds))
    d, h, m = s // 86400, s % 86400 // 3600, s % 3600 // 60
    units = (("天", "小时", "分钟") if lang == "zh" else ("d ", "h ", "min"))
    parts = [f"{v}{u}" for v, u in zip((d, h, m), units) if v]
    return "".join(parts[:2]).strip() or ("0分钟" if lang == "zh" else "0min")


def _local(moment: datetime | None, tz) -> str:
    return "" if moment is None else moment.replace(tzinfo=UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M")


def recorded(text: str | None, **kw) -> html.Span:
    """Text as a citizen or an officer recorded it (complaint, address, reason, note): shown as
    written, marked with its language so an English page says which text is the record's."""
    return html.Span(text or "", lang="zh-CN", className="ck-recorded", **kw)


def _step_text(step: dict, lang: str) -> list:
    d = step["detail"] or {}
    if step["type"] == "ticket.transferred":
        return [f"{unit_label(d.get('from_unit'), lang)} → {unit_label(d.get('to_unit'), lang)}"]
    if step["type"] == "ticket.callback":
        return [f"{term('resolved', d.get('resolved'), lang)} / {term('satisfaction', d.get('satisfaction'), lang)}"]
    out: list = [unit_label(step.get("unit"), lang)] if step.get("unit") else []
    said = " ".join(b for b in (d.get("reason") or "", d.get("resolution") or "") if b)
    if said:
        out += [" ", recorded(said)]
    return out


def _timeline(view: dict, lang: str, tz) -> html.Div:
    rows = []
    for s in view["steps"]:
        rows.append(html.Li([
            html.Span(t(f"step.{s['type']}", lang), className="ck-step-type"),
            html.Span(_local(s["at"], tz), className="ck-step-at"),
            html.Span(_step_text(s, lang), className="ck-step-text"),
            html.Span(f"{t('tk.since_prev', lang)} {duration(s['since_prev_s'], lang)}" if s["since_prev_s"] is not None
                      else "", className="ck-step-gap"),
            html.Span(f"{t('tk.since_created', lang)} {duration(s['since_created_s'], lang)}",
                      className="ck-step-total"),
        ], className="ck-step", **{"data-step": s["type"]}))
    return html.Div([html.H3(t("tk.timeline", lang)), html.Ol(rows, className="ck-timeline")])


def _clocks(view: dict, lang: str, tz) -> html.Div:
    c = view["clocks"]
    items = [(t("tk.due_at", lang), _local(c["due_at"], tz) or t("tk.not_set", lang))]
    overdue = c["due_left_s"] is not None and c["due_left_s"] < 0
    if c["due_left_s"] is not None:
        key = "tk.overdue_by" if overdue else "tk.due_left"
        items.append((t(key, lang), duration(c["due_left_s"], lang)))
    if c["closed_late_s"] is not None:
        items.append((t("tk.closed_late", lang), duration(c["closed_late_s"], lang)))
    items.append((t("tk.response_due", lang), _local(c["response_due_at"], tz) or t("tk.not_set", lang)))
    if c["responded_in_s"] is not None:
        items.append((t("tk.responded_in", lang), duration(c["responded_in_s"], lang)))
    if c["open_for_s"] is not None:
        items.append((t("tk.open_for", lang), duration(c["open_for_s"], lang)))
    if c["closed_in_s"] is not None:
        items.append((t("tk.closed_in", lang), duration(c["closed_in_s"], lang)))
    late = {t("tk.overdue_by", lang), t("tk.closed_late", lang)}
    return html.Div([html.H3(t("tk.clocks", lang)),
                     html.Dl([x for k, v in items for x in (html.Dt(k), html.Dd(v, className="ck-late" if k in late
                                                                                    else None))],
                             className="ck-clocks" + (" ck-overdue" if overdue else ""))])


def _map(ticket: dict, lang: str, district_shape: dict | None) -> html.Div:
    lat, lon = ticket.get("lat"), ticket.get("lon")
    if lat is None or lon is None:
        return html.Div([html.H3(t("tk.place", lang)), html.P(t("tk.no_place", lang), className="ck-empty")])
    layers = []
    if district_shape is not None:
        layers.append(dl.GeoJSON(data=district_shape, style={"color": "#3fa7ff", "weight": 1, "fillOpacity": 0.08}))
    layers.append(dl.CircleMarker(center=[lat, lon], radius=8, color="#ff4d4f", fillOpacity=0.9))
    return html.Div([html.H3(t("tk.place", lang)),
                     dl.Map(layers, center=[lat, lon], zoom=12, style={"height": "260px", "background": "#0b1220"},
                            attributionControl=False, className="ck-tk-map")])


def _related(view: dict, lang: str, tz) -> html.Div:
    rel = view["related"]
    body = html.Ul([html.Li([dcc.Link(r["ticket_id"], href=f"/tickets/{r['ticket_id']}"),
                             f" {_local(r['created_at'], tz)} {category_label(r['category'], lang)}"
                             f" {term('status', r['status'], lang)}"])
                    for r in rel]) if rel else html.P(t("tk.no_related", lang), className="ck-empty")
    return html.Div([html.H3(t("tk.related", lang)), body])


def _alerts(view: dict, lang: str, tz, messages: dict | None = None) -> html.Div:
    if not view["alerts"]:
        return html.Div([html.H3(t("tk.alerts", lang)), html.P(t("tk.no_alerts", lang), className="ck-empty")])
    cards = []
    for a in view["alerts"]:
        buttons = []
        if a["state"] == "firing":
            buttons.append(html.Button(t("tk.ack", lang), id=action_id("ack", a["id"]), className="ck-btn"))
        if a["state"] in ("firing", "acknowledged", "escalated"):
            buttons.append(html.Button(t("tk.escalate", lang), id=action_id("escalate", a["id"]), className="ck-btn"))
        if a["state"] != "resolved":
            buttons.append(html.Button(t("tk.resolve", lang), id=action_id("resolve", a["id"]), className="ck-btn"))
        history = html.Ul([html.Li([
            datetime.fromisoformat(h["at"]).astimezone(tz).strftime("%m-%d %H:%M"), " ", t(f"action.{h['action']}", lang),
            " ", t("tk.system", lang) if h["actor"] == "system" else recorded(h["actor"]),
            *([" ", recorded(h["note"])] if h["note"] else [])])
            for h in a["history"]], className="ck-alert-history")
        cards.append(html.Div([
            html.Div([html.Span(t(f"severity.{a['severity']}", lang), className=f"ck-sev ck-sev-{a['severity']}"),
                      html.Span(reason(display_alert(a, lang), place_name(a.get("district") or a.get("city"), lang,
                                                                         view.get("names")), lang),
                                title=alert_title(a, lang, view.get("names")), className="ck-alert-title"),
                      html.Span(t(f"state.{a['state']}", lang), className="ck-alert-state")]),
            history,
            html.Div([*buttons, _message((messages or {}).get(a["id"]))], className="ck-alert-actions"),
        ], className="ck-alert-card", **{"data-alert": str(a["id"]), "data-state": a["state"]}))
    return html.Div([html.H3(t("tk.alerts", lang)), *cards])


def _message(message: tuple[str, str] | None):
    """An action's outcome next to its buttons: ('error' | 'ok', text)."""
    if not message:
        return None
    kind, text = message
    return html.Span(text, className=f"ck-tk-action-msg ck-tk-{kind}", role="alert" if kind == "error" else None)


def ticket_body(view: dict | None, lang: str, tz, *, messages: dict | None = None) -> html.Div:
    """The ticket page body for ``cockpit.views.ticket.ticket_view``'s view model (None = not found);
    ``messages`` {alert id: ('error' | 'ok', text)} go next to that alert's buttons."""
    if view is None:
        return html.P(t("tk.not_found", lang), className="ck-empty")
    tk = view["ticket"]
    facts = [("tk.status", term("status", tk["status"], lang)), ("tk.unit", unit_label(tk["unit"], lang)),
             ("tk.category", category_path_label(tk["category_path"], lang) or category_label(tk["category"], lang)),
             ("tk.district", place_name(tk.get("district"), lang, view.get("names")) if tk.get("district") else None),
             ("tk.address", recorded(tk["address"]) if tk["address"] else None), ("tk.caller", tk["caller"])]
    return html.Div([
        html.Nav(breadcrumb(view["breadcrumb"], lang), className="ck-breadcrumb"),
        html.Dl([x for k, v in facts if v for x in (html.Dt(t(k, lang)), html.Dd(v))], className="ck-tk-facts"),
        html.Div([html.H3(t("tk.text", lang)),
                  html.P(recorded(tk["text"]), className="ck-tk-text") if tk["text"]
                  else html.P(t("tk.no_text", lang), className="ck-empty")]),
        html.Div([_timeline(view, lang, tz), _clocks(view, lang, tz)], className="ck-tk-row"),
        html.Div([_map(tk, lang, district_shape(tk["district"])), _related(view, lang, tz)], className="ck-tk-row"),
        _alerts(view, lang, tz, messages),
    ])


def district_shape(code: str | None) -> dict | None:
    """The district's simplified boundary as GeoJSON (None when geo has none)."""
    if not code:
        return None
    try:
        import shapely

        from geo import boundaries

        return {"type": "Feature", "properties": {"code": code},
                "geometry": shapely.geometry.mapping(boundaries.geometry(code, simplified=True))}
    except Exception:  # noqa: BLE001 - a missing or unknown boundary only hides the outline
        return None
