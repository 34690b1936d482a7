"""Core sub-commands: demo, serve, worker, db, ingest, live, tokens, deadletter."""

from __future__ import annotations

import json
import logging
import sys

import click

from cockpit.cli import main
from cockpit.settings import Settings

log = logging.getLogger("cockpit")
INGEST_CHUNK = 5000


def _stores(settings: Settings):
    from cockpit.store.db import Stores

    return Stores.open(settings)


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, default=str))


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, envvar="COCKPIT_DB_REVISION",
              help="Alembic revision to upgrade to.")
@click.pass_obj
def db_upgrade(settings: Settings, revision: str) -> None:
    """Create or migrate the SQL schema (Alembic)."""
    from cockpit.store.migrate import upgrade

    upgrade(settings, revision)
    click.echo(f"database at {revision}: {settings.sqlalchemy_url.split('@')[-1]}")


@db.command("partitions")
@click.option("--ahead", default=None, type=click.IntRange(0, 120),
              help="Months after the current one to create partitions for [default: COCKPIT_PARTITIONS_AHEAD, 3].")
@click.pass_obj
def db_partitions(settings: Settings, ahead: int | None) -> None:
    """Create the monthly partitions ahead (PostgreSQL) and list every partition with its rows."""
    from cockpit.store import partitions

    stores = _stores(settings)
    try:
        with stores.engine.begin() as conn:
            created = partitions.ensure_partitions(conn, ahead=settings.partitions_ahead if ahead is None else ahead)
        with stores.engine.connect() as conn:
            tables = {t: [{"name": p.name, "from": p.lower and p.lower.isoformat(),
                           "to": p.upper and p.upper.isoformat(), "rows": p.rows}
                          for p in partitions.list_partitions(conn, t, count_rows=True)]
                      for t in partitions.PARTITIONED if partitions.is_partitioned(conn, t)}
    finally:
        stores.close()
    _echo_json({"dialect": stores.dialect, "created": created, "partitions": tables})


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--source", default="cli", show_default=True, envvar="COCKPIT_INGEST_SOURCE",
              help="Source label kept with rejected lines in the dead-letter table.")
@click.pass_obj
def ingest(settings: Settings, file: str, source: str) -> None:
    """Ingest an NDJSON file of events; prints the same JSON answer as the API.

    Every line is stored or dead-lettered with its line number (``line`` in each rejection):
    lines that are not UTF-8 or not JSON included. The JSON summary is printed even when a store
    fails half-way (with ``error`` and ``stopped_at_line``; exit status 1): re-running the same
    file is safe, stored lines count as duplicates.
    """
    from cockpit.ingest import IngestResult, ingest_batch

    stores = _stores(settings)
    total = IngestResult()
    raws: list = []
    refs: list[str] = []
    lines: list[int] = []
    line_of: list[int] = []
    offset = 0
    failure: dict | None = None

    def flush() -> None:
        nonlocal offset, raws, refs, lines
        if raws:
            total.add(ingest_batch(stores, raws, source=source, row_refs=refs), index_offset=offset)
            offset += len(raws)
            line_of.extend(lines)
            raws, refs, lines = [], [], []

    stream = sys.stdin.buffer if file == "-" else open(file, "rb")
    number = 0
    try:
        with stream:
            for number, line in enumerate(stream, start=1):
                raw = parse_line(line)
                if raw is None:
                    continue
                raws.append(raw)
                refs.append(f"line {number}")
                lines.append(number)
                if len(raws) >= INGEST_CHUNK:
                    flush()
            flush()
    except Exception as exc:  # noqa: BLE001 - the summary is printed whatever happens
        log.error("ingest stopped: %s", exc.__class__.__name__)
        failure = {"error": f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}",
                   "stopped_at_line": (lines[0] if lines else number)}
    answer = total.as_dict()
    for rejected in answer["rejected"]:
        rejected["line"] = line_of[rejected["index"]]
    _echo_json({**answer, **(failure or {})})
    if failure:
        sys.exit(1)


def parse_line(line: bytes):
    """One NDJSON line -> the parsed value, an ``Unparsed`` (not UTF-8, not JSON) or None (blank)."""
    from cockpit.events import Unparsed

    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Unparsed(line.decode("utf-8", "backslashreplace").rstrip("\r\n"), f"not UTF-8 ({exc.reason} at byte {exc.start})")
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        return Unparsed(text.rstrip("\r\n"), str(exc))
    except RecursionError:
        return Unparsed(text.rstrip("\r\n")[:1000], "nested too deeply")


@main.group()
def live() -> None:
    """Redis live counters."""


@live.command("rebuild")
@click.pass_obj
def live_rebuild(settings: Settings) -> None:
    """Recompute every Redis counter from SQL; safe while ingestion runs. Stored events it cannot
    apply are skipped, listed and dead-lettered (source ``rebuild``)."""
    from cockpit.ingest import rebuild_live_report

    report = rebuild_live_report(_stores(settings))
    _echo_json({"replayed_events": report.replayed, **({"skipped": report.skipped} if report.skipped else {})})


@main.group()
def tokens() -> None:
    """API tokens."""


@tokens.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True, envvar="COCKPIT_TOKEN_SCOPE",
              help="Region code the token may write (repeat for several; '*' for all).")
@click.option("--expires-days", type=int, default=None, envvar="COCKPIT_TOKEN_EXPIRES_DAYS",
              help="Days until the token expires (default: never).")
@click.pass_obj
def tokens_create(settings: Settings, name: str, scopes: tuple[str, ...], expires_days: int | None) -> None:
    """Create a bearer token; the token is printed once and stored only as a hash."""
    from datetime import UTC, datetime, timedelta

    from cockpit.auth import audit
    from cockpit.store import tokens as tk

    expires = (datetime.now(UTC).replace(tzinfo=None, microsecond=0) + timedelta(days=expires_days)
               if expires_days else None)
    try:
        with _stores(settings).session() as session:
            token = tk.create(session, name, scopes, expires_at=expires)
            audit.record(session, actor="cli", actor_kind="cli", action="token_create", target=name,
                         scope=",".join(scopes)[:32])
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(token)


@main.group()
def deadletter() -> None:
    """Rejected events and import rows."""


@deadletter.command("list")
@click.option("--limit", default=50, show_default=True, envvar="COCKPIT_DEADLETTER_LIMIT",
              help="How many, newest first.")
@click.option("--source", default=None, envvar="COCKPIT_DEADLETTER_SOURCE", help="Only this source.")
@click.pass_obj
def deadletter_list(settings: Settings, limit: int, source: str | None) -> None:
    """List rejected items with their reasons, one JSON object per line."""
    from cockpit.store import deadletter as dl

    with _stores(settings).session() as session:
        for row in dl.listing(session, limit=limit, source=source):
            _echo_json({"id": row.id, "received_at": row.received_at.isoformat() + "Z", "source": row.source,
                        "row": row.row_ref, "event_id": row.event_id, "errors": row.errors, "raw": row.raw})


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, envvar="COCKPIT_HOST", help="Address to bind.")
@click.option("--port", default=8050, show_default=True, envvar="COCKPIT_PORT", help="Port to bind.")
@click.option("--debug/--no-debug", default=False, envvar="COCKPIT_DEBUG", help="Dash debug mode.")
@click.pass_obj
def serve(settings: Settings, host: str, port: int, debug: bool) -> None:
    """Run the web app (development server; use gunicorn 'app:server' in production)."""
    import signal

    from app import create_app
    from cockpit.store.db import stop_embedded_redis

    from cockpit.auth.web import QuietRequestHandler

    app = create_app(settings, warm=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # SIGTERM ends it like Ctrl-C: cleanup runs
    try:
        app.run(host=host, port=port, debug=debug, request_handler=QuietRequestHandler)
    finally:
        stop_embedded_redis(app.server.config["COCKPIT_STORES"].redis)


@main.command()
@click.pass_obj
def worker(settings: Settings) -> None:
    """Run the scheduled jobs (rollups, live repair, watchpoints) until interrupted."""
    from cockpit.jobs import lower_priority, run_worker

    lower_priority(settings.worker_nice)
    run_worker(_stores(settings))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, envvar="COCKPIT_HOST", help="Address to bind.")
@click.option("--port", default=8050, show_default=True, envvar="COCKPIT_PORT", help="Port to bind.")
@click.option("--days", default=28, show_default=True, envvar="COCKPIT_DEMO_DAYS",
              help="Days of simulated history to seed when the database is empty.")
@click.option("--seed", "seed", default=12345, show_default=True, envvar="COCKPIT_DEMO_SEED",
              help="Random seed of the simulated province.")
@click.pass_obj
def demo(settings: Settings, host: str, port: int, days: int, seed: int) -> None:
    """Everything on one machine: SQLite + embedded Redis, real boundaries, seeded history, live traffic."""
    from cockpit.demo import run_demo

    run_demo(settings, host=host, port=port, days=days, seed=seed)


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)


configure_logging()
