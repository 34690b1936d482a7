"""The open alerts of the demo province after 28 days of history and a live day (issue 13's goal).

Phases (each skipped when its mark says it is done, so a run can be resumed or repeated):

``seed``   28 days of the demo's simulated history (seed 12345, all 14 cities, scale 1) ending at
           today's local midnight, through ``seed_history`` (the watchpoints paused, as the demo).
``live``   today so far in ``--step`` windows through the live ingestion path (``ingest_stream``,
           per-call seat states, as the demo's live traffic), each followed by what the worker does
           every minute: the recent rollups and ``evaluate_all`` at the window's end.
``fresh``  (optional) empty the alert tables and evaluate once at the end of the live day: two
           versions of the rules compared on identical data (run each from its own checkout).
``report`` the open alerts by rule, city, severity and suppression, the largest groups and a
           sample of each rule's titles, as JSON on stdout (and ``--out``).

To measure a change without re-seeding: ``--clone-from BASE`` copies a PostgreSQL database that
holds only the seeded history (``CREATE DATABASE ... TEMPLATE``) before the live phase.

    nice -n 10 python bench/alerts_demo.py --db postgresql+psycopg://postgres@127.0.0.1/cockpit_inbox \
        --var-dir /tmp/alerts_demo --step 120 --out /tmp/alerts_demo.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

log = logging.getLogger("alerts_demo")


def _settings(db: str, redis_url: str, var_dir: str | None):
    """``redis_url`` empty: an embedded Redis of its own under ``var_dir`` (no shared db is touched)."""
    from pathlib import Path

    from cockpit.settings import Settings

    settings = Settings.from_env().with_(database_url=db, redis_url=redis_url, mode="development")
    return settings.with_(var_dir=Path(var_dir)) if var_dir else settings


def clone_database(base: str, target_url: str) -> None:
    """``target_url``'s database becomes a copy of ``base`` (PostgreSQL, same server)."""
    import psycopg

    admin = target_url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    name = target_url.rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{base}"')


def seed(stores, *, days: int, seed_no: int, today: datetime, workers: int) -> dict:
    from cockpit.simulation import seed_history
    from cockpit.store import migrate
    from geo.regions import load_default_regions

    migrate.upgrade(stores.settings)
    with stores.session() as session:
        load_default_regions(session)
    t0, c0 = time.monotonic(), time.process_time()
    totals = seed_history(stores, days, seed=seed_no, end=today, progress=False, workers=workers)
    totals.pop("incidents", None)
    totals["wall_s"] = round(time.monotonic() - t0, 1)
    totals["parent_cpu_s"] = round(time.process_time() - c0, 1)
    return totals


def live_day(stores, *, seed_no: int, origin: datetime, start: datetime, end: datetime, step: timedelta) -> dict:
    """Today's traffic in ``step`` windows, each followed by the worker's rollups and evaluation."""
    from cockpit import jobs
    from cockpit.ingest import ingest_stream
    from cockpit.simulation import Province
    from cockpit.watch import evaluate

    prov = Province(seed=seed_no, origin=origin, seat_detail=True)
    cursor, evaluations, accepted = start, 0, 0
    opened = resolved = 0
    t0, c0 = time.monotonic(), time.process_time()
    eval_s = 0.0
    while cursor < end:
        stop = min(cursor + step, end)
        accepted += ingest_stream(stores, prov.events(cursor, stop), source="sim").accepted
        jobs.rollup_recent(stores, now=stop)
        e0 = time.monotonic()
        report = evaluate.evaluate_all(stores, now=stop)
        eval_s += time.monotonic() - e0
        evaluations += 1
        opened += sum(r.get("opened", 0) for r in report.values())
        resolved += sum(r.get("resolved", 0) for r in report.values())
        log.info("live %s: %d events so far, %d opened, %d resolved", stop.isoformat(), accepted, opened, resolved)
        cursor = stop
    return {"events": accepted, "evaluations": evaluations, "opened": opened, "resolved": resolved,
            "wall_s": round(time.monotonic() - t0, 1), "cpu_s": round(time.process_time() - c0, 1),
            "evaluation_wall_s": round(eval_s, 1)}


def report(stores, *, scope: str = "620000", samples: int = 8) -> dict:
    from cockpit.watch import inbox

    rows, offset = [], 0
    with stores.session() as session:
        while True:
            page = inbox.list_alerts(session, scope=scope, state="open", limit=1000, offset=offset)
            rows += [inbox.as_dict(a) for a in page]
            if len(page) < 1000:
                break
            offset += 1000
    shown = [a for a in rows if not a.get("suppressed_by")]
    out: dict = {"open": len(rows), "shown": len(shown), "suppressed": len(rows) - len(shown)}
    out["by_rule"] = dict(Counter(a["rule"] for a in shown).most_common())
    out["by_city"] = dict(Counter(a.get("city") for a in shown).most_common())
    out["by_severity"] = dict(Counter(a["severity"] for a in shown).most_common())
    out["by_rule_severity"] = dict(Counter(f"{a['rule']}:{a['severity']}" for a in shown).most_common())
    out["suppressed_by_rule"] = dict(Counter(a["rule"] for a in rows if a.get("suppressed_by")).most_common())
    out["tickets"] = sum(int(a.get("size") or 1) for a in shown)
    out["sizes"] = {rule: sorted((int(a.get("size") or 1) for a in shown if a["rule"] == rule), reverse=True)
                    for rule in out["by_rule"]}
    from sqlalchemy import text

    with stores.session() as session:  # the alert tables' size (retention: growth per day)
        out["table_rows"] = {t: session.scalar(text(f"SELECT count(*) FROM {t}"))
                             for t in ("alerts", "alert_events", "alert_items")}
        out["events_by_action"] = dict(session.execute(text(
            "SELECT action, count(*) FROM alert_events GROUP BY action ORDER BY 2 DESC")).all())
        out["resolved_by_rule"] = dict(session.execute(text(
            "SELECT rule, count(*) FROM alerts WHERE open_key IS NULL GROUP BY rule ORDER BY 2 DESC")).all())
        out["resolved_within_30min"] = session.scalar(text(
            "SELECT count(*) FROM alerts WHERE open_key IS NULL AND resolved_by = 'system' "
            "AND resolved_at - first_seen <= interval '30 minutes'")) if stores.dialect == "postgresql" else None
    out["sample"] = {rule: [f"{a['severity']} {a.get('city')} {a['title']} (oldest {a.get('oldest_at')})"
                            for a in shown if a["rule"] == rule][:samples]
                     for rule in out["by_rule"]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--redis", default="", help="Redis URL (default: an embedded one under --var-dir)")
    parser.add_argument("--var-dir", default=None)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--step", type=int, default=15, help="minutes between evaluations of the live day")
    parser.add_argument("--today", default=None, help="local date of the live day (default: today)")
    parser.add_argument("--until", default=None, help="end of the live day (ISO; default now)")
    parser.add_argument("--clone-from", default=None, help="PostgreSQL database holding only the seeded history")
    parser.add_argument("--phases", default="seed,live,report")
    parser.add_argument("--out", default=None)
    parser.add_argument("--old-addresses", action="store_true",
                        help="simulate the live day with the addresses of before the building number "
                             "(to continue a history seeded before that change)")
    args = parser.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("cockpit.ingest").setLevel(logging.WARNING)

    from cockpit.simulation import local_midnight
    from cockpit.simulation.seeding import history_window
    from cockpit.store.db import Stores

    settings = _settings(args.db, args.redis, args.var_dir)
    if args.old_addresses:
        from cockpit.simulation import catalog, engine

        def old_address(d, rng):
            u = rng.random()
            return f"{d.name}{d.streets[int(u * len(d.streets))]}{1 + int(u * 1e6) % catalog.HOUSE_NUMBERS}号"

        engine._address = old_address
    tz = settings.tz
    day = datetime.fromisoformat(args.today).date() if args.today else datetime.now(UTC).astimezone(tz).date()
    today = local_midnight(day)
    until = datetime.fromisoformat(args.until) if args.until else min(datetime.now(UTC), today + timedelta(days=1))
    origin = history_window(args.days, today)[0]
    phases = set(args.phases.split(","))
    result: dict = {"started": datetime.now(UTC).isoformat(), "today": day.isoformat(), "load_before": os.getloadavg()}
    if args.clone_from:
        clone_database(args.clone_from, args.db)
    stores = Stores.open(settings)
    try:
        if "seed" in phases:
            result["seed"] = seed(stores, days=args.days, seed_no=args.seed, today=today, workers=args.workers)
            log.info("seeded: %s", result["seed"])
        if "live" in phases:
            # No live rebuild (replaying 8 days into Redis costs more CPU than the day itself):
            # the Redis of the run starts empty and holds what the live day writes, as a demo's
            # Redis after a day (seats that never changed state today are not counted staffed).
            result["live"] = live_day(stores, seed_no=args.seed, origin=origin, start=today, end=until,
                                      step=timedelta(minutes=args.step))
        if "fresh" in phases:
            # The same data judged once from empty alert tables (as after a deployment's first
            # evaluation): compares two versions of the rules on identical data.
            from sqlalchemy import text

            from cockpit.watch import evaluate

            with stores.session() as session:
                session.execute(text("DELETE FROM alert_items"))
                session.execute(text("DELETE FROM alert_events"))
                session.execute(text("DELETE FROM alerts"))
                session.execute(text("DELETE FROM job_runs WHERE name = 'watchpoints:repeat_full'"))
            t0 = time.monotonic()
            report_ = evaluate.evaluate_all(stores, now=until)
            result["fresh"] = {"now": until.isoformat(), "wall_s": round(time.monotonic() - t0, 1),
                               "opened": sum(r.get("opened", 0) for r in report_.values())}
        if "report" in phases:
            result["report"] = report(stores)
    finally:
        stores.close()
    result["load_after"] = os.getloadavg()
    text = json.dumps(result, ensure_ascii=False, indent=1, default=str)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    print(text)


if __name__ == "__main__":
    main()
