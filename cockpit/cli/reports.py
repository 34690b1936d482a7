"""`cockpit assess`, `report`, `topics`: the assessment, written reports and hot topics.

``--json`` prints what the HTTP API answers for the same parameters; bad parameters print
``{"error", "field"}`` on stderr and exit with status 2.
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


def _fail(exc) -> None:
    click.echo(json.dumps(exc.as_dict(), ensure_ascii=False), err=True)
    sys.exit(2)


def _num(value, fmt="{:.1f}") -> str:
    return "-" if value is None else fmt.format(value)


def _render_assessment(doc: dict) -> None:
    click.echo(f"assessment of {doc['level']}s in {doc['scope']}, {doc['period']['label']}  "
               f"weights {', '.join(f'{k}={v:g}' for k, v in doc['weights'].items() if v)}")
    for row in doc["rows"]:
        rank = "-" if row["rank"] is None else str(row["rank"])
        click.echo(f"  {rank:>3}  {row['key'] or '(none)':<24} score {_num(row['score']):>6}"
                   f"  unadjusted {_num(row['score_unadjusted']):>6}  tickets {row['tickets_created']}")


@main.command()
@click.option("--scope", required=True, envvar="COCKPIT_ASSESS_SCOPE", help="Region code to assess within.")
@click.option("--level", default="district", show_default=True, envvar="COCKPIT_ASSESS_LEVEL",
              help="What to score: district or unit (handling unit).")
@click.option("--period", default="month", show_default=True, envvar="COCKPIT_ASSESS_PERIOD",
              help="week, month or year ending on --end.")
@click.option("--end", default=None, envvar="COCKPIT_ASSESS_END",
              help="Last local day of the period, YYYY-MM-DD (default: yesterday).")
@click.option("--weights", default=None, envvar="COCKPIT_ASSESS_WEIGHTS",
              help="Override the configured weights: metric=weight,... (response_rate, "
                   "on_time_closure_rate, satisfaction_rate, rework_rate, return_rate).")
@click.option("--json", "as_json", is_flag=True, envvar="COCKPIT_ASSESS_JSON", help="Print the API's JSON.")
@click.pass_obj
def assess(settings: Settings, scope: str, level: str, period: str, end: str | None, weights: str | None,
           as_json: bool) -> None:
    """Score districts or handling units, adjusted for their mix of categories (GET /api/v1/assessment)."""
    from cockpit.http.kpi import ParamError
    from cockpit.http.reports import assessment_document

    stores = _stores(settings)
    try:
        doc = assessment_document(stores, scope=scope, level=level, period=period, end=end, weights=weights)
    except ParamError as exc:
        _fail(exc)
    finally:
        stores.engine.dispose()
    if as_json:
        click.echo(json.dumps(doc, ensure_ascii=False, default=str))
    else:
        _render_assessment(doc)
