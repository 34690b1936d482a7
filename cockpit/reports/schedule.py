"""The scheduled job: write the last complete week's, month's and year's report for every city and
the province, once each (a report already in the archive is not written again).

Catches up after downtime: each run looks at the last *complete* periods, not at today's date.
Periods without any ticket or call are skipped (nothing to report).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from cockpit import periods
from cockpit.timeutil import utcnow
from cockpit.reports import MANIFEST, folder_name, reports_dir, write_report
from cockpit.reports.figures import _has_history
from cockpit.reports.render import PdfError
from cockpit.store.db import Stores
from cockpit.store.regions import resolve_scope
from cockpit.store.reports import report_cities

log = logging.getLogger(__name__)


def last_complete(kind: str, today: date) -> periods.Period:
    """The last whole week (Monday..Sunday), calendar month or calendar year before local ``today``."""
    if kind == "week":
        sunday = today - timedelta(days=today.isoweekday() % 7 or 7)
        return periods.period("week", sunday)
    if kind == "month":
        return periods.period("month", today.replace(day=1) - timedelta(days=1))
    return periods.period("year", date(today.year - 1, 12, 31))


def report_scopes(stores: Stores) -> list[str]:
    """The province and its cities (regions table), else the cities tickets carry."""
    province = stores.settings.province
    with stores.session() as session:
        cities = report_cities(session, province)
    return sorted(set(cities)) + [province]


def write_due_reports(stores: Stores, *, now: datetime | None = None, kinds=periods.PERIODS,
                      with_pdf: bool = True) -> list[dict]:
    """Write every missing report of the last complete periods; returns the manifests written."""
    now = now or utcnow()
    today = periods.default_end(now, stores.settings.tz) + timedelta(days=1)
    base = reports_dir(stores.settings)
    written = []
    for scope in report_scopes(stores):
        for kind in kinds:
            p = last_complete(kind, today)
            if (base / scope / folder_name(p) / MANIFEST).exists():
                continue
            start, end = p.window(stores.settings.tz)
            with stores.session() as session:
                cities, districts = resolve_scope(session, scope)[1:]
                if not cities or not _has_history(session, cities, districts, start, end):
                    continue
            try:
                written.append(write_report(stores, scope=scope, period=p, with_pdf=with_pdf, now=now))
            except PdfError:
                log.exception("report %s %s: PDF failed; HTML written", scope, p.label)
                written.append(write_report(stores, scope=scope, period=p, with_pdf=False, now=now))
    return written
