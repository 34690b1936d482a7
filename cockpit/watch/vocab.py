"""The alert vocabulary every screen uses: rule names, severities and the reason line, zh and en.

One source, so the wall, /supervise, the ticket page and the CLI say the same thing
(issue 13: the wall said 严重 where supervise said 紧急).
"""

from __future__ import annotations

from datetime import UTC, datetime

from cockpit.watch.config import RULE_NAMES

RULE_LABELS: dict[str, dict[str, str]] = {
    rule: {"zh": zh, "en": en} for rule, zh, en in (
        ("overdue", RULE_NAMES["overdue"], "Overdue"),
        ("closed_late", RULE_NAMES["closed_late"], "Closed late"),
        ("repeat_complaint", RULE_NAMES["repeat_complaint"], "Repeated complaints"),
        ("transfer_chain", RULE_NAMES["transfer_chain"], "Long transfer chain"),
        ("dissatisfied", RULE_NAMES["dissatisfied"], "Dissatisfied callback"),
        ("no_callback_misuse", RULE_NAMES["no_callback_misuse"], "No-callback misuse"),
        ("volume_anomaly", RULE_NAMES["volume_anomaly"], "Volume surge (district)"),
        ("volume_anomaly_city", RULE_NAMES["volume_anomaly_city"], "Volume surge (city)"),
        ("connection_drop", RULE_NAMES["connection_drop"], "Connection-rate drop"),
        ("queue_surge", RULE_NAMES["queue_surge"], "Queue surge"),
        ("urgent_content", RULE_NAMES["urgent_content"], "Urgent content"),
        ("seat_shortage", RULE_NAMES["seat_shortage"], "Seat shortage"),
    )
}
SEVERITY_LABELS: dict[str, dict[str, str]] = {
    "critical": {"zh": "紧急", "en": "Critical"},
    "major": {"zh": "重要", "en": "Major"},
    "minor": {"zh": "一般", "en": "Minor"},
}


def label(table: dict[str, dict[str, str]], key: str, lang: str) -> str:
    entry = table.get(key) or {}
    return entry.get(lang) or entry.get("zh") or key


def _duration(seconds: float, lang: str) -> str:
    units = (("天", "d", 86400), ("小时", "h", 3600), ("分钟", "min", 60))
    for zh, en, size in units:
        if seconds >= size or size == 60:
            n = int(max(seconds, 0) // size)
            return f"{n} {zh}" if lang == "zh" else f"{n} {en}"
    return ""


def _moment(value) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def reason(alert: dict, place: str, lang: str = "zh", now: datetime | None = None) -> str:
    """The reason line, e.g. '城关区 · 超期未办结 · 37 件 · 最久 3 天' / 'Chengguan · Overdue · 37
    tickets · oldest 3 d'. A grouped alert shows its size and its oldest item's age; any other
    shows how long it has been firing. ``alert`` needs rule, size, oldest_at, since/fired_at."""
    now = now or datetime.now(UTC)
    parts = [place, label(RULE_LABELS, alert.get("rule") or "", lang)] if place else [
        label(RULE_LABELS, alert.get("rule") or "", lang)]
    size = alert.get("size")
    if size:
        parts.append(f"{size} 件" if lang == "zh" else f"{size} ticket{'s' if size != 1 else ''}")
        oldest = _moment(alert.get("oldest_at"))
        if oldest is not None:
            age = _duration((now - oldest).total_seconds(), lang)
            parts.append(f"最久 {age}" if lang == "zh" else f"oldest {age}")
    else:
        facts = alert.get("facts") or {}
        if facts.get("words") or facts.get("handoff"):
            parts.append("、".join(facts.get("words") or []) + " → " + "/".join(facts.get("handoff") or []))
        elif facts.get("count") is not None:
            what = facts.get("subcategory") or facts.get("category") or ""
            med = facts.get("median")
            if lang == "zh":
                parts.append(f"{what} 近1小时 {facts['count']} 件（常态 {med:g}）".strip() if med is not None
                             else f"{what} 近1小时 {facts['count']} 件".strip())
            else:
                parts.append(f"{what} {facts['count']} in the last hour (normal {med:g})".strip() if med is not None
                             else f"{what} {facts['count']} in the last hour".strip())
        since = _moment(alert.get("since") or alert.get("fired_at") or alert.get("first_seen"))
        if since is not None:
            age = _duration((now - since).total_seconds(), lang)
            parts.append(f"已持续 {age}" if lang == "zh" else f"for {age}")
    return " · ".join(parts)
