"""`cockpit kpi`, `rankings`, `staffing`, `rollup`: the metric contract on the command line.

``--json`` prints exactly what the HTTP API answers for the same parameters; bad parameters
print ``{"error", "field"}`` and exit with status 2.
"""

from __future__ import annotations

import json
import sys

import click

from cockpit.cli import main
from cockpit.settings import Settings


def _stores(settings: Settings):
    from cockpit.store.db import Stores

    return Stores.open(settings)


def _emit(data, as_json: bool, render) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, default=str))
    else:
        render(data)


def _fail(exc) -> None:
    click.echo(json.dumps(exc.as_dict(), ensure_ascii=False), err=True)
    sys.exit(2)


def _pad(text: str, width: int) -> str:
    """``text`` padded to ``width`` terminal columns (a CJK character takes two)."""
    cols = sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)
    return text + " " * max(width - cols, 0)


def _pct(value) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _render_kpi(doc: dict) -> None:
    click.echo(f"{doc['scope']} ({doc['level']})  {doc['from']} .. {doc['to']}  "
               f"definitions {doc['definitions_version']}")
    if doc["offered"] is not None:
        click.echo(f"  calls    offered {doc['offered']}  answered {doc['answered']}"
                   f"  abandoned {doc['abandoned']} (short {doc['short_abandoned']})")
        click.echo(f"           connection {_pct(doc['connection_rate'])}"
                   f"  service level {_pct(doc['service_level'])} (<= {doc['sl_threshold_s']:g} s)"
                   f"  abandon {_pct(doc['abandon_rate'])}")
        asa = "-" if doc["asa_s"] is None else f"{doc['asa_s']:.1f} s"
        aht = "-" if doc["aht_s"] is None else f"{doc['aht_s']:.1f} s"
        click.echo(f"           ASA {asa}  AHT {aht}  waiting now {doc['waiting_now']}")
        click.echo(f"  seats    occupancy {_pct(doc['occupancy'])}  utilisation {_pct(doc['utilisation'])}"
                   f"  logged in now {doc['seats_logged_in_now']}")
    click.echo(f"  tickets  created {doc['tickets_created']}  closed {doc['tickets_closed']}"
               f"  overdue open now {doc['overdue_open_now']}")
    click.echo(f"           response {_pct(doc['response_rate'])}  resolution {_pct(doc['resolution_rate'])}"
               f"  satisfaction {_pct(doc['satisfaction_rate'])}"
               f"  on time {_pct(doc['on_time_closure_rate'])}")


@main.command()
@click.option("--scope", required=True, envvar="COCKPIT_KPI_SCOPE",
              help="Region code: a province, city or district.")
@click.option("--from", "from_", default=None, envvar="COCKPIT_KPI_FROM",
              help="Window start, ISO 8601; without a zone read in COCKPIT_TIMEZONE. Default: today 00:00.")
@click.option("--to", default=None, envvar="COCKPIT_KPI_TO",
              help="Window end (exclusive), ISO 8601. Default: now.")
@click.option("--sl-threshold", default=None, envvar="COCKPIT_KPI_SL_THRESHOLD",
              help="Service-level threshold in seconds (default COCKPIT_SL_THRESHOLD_S).")
@click.option("--json", "as_json", is_flag=True, envvar="COCKPIT_KPI_JSON", help="Print the API's JSON.")
@click.pass_obj
def kpi(settings: Settings, scope: str, from_: str | None, to: str | None, sl_threshold: str | None,
        as_json: bool) -> None:
    """Every KPI for a scope and a time window (same JSON as GET /api/v1/kpi)."""
    from cockpit.errors import ParamError
    from cockpit.http.kpi import kpi_document

    stores = _stores(settings)
    try:
        doc = kpi_document(stores, scope=scope, from_=from_, to=to, sl_threshold=sl_threshold)
    except ParamError as exc:
        _fail(exc)
    finally:
        stores.engine.dispose()
    _emit(doc, as_json, _render_kpi)


def _render_rankings(doc: dict) -> None:
    click.echo(f"{doc['level']} ranking in {doc['scope']}  {doc['from']} .. {doc['to']}")
    click.echo("  score: mean of rate/target x 100, as on the province screen (100 = every rate on target)")
    for row in doc["rows"]:
        score = "-" if row["score"] is None else f"{row['score'] * 100:.1f}"
        label = row.get("name") or row["key"] or "(none)"
        if row["key"] and label != row["key"]:
            label = f"{label} {row['key']}"
        click.echo(f"  {row['rank']:>3}  {_pad(label, 24)} score {score:>6}  "
                   f"resp {_pct(row['response_rate'])}  res {_pct(row['resolution_rate'])}  "
                   f"sat {_pct(row['satisfaction_rate'])}  on-time {_pct(row['on_time_closure_rate'])}  "
                   f"tickets {row['tickets_created']}")


@main.command()
@click.option("--scope", required=True, envvar="COCKPIT_KPI_SCOPE", help="Region code to rank within.")
@click.option("--level", default="district", show_default=True, envvar="COCKPIT_RANKINGS_LEVEL",
              help="What to rank: district, unit or city.")
@click.option("--from", "from_", default=None, envvar="COCKPIT_KPI_FROM", help="Window start, ISO 8601.")
@click.option("--to", default=None, envvar="COCKPIT_KPI_TO", help="Window end (exclusive), ISO 8601.")
@click.option("--json", "as_json", is_flag=True, envvar="COCKPIT_KPI_JSON", help="Print the API's JSON.")
@click.pass_obj
def rankings(settings: Settings, scope: str, level: str, from_: str | None, to: str | None,
             as_json: bool) -> None:
    """League table of districts, handling units or cities (same JSON as GET /api/v1/rankings)."""
    from cockpit.errors import ParamError
    from cockpit.http.kpi import rankings_document

    stores = _stores(settings)
    try:
        doc = rankings_document(stores, scope=scope, level=level, from_=from_, to=to)
    except ParamError as exc:
        _fail(exc)
    finally:
        stores.engine.dispose()
    _emit(doc, as_json, _render_rankings)


@main.command()
@click.option("--arrivals-per-hour", type=float, default=None, envvar="COCKPIT_STAFFING_ARRIVALS",
              help="Offered calls per hour (one-interval Erlang calculation, no database).")
@click.option("--aht", type=float, default=None, envvar="COCKPIT_STAFFING_AHT",
              help="Average handling time in seconds (talk + hold + after-call work).")
@click.option("--target", type=float, default=0.8, show_default=True, envvar="COCKPIT_STAFFING_TARGET",
              help="Service-level target as a fraction.")
@click.option("--threshold", type=float, default=None, envvar="COCKPIT_STAFFING_THRESHOLD",
              help="Answer-time threshold in seconds (default COCKPIT_SL_THRESHOLD_S).")
@click.option("--patience", type=float, default=None, envvar="COCKPIT_STAFFING_PATIENCE",
              help="Mean caller patience in seconds: adds the Erlang A answer.")
@click.option("--scope", default=None, envvar="COCKPIT_STAFFING_SCOPE",
              help="City code: plan now + 2 hours from the database instead of one calculation.")
@click.option("--at", default=None, envvar="COCKPIT_STAFFING_AT",
              help="Plan as of this ISO time (default now).")
@click.option("--json", "as_json", is_flag=True, envvar="COCKPIT_STAFFING_JSON", help="Print JSON.")
@click.pass_obj
def staffing(settings: Settings, arrivals_per_hour: float | None, aht: float | None, target: float,
             threshold: float | None, patience: float | None, scope: str | None, at: str | None,
             as_json: bool) -> None:
    """Seats required: Erlang C/A for one interval, or a plan for a city from its history."""
    from cockpit.errors import ParamError
    from cockpit.http.kpi import erlang_document, staffing_document

    threshold = settings.sl_threshold_s if threshold is None else threshold
    if scope:
        stores = _stores(settings)
        try:
            doc = staffing_document(stores, scope=scope, at=at, target=str(target))
        except ParamError as exc:
            _fail(exc)
        finally:
            stores.engine.dispose()

        def render(d):
            click.echo(f"{d['scope']} as of {d['now']}")
            for r in d["intervals"]:
                click.echo(f"  {r['start']}  forecast {r['forecast_offered']:8.1f}"
                           f"  need C {r['required_erlang_c']:>4}  A {r['required_erlang_a']:>4}"
                           f"  staffed {r['staffed']:>4}"
                           f"  projected SL {_pct(r['projected_service_level'])}")
        _emit(doc, as_json, render)
        return
    try:
        doc = erlang_document(arrivals_per_hour=arrivals_per_hour, aht=aht, target=target,
                              threshold=threshold, patience=patience)
    except ParamError as exc:
        _fail(exc)

    def render_one(d):
        click.echo(f"{d['erlangs']:.2f} erlangs -> {d['required_seats']} seats, service level "
                   f"{_pct(d['service_level'])}, occupancy {_pct(d['occupancy'])}")
        if "erlang_a" in d:
            click.echo(f"Erlang A (patience {patience:g} s): {d['erlang_a']['required_seats']} seats")
    _emit(doc, as_json, render_one)


@main.command()
@click.option("--from", "from_", default=None, envvar="COCKPIT_ROLLUP_FROM",
              help="First interval to recompute, ISO 8601 (default: 2 hours ago).")
@click.option("--to", default=None, envvar="COCKPIT_ROLLUP_TO",
              help="End of the range, ISO 8601 (default: now).")
@click.option("--city", "cities", multiple=True, envvar="COCKPIT_ROLLUP_CITIES",
              help="Only these city codes (repeatable); default all cities.")
@click.pass_obj
def rollup(settings: Settings, from_: str | None, to: str | None, cities: tuple[str, ...]) -> None:
    """Recompute the 15-minute rollups for a range, one day per transaction (idempotent), and
    (all cities) recount the frozen ticket cohorts and the day rollups of the local days it touches."""
    from datetime import timedelta

    from cockpit import timeutil
    from cockpit.metrics import rollups
    from cockpit.errors import ParamError
    from cockpit.http.kpi import parse_time

    now = timeutil.utcnow()
    try:
        start = parse_time(from_, "from", settings.tz) if from_ else now - rollups.JOB_LOOKBACK
        end = parse_time(to, "to", settings.tz) if to else now
    except ParamError as exc:
        _fail(exc)
    stores = _stores(settings)
    total = {"call_rollups_15m": 0, "ticket_rollups_15m": 0}
    try:
        day = start
        while day < end:
            stop = min(day + timedelta(days=1), end)
            with stores.session() as session:
                for k, v in rollups.rollup_range(session, day, stop, cities=list(cities) or None,
                                                 settings=settings, now=now).items():
                    total[k] += v
            day = stop
        if not cities:  # and the frozen ticket cohorts of those days (metrics.cohorts)
            from cockpit.metrics import cohorts

            total["ticket_cohort_days"] = cohorts.freeze_days(stores, start, end, now=now)["days"]
            # and the day rollups of those days (all of them when they were not kept as these settings count)
            from cockpit.store import days

            with stores.session() as session:
                total.update(days.rebuild(session, settings, start=timeutil.naive_utc(start),
                                          end=timeutil.naive_utc(end)))
    finally:
        stores.engine.dispose()
    click.echo(json.dumps({"from": start.isoformat(), "to": end.isoformat(), **total}))
