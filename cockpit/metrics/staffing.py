"""Seat staffing per 15-minute interval: Erlang C and Erlang A requirements, and the estimates they take.

Erlang C (M/M/n) assumes callers never give up; Erlang A (M/M/n+M, Palm) adds exponential
patience, estimated from history as abandons / total queue wait (the maximum-likelihood
estimate of the abandonment rate theta under exponential patience). All times in seconds,
rates per second, datetimes naive UTC. Pure functions except the estimates from the data
(``patience_estimate``, ``staffed_now``: read-only, through ``metrics.queries``). The seat plan of
now and the next two hours, which needs the forecast, is ``planning.live.staffing_plan``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy.orm import Session

from cockpit.metrics import definitions, queries
from cockpit.settings import Settings

DEFAULT_AHT_S = 300.0
HORIZON = timedelta(hours=2)
ESTIMATE_WINDOW = timedelta(days=7)
STAFFED_STATES = ("ready", "ringing", "on_call", "hold", "acw")  # logged in and not in a break
MAX_SEATS = 100_000


# ---------------------------------------------------------------- time cap

class TooLong(RuntimeError):
    """A staffing computation ran past its time limit (see ``time_limit``)."""


_deadline: ContextVar[float | None] = ContextVar("staffing_deadline", default=None)


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Cap every Erlang computation inside the block at ``seconds`` of this thread's CPU time (raises
    TooLong). CPU time, not wall time: a busy machine must not turn a normal request into a refusal."""
    token = _deadline.set(time.thread_time() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def _check_time() -> None:
    deadline = _deadline.get()
    if deadline is not None and time.thread_time() > deadline:
        raise TooLong("staffing computation over its time limit")


# ---------------------------------------------------------------- Erlang C

def erlang_b(agents: int, erlangs: float) -> float:
    """Erlang B blocking probability, by the stable recursion B(n) = A B(n-1) / (n + A B(n-1))."""
    b = 1.0
    for n in range(1, agents + 1):
        b = erlangs * b / (n + erlangs * b)
        if not n & 0xFFFF:
            _check_time()
    return b


def erlang_c(agents: int, erlangs: float) -> float:
    """Probability that a call waits (Erlang C); 1.0 when ``agents <= erlangs`` (unstable queue)."""
    if erlangs <= 0:
        return 0.0
    if agents <= erlangs:
        return 1.0
    b = erlang_b(agents, erlangs)
    return agents * b / (agents - erlangs * (1.0 - b))


def service_level_erlang_c(agents: int, erlangs: float, aht_s: float, threshold_s: float) -> float:
    """Share of calls answered within ``threshold_s``: 1 - C(n, A) exp(-(n - A) T / AHT)."""
    if erlangs <= 0:
        return 1.0
    if agents <= erlangs:
        return 0.0
    return 1.0 - erlang_c(agents, erlangs) * math.exp(-(agents - erlangs) * threshold_s / aht_s)


def asa_erlang_c(agents: int, erlangs: float, aht_s: float) -> float | None:
    """Mean queue wait of all calls (seconds); None when the queue is unstable."""
    if erlangs <= 0:
        return 0.0
    if agents <= erlangs:
        return None
    return erlang_c(agents, erlangs) * aht_s / (agents - erlangs)


def required_erlang_c(erlangs: float, aht_s: float, threshold_s: float, target: float) -> int:
    """The fewest seats whose Erlang C service level reaches ``target``."""
    if erlangs <= 0:
        return 0
    n = max(1, math.floor(erlangs) + 1)
    while service_level_erlang_c(n, erlangs, aht_s, threshold_s) < target and n < MAX_SEATS:
        n += 1
        _check_time()
    return n


def erlang_c_summary(arrivals_per_hour: float, aht_s: float, target: float, threshold_s: float) -> dict:
    """One interval's Erlang C answer: erlangs, required seats, their service level and occupancy."""
    erlangs = arrivals_per_hour * aht_s / 3600.0
    n = required_erlang_c(erlangs, aht_s, threshold_s, target)
    return {
        "erlangs": erlangs,
        "required_seats": n,
        "service_level": service_level_erlang_c(n, erlangs, aht_s, threshold_s) if n else 1.0,
        "occupancy": erlangs / n if n else None,
        "waiting_probability": erlang_c(n, erlangs) if n else 0.0,
        "asa_s": asa_erlang_c(n, erlangs, aht_s) if n else 0.0,
    }


# ---------------------------------------------------------------- Erlang A

def _erlang_a_state(agents: int, lam: float, mu: float, theta: float) -> np.ndarray:
    """Stationary distribution of the M/M/n+M birth-death chain, truncated where negligible."""
    logs = [0.0]
    for k in range(1, agents + 1):
        logs.append(logs[-1] + math.log(lam / (k * mu)))
    top = max(logs)
    j = 1
    while True:
        step = math.log(lam / (agents * mu + j * theta))
        logs.append(logs[-1] + step)
        top = max(top, logs[-1])
        if (step < 0 and logs[-1] < top - 40.0) or j > 200_000:
            break
        j += 1
        if not j & 0xFFF:
            _check_time()
    arr = np.array(logs)
    arr = np.exp(arr - arr.max())
    return arr / arr.sum()


def _served_within(agents: int, mu: float, theta: float, queue_len: int, threshold_s: float) -> np.ndarray:
    """u[j] = P(a caller with j callers ahead is answered within threshold_s, before giving up).

    Backward equations of the pure-death chain seen by the tagged caller:
    du_j/dt = r_j (u_{j-1} - u_j) - theta u_j with r_j = n mu + j theta and u_{-1} = 1,
    integrated by classical Runge-Kutta with a step small against the fastest rate.
    """
    r = agents * mu + theta * np.arange(queue_len)
    u = np.zeros(queue_len)
    if threshold_s <= 0:
        return u
    fastest = float(r[-1] + theta) if queue_len else 1.0
    steps = max(50, math.ceil(threshold_s * fastest / 0.2))
    h = threshold_s / steps

    def deriv(v: np.ndarray) -> np.ndarray:
        prev = np.empty_like(v)
        prev[0] = 1.0
        prev[1:] = v[:-1]
        return r * (prev - v) - theta * v

    for step in range(steps):
        if not step & 0xFF:
            _check_time()
        k1 = deriv(u)
        k2 = deriv(u + 0.5 * h * k1)
        k3 = deriv(u + 0.5 * h * k2)
        k4 = deriv(u + h * k3)
        u = u + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    return u


def erlang_a(agents: int, arrivals_per_s: float, aht_s: float, patience_s: float | None,
             threshold_s: float) -> dict[str, float]:
    """Erlang A figures for ``agents`` seats: service level (answered within T / offered),
    abandon probability and occupancy. ``patience_s`` None or infinite falls back to Erlang C."""
    erlangs = arrivals_per_s * aht_s
    if erlangs <= 0:
        return {"service_level": 1.0, "abandon_probability": 0.0, "occupancy": 0.0}
    if patience_s is None or not math.isfinite(patience_s) or patience_s <= 0:
        sl = service_level_erlang_c(agents, erlangs, aht_s, threshold_s)
        return {"service_level": sl, "abandon_probability": 0.0 if agents > erlangs else 1.0,
                "occupancy": min(erlangs / agents, 1.0) if agents else 1.0}
    if agents <= 0:
        return {"service_level": 0.0, "abandon_probability": 1.0, "occupancy": 1.0}
    mu, theta = 1.0 / aht_s, 1.0 / patience_s
    pi = _erlang_a_state(agents, arrivals_per_s, mu, theta)
    queue_len = len(pi) - agents
    u = _served_within(agents, mu, theta, queue_len, threshold_s)
    r = agents * mu + theta * np.arange(queue_len)
    served_eventually = np.cumprod(r / (r + theta))
    p_queue = pi[agents:]
    sl = float(pi[:agents].sum() + (p_queue * u).sum())
    served = float(pi[:agents].sum() + (p_queue * served_eventually).sum())
    return {
        "service_level": min(max(sl, 0.0), 1.0),
        "abandon_probability": min(max(1.0 - served, 0.0), 1.0),
        "occupancy": min(arrivals_per_s * served * aht_s / agents, 1.0),
    }


def required_erlang_a(arrivals_per_s: float, aht_s: float, patience_s: float | None, threshold_s: float,
                      target: float) -> int:
    """The fewest seats whose Erlang A service level reaches ``target`` (bisection; SL rises with n)."""
    erlangs = arrivals_per_s * aht_s
    if erlangs <= 0:
        return 0
    if patience_s is None or not math.isfinite(patience_s) or patience_s <= 0:
        return required_erlang_c(erlangs, aht_s, threshold_s, target)

    def ok(n: int) -> bool:
        return erlang_a(n, arrivals_per_s, aht_s, patience_s, threshold_s)["service_level"] >= target

    hi = required_erlang_c(erlangs, aht_s, threshold_s, target)
    while not ok(hi) and hi < MAX_SEATS:
        hi *= 2
    lo = 0  # ok(0) is False
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


# ---------------------------------------------------------------- estimates from the data (the seat plan: planning.live)

def patience_estimate(session: Session, *, cities, start: datetime, end: datetime) -> float | None:
    """Mean caller patience (seconds) = total queue wait / abandons, over calls queued in [start, end).

    None without abandons (patience cannot be estimated; Erlang A then falls back to Erlang C).
    """
    n_ab, wait_sum = queries.abandon_wait_totals(session, cities=cities, start=start, end=end)
    if not n_ab or not wait_sum:
        return None
    return float(wait_sum) / int(n_ab)


def _offered(session: Session, cities, start: datetime, end: datetime,
             settings: Settings) -> definitions.CallCounts:
    counts, _ = queries.call_counts(session, cities=cities, start=start, end=end,
                                    sl_threshold_s=float(settings.sl_threshold_s),
                                    short_abandon_s=settings.short_abandon_s)
    return counts


def staffed_now(session: Session, *, cities) -> int:
    """Seats logged in and not in a break (states in STAFFED_STATES) now."""
    return queries.seats_in_states(session, cities=cities, states=STAFFED_STATES)
