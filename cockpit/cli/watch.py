"""Watchpoint and alert commands: ``cockpit watch backtest``, ``cockpit alerts list|prune``."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import click

from cockpit.cli import main
from cockpit.settings import Settings

_EVERY = re.compile(r"^(\d+)\s*([smhd])$")


def _stores(settings: Settings):
    from cockpit.store.db import Stores

    return Stores.open(settings)


def _when(settings: Settings, text: str, name: str) -> datetime:
    """ISO 8601; a time without a zone is local (the deployment's zone)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 time: {text!r}", param_hint=name) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=settings.tz)


def _every(text: str) -> timedelta:
    m = _EVERY.match(text.strip().lower())
    if not m or int(m.group(1)) <= 0:
        raise click.BadParameter(f"expected a duration like 15m, 1h or 30s, not {text!r}", param_hint="--every")
    return timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[m.group(2)]: int(m.group(1))})


@main.group()
def watch() -> None:
    """Watchpoints: replay the rules over past data."""


@watch.command("backtest")
@click.option("--scope", required=True, help="Province, city or district code.")
@click.option("--from", "from_", required=True, help="Start, ISO 8601 (local time when no zone).")
@click.option("--to", "to", required=True, help="End, ISO 8601 (local time when no zone).")
@click.option("--every", default="15m", show_default=True, help="Evaluation step (s, m, h, d).")
@click.option("--rule", "rules", multiple=True, help="Only this rule (repeatable); default every rule.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (default: one line per alert).")
@click.pass_obj
def backtest_cmd(settings: Settings, scope: str, from_: str, to: str, every: str, rules: tuple[str, ...],
                 as_json: bool) -> None:
    """Replay the rules over [FROM, TO] of stored data; print the alerts that would have fired.

    The live alert tables are neither read nor written.
    """
    from cockpit.errors import UnknownScope
    from cockpit.watch.backtest import backtest

    start, end, step = _when(settings, from_, "--from"), _when(settings, to, "--to"), _every(every)
    stores = _stores(settings)
    try:
        found = backtest(stores, scope, start, end, every=step, rules=list(rules) or None)
    except UnknownScope as exc:
        raise click.BadParameter(str(exc), param_hint="--scope") from None
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    finally:
        stores.close()
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False))
        return
    for a in found:
        click.echo(f"{a['first_fired_at']}  {a['severity']:8s} {a['rule']:20s} {a['title']}")
    click.echo(f"{len(found)} alerts", err=True)


@main.group()
def alerts() -> None:
    """Alerts: list them, prune resolved ones past their retention."""


@alerts.command("list")
@click.option("--scope", default=None, help="Province, city or district code (default: everything).")
@click.option("--status", default="open", show_default=True,
              help="open (any open state), all, or one state: pending, firing, acknowledged, escalated, resolved.")
@click.option("--rule", default=None, help="Only this rule.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_obj
def list_cmd(settings: Settings, scope: str | None, status: str, rule: str | None, as_json: bool) -> None:
    """Every alert of a scope, most urgent first (severity, size, age); no cap."""
    from cockpit.errors import UnknownScope
    from cockpit.watch import alerts as al

    stores = _stores(settings)
    out: list[dict] = []
    try:
        with stores.session() as session:
            offset = 0
            while True:
                page = al.inbox(session, scope=scope, rule=rule, state=status, limit=al.MAX_LIMIT, offset=offset)
                if offset == 0 and page["suppressed"]:
                    extra = al.inbox(session, scope=scope, rule=rule, state=status, suppressed=True,
                                     limit=al.MAX_LIMIT)
                    hidden = extra["items"]
                else:
                    hidden = []
                out += page["items"] + hidden
                offset += len(page["items"])
                if len(page["items"]) < page["limit"]:
                    break
    except UnknownScope as exc:
        raise click.BadParameter(str(exc), param_hint="--scope") from None
    except al.AlertError as exc:
        raise click.BadParameter(str(exc), param_hint="--status") from None
    finally:
        stores.close()
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    for a in out:
        click.echo(f"#{a['id']:<7} {a['severity']:8s} {a['state']:12s} {a['rule']:20s} {a['title']}")
    click.echo(f"{len(out)} alerts", err=True)


@alerts.command("prune")
@click.option("--keep-days", default=90, show_default=True, type=click.IntRange(1, 3650),
              help="Delete resolved alerts (with their history and items) resolved more than this many days ago.")
@click.pass_obj
def prune_cmd(settings: Settings, keep_days: int) -> None:
    """Retention: remove resolved alerts past --keep-days; prints counts as JSON."""
    from cockpit.watch import alerts as al

    stores = _stores(settings)
    try:
        with stores.session() as session:
            counts = al.prune(session, keep_days=keep_days)
    finally:
        stores.close()
    click.echo(json.dumps(counts))
