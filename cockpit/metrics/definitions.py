"""Every KPI definition, once: pure functions over counts, the count containers and the targets.

The live screens (Redis counters, ``store.live``) and the history (SQL counts, ``metrics.queries``)
call the same pure functions, so a figure means the same thing wherever it is shown.
docs/metrics.md states each definition; ``DEFINITIONS_VERSION`` is served with every figure and
changes whenever a definition does. ``metrics.kpi`` assembles the KPI and ranking answers.

Conventions:
- rates are fractions in 0..1; a rate whose denominator is empty is ``None`` (never 0, never an error);
- times in seconds;
- a call belongs to the window of its ``queued_at`` (when it entered the agent queue);
- a ticket figure is over the *cohort* of tickets created in the window, in their current state,
  except ``overdue_open_now`` (all open tickets of the scope, now).
No I/O here: every function is pure.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from cockpit.events import LOGGED_OUT_STATES
from cockpit.settings import Settings

DEFINITIONS_VERSION = "2026.11-2"  # -2: forecast_offered from the planning model (issue 17)


# Default targets. Settings.targets (COCKPIT_TARGETS, or [targets] in the config file) may
# override any field of any entry, e.g. {"satisfaction_rate": {"target": 0.95}}. ``better`` says which direction is good;
# green/amber are the colour thresholds (green if at least as good as ``green``, amber if at
# least as good as ``amber``, else red).
TARGETS: dict[str, dict[str, Any]] = {
    "connection_rate": {"target": 0.95, "green": 0.95, "amber": 0.90, "better": "higher",
                        "source": "GB/T 33358-2016 (connection rate at least 95%)"},
    "service_level": {"target": 0.80, "green": 0.80, "amber": 0.70, "better": "higher",
                      "source": "GB/T 33358-2016 answer-within-15-s threshold; 80% share is the "
                                "common call-centre convention, set per deployment"},
    "abandon_rate": {"target": 0.05, "green": 0.05, "amber": 0.10, "better": "lower",
                     "source": "complement of the 95% connection target"},
    "asa_s": {"target": 15.0, "green": 15.0, "amber": 30.0, "better": "lower",
              "source": "GB/T 33358-2016 15-s answer threshold"},
    "aht_s": {"target": None, "green": None, "amber": None, "better": "lower",
              "source": "informational; no target"},
    "occupancy": {"target": 0.85, "green": None, "amber": None, "better": "higher",
                  "source": "workforce-planning convention; informational (too high burns seats out)"},
    "utilisation": {"target": 0.70, "green": None, "amber": None, "better": "higher",
                    "source": "deployment default; informational"},
    "response_rate": {"target": 0.95, "green": 0.95, "amber": 0.90, "better": "higher",
                      "source": "deployment default (12345 assessment schemes); override per city"},
    "resolution_rate": {"target": 0.85, "green": 0.85, "amber": 0.75, "better": "higher",
                        "source": "deployment default; override per city"},
    "satisfaction_rate": {"target": 0.90, "green": 0.90, "amber": 0.80, "better": "higher",
                          "source": "deployment default; override per city"},
    "on_time_closure_rate": {"target": 0.95, "green": 0.95, "amber": 0.90, "better": "higher",
                             "source": "deployment default; override per city"},
    "rework_rate": {"target": 0.05, "green": 0.05, "amber": 0.10, "better": "lower",
                    "source": "deployment default"},
    "return_rate": {"target": 0.10, "green": 0.10, "amber": 0.20, "better": "lower",
                    "source": "deployment default"},
    "dispatch_accuracy": {"target": 0.90, "green": 0.90, "amber": 0.80, "better": "higher",
                          "source": "deployment default"},
}

SCORE_CAP = 1.25
RANKING_METRICS = ("response_rate", "resolution_rate", "satisfaction_rate", "on_time_closure_rate",
                   "connection_rate")
RANKING_LEVELS = ("district", "unit", "city")


# ---------------------------------------------------------------- pure functions over counts

def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or None when the denominator is empty (0 or None)."""
    if not denominator or numerator is None:
        return None
    return numerator / denominator


def connection_rate(answered: int, offered: int, short_abandoned: int) -> float | None:
    """接通率 = answered / (offered - short abandons)."""
    return ratio(answered, offered - short_abandoned)


def service_level(answered_within: int, offered: int, short_abandoned: int) -> float | None:
    """Answered within T seconds of queueing / (offered - short abandons)."""
    return ratio(answered_within, offered - short_abandoned)


def abandon_rate(abandoned: int, offered: int, short_abandoned: int) -> float | None:
    """(abandoned - short abandons) / (offered - short abandons); ``abandoned`` includes short ones."""
    return ratio(abandoned - short_abandoned, offered - short_abandoned)


def asa(wait_answered_sum_s: float, answered: int) -> float | None:
    """Average speed of answer: mean queue wait of answered calls, seconds."""
    return ratio(wait_answered_sum_s, answered)


def aht(handle_sum_s: float, ended: int) -> float | None:
    """Average handling time: mean talk + hold + after-call work of answered, ended calls, seconds."""
    return ratio(handle_sum_s, ended)


def occupancy(handling_s: float, ready_s: float) -> float | None:
    """Handling time / (handling time + ready-idle time)."""
    return ratio(handling_s, handling_s + ready_s)


def utilisation(handling_s: float, logged_in_s: float) -> float | None:
    """工时利用率 = handling time / logged-in time."""
    return ratio(handling_s, logged_in_s)


def busy_share(handling_seats: int, logged_in_seats: int) -> float | None:
    """Seats handling a contact now (ringing, on_call, hold, acw) / seats logged in now."""
    return ratio(handling_seats, logged_in_seats)


def relative_change(current: float | None, normal: float | None) -> float | None:
    """(current - normal) / normal, e.g. 0.25 = 25 % above normal; None when normal is 0 or unknown."""
    if current is None or not normal:
        return None
    return (current - normal) / normal


def response_rate(responded_in_time: int, due_for_response: int) -> float | None:
    """响应率 = responded within the deadline / dispatched tickets whose deadline passed or that responded."""
    return ratio(responded_in_time, due_for_response)


def resolution_rate(resolved: int, valid_callbacks: int) -> float | None:
    """解决率 = callbacks saying resolved / valid callbacks (unreachable is not valid)."""
    return ratio(resolved, valid_callbacks)


def satisfaction_rate(satisfied: int, valid_callbacks: int) -> float | None:
    """满意率 = (very satisfied + satisfied [+ basic if configured]) / valid callbacks."""
    return ratio(satisfied, valid_callbacks)


def on_time_closure_rate(closed_on_time: int, closed_with_due: int) -> float | None:
    """按时办结率 = closed by due_at / closed with a due_at."""
    return ratio(closed_on_time, closed_with_due)


def rework_rate(reopened: int, ever_closed: int) -> float | None:
    """Reopened at least once / closed at least once."""
    return ratio(reopened, ever_closed)


def return_rate(returned: int, dispatched: int) -> float | None:
    """Returned (退单) at least once / dispatched."""
    return ratio(returned, dispatched)


def dispatch_accuracy(auto_never_returned: int, auto_dispatched: int) -> float | None:
    """Auto-dispatched and never returned / auto-dispatched."""
    return ratio(auto_never_returned, auto_dispatched)


def transfer_chain_mean(handoffs_sum: int, dispatched: int) -> float | None:
    """Mean number of units a dispatched ticket passed through: 1 + transfers + returns."""
    return ratio(dispatched + handoffs_sum, dispatched)


def per_100k(count: int | None, population: int | None) -> float | None:
    """A volume per 100,000 residents, None where the population is unknown."""
    if count is None or not population:
        return None
    return count * 100_000 / population


def targets(settings: Settings | None = None) -> dict[str, dict[str, Any]]:
    """TARGETS merged with ``settings.targets`` (per-field override)."""
    merged = {name: dict(spec) for name, spec in TARGETS.items()}
    overrides = (settings.targets if settings is not None else None) or {}
    for name, spec in overrides.items():
        merged.setdefault(name, {"better": "higher", "green": None, "amber": None, "target": None})
        merged[name].update(spec)
        merged[name].setdefault("source", "deployment setting")
        if "source" not in spec:
            merged[name]["source"] = "deployment setting (COCKPIT_TARGETS)"
    return merged


def status(name: str, value: float | None, target_table: dict[str, dict] | None = None) -> str | None:
    """'green' | 'amber' | 'red' for a value against its thresholds; None without value or thresholds."""
    spec = (target_table or TARGETS).get(name)
    if value is None or spec is None or spec.get("green") is None:
        return None
    green, amber = spec["green"], spec.get("amber")
    if spec.get("better") == "lower":
        if value <= green:
            return "green"
        return "amber" if amber is not None and value <= amber else "red"
    if value >= green:
        return "green"
    return "amber" if amber is not None and value >= amber else "red"


def score(actual: float | None, target: float | None, *, better: str = "higher") -> float | None:
    """actual / target (target / actual where lower is better), capped at SCORE_CAP."""
    if actual is None or not target:
        return None
    if better == "lower":
        return SCORE_CAP if actual <= 0 else min(target / actual, SCORE_CAP)
    return min(actual / target, SCORE_CAP)


def composite_score(values: dict[str, float | None],
                    target_table: dict[str, dict] | None = None) -> float | None:
    """Mean of the per-metric scores that exist; None if none does."""
    table = target_table or TARGETS
    parts = [
        score(v, table[k].get("target"), better=table[k].get("better", "higher"))
        for k, v in values.items() if k in table
    ]
    parts = [p for p in parts if p is not None]
    return sum(parts) / len(parts) if parts else None


# ---------------------------------------------------------------- count containers

@dataclass
class CallCounts:
    """Additive call counts for a set of calls (a window, an interval, a live day)."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    answered_within_sl: int = 0
    wait_answered_sum_s: float = 0.0
    ended: int = 0
    handle_sum_s: float = 0.0

    def __add__(self, other: "CallCounts") -> "CallCounts":
        return CallCounts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def figures(self) -> dict[str, Any]:
        """Counts plus every telephony rate/mean defined over them."""
        return {
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "short_abandoned": self.short_abandoned,
            "answered_within_sl": self.answered_within_sl,
            "connection_rate": connection_rate(self.answered, self.offered, self.short_abandoned),
            "service_level": service_level(self.answered_within_sl, self.offered, self.short_abandoned),
            "abandon_rate": abandon_rate(self.abandoned, self.offered, self.short_abandoned),
            "asa_s": asa(self.wait_answered_sum_s, self.answered),
            "aht_s": aht(self.handle_sum_s, self.ended),
        }


@dataclass
class TicketCounts:
    """Counts over a cohort of tickets (created in the window), in their current state."""

    created: int = 0
    dispatched: int = 0
    closed: int = 0
    due_for_response: int = 0
    responded_in_time: int = 0
    valid_callbacks: int = 0
    resolved: int = 0
    satisfied: int = 0
    closed_with_due: int = 0
    closed_on_time: int = 0
    ever_closed: int = 0
    reopened: int = 0
    returned: int = 0
    handoffs_sum: int = 0
    auto_dispatched: int = 0
    auto_never_returned: int = 0

    def __add__(self, other: "TicketCounts") -> "TicketCounts":
        """The counts of two disjoint cohorts together (every field is a count or a sum)."""
        return TicketCounts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def figures(self) -> dict[str, Any]:
        return {
            "tickets_created": self.created,
            "tickets_dispatched": self.dispatched,
            "tickets_closed": self.closed,
            "response_rate": response_rate(self.responded_in_time, self.due_for_response),
            "resolution_rate": resolution_rate(self.resolved, self.valid_callbacks),
            "satisfaction_rate": satisfaction_rate(self.satisfied, self.valid_callbacks),
            "on_time_closure_rate": on_time_closure_rate(self.closed_on_time, self.closed_with_due),
            "rework_rate": rework_rate(self.reopened, self.ever_closed),
            "return_rate": return_rate(self.returned, self.dispatched),
            "transfer_chain_mean": transfer_chain_mean(self.handoffs_sum, self.dispatched),
            "dispatch_accuracy": dispatch_accuracy(self.auto_never_returned, self.auto_dispatched),
        }


@dataclass
class SeatTimes:
    """Seat time in a window (seconds) and the seats' states now."""

    handling_s: float = 0.0
    ready_s: float = 0.0
    logged_in_s: float = 0.0
    by_state_now: dict[str, int] | None = None

    def figures(self) -> dict[str, Any]:
        return {
            "seat_handling_s": self.handling_s,
            "seat_ready_s": self.ready_s,
            "seat_logged_in_s": self.logged_in_s,
            "occupancy": occupancy(self.handling_s, self.ready_s),
            "utilisation": utilisation(self.handling_s, self.logged_in_s),
            "seats_by_state_now": self.by_state_now or {},
            "seats_logged_in_now": sum(
                n for s, n in (self.by_state_now or {}).items() if s not in LOGGED_OUT_STATES
            ),
        }


def count_basic_as_satisfied(settings: Settings) -> bool:
    return settings.count_basic_as_satisfied


def response_deadline_s(settings: Settings) -> float:
    return float(settings.response_deadline_s)
