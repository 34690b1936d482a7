"""Health probes: can the database take a write *now*, and is the live store complete?

``/healthz`` used to run ``SELECT 1``, which succeeds on a database that is locked for writing:
the page said ok while every POST hung. The write probe takes the locks an ingest takes, with a
one-second budget, and gives them back without writing anything.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import text

from cockpit.store import live

PROBE_TIMEOUT_S = 1.0
INGEST_TABLES = ("events", "event_ids", "calls", "seats", "ticket_steps", "seat_state_changes", "tickets",
                 "dead_letters")  # event_ids: the claim trigger of events writes it


def database_writable(stores) -> str | None:
    """None when an ingest could take its write locks within PROBE_TIMEOUT_S, else the reason."""
    try:
        if stores.dialect == "postgresql":
            ms = int(PROBE_TIMEOUT_S * 1000)
            with stores.engine.connect() as conn:
                conn.execute(text(f"SET LOCAL lock_timeout = {ms}"))
                conn.execute(text(f"SET LOCAL statement_timeout = {2 * ms}"))
                conn.execute(text(f"LOCK TABLE {', '.join(INGEST_TABLES)} IN ROW EXCLUSIVE MODE"))
                conn.rollback()
            return None
        database = stores.engine.url.database
        if not database or database == ":memory:":
            return None
        conn = sqlite3.connect(database, timeout=PROBE_TIMEOUT_S, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        finally:
            conn.close()
        return None
    except Exception as exc:  # noqa: BLE001 - a probe reports, it never raises
        return f"not writable: {exc.__class__.__name__}: {str(exc).strip().splitlines()[0][:160] if str(exc) else ''}"


def health(stores, *, recent_failure: bool = False) -> dict:
    """``Stores.health`` plus the write probe and the live store's epoch state. Never raises."""
    report = stores.health()
    if report["database"]["ok"]:
        problem = database_writable(stores)
        if problem:
            report["database"] = {"ok": False, "error": problem, "dialect": stores.dialect}
        elif recent_failure:
            report["database"]["recovered"] = True
    if report["redis"]["ok"]:
        try:
            report["redis"]["live"] = live.epoch_state(stores.redis)
        except Exception as exc:  # noqa: BLE001
            report["redis"] = {"ok": False, "error": str(exc)[:200]}
    report["ok"] = report["database"]["ok"] and report["redis"]["ok"]
    return report
