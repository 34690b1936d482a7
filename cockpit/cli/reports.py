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
    from cockpit.errors import ParamError
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


@main.command()
@click.option("--scope", required=True, envvar="COCKPIT_REPORT_SCOPE", help="Region code: province, city or district.")
@click.option("--period", default="week", show_default=True, envvar="COCKPIT_REPORT_PERIOD",
              help="week, month or year ending on --end.")
@click.option("--end", default=None, envvar="COCKPIT_REPORT_END",
              help="Last local day of the period, YYYY-MM-DD (default: yesterday).")
@click.option("--out", "out_dir", default=None, envvar="COCKPIT_REPORT_OUT",
              help="Folder to write into (default: COCKPIT_REPORTS_DIR, else VAR_DIR/reports).")
@click.option("--lang", "langs", default="zh,en", show_default=True, envvar="COCKPIT_REPORT_LANGS",
              help="Languages to write, comma separated (zh, en).")
@click.option("--no-pdf", is_flag=True, envvar="COCKPIT_REPORT_NO_PDF", help="Write HTML only.")
@click.pass_obj
def report(settings: Settings, scope: str, period: str, end: str | None, out_dir: str | None, langs: str,
           no_pdf: bool) -> None:
    """Write a report (offline HTML + PDF) and print JSON naming the files and the headline figures."""
    from pathlib import Path

    from cockpit.errors import ParamError
    from cockpit.http.reports import check_scope, parse_period
    from cockpit.timeutil import utcnow
    from cockpit.reports import render, write_report

    chosen = tuple(x.strip() for x in langs.split(",") if x.strip())
    stores = _stores(settings)
    try:
        bad = [x for x in chosen if x not in render.LANGS]
        if bad or not chosen:
            raise ParamError("lang", f"languages must be among {', '.join(render.LANGS)}")
        p = parse_period(period, end, tz=settings.tz, now=utcnow())
        check_scope(stores, scope)
        manifest = write_report(stores, scope=scope, period=p, out_dir=Path(out_dir) if out_dir else None,
                                langs=chosen, with_pdf=not no_pdf)
    except ParamError as exc:
        _fail(exc)
    except render.PdfError as exc:
        click.echo(json.dumps({"error": str(exc), "field": "pdf"}, ensure_ascii=False), err=True)
        sys.exit(1)
    finally:
        stores.engine.dispose()
    manifest.pop("narrative", None)
    click.echo(json.dumps(manifest, ensure_ascii=False))


@main.command()
@click.option("--scope", required=True, envvar="COCKPIT_TOPICS_SCOPE", help="Region code: province, city or district.")
@click.option("--from", "from_", default=None, envvar="COCKPIT_TOPICS_FROM",
              help="Window start, ISO 8601 (without a zone: COCKPIT_TIMEZONE). Default: today 00:00.")
@click.option("--to", default=None, envvar="COCKPIT_TOPICS_TO", help="Window end (exclusive), ISO 8601. Default: now.")
@click.option("--json", "as_json", is_flag=True, envvar="COCKPIT_TOPICS_JSON", help="Print the API's JSON.")
@click.pass_obj
def topics(settings: Settings, scope: str, from_: str | None, to: str | None, as_json: bool) -> None:
    """Hot topics in the text of requests, ranked by growth against the windows before (GET /api/v1/topics)."""
    from cockpit.errors import ParamError
    from cockpit.http.reports import topics_document

    stores = _stores(settings)
    try:
        doc = topics_document(stores, scope=scope, from_=from_, to=to)
    except ParamError as exc:
        _fail(exc)
    finally:
        stores.engine.dispose()
    if as_json:
        click.echo(json.dumps(doc, ensure_ascii=False))
        return
    click.echo(f"hot topics in {doc['scope']}  {doc['from']} .. {doc['to']}")
    for t in doc["topics"]:
        mark = "*" if t["emerging"] else " "
        growth = "-" if t["growth"] is None else f"{t['growth']:.1f}"
        click.echo(f"  {t['rank']:>3}{mark} {t['label']:<30} {t['count']:>4} requests  growth {growth}"
                   f"  e.g. {t['example']}")
