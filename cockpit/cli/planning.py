"""`cockpit forecast` and `cockpit roster`: seat planning on the command line.

``--json`` prints exactly what the HTTP API answers for the same parameters; bad parameters
print ``{"error", "field"}`` and exit with status 2.
"""

from __future__ import annotations

import click

from cockpit.cli import main
from cockpit.cli.kpi import _emit, _fail, _stores
from cockpit.settings import Settings


@main.command()
@click.option("--scope", required=True, envvar="COCKPIT_FORECAST_SCOPE", help="City or province code.")
@click.option("--days", type=int, default=1, show_default=True, envvar="COCKPIT_FORECAST_DAYS",
              help="How many days ahead (1..35).")
@click.option("--from", "from_", default=None, envvar="COCKPIT_FORECAST_FROM",
              help="First interval, ISO 8601 (default: the current interval).")
@click.option("--level", type=float, default=0.8, show_default=True, envvar="COCKPIT_FORECAST_LEVEL",
              help="Central prediction interval, as a fraction.")
@click.option("--json", "as_json", is_flag=True, envvar="COCKPIT_FORECAST_JSON", help="Print the API's JSON.")
@click.pass_obj
def forecast(settings: Settings, scope: str, days: int, from_: str | None, level: float, as_json: bool) -> None:
    """Calls offered per 15 minutes for the next days, with prediction intervals (GET /api/v1/forecast)."""
    from cockpit.errors import ParamError
    from cockpit.http.planning import forecast_document

    stores = _stores(settings)
    try:
        doc = forecast_document(stores, scope=scope, days=days, from_=from_, level=level)
    except ParamError as exc:
        _fail(exc)
    finally:
        stores.engine.dispose()

    def render(d):
        click.echo(f"{d['scope']}: {d['method']}, {round(d['level'] * 100)}% intervals ({d['timezone']} days)")
        for row in d["per_day"]:
            click.echo(f"  {row['date']}  {row['forecast']:10.1f} calls")
    _emit(doc, as_json, render)


@main.command()
@click.option("--scope", required=True, envvar="COCKPIT_ROSTER_SCOPE", help="City or province code.")
@click.option("--week", default=None, envvar="COCKPIT_ROSTER_WEEK", help="ISO week YYYY-Www (default next week).")
@click.option("--target", type=float, default=None, envvar="COCKPIT_ROSTER_TARGET",
              help="Service-level target (default the deployment's; a plan for another target is not kept).")
@click.option("--replan", is_flag=True, envvar="COCKPIT_ROSTER_REPLAN",
              help="Plan again from the data up to now instead of showing the kept plan.")
@click.option("--json", "as_json", is_flag=True, envvar="COCKPIT_ROSTER_JSON", help="Print the API's JSON.")
@click.pass_obj
def roster(settings: Settings, scope: str, week: str | None, target: float | None, replan: bool,
           as_json: bool) -> None:
    """Shift roster for a week: head count per shift, breaks, coverage and projected service level."""
    from cockpit.errors import ParamError
    from cockpit.http.planning import roster_document

    stores = _stores(settings)
    try:
        doc = roster_document(stores, scope=scope, week=week, target=target, replan=replan)
    except ParamError as exc:
        _fail(exc)
    finally:
        stores.engine.dispose()

    def render(d):
        t = d["totals"]
        click.echo(f"{d['scope']} {d['week']}: {t['people_shifts']} shifts, {t['paid_hours']} paid hours, "
                   f"short {t['under_staffed_seat_hours']} / over {t['over_staffed_seat_hours']} seat-hours, "
                   f"{t['intervals_below_target']} intervals below {d['service_level_target']:.0%}")
        for day in d["days"]:
            parts = [f"{s['shift']} {s['start']}-{s['end']} x{s['people']}" for s in day["shifts"]]
            click.echo(f"  {day['date']}  " + ", ".join(parts))
    _emit(doc, as_json, render)
