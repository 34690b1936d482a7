"""Scheduled jobs: plain functions of ``Stores``; APScheduler only calls them.

Every job is idempotent, so running one twice, late, or on two workers at once is harmless.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from cockpit.metrics import queries as metric_queries
from cockpit.metrics import cohorts, rollups
from cockpit.planning import live as planning_live
from cockpit.reports.schedule import write_due_reports
from cockpit.views import panels
from cockpit.views.topics import TOPICS_INTERVAL_S
from cockpit.watch import evaluate as watchpoints
from cockpit.ingest import LIVE_DIRTY, rebuild_live_report
from cockpit.store import days, jobruns, live, locks, partitions
from cockpit.store.db import Stores
from cockpit.timeutil import INTERVAL, floor_interval_utc

log = logging.getLogger(__name__)

ROLLUP_LOOKBACK = timedelta(hours=3)  # late events within this window are folded into rollups
MAX_CATCH_UP = timedelta(days=7)  # a worker down longer than this needs `cockpit` rollup by hand
REPAIR_EVERY_S = 5  # how soon a Redis restart is repaired (the check is two cheap round trips)
LEADER_POLL_S = 5.0


def rollup_recent(stores: Stores, *, now: datetime | None = None) -> None:
    """Recompute the rollups of the last ROLLUP_LOOKBACK, the current partial interval included.

    After a stop (a killed or crashed worker, a standby taking over) it first catches up from the
    end of the covered range, up to MAX_CATCH_UP back, one day per transaction: a kill mid-way
    rolls back that day only, and the next run starts from what was committed.
    """
    now = now or datetime.now(UTC)
    end = floor_interval_utc(now) + INTERVAL
    start = end - ROLLUP_LOOKBACK
    with stores.session() as session:
        covered = metric_queries.rollup_coverage(session)
    if covered is not None:
        covered_to = covered[1].replace(tzinfo=UTC)
        if covered_to < start:
            gap_from = max(covered_to, start - MAX_CATCH_UP)
            log.warning("rollups cover up to %s only: catching up from %s", covered_to.isoformat(),
                        gap_from.isoformat())
            rollup_all(stores, gap_from, start, now=now)
    with stores.session() as session:
        rollups.rollup_range(session, start, end, settings=stores.settings, now=now)


def freeze_cohorts(stores: Stores, *, now: datetime | None = None) -> dict[str, int]:
    """Recount the dirty ticket cohort days and the days whose tickets settled since (``metrics.cohorts``);
    first rebuild the day rollups when they are not kept as the settings count (``store.days.ensure``:
    after the migration or a change of settings)."""
    with stores.session() as session:
        days.ensure(session, stores.settings)
    return cohorts.run_job(stores, now=now)


def rollup_all(stores: Stores, start: datetime, end: datetime, *, now: datetime | None = None) -> None:
    """Recompute the rollups of [start, end) one day per transaction (``rollups.rollup_days``)."""
    rollups.rollup_days(stores, start, end, now=now)


def create_partitions(stores: Stores, *, now: datetime | None = None) -> list[str]:
    """Create next months' partitions (PostgreSQL; nothing on SQLite); returns the names created."""
    with stores.engine.begin() as conn:
        created = partitions.ensure_partitions(conn, ahead=stores.settings.partitions_ahead, now=now)
    if created:
        log.info("partitions created: %s", ", ".join(created))
    return created


def repair_live(stores: Stores) -> bool:
    """Rebuild Redis from SQL when an ingest could not reach Redis, or when Redis restarted (its
    epoch is missing or from another server run); returns whether it ran. Never crashes on stored
    data (``rebuild_live_report`` skips and dead-letters what it cannot apply)."""
    with stores.session() as session:
        dirty = jobruns.exists(session, LIVE_DIRTY)
    state = live.epoch_state(stores.redis)
    if dirty or state in ("missing", "stale"):
        log.warning("live store %s: rebuilding from SQL", "marked dirty" if dirty else state)
        rebuild_live_report(stores)
        return True
    return False


def schedule(scheduler, stores: Stores) -> None:
    """Add every job to ``scheduler`` (blocking for ``cockpit worker``, background for the demo)."""
    scheduler.add_job(rollup_recent, "interval", minutes=1, args=[stores], id="rollup_recent",
                      max_instances=1, coalesce=True, next_run_time=datetime.now(UTC))
    scheduler.add_job(freeze_cohorts, "interval", minutes=1, args=[stores], id="ticket_cohorts",
                      max_instances=1, coalesce=True, next_run_time=datetime.now(UTC))
    scheduler.add_job(repair_live, "interval", seconds=REPAIR_EVERY_S, args=[stores], id="repair_live",
                      max_instances=1, coalesce=True, next_run_time=datetime.now(UTC))
    scheduler.add_job(watchpoints.evaluate_all, "interval", minutes=1, args=[stores], id="watchpoints",
                      max_instances=1, coalesce=True)
    scheduler.add_job(watchpoints.prune_all, "interval", hours=24, args=[stores], id="alerts_retention",
                      max_instances=1, coalesce=True)
    scheduler.add_job(panels.precompute_panels, "interval", seconds=60, args=[stores], id="wall_panels",
                      max_instances=1, coalesce=True, next_run_time=datetime.now(UTC))
    scheduler.add_job(create_partitions, "interval", hours=24, args=[stores], id="partitions",
                      max_instances=1, coalesce=True, next_run_time=datetime.now(UTC))
    scheduler.add_job(panels.precompute_topics, "interval", seconds=TOPICS_INTERVAL_S, args=[stores],
                      id="wall_topics", max_instances=1, coalesce=True, next_run_time=datetime.now(UTC))
    scheduler.add_job(write_due_reports, "interval", hours=1, args=[stores], id="reports",
                      max_instances=1, coalesce=True)
    scheduler.add_job(planning_live.plan_weeks, "interval", hours=1, args=[stores], id="rosters",
                      max_instances=1, coalesce=True)


def lower_priority(nice: int) -> int:
    """Lower this process's CPU priority by ``nice`` (0: unchanged); the niceness it runs at after.

    The worker's jobs (rollups, watchpoints, panels every minute) share the machine with the web
    processes in small deployments; at a lower priority they take the cores only when the screens'
    requests leave them idle, and a refresh does not queue behind a panel computation."""
    if nice > 0:
        try:
            return os.nice(nice)
        except OSError as exc:  # not permitted here: the worker still runs, at the priority it has
            log.warning("worker: could not lower CPU priority by %d (%s)", nice, exc)
    return os.nice(0)


def run_worker(stores: Stores, *, stop: threading.Event | None = None, poll_s: float = LEADER_POLL_S) -> None:
    """Run the jobs while this process holds the worker lock; stand by while another does.

    Several workers may be started (a restart overlapping the old process, a second host): exactly
    one runs the jobs. A standby polls the lock every ``poll_s`` and takes over when the holder dies
    (its database session ends, so its lock is released). Returns when ``stop`` is set.
    """
    stop = stop or threading.Event()
    announced = False
    while not stop.is_set():
        leader = locks.Leadership(stores, locks.WORKER)
        if not leader.acquired:
            if not announced:
                log.info("another worker holds the job lock: standing by")
                announced = True
            stop.wait(poll_s)
            continue
        scheduler = BackgroundScheduler(timezone=UTC)
        schedule(scheduler, stores)
        scheduler.start()
        log.info("worker started: %s", ", ".join(job.id for job in scheduler.get_jobs()))
        try:
            while not stop.wait(poll_s):
                if not leader.alive():
                    log.warning("lost the job lock (database connection gone): standing by")
                    break
        finally:
            scheduler.shutdown(wait=True)
            leader.release()
        announced = False


def start_background(stores: Stores) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=UTC)
    schedule(scheduler, stores)
    scheduler.start()
    return scheduler
