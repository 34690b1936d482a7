"""`cockpit import calls|tickets`: real data files into the cockpit (see docs/importers.md)."""

from __future__ import annotations

import json

import click

from cockpit.cli import main
from cockpit.importers import CALL_FORMATS, DEFAULT_TZ, TICKET_FORMATS
from cockpit.settings import Settings

CITY_HELP = "Region code of the city the file belongs to (e.g. NYC, LA, 620100)."
TZ_HELP = "IANA zone of the file's wall-clock timestamps (default per format: {})."
BATCH_HELP = "Events per bulk chunk (one transaction each)."


def _check_tz(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(
            f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)") from None
    return value


def _run(settings: Settings, file: str, fmt: str, city: str, tz: str | None, batch_size: int,
         progress: bool | None = None) -> None:
    from cockpit.importers import UnknownCity, run
    from cockpit.store.db import Stores

    def report(ref: str, errors: list[dict]) -> None:
        reasons = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        click.echo(f"rejected {ref}: {reasons}", err=True)

    stores = Stores.open(settings)
    try:
        from cockpit.watch.pause import history_load

        from cockpit.bulk import progress_bar

        bar = progress_bar(progress, desc=f"importing {fmt}", unit="row")  # None: only on a terminal
        with history_load(stores, "import"):  # no live alerts for a half-loaded past
            summary = run(stores, file, fmt, city=city, tz=tz, batch_size=batch_size, on_reject=report,
                          progress=bar)
        if bar is not None:
            bar.close()
    except UnknownCity as exc:
        raise click.BadParameter(str(exc), param_hint="--city") from None
    finally:
        stores.close()
    # The summary is the last line on stdout, one JSON object, so scripts can read it.
    click.echo(json.dumps(summary, ensure_ascii=False, default=str))
    if summary["file_error"]:
        raise SystemExit(1)


@main.group(name="import")
def import_group() -> None:
    """Import real data files (call logs, 311 exports) as events; idempotent."""


def _tz_help(formats: tuple[str, ...]) -> str:
    return TZ_HELP.format(", ".join(f"{f} {DEFAULT_TZ[f]}" for f in formats))


@import_group.command("calls")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(CALL_FORMATS), default=CALL_FORMATS[0], show_default=True,
              envvar="COCKPIT_IMPORT_CALLS_FORMAT", help="Layout of the call log.")
@click.option("--city", required=True, envvar="COCKPIT_IMPORT_CITY", help=CITY_HELP)
@click.option("--tz", default=None, envvar="COCKPIT_IMPORT_TZ", callback=_check_tz,
              help=_tz_help(CALL_FORMATS))
@click.option("--batch-size", default=2000, show_default=True, type=click.IntRange(1, 10_000),
              envvar="COCKPIT_IMPORT_BATCH_SIZE", help=BATCH_HELP)
@click.option("--progress/--no-progress", default=None, envvar="COCKPIT_IMPORT_PROGRESS",
              help="Show a progress bar (rows read) on stderr (default: when stderr is a terminal).")
@click.pass_obj
def import_calls(settings: Settings, file: str, fmt: str, city: str, tz: str | None, batch_size: int,
                 progress: bool | None) -> None:
    """Import a per-call log (FILE may be gzipped) as call and seat events.

    Rejected rows are listed on stderr; a JSON summary is the last line on stdout. Exit status 1
    when the file cannot be read at all (wrong format), 0 otherwise (see rejected in the summary).
    """
    _run(settings, file, fmt, city, tz, batch_size, progress)


@import_group.command("tickets")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(TICKET_FORMATS), required=True,
              envvar="COCKPIT_IMPORT_TICKETS_FORMAT", help="Layout of the export.")
@click.option("--city", required=True, envvar="COCKPIT_IMPORT_CITY", help=CITY_HELP)
@click.option("--tz", default=None, envvar="COCKPIT_IMPORT_TZ", callback=_check_tz,
              help=_tz_help(TICKET_FORMATS))
@click.option("--batch-size", default=2000, show_default=True, type=click.IntRange(1, 10_000),
              envvar="COCKPIT_IMPORT_BATCH_SIZE", help=BATCH_HELP)
@click.option("--progress/--no-progress", default=None, envvar="COCKPIT_IMPORT_PROGRESS",
              help="Show a progress bar (rows read) on stderr (default: when stderr is a terminal).")
@click.pass_obj
def import_tickets(
    settings: Settings, file: str, fmt: str, city: str, tz: str | None, batch_size: int, progress: bool | None
) -> None:
    """Import a 311 service-request export (CSV or GeoReport JSON, may be gzipped) as ticket events.

    Rejected rows are listed on stderr; a JSON summary is the last line on stdout. Exit status 1
    when the file cannot be read at all (wrong format), 0 otherwise (see rejected in the summary).
    """
    _run(settings, file, fmt, city, tz, batch_size, progress)
