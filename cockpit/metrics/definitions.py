"""Every KPI definition, once: pure functions over counts, and the SQL that produces the counts.

The live screens (Redis counters, ``cockpit.live``) and the history (SQL, this module) call the
same pure functions, so a figure means the same thing wherever it is shown. docs/metrics.md
states each definition; ``DEFINITIONS_VERSION`` is served with every figure and changes whenever
a definition does.

Conventions:
- rates are fractions in 0..1; a rate whose denominator is empty is ``None`` (never 0, never an error);
- times in seconds; datetimes passed to the SQL functions are naive UTC, windows are ``[start, end)``;
- a call belongs to the window of its ``queued_at`` (when it entered the agent queue);
- a ticket figure is over the *cohort* of tickets created in the window, in their current state,
  except ``overdue_open_now`` (all open tickets of the scope, now).
SQL functions take a session first, filters keyword-only, and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from cockpit.store.models import Call, CallRollup, JobRun, Seat, SeatStateChange, Ticket, TicketRollup
from cockpit.store.regions import populations, resolve_scope
from cockpit.settings import RESPONSE_DEADLINE_S, Settings

DEFINITIONS_VERSION = "2026.11-2"  # -2: forecast_offered from the planning model (issue 17)

INTERVAL = timedelta(minutes=15)
WAITING_MAX_AGE_S = 3600  # a "waiting" call older than this is a lost event, not a caller on hold
MAX_CALL_SPAN = timedelta(days=2)  # bounds the queued_at range scanned for calls ended in a window
ROLLUP_HANDLING_MIN = 4 * MAX_CALL_SPAN  # longer windows take handling time from rollups + corrections
LOGGED_OUT_STATES = ("offline",)
OPEN_STATUSES = ("created", "dispatched", "returned", "responded", "reopened")

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


# ---------------------------------------------------------------- time helpers

def to_naive_utc(moment: datetime, tz=None) -> datetime:
    """Naive UTC from an aware datetime, or from a naive one read in ``tz`` (UTC if tz is None)."""
    if moment.tzinfo is None:
        if tz is None:
            return moment
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC).replace(tzinfo=None)


def floor_interval(moment: datetime) -> datetime:
    """The start of the 15-minute interval holding ``moment`` (naive UTC in, naive UTC out)."""
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def ceil_interval(moment: datetime) -> datetime:
    floor = floor_interval(moment)
    return floor if floor == moment else floor + INTERVAL


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# ---------------------------------------------------------------- SQL: calls

def one_of(column, values):
    """``column = v`` for one value (a plain index lookup), ``column IN (...)`` for several."""
    values = list(values)
    return column == values[0] if len(values) == 1 else column.in_(values)


_in = one_of  # the older private name, used by cockpit.wall


def handle_time_expr():
    """SQL: talk + hold + after-call work of a call, seconds (missing parts count 0)."""
    return func.coalesce(Call.talk_s, 0.0) + func.coalesce(Call.hold_s, 0.0) + func.coalesce(Call.acw_s, 0.0)


def call_count_columns(*, sl_threshold_s: float, short_abandon_s: float) -> list:
    """The aggregate columns over ``calls`` that make a CallCounts (in field order)."""
    offered = or_(Call.offered_at.is_not(None), Call.answered_at.is_not(None), Call.abandoned_at.is_not(None))
    answered = Call.answered_at.is_not(None)
    abandoned = and_(Call.abandoned_at.is_not(None), Call.answered_at.is_(None))
    ended = and_(answered, Call.ended_at.is_not(None))
    handle = handle_time_expr()

    def count_if(cond):
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    return [
        count_if(offered),
        count_if(answered),
        count_if(abandoned),
        count_if(and_(abandoned, Call.wait_s <= short_abandon_s)),
        count_if(and_(answered, Call.wait_s <= sl_threshold_s)),
        func.coalesce(func.sum(case((answered, func.coalesce(Call.wait_s, 0.0)), else_=0.0)), 0.0),
        count_if(ended),
        func.coalesce(func.sum(case((ended, handle), else_=0.0)), 0.0),
    ]


def _call_counts_from_row(row) -> CallCounts:
    return CallCounts(int(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4]),
                      float(row[5]), int(row[6]), float(row[7]))


def _in_ranges(column, ranges: list[tuple[datetime, datetime]]):
    """``column`` in any of the half-open ranges (one index range scan each, one round trip)."""
    conds = [and_(column >= s, column < e) for s, e in ranges]
    return conds[0] if len(conds) == 1 else or_(*conds)


def call_counts_raw(session: Session, *, cities: tuple[str, ...] | list[str], start: datetime, end: datetime,
                    sl_threshold_s: float, short_abandon_s: float,
                    ranges: list[tuple[datetime, datetime]] | None = None) -> CallCounts:
    """Call counts from raw ``calls`` rows with ``start <= queued_at < end`` (naive UTC), or with
    ``queued_at`` in any of ``ranges`` when given."""
    ranges = [(s, e) for s, e in (ranges if ranges is not None else [(start, end)]) if s < e]
    if not cities or not ranges:
        return CallCounts()
    stmt = select(*call_count_columns(sl_threshold_s=sl_threshold_s, short_abandon_s=short_abandon_s)).where(
        one_of(Call.city, cities), _in_ranges(Call.queued_at, ranges)
    )
    return _call_counts_from_row(session.execute(stmt).one())


ROLLUP_JOB_FROM = "rollup_15m:from"
ROLLUP_JOB_TO = "rollup_15m:to"


def rollup_coverage(session: Session) -> tuple[datetime, datetime] | None:
    """The contiguous range ``[from, to)`` of intervals the rollup job has completed, or None.

    Cached for the life of the session (``cockpit.rollups`` drops the cache when it moves the range).
    """
    if "rollup_coverage" in session.info:
        return session.info["rollup_coverage"]
    rows = {r.name: r.last_done for r in session.scalars(
        select(JobRun).where(JobRun.name.in_([ROLLUP_JOB_FROM, ROLLUP_JOB_TO])))}
    lo, hi = rows.get(ROLLUP_JOB_FROM), rows.get(ROLLUP_JOB_TO)
    session.info["rollup_coverage"] = None if lo is None or hi is None or lo >= hi else (lo, hi)
    return session.info["rollup_coverage"]


def call_counts_rollup(session: Session, *, cities, start: datetime, end: datetime,
                       sl_threshold_s: float) -> CallCounts | None:
    """Call counts summed from ``call_rollups_15m`` for whole intervals in ``[start, end)``.

    Returns None when any row was computed with another SL threshold (the caller then scans raw).
    """
    if not cities or start >= end:
        return CallCounts()
    r = CallRollup
    stmt = select(
        func.coalesce(func.sum(r.offered), 0), func.coalesce(func.sum(r.answered), 0),
        func.coalesce(func.sum(r.abandoned), 0), func.coalesce(func.sum(r.short_abandoned), 0),
        func.coalesce(func.sum(r.answered_within_sl), 0), func.coalesce(func.sum(r.wait_answered_sum_s), 0.0),
        func.coalesce(func.sum(r.ended), 0), func.coalesce(func.sum(r.handle_sum_s), 0.0),
        func.coalesce(func.sum(case((r.sl_threshold_s != sl_threshold_s, 1), else_=0)), 0),
    ).where(one_of(r.city, cities), r.interval_start >= start, r.interval_start < end)
    row = session.execute(stmt).one()
    if int(row[8]):
        return None
    return _call_counts_from_row(row)


def _split_for_rollups(session: Session, start: datetime, end: datetime) -> tuple[list, tuple | None]:
    """Split ``[start, end)`` into raw edge pieces and one rollup-covered middle piece."""
    coverage = rollup_coverage(session)
    a, b = ceil_interval(start), floor_interval(end)
    if coverage is not None:
        a, b = max(a, coverage[0]), min(b, coverage[1])
    if coverage is None or a >= b:
        return [(start, end)], None
    raw = [(s, e) for s, e in ((start, a), (b, end)) if s < e]
    return raw, (a, b)


def call_counts(session: Session, *, cities, start: datetime, end: datetime, sl_threshold_s: float,
                short_abandon_s: float, use_rollups: bool = True) -> tuple[CallCounts, str]:
    """Call counts for ``[start, end)``: rollups for whole covered intervals + raw rows for the edges.

    Returns the counts and the path used ('raw' or 'rollups+raw'). Both paths give the same
    numbers when the rollups are current (tests/test_rollup*.py proves it).
    """
    if not use_rollups:
        return call_counts_raw(session, cities=cities, start=start, end=end, sl_threshold_s=sl_threshold_s,
                               short_abandon_s=short_abandon_s), "raw"
    raw_pieces, middle = _split_for_rollups(session, start, end)
    total = CallCounts()
    path = "raw"
    if middle is not None:
        rolled = call_counts_rollup(session, cities=cities, start=middle[0], end=middle[1],
                                    sl_threshold_s=sl_threshold_s)
        if rolled is None:
            raw_pieces = [(start, end)]
        else:
            total, path = rolled, "rollups+raw"
    if raw_pieces:
        total = total + call_counts_raw(session, cities=cities, start=start, end=end, ranges=raw_pieces,
                                        sl_threshold_s=sl_threshold_s, short_abandon_s=short_abandon_s)
    return total, path


def queue_now(session: Session, *, cities, now: datetime) -> tuple[int, float | None]:
    """Calls waiting in the agent queue at ``now`` and the longest wait (seconds), from SQL.

    A call waits when it was queued at or before ``now`` (within WAITING_MAX_AGE_S) and has
    neither an answer nor an abandon yet.
    """
    if not cities:
        return 0, None
    stmt = select(func.count(), func.min(Call.queued_at)).where(
        one_of(Call.city, cities), Call.queued_at <= now,
        Call.queued_at > now - timedelta(seconds=WAITING_MAX_AGE_S),
        Call.answered_at.is_(None), Call.abandoned_at.is_(None),
    )
    n, oldest = session.execute(stmt).one()
    return int(n), ((now - oldest).total_seconds() if oldest is not None else None)


# ---------------------------------------------------------------- SQL: seats

def handling_seconds(session: Session, *, cities, start: datetime, end: datetime,
                     use_rollups: bool = True) -> tuple[float, str]:
    """Talk + hold + after-call work of answered calls *ended* in ``[start, end)``, and the path used.

    Short windows scan the calls queued from ``start - MAX_CALL_SPAN``. Long windows (over
    ROLLUP_HANDLING_MIN) take the calls *queued* in the window from the rollups (+ raw edges),
    minus those that ended after the window, plus those queued before it that ended inside:
    both corrections only scan MAX_CALL_SPAN next to each end.
    """
    handle = handle_time_expr()
    answered = [one_of(Call.city, cities), Call.answered_at.is_not(None)]

    def raw_sum(q_lo: datetime, q_hi: datetime, e_lo: datetime | None, e_hi: datetime | None) -> float:
        conds = [*answered, Call.queued_at >= q_lo, Call.queued_at < q_hi, Call.ended_at.is_not(None)]
        if e_lo is not None:
            conds.append(Call.ended_at >= e_lo)
        if e_hi is not None:
            conds.append(Call.ended_at < e_hi)
        return float(session.execute(select(func.coalesce(func.sum(handle), 0.0)).where(*conds)).scalar_one())

    if not use_rollups or end - start <= ROLLUP_HANDLING_MIN:
        return raw_sum(start - MAX_CALL_SPAN, end, start, end), "raw"
    pieces, middle = _split_for_rollups(session, start, end)
    queued_in = 0.0
    if middle is not None:
        r = CallRollup
        queued_in = float(session.execute(
            select(func.coalesce(func.sum(r.handle_sum_s), 0.0))
            .where(one_of(r.city, cities), r.interval_start >= middle[0], r.interval_start < middle[1])
        ).scalar_one())
    queued_in += sum(raw_sum(lo, hi, None, None) for lo, hi in pieces)
    ended_after = raw_sum(max(start, end - MAX_CALL_SPAN), end, end, None)
    ended_inside_from_before = raw_sum(start - MAX_CALL_SPAN, start, start, end)
    return queued_in - ended_after + ended_inside_from_before, "rollups+raw" if middle is not None else "raw"


def seat_times(session: Session, *, cities, start: datetime, end: datetime, now: datetime,
               use_rollups: bool = True) -> SeatTimes:
    """Handling, ready and logged-in seconds in ``[start, min(end, now))`` for the cities' seats.

    Logged-in and ready time come from ``seat_state_changes`` (a state lasts until the seat's
    next change; 'offline' = logged out), clipped to the window. Handling time is talk + hold +
    after-call work of answered calls ended in the window (``handling_seconds``; answered calls
    always carry their seat).
    """
    out = SeatTimes(by_state_now={})
    if not cities:
        return out
    for state, n in session.execute(
        select(Seat.state, func.count()).where(one_of(Seat.city, cities)).group_by(Seat.state)
    ):
        out.by_state_now[state] = int(n)
    stop = min(end, now)
    if start >= stop:
        return out
    out.handling_s, _path = handling_seconds(session, cities=cities, start=start, end=stop,
                                             use_rollups=use_rollups)
    c = SeatStateChange
    last_before = (
        select(c.city, c.seat_id, func.max(c.occurred_at).label("at"))
        .where(one_of(c.city, cities), c.occurred_at < start)
        .group_by(c.city, c.seat_id).subquery()
    )
    opening = select(c.city, c.seat_id, c.occurred_at, c.id, c.state).join(
        last_before,
        and_(c.city == last_before.c.city, c.seat_id == last_before.c.seat_id,
             c.occurred_at == last_before.c.at),
    )
    inside = select(c.city, c.seat_id, c.occurred_at, c.id, c.state).where(
        one_of(c.city, cities), c.occurred_at >= start, c.occurred_at < stop
    )
    # Each change lasts until the seat's next one (LEAD), clipped to the window; summed in SQL.
    changes = opening.union_all(inside).subquery()
    following = func.lead(changes.c.occurred_at).over(
        partition_by=(changes.c.city, changes.c.seat_id), order_by=(changes.c.occurred_at, changes.c.id)
    )
    spans = select(changes.c.state, changes.c.occurred_at.label("at"), following.label("next_at")).subquery()
    dialect = session.get_bind().dialect.name
    greatest, least = (func.greatest, func.least) if dialect == "postgresql" else (func.max, func.min)
    lo = greatest(spans.c.at, start)
    hi = least(func.coalesce(spans.c.next_at, stop), stop)
    seconds = func.sum(case((hi > lo, _seconds_between(dialect, lo, hi)), else_=0.0))
    for state, total in session.execute(select(spans.c.state, seconds).group_by(spans.c.state)):
        total = float(total or 0.0)
        if state not in LOGGED_OUT_STATES:
            out.logged_in_s += total
        if state == "ready":
            out.ready_s += total
    return out


# ---------------------------------------------------------------- SQL: tickets

def _seconds_between(dialect: str, a, b):
    """Seconds from a to b, as an SQL expression valid on the session's dialect."""
    if dialect == "postgresql":
        return func.extract("epoch", b - a)
    return (func.julianday(b) - func.julianday(a)) * 86400.0


def ticket_count_columns(dialect: str, *, now: datetime, response_deadline_s: float,
                         count_basic_satisfied: bool) -> list:
    """Aggregate columns over ``tickets`` making a TicketCounts (in field order)."""
    t = Ticket
    dispatched = t.first_dispatched_at.is_not(None)
    closed = t.status == "closed"
    valid_cb = and_(t.satisfaction.is_not(None), t.satisfaction != "unreachable")
    happy = ["very_satisfied", "satisfied"] + (["basic"] if count_basic_satisfied else [])
    in_time = and_(
        dispatched, t.responded_at.is_not(None),
        _seconds_between(dialect, t.first_dispatched_at, t.responded_at) <= response_deadline_s,
    )
    due_for_response = and_(
        dispatched,
        or_(t.responded_at.is_not(None),
            t.first_dispatched_at <= now - timedelta(seconds=response_deadline_s)),
    )
    auto = t.auto_dispatched.is_(True)

    def count_if(cond):
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    return [
        func.count(),
        count_if(dispatched),
        count_if(closed),
        count_if(due_for_response),
        count_if(in_time),
        count_if(valid_cb),
        count_if(and_(valid_cb, t.callback_resolved == "yes")),
        count_if(and_(valid_cb, t.satisfaction.in_(happy))),
        count_if(and_(closed, t.due_at.is_not(None))),
        count_if(and_(closed, t.due_at.is_not(None), t.closed_at <= t.due_at)),
        count_if(or_(t.closed_at.is_not(None), t.reopens > 0)),
        count_if(t.reopens > 0),
        count_if(and_(dispatched, t.returns > 0)),
        func.coalesce(func.sum(case((dispatched, t.returns + t.transfers), else_=0)), 0),
        count_if(and_(dispatched, auto)),
        count_if(and_(dispatched, auto, t.returns == 0)),
    ]


def _ticket_filters(cities, districts, start: datetime, end: datetime) -> list:
    conds = [one_of(Ticket.city, cities), Ticket.created_at >= start, Ticket.created_at < end]
    if districts:
        conds.append(one_of(Ticket.district, districts))
    return conds


def count_basic_as_satisfied(settings: Settings) -> bool:
    return settings.count_basic_as_satisfied


def response_deadline_s(settings: Settings) -> float:
    return float(settings.response_deadline_s)


def ticket_counts(session: Session, *, cities, districts=None, start: datetime, end: datetime, now: datetime,
                  settings: Settings, group_by=None) -> TicketCounts | dict[str, TicketCounts]:
    """Counts over the tickets created in ``[start, end)`` (naive UTC) in their current state.

    With ``group_by`` (a Ticket column) returns ``{group value: TicketCounts}`` instead.
    """
    if not cities or start >= end:
        return {} if group_by is not None else TicketCounts()
    cols = ticket_count_columns(
        session.get_bind().dialect.name, now=now, response_deadline_s=response_deadline_s(settings),
        count_basic_satisfied=count_basic_as_satisfied(settings),
    )
    conds = _ticket_filters(cities, districts, start, end)
    if group_by is None:
        return TicketCounts(*(int(v) for v in session.execute(select(*cols).where(*conds)).one()))
    rows = session.execute(select(group_by, *cols).where(*conds).group_by(group_by))
    return {row[0]: TicketCounts(*(int(v) for v in row[1:])) for row in rows}


def tickets_created(session: Session, *, cities, districts=None, start: datetime, end: datetime,
                    use_rollups: bool = True) -> int:
    """Tickets created in ``[start, end)``: ``ticket_rollups_15m`` for covered intervals + raw edges."""
    if not cities or start >= end:
        return 0

    def raw(ranges):
        conds = [one_of(Ticket.city, cities), _in_ranges(Ticket.created_at, ranges)]
        if districts:
            conds.append(one_of(Ticket.district, districts))
        return int(session.execute(select(func.count()).select_from(Ticket).where(*conds)).scalar_one())

    if not use_rollups:
        return raw([(start, end)])
    pieces, middle = _split_for_rollups(session, start, end)
    total = 0
    if middle is not None:
        r = TicketRollup
        conds = [one_of(r.city, cities), r.interval_start >= middle[0], r.interval_start < middle[1]]
        if districts:
            conds.append(one_of(r.district, districts))
        total = int(session.execute(select(func.coalesce(func.sum(r.created), 0)).where(*conds)).scalar_one())
    return total + (raw(pieces) if pieces else 0)


def overdue_open_now(session: Session, *, cities, districts=None, now: datetime) -> int:
    """Tickets not closed whose due_at is before ``now`` (all of the scope, not a cohort)."""
    if not cities:
        return 0
    # an IN list (not "!= 'closed'") lets the (status, due_at) index serve each open status
    conds = [one_of(Ticket.city, cities), Ticket.status.in_(OPEN_STATUSES), Ticket.due_at < now]
    if districts:
        conds.append(one_of(Ticket.district, districts))
    return int(session.execute(select(func.count()).select_from(Ticket).where(*conds)).scalar_one())


# ---------------------------------------------------------------- the KPI document

def kpi(session: Session, *, scope: str, start: datetime, end: datetime, settings: Settings,
        now: datetime | None = None, sl_threshold_s: float | None = None, use_rollups: bool = True) -> dict:
    """Every KPI for a scope and a window ``[start, end)`` (naive UTC or aware), as one JSON-ready dict.

    Telephony figures are None for a district scope (calls carry no district). Rates with an
    empty denominator are None. Read-only.
    """
    now = to_naive_utc(now) if now is not None else utcnow()
    start, end = to_naive_utc(start), to_naive_utc(end)
    threshold = float(settings.sl_threshold_s if sl_threshold_s is None else sl_threshold_s)
    level, cities, districts = resolve_scope(session, scope)
    table = targets(settings)
    doc: dict[str, Any] = {
        "scope": scope, "level": level, "cities": list(cities),
        "from": start.replace(tzinfo=UTC).isoformat(), "to": end.replace(tzinfo=UTC).isoformat(),
        "sl_threshold_s": threshold, "short_abandon_s": settings.short_abandon_s,
        "definitions_version": DEFINITIONS_VERSION,
    }
    if level == "district":
        doc.update({k: None for k in CallCounts().figures()})
        doc.update({"waiting_now": None, "longest_wait_now_s": None, "calls_path": None})
        doc.update({k: None for k in SeatTimes().figures()})
    else:
        counts, path = call_counts(session, cities=cities, start=start, end=end, sl_threshold_s=threshold,
                                   short_abandon_s=settings.short_abandon_s, use_rollups=use_rollups)
        doc.update(counts.figures())
        doc["calls_path"] = path
        waiting, longest = queue_now(session, cities=cities, now=now)
        doc.update({"waiting_now": waiting, "longest_wait_now_s": longest})
        doc.update(seat_times(session, cities=cities, start=start, end=end, now=now,
                              use_rollups=use_rollups).figures())
    tc = ticket_counts(session, cities=cities, districts=districts, start=start, end=end, now=now,
                       settings=settings)
    doc.update(tc.figures())
    doc["tickets_created"] = tickets_created(session, cities=cities, districts=districts, start=start,
                                             end=end, use_rollups=use_rollups)
    doc["overdue_open_now"] = overdue_open_now(session, cities=cities, districts=districts, now=now)
    doc["status"] = {name: status(name, doc.get(name), table) for name in table if name in doc}
    doc["targets"] = {name: spec.get("target") for name, spec in table.items()}
    return doc


# ---------------------------------------------------------------- rankings

def rankings(session: Session, *, scope: str, level: str, start: datetime, end: datetime, settings: Settings,
             now: datetime | None = None) -> dict:
    """League table of districts, handling units or cities within a scope for ``[start, end)``.

    Each row: the three rates, on-time closure, connection rate (cities only), a composite score
    (mean of min(actual/target, 1.25) over the metrics present; inverted where lower is better),
    and volumes per 100,000 residents where the population is known. Sorted best first; rows
    without a score last.
    """
    if level not in RANKING_LEVELS:
        raise ValueError(f"level must be one of {', '.join(RANKING_LEVELS)}")
    now = to_naive_utc(now) if now is not None else utcnow()
    start, end = to_naive_utc(start), to_naive_utc(end)
    _level, cities, districts = resolve_scope(session, scope)
    table = targets(settings)
    column = {"district": Ticket.district, "unit": Ticket.unit, "city": Ticket.city}[level]
    groups = ticket_counts(session, cities=cities, districts=districts, start=start, end=end, now=now,
                           settings=settings, group_by=column)
    calls: dict[str, CallCounts] = {}
    if level == "city":
        for city in cities:
            calls[city], _ = call_counts(session, cities=(city,), start=start, end=end,
                                         sl_threshold_s=float(settings.sl_threshold_s),
                                         short_abandon_s=settings.short_abandon_s)
    keys = set(groups) | {c for c, cc in calls.items() if cc.offered}
    pops = populations(session, [k for k in keys if k]) if level in ("district", "city") else {}
    rows = []
    for key in keys:
        tf = (groups.get(key) or TicketCounts()).figures()
        row: dict[str, Any] = {"key": key or "", "tickets_created": tf["tickets_created"]}
        for name in RANKING_METRICS:
            row[name] = tf.get(name)
        cc = calls.get(key)
        row["connection_rate"] = cc.figures()["connection_rate"] if cc is not None else None
        row["offered"] = cc.offered if cc is not None else None
        row["score"] = composite_score({m: row[m] for m in RANKING_METRICS}, table)
        row["population"] = pops.get(key)
        row["tickets_per_100k"] = per_100k(row["tickets_created"], row["population"])
        row["offered_per_100k"] = per_100k(row["offered"], row["population"])
        rows.append(row)
    rows.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0.0), -r["tickets_created"], r["key"]))
    for i, row in enumerate(rows, 1):
        row["rank"] = i
    return {
        "scope": scope, "level": level, "from": start.replace(tzinfo=UTC).isoformat(),
        "to": end.replace(tzinfo=UTC).isoformat(), "rows": rows, "definitions_version": DEFINITIONS_VERSION,
        "targets": {m: table[m].get("target") for m in RANKING_METRICS},
    }
