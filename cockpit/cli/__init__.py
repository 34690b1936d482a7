"""The ``cockpit`` command line: one click group; every option has help text and an env var.

Sub-command modules register themselves on ``main`` when imported below.
"""

from __future__ import annotations

import click

from cockpit.settings import Settings, SettingsError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "COCKPIT"})
@click.pass_context
def main(ctx: click.Context) -> None:
    """Data cockpit for government service hotlines (12345 / 311)."""
    try:
        ctx.obj = Settings.from_env()
    except SettingsError as exc:  # a bad setting: its name and reason, not a traceback
        raise click.ClickException(str(exc)) from None


# Registration order is the order in --help.
from cockpit.cli import core, access, regions, sim, imports, kpi, reports, planning, watch  # noqa: E402,F401
