"""Benchmark: how long a written report, the assessment and hot topics take on a seeded database.

Reads the database of the current settings (``COCKPIT_DATABASE_URL``; seed one first, e.g.
``cockpit seed --days 35 --cities 620100 --scale 0.3 --end 2026-11-30T00:00:00``) and times, for one
scope and one period (medians of --repeat runs): the figures (``reports.figures.gather``, topics
excluded), hot topics (``topics.topics_for``), the assessment, the HTML of both languages, and one
PDF printed by headless Chromium.

    python bench/reports.py --scope 620100 --period month --end 2026-11-29 [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe  # noqa: E402
from cockpit import periods, topics  # noqa: E402
from cockpit.metrics import assessment  # noqa: E402
from cockpit.reports import figures, render  # noqa: E402
from cockpit.settings import Settings  # noqa: E402
from cockpit.store.db import Stores  # noqa: E402
from cockpit.store.models import Ticket  # noqa: E402


def timed(fn, repeat: int):
    runs, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scope", default="620100")
    ap.add_argument("--period", default="month", choices=periods.PERIODS)
    ap.add_argument("--end", default="2026-11-29")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    settings = Settings.from_env()
    stores = Stores.open(settings)
    p = periods.period(args.period, date.fromisoformat(args.end))
    start, end = p.window(settings.tz)
    print(describe(f"db {stores.engine.dialect.name}"))
    with stores.session() as session:
        from sqlalchemy import func, select

        n = session.scalar(select(func.count()).select_from(Ticket).where(
            Ticket.created_at >= start, Ticket.created_at < end))
    print(f"scope {args.scope}, {p.kind} {p.label}: {n:,} tickets created in the period")
    with stores.session() as session:
        t_fig, figs = timed(lambda: figures.gather(session, scope=args.scope, period=p, settings=settings), args.repeat)
        t_top, found = timed(lambda: topics.topics_for(session, scope=args.scope, start=start, end=end), args.repeat)
        t_ass, _ = timed(lambda: assessment.assess(session, scope=args.scope, level="unit", start=start, end=end,
                                                   settings=settings), args.repeat)
    figs["topics"] = found[:5]
    env = render.environment(settings)
    t_html, pages = timed(lambda: {lang: render.html(figs, lang, env) for lang in render.LANGS}, args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.zh.html"
        page.write_text(pages["zh"], encoding="utf-8")
        t_pdf, pdf = timed(lambda: render.pdf(page, Path(tmp) / "report.zh.pdf"), 1)
        pdf_kb = pdf.stat().st_size / 1024
    print(f"figures (contract KPIs x3 periods, rankings, categories, alerts, cases, staffing): {t_fig:.2f} s")
    print(f"hot topics ({len(found)} found): {t_top:.2f} s")
    print(f"assessment of handling units: {t_ass:.2f} s")
    print(f"HTML zh + en: {t_html:.3f} s ({len(pages['zh']) / 1024:.0f} KiB zh)")
    print(f"PDF zh (headless Chromium, one run): {t_pdf:.2f} s ({pdf_kb:.0f} KiB)")
    stores.engine.dispose()


if __name__ == "__main__":
    main()
