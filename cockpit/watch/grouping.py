"""Work items -> grouped alerts (Alertmanager's group_by): one alert per rule x district or x unit.

A work-item rule (overdue, closed late, repeated complaint, long transfer chain, dissatisfied
callback) finds one item per ticket (per place or caller for repeats). ``group`` folds them into
one ``Finding`` per group that carries the size (tickets), the oldest item's start, the ticket list
(``items``, written to ``alert_items``) and a severity that climbs with size and age. The title is
the reason, stable between evaluations ("城关区 · 超期未办结 · 37 件"); screens add the age.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from cockpit.watch.alerts import SEVERITIES, Finding
from cockpit.watch.config import RULE_NAMES, Context, _iso, _short_key

MAX_DETAIL_IDS = 50  # the detail lists a few ticket ids; all of them are in alert_items
_RANK = {s: i for i, s in enumerate(SEVERITIES)}  # critical 0 < major 1 < minor 2


def group_severity(p: dict, size: int, age_h: float) -> str:
    """``group_severity`` raised to major / critical when size or age reaches ``major_at`` /
    ``critical_at`` ([size, hours], None = never)."""
    out = p["group_severity"]
    for level in ("major", "critical"):
        lim_size, lim_age = (p.get(f"{level}_at") or [None, None])
        reached = (lim_size is not None and size >= lim_size) or (lim_age is not None and age_h >= lim_age)
        if reached and _RANK[level] < _RANK[out]:
            out = level
    return out


def group_key(rule: str, by: str, f: Finding) -> tuple[str, str | None, str | None]:
    """(alert key, district, unit) of the group a finding belongs to."""
    if by == "unit":
        unit = (f.detail or {}).get("unit") or ""
        return _short_key("unit", f.city, unit or "-"), None, unit or None
    return _short_key(f.city, f.district or "-"), f.district, None


def group(ctx: Context, rule: str, findings: list[Finding]) -> list[Finding]:
    """Fold ``rule``'s item findings into group findings (or return them as they are for
    group_by "ticket")."""
    p0 = ctx.cfg.params(rule)
    by = p0["group_by"]
    if by == "ticket":
        return findings
    buckets: dict[str, list[Finding]] = defaultdict(list)
    where: dict[str, tuple] = {}
    for f in findings:
        key, district, unit = group_key(rule, by, f)
        buckets[key].append(f)
        where[key] = (f.city, district, unit)
    out = []
    for key, members in buckets.items():
        city, district, unit = where[key]
        p = ctx.cfg.params(rule, city, district)
        ids = sorted({i for m in members for i in (m.items or [])})
        size = len(ids) or len(members)
        if size < int(p["min_size"]):
            continue
        starts = [m.since for m in members if m.since is not None]
        oldest = min(starts) if starts else None
        age_h = (ctx.now - oldest).total_seconds() / 3600 if oldest is not None else 0.0
        severity = group_severity(p, size, age_h)
        place = unit if by == "unit" else ctx.place_name(district) if district else ctx.place_name(city)
        title = f"{place} · {RULE_NAMES[rule]} · {size} 件"
        detail = {"group_by": by, "size": size, "oldest_at": _iso(oldest), "unit": unit,
                  "ticket_ids": ids[:MAX_DETAIL_IDS], "filter": {"alert_items": True}}
        if rule == "repeat_complaint":
            detail["members"] = [{k: m.detail[k] for k in ("kind", "norm", "caller") if k in m.detail}
                                 for m in sorted(members, key=lambda m: m.key)]
            detail["places"] = len(members)
        out.append(Finding(rule=rule, key=key, city=city, district=district, severity=severity, title=title,
                           detail=detail, hold_s=float(p["group_wait_s"]), items=ids, since=oldest, size=size,
                           repeat_s=float(p.get("repeat_interval_s") or 0)))
    return out


def age_text(oldest_at: datetime | None, now: datetime, lang: str = "zh") -> str:
    """'3 天' / '5 小时' / '20 分钟' (en: '3 d', '5 h', '20 min') since ``oldest_at`` (both naive UTC)."""
    if oldest_at is None:
        return ""
    s = max(0.0, (now - oldest_at).total_seconds())
    if s >= 86400:
        n, unit = int(s // 86400), ("天", "d")
    elif s >= 3600:
        n, unit = int(s // 3600), ("小时", "h")
    else:
        n, unit = int(s // 60), ("分钟", "min")
    return f"{n} {unit[0] if lang == 'zh' else unit[1]}"
