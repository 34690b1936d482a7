"""Simulator sub-commands: ``simulate`` (a stream of events) and ``seed`` (a stored history)."""

from __future__ import annotations

import json
import re
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from cockpit.cli import main
from cockpit.settings import Settings

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
POST_TIMEOUT_S = 30


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``1.5h``, ``7d``, ``2w`` (a bare number is seconds)."""
    match = _DURATION.match(text)
    if not match:
        raise click.BadParameter(f"{text!r} is not a duration like 30m, 1h, 7d")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def parse_moment(text: str | None, default: datetime | None = None) -> datetime:
    """An ISO 8601 instant; a value without a zone is read as UTC."""
    if not text:
        return default or datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _cities(text: str | None) -> list[str] | None:
    if not text:
        return None
    codes = [c.strip() for c in text.split(",") if c.strip()]
    from cockpit.simulation import catalog

    unknown = [c for c in codes if c not in catalog.cities()]
    if unknown:
        known = ", ".join(catalog.cities())
        raise click.BadParameter(
            f"unknown city codes {', '.join(unknown)}; known: {known}", param_hint="--cities"
        )
    return codes


def _log_incidents(items: list) -> None:
    for inc in items:
        click.echo("incident " + json.dumps(inc.as_dict(), ensure_ascii=False), err=True)


def _post(url: str, token: str | None, batch: list[dict]) -> dict:
    body = json.dumps(batch, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=POST_TIMEOUT_S) as response:
            return json.loads(response.read().decode("utf-8") or "{}")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:300]
        raise click.ClickException(f"POST {url} answered {exc.code}: {detail}") from exc
    except urllib.error.URLError as exc:
        raise click.ClickException(f"POST {url} failed: {exc.reason}") from exc


# Options shared by ``simulate`` and ``seed``.
cities_option = click.option(
    "--cities",
    default=None,
    envvar="COCKPIT_SIM_CITIES",
    help="Comma-separated city codes (default: all 14 Gansu cities).",
)
scale_option = click.option(
    "--scale",
    type=float,
    default=1.0,
    show_default=True,
    envvar="COCKPIT_SIM_SCALE",
    help="Multiply all volumes (1.0 = about 20,000 contacts per workday).",
)


@main.command()
@click.option(
    "--seed",
    type=int,
    default=1,
    show_default=True,
    envvar="COCKPIT_SIM_SEED",
    help="Random seed; the same seed and window always give the same events.",
)
@click.option(
    "--duration",
    default="1h",
    show_default=True,
    envvar="COCKPIT_SIM_DURATION",
    help="Simulated time to cover, e.g. 90s, 30m, 1h, 7d; 0 = until stopped (posting only).",
)
@click.option(
    "--start",
    default=None,
    envvar="COCKPIT_SIM_START",
    help="Start of the window (ISO 8601; no zone = UTC). Default: now.",
)
@click.option(
    "--speed",
    type=float,
    default=60.0,
    show_default=True,
    envvar="COCKPIT_SIM_SPEED",
    help="Simulated seconds per wall-clock second when posting; 0 = as fast as possible.",
)
@click.option(
    "--out",
    "out",
    default=None,
    envvar="COCKPIT_SIM_OUT",
    help="Write NDJSON to this file ('-' = stdout) instead of posting to the API.",
)
@click.option(
    "--url",
    default="http://127.0.0.1:8050",
    show_default=True,
    envvar="COCKPIT_SIM_URL",
    help="Base URL of the cockpit; events go to {url}/api/v1/events.",
)
@click.option("--token", default=None, envvar="COCKPIT_SIM_TOKEN", help="Bearer token for the events API.")
@cities_option
@scale_option
@click.option(
    "--incidents/--no-incidents",
    default=True,
    show_default=True,
    envvar="COCKPIT_SIM_INCIDENTS",
    help="Include the seeded incident schedule (surges, seat shortages, storms).",
)
@click.option(
    "--origin",
    default=None,
    envvar="COCKPIT_SIM_ORIGIN",
    help="Start of the seeded history (ISO 8601): no step of an earlier ticket is sent.",
)
@click.option(
    "--seat-detail/--no-seat-detail",
    default=None,
    envvar="COCKPIT_SIM_SEAT_DETAIL",
    help="Per-call seat states (on_call/acw/ready). Default: on when posting, off with --out.",
)
@click.option(
    "--batch",
    type=int,
    default=1000,
    show_default=True,
    envvar="COCKPIT_SIM_BATCH",
    help="Most events in one POST.",
)
@click.option(
    "--roster",
    "rosters",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    envvar="COCKPIT_SIM_ROSTER",
    help="A roster (the JSON of `cockpit roster --json`) whose shifts staff its city and week (repeatable).",
)
@click.pass_obj
def simulate(
    settings: Settings,
    seed: int,
    duration: str,
    start: str | None,
    speed: float,
    out: str | None,
    url: str,
    token: str | None,
    cities: str | None,
    scale: float,
    incidents: bool,
    origin: str | None,
    seat_detail: bool | None,
    batch: int,
    rosters: tuple[str, ...] = (),
) -> None:
    """Stream simulated Gansu 12345 traffic: NDJSON to --out, or POSTs in accelerated real time."""
    from cockpit.simulation.rosterseats import RosterSeats
    from cockpit.simulation import Province

    try:
        roster = RosterSeats([json.loads(Path(p).read_text(encoding="utf-8")) for p in rosters]) if rosters else None
    except (ValueError, KeyError) as exc:
        raise click.BadParameter(f"not a roster document: {exc}", param_hint="--roster") from None

    begin = parse_moment(start)
    span = parse_duration(duration)
    detail = seat_detail if seat_detail is not None else out is None
    prov = Province(
        seed=seed,
        cities=_cities(cities),
        scale=scale,
        incidents=incidents,
        seat_detail=detail,
        origin=parse_moment(origin) if origin else None,
        roster=roster,
    )
    if not span and out is not None:
        raise click.BadParameter(
            "an endless stream (--duration 0) cannot be written to --out", param_hint="--duration"
        )
    _log_incidents(prov.incidents(begin, begin + (span or timedelta(days=1))))
    if prov.origin_day is None:
        click.echo(
            "simulating the 15 days before the start first (their tickets are still open) ...", err=True
        )
    if out is not None:
        n = 0
        handle = sys.stdout if out == "-" else open(out, "w", encoding="utf-8")  # noqa: SIM115
        try:
            for event in prov.events(begin, begin + span):
                handle.write(json.dumps(event, ensure_ascii=False) + "\n")
                n += 1
        finally:
            if handle is not sys.stdout:
                handle.close()
        click.echo(f"wrote {n} events to {out}", err=True)
        return
    _stream(prov, begin, span, speed, url.rstrip("/") + "/api/v1/events", token, batch)


def _stream(
    prov, begin: datetime, span: timedelta, speed: float, endpoint: str, token: str | None, batch_max: int
) -> None:
    """POST events once their simulated time has come on the accelerated clock.

    The clock starts at the first event (after the start-up simulation); Ctrl-C sends what is
    pending and prints the totals.
    """
    t0 = begin.timestamp()
    wall0: float | None = None
    pending: list[dict] = []
    totals = {"sent": 0, "accepted": 0, "duplicates": 0, "rejected": 0}

    def flush() -> None:
        answer = _post(endpoint, token, pending)
        totals["sent"] += len(pending)
        totals["accepted"] += answer.get("accepted", 0)
        totals["duplicates"] += answer.get("duplicates", 0)
        totals["rejected"] += len(answer.get("rejected", []))
        pending.clear()

    windows = [(begin, begin + span)] if span else _days_from(prov, begin)
    try:
        for ms, _eid, event in (item for a, b in windows for item in prov.keyed_events(a, b)):
            if speed > 0:
                if wall0 is None:
                    wall0 = time.monotonic() - (ms / 1000.0 - t0) / speed
                due = wall0 + (ms / 1000.0 - t0) / speed
                if due > time.monotonic():
                    if pending:
                        flush()
                    wait = due - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
            pending.append(event)
            if len(pending) >= batch_max:
                flush()
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
    if pending:
        flush()
    click.echo(json.dumps(totals), err=True)


def _days_from(prov, begin: datetime):
    """Consecutive one-day windows from ``begin``, forever; logs each later day's incidents."""
    day = timedelta(days=1)
    yield begin, begin + day
    while True:
        begin += day
        _log_incidents(prov.incidents(begin, begin + day))
        yield begin, begin + day


@main.command()
@click.option(
    "--days",
    type=int,
    default=28,
    show_default=True,
    envvar="COCKPIT_SEED_DAYS",
    help="Days of history to write, ending at --end.",
)
@click.option(
    "--seed",
    type=int,
    default=1,
    show_default=True,
    envvar="COCKPIT_SIM_SEED",
    help="Random seed of the simulation.",
)
@click.option(
    "--end",
    default=None,
    envvar="COCKPIT_SEED_END",
    help="End of the history (ISO 8601; no zone = UTC). Default: now.",
)
@cities_option
@scale_option
@click.option(
    "--progress/--no-progress",
    default=None,
    envvar="COCKPIT_SEED_PROGRESS",
    help="Show a progress bar (simulated days) on stderr (default: when stderr is a terminal).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 16),
    default=None,
    envvar="COCKPIT_SEED_WORKERS",
    help="Loader processes, each simulating and loading a group of cities (default: one per core, at most 4).",
)
@click.option(
    "--columnar/--no-columnar",
    default=False,
    envvar="COCKPIT_SEED_COLUMNAR",
    help="Simulate in numpy columns (same model, other draws) and, on PostgreSQL, COPY them with set-based "
         "moves and ticket folds in SQL: several times faster (docs/performance.md).",
)
@click.pass_obj
def seed(
    settings: Settings,
    days: int,
    seed: int,
    end: str | None,
    cities: str | None,
    scale: float,
    progress: bool | None,
    workers: int | None,
    columnar: bool,
) -> None:
    """Write N days of simulated history through the ingestion path (idempotent per seed).

    The schema is created or upgraded first; incidents of the window are listed on stderr.
    """
    from cockpit.simulation import seed_history
    from cockpit.simulation.seeding import default_workers
    from cockpit.store.db import Stores

    from cockpit.store.migrate import upgrade

    upgrade(settings)  # idempotent: a fresh database gets its schema first
    stores = Stores.open(settings)
    try:
        result = seed_history(
            stores,
            days,
            seed=seed,
            end=parse_moment(end),
            progress=progress,
            cities=_cities(cities),
            scale=scale,
            workers=workers or default_workers(),
            columnar=columnar,
        )
    finally:
        stores.close()
    for inc in result.pop("incidents"):
        click.echo("incident " + json.dumps(inc, ensure_ascii=False), err=True)
    click.echo(json.dumps(result, ensure_ascii=False))
