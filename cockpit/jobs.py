"""Scheduled jobs: plain functions of ``Stores``; APScheduler only calls them.

Every job is idempotent, so running one twice, late, or on two workers at once is harmless.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from cockpit.metrics import rollups
from cockpit.planning import live as planning_live
from cockpit.reports.schedule import write_due_reports
from cockpit.views import panels
from cockpit.watch import evaluate as watchpoints
from cockpit.ingest import LIVE_DIRTY, rebuild_live
from cockpit.store.models import JobRun
from cockpit.store.db import Stores

log = logging.getLogger(__name__)

ROLLUP_LOOKBACK = timedelta(hours=3)  # late events within this window are folded into rollups
INTERVAL = timedelta(minutes=15)


def floor_interval(moment: datetime) -> datetime:
    """Start (UTC) of the 15-minute interval holding ``moment``."""
    moment = moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def rollup_recent(stores: Stores, *, now: datetime | None = None) -> None:
    """Recompute the rollups of the last ROLLUP_LOOKBACK, the current partial interval included."""
    now = now or datetime.now(UTC)
    end = floor_interval(now) + INTERVAL
    with stores.session() as session:
        rollups.rollup_range(session, end - ROLLUP_LOOKBACK, end, settings=stores.settings, now=now)


def rollup_all(stores: Stores, start: datetime, end: datetime) -> None:
    """Recompute the rollups of [start, end) one day per transaction (after seeding or an import)."""
    day = floor_interval(start)
    while day < end:
        stop = min(day + timedelta(days=1), floor_interval(end) + INTERVAL)
        with stores.session() as session:
            rollups.rollup_range(session, day, stop, settings=stores.settings)
        day = stop


def repair_live(stores: Stores) -> bool:
    """Rebuild Redis from SQL when an ingest could not reach Redis; returns whether it ran."""
    with stores.session() as session:
        dirty = session.get(JobRun, LIVE_DIRTY) is not None
    if dirty:
        log.warning("live store marked dirty: rebuilding from SQL")
        rebuild_live(stores)
    return dirty


def schedule(scheduler, stores: Stores) -> None:
    """Add every job to ``scheduler`` (blocking for ``cockpit worker``, background for the demo)."""
    scheduler.add_job(rollup_recent, "interval", minutes=1, args=[stores], id="rollup_recent",
                      max_instances=1, coalesce=True, next_run_time=datetime.now(UTC))
    scheduler.add_job(repair_live, "interval", seconds=30, args=[stores], id="repair_live",
                      max_instances=1, coalesce=True)
    scheduler.add_job(watchpoints.evaluate_all, "interval", minutes=1, args=[stores], id="watchpoints",
                      max_instances=1, coalesce=True)
    scheduler.add_job(watchpoints.prune_all, "interval", hours=24, args=[stores], id="alerts_retention",
                      max_instances=1, coalesce=True)
    scheduler.add_job(panels.precompute_panels, "interval", seconds=60, args=[stores], id="wall_panels",
                      max_instances=1, coalesce=True, next_run_time=datetime.now(UTC))
    scheduler.add_job(write_due_reports, "interval", hours=1, args=[stores], id="reports",
                      max_instances=1, coalesce=True)
    scheduler.add_job(planning_live.plan_weeks, "interval", hours=1, args=[stores], id="rosters",
                      max_instances=1, coalesce=True)


def run_worker(stores: Stores) -> None:
    scheduler = BlockingScheduler(timezone=UTC)
    schedule(scheduler, stores)
    log.info("worker started: %s", ", ".join(job.id for job in scheduler.get_jobs()))
    scheduler.start()


def start_background(stores: Stores) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=UTC)
    schedule(scheduler, stores)
    scheduler.start()
    return scheduler
