"""Watchpoint configuration and the shared pieces of every rule.

``DEFAULTS`` holds the rules and their default parameters; ``WatchConfig`` layers a deployment's
``Settings.watchpoints`` (``COCKPIT_WATCHPOINTS`` or ``[watchpoints]`` in the config file) over
them (see ``cockpit.watch.evaluate`` and docs/watchpoints.md).
``Context`` is what a rule function receives; the helpers below build findings, keys and filters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from cockpit.events import OPEN_STATUSES  # noqa: F401 - re-exported vocabulary of the rules
from cockpit.settings import Settings
from cockpit.store import alerts as alert_store
from cockpit.store import models
from cockpit.store.regions import name_table
from cockpit.store.watchpoints import agg_ids as _agg_ids  # noqa: F401 - re-exported for the rules
from cockpit.store.watchpoints import normalized_address_sql  # noqa: F401 - re-exported (views.drill)
from cockpit.watch.alerts import Finding

EVAL_WORK_MEM = "256MB"
EVAL_LOCK_KEY = 0x12346  # PostgreSQL advisory lock: one evaluation at a time across workers
MAD_SCALE = 1.4826  # MAD -> standard deviation for normal data
ADDRESS_NOISE = tuple(models.ADDRESS_NOISE)
REPEAT_RECENT = timedelta(hours=2)  # the incremental repeat pass re-checks places touched this recently
REPEAT_FULL_EVERY = timedelta(hours=1)  # ... and a full pass runs at least this often
REPEAT_FULL_JOB = "watchpoints:repeat_full"


# Safety words -> the emergency lines to suggest (110 police, 119 fire, 120 ambulance).
SAFETY_WORDS: dict[str, tuple[str, ...]] = {
    # Gas: a leak or its smell, never the bare word (燃气 is also a bill, a meter, a pipe renewal).
    "煤气泄漏": ("119",), "燃气泄漏": ("119",), "天然气泄漏": ("119",), "燃气味": ("119",), "煤气味": ("119",),
    "天然气味": ("119",), "漏气": ("119",),
    "着火": ("119",), "火灾": ("119",), "起火": ("119",), "冒烟": ("119",), "爆炸": ("119", "120"),
    "自杀": ("110", "120"), "轻生": ("110", "120"), "跳楼": ("110", "120"), "不想活": ("110", "120"),
    "打人": ("110",), "家暴": ("110",), "持刀": ("110",), "砍人": ("110",), "殴打": ("110",),
    "绑架": ("110",), "昏迷": ("120",), "晕倒": ("120",), "触电": ("120",), "中毒": ("120",),
    "gas leak": ("119",), "fire": ("119",), "suicide": ("110", "120"), "violence": ("110",),
}

# Work items (one per ticket, or per place for repeats) are grouped into one alert per rule x
# district (``group_by``: "district", "unit", or "ticket" for one alert per item as before). A group
# opens at ``min_size`` items, waits ``group_wait_s`` (Alertmanager's group_wait) before it fires, and its
# severity climbs from ``group_severity`` to major / critical at ``major_at`` / ``critical_at``
# ([size, age in hours]; None = never by that measure). ``severity`` is an item's own (group_by
# "ticket"). Anomalies stay one alert per key. Age raises a group to major at most: one old item
# does not make a district's backlog critical; only the overdue backlog's size does (critical is
# for what needs action now: life safety, an outage, a district whose overdue tickets pile up).
# ``closed_late`` is off by default: its tickets are closed (nothing left to act on) and were in
# the overdue group until then; the on-time rate of the assessment counts them.
_GROUP = {"group_by": "district", "group_severity": "minor", "group_wait_s": 0, "hold_s": 0, "repeat_interval_s": 4 * 3600, "min_size": 1}
DEFAULTS: dict[str, dict[str, Any]] = {
    "overdue": {"enabled": True, "severity": "major", **_GROUP, "critical_after_h": 72,
                "major_at": [10, 24], "critical_at": [50, None]},
    "closed_late": {"enabled": False, "severity": "minor", **_GROUP, "lookback_h": 24, "min_size": 3,
                    "major_at": [20, None], "critical_at": [None, None]},
    "repeat_complaint": {"enabled": True, "severity": "major", **_GROUP, "k": 3, "days": 30,
                         "skip_masked_callers": True, "major_at": [30, None], "critical_at": [None, None]},
    "transfer_chain": {"enabled": True, "severity": "major", **_GROUP, "handoffs": 3, "lookback_days": 30,
                       "major_at": [5, 72], "critical_at": [None, None]},
    "dissatisfied": {"enabled": True, "severity": "minor", **_GROUP, "lookback_days": 30,
                     "major_at": [10, 72], "critical_at": [None, None]},
    "no_callback_misuse": {"enabled": True, "severity": "minor", "hold_s": 0, "repeat_interval_s": 0, "days": 30,
                           "min_closures": 20, "min_peers": 3, "z": 3.5, "min_excess": 0.15},
    # An open volume alert stays open while z >= z_clear (hysteresis: no flapping at the edge).
    # category_level "sub" (district x second level of the category path) or "top"; both read the
    # baseline from ticket_rollups_15m. The baseline is scaled up by the trend of the last trend_h
    # hours against the same hours of the baseline weeks (seasonal onsets; see docs/watchpoints.md).
    "volume_anomaly": {"enabled": True, "severity": "major", "hold_s": 0, "repeat_interval_s": 0, "weeks": 4,
                       "method": "robust_z", "false_alarms_per_city_week": 0.1, "nb_size": 30.0, "pool_weeks": 2.0,
                       "scan_min_count": 8, "p_clear": 1e-3,
                       "scan_neighbours": 2, "scan_replicates": 99, "scan_shrink": 5.0, "stscan_min_count": 5,
                       "stscan_p_clear": 0.05, "stscan_nb_size": 0.0, "stscan_pool_weeks": 8.0, "stscan_min_expected": 0.5,
                       "scan_significance": "bonferroni", "stscan_trend": True,
                       "z": 4.0, "z_clear": 2.0,
                       "min_count": 10, "min_ratio": 2.0, "category_level": "sub", "trend_h": 24,
                       "trend_gap_h": 3, "trend_prior": 10},
    "volume_anomaly_city": {"enabled": True, "severity": "major", "hold_s": 0, "repeat_interval_s": 0, "weeks": 4,
                       "method": "robust_z", "false_alarms_per_city_week": 0.1, "nb_size": 100.0, "pool_weeks": 2.0,
                       "scan_min_count": 40, "p_clear": 1e-3,
                       "cusum_shift": 1.5, "cusum_replicates": 199, "cusum_p_clear": 0.01,
                            "z": 4.0, "z_clear": 2.0, "min_count": 40, "min_ratio": 1.5, "trend_h": 24,
                            "trend_gap_h": 3, "trend_prior": 50},
    "connection_drop": {"enabled": True, "severity": "critical", "hold_s": 0, "repeat_interval_s": 3600,
                        "target": None, "min_offered": 20, "intervals": 2},
    "queue_surge": {"enabled": True, "severity": "critical", "hold_s": 60, "repeat_interval_s": 3600,
                    "max_waiting": 30, "max_wait_s": 180},
    # Life safety: never grouped, never waits. Only tickets created in the last lookback_h count:
    # an older ticket is in the normal work queue, and history loaded later is not news.
    "urgent_content": {"enabled": True, "severity": "critical", "hold_s": 0, "repeat_interval_s": 1800,
                       "lookback_h": 2},
    # staffed seats below the Erlang A need of the last `minutes` of calls, held 30 min (cockpit.planning.live)
    "seat_shortage": {"enabled": True, "severity": "major", "hold_s": 1800, "repeat_interval_s": 3600,
                      "minutes": 30, "min_offered": 10},
}
WORK_ITEM_RULES: tuple[str, ...] = ("overdue", "closed_late", "repeat_complaint", "transfer_chain", "dissatisfied")
ANOMALY_RULES: tuple[str, ...] = ("volume_anomaly", "volume_anomaly_city", "connection_drop", "queue_surge",
                                  "urgent_content", "no_callback_misuse", "seat_shortage")
# Inhibition (Alertmanager inhibit_rules): an open, unsuppressed alert of a source rule hides the
# open alerts of its target rules in the same city; they stay open and come back when it clears.
INHIBIT_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("volume_anomaly_city", ("volume_anomaly",)),  # a city-wide surge explains its districts' surges
    # A telephony outage explains the queue behind it and the burst of tickets written when lines return.
    ("connection_drop", ("queue_surge", "volume_anomaly", "volume_anomaly_city")),
)
RULES: tuple[str, ...] = tuple(DEFAULTS)
RULE_NAMES: dict[str, str] = {
    "overdue": "超期未办结", "closed_late": "超期办结", "repeat_complaint": "反复投诉",
    "transfer_chain": "超长流转", "dissatisfied": "回访不满意", "no_callback_misuse": "无需回访滥用",
    "volume_anomaly": "区域诉求激增", "volume_anomaly_city": "全市诉求激增",
    "connection_drop": "接通率下降", "queue_surge": "排队积压", "urgent_content": "紧急/情绪诉求",
    "seat_shortage": "坐席不足",
}


class WatchConfig:
    """Rule parameters: DEFAULTS <- ``rules`` <- city scope <- district scope."""

    def __init__(self, settings: Settings | None = None) -> None:
        raw = (settings.watchpoints if settings is not None else None) or {}
        self.rules: dict[str, dict] = raw.get("rules") or {}
        self.scopes: dict[str, dict] = raw.get("scopes") or {}
        self._cache: dict[tuple, dict] = {}
        unknown = (set(self.rules) | {r for s in self.scopes.values() for r in s}) - set(RULES)
        if unknown:
            raise ValueError(f"unknown watchpoint rules in settings: {sorted(unknown)}")
        for rule in WORK_ITEM_RULES:
            by = self.params(rule)["group_by"]
            if by not in ("district", "unit", "ticket"):
                raise ValueError(f"watchpoint {rule}: group_by must be district, unit or ticket, not {by!r}")

    def params(self, rule: str, city: str | None = None, district: str | None = None) -> dict[str, Any]:
        """The parameters of ``rule`` for a place (cached; do not modify the returned dict)."""
        key = (rule, city if city in self.scopes else None, district if district in self.scopes else None)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = self._params(*key)
        return cached

    def _params(self, rule: str, city: str | None, district: str | None) -> dict[str, Any]:
        out = dict(DEFAULTS[rule])
        out.update(self.rules.get(rule, {}))
        for code in (city, district):
            if code and code in self.scopes:
                out.update(self.scopes[code].get(rule, {}))
        return out

    def loosest(self, rule: str, name: str, pick: Callable = min) -> Any:
        """The value of a threshold most likely to pass across all scopes (for the SQL pre-filter)."""
        values = [self.params(rule)[name]]
        values += [s[rule][name] for s in self.scopes.values() if rule in s and name in s[rule]]
        return pick(v for v in values if v is not None) if any(v is not None for v in values) else None

    def enabled_anywhere(self, rule: str) -> bool:
        return bool(self.params(rule)["enabled"]) or any(
            s.get(rule, {}).get("enabled") for s in self.scopes.values())


@dataclass
class Context:
    session: Session
    settings: Settings
    redis: Any
    now: datetime  # naive UTC
    cfg: WatchConfig
    _names: dict[str, str] | None = None
    # Backtest (cockpit.watch.backtest): open keys kept in memory, nothing read from or written to
    # the alert tables, and per-ticket states judged from event times as of ``now``.
    memory: dict[str, set[str]] | None = None

    @property
    def backtest(self) -> bool:
        return self.memory is not None

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def place_name(self, code: str | None) -> str:
        """A region's name for titles (regions table), else the code."""
        if not code:
            return "未知区县"
        if self._names is None:
            self._names = {code: name for code, (name, _) in name_table(self.session).items()}
        return self._names.get(code, code)

    def open_keys(self, rule: str) -> set[str]:
        """Keys of the rule's open alerts (for hysteresis)."""
        if self.memory is not None:
            return set(self.memory.get(rule, ()))
        return alert_store.open_keys(self.session, rule)


def _finding(ctx: Context, rule: str, key: str, city: str, district: str | None, title: str,
             detail: dict, *, severity: str | None = None, items: list[str] | None = None,
             since: datetime | None = None) -> Finding | None:
    p = ctx.cfg.params(rule, city, district)
    if not p["enabled"]:
        return None
    return Finding(rule=rule, key=key, city=city, district=district or None, severity=severity or p["severity"],
                   title=title, detail=detail, hold_s=float(p["hold_s"]), items=items, since=since,
                   repeat_s=0.0 if rule in WORK_ITEM_RULES else float(p.get("repeat_interval_s") or 0))


def _iso(moment: datetime | None) -> str | None:
    """Naive UTC -> ISO 8601 with +00:00 (hot: called per finding)."""
    return None if moment is None else moment.isoformat() + "+00:00"


def _short_key(*parts: str) -> str:
    key = ":".join(parts)
    if len(key) <= 200:
        return key
    return key[:160] + "~" + hashlib.sha1(key.encode()).hexdigest()[:16]


def normalize_address(address: str | None) -> str:
    """The address as compared by the repeat rule: lower case, without spaces and punctuation."""
    out = (address or "").lower()
    for ch in ADDRESS_NOISE:
        out = out.replace(ch, "")
    return out


def mask_caller(caller: str) -> str:
    """A caller number as shown in titles (wall screens are public): 138****0001."""
    return caller if len(caller) < 8 else caller[:3] + "****" + caller[-4:]


def _ticket_filter(**values) -> dict:
    """The drill-down filter of the tickets behind an alert (see cockpit.drill.TicketFilter)."""
    return {k: v for k, v in values.items() if v not in (None, "", [])}
