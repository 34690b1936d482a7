"""Written reports: figures from the metric contract -> narrative, HTML and PDF files, archived by scope.

``write_report`` is what ``cockpit report`` and the scheduled job call; ``archive`` lists what was
written. Layout of the archive: ``<reports dir>/<scope>/<kind>-<first>_<last>/`` holding
``report.<lang>.html``, ``report.<lang>.pdf``, ``figures.json`` and ``manifest.json``.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from cockpit import periods
from cockpit.reports import figures as figures_mod
from cockpit.reports import render
from cockpit.settings import Settings
from cockpit.store.db import Stores

MANIFEST = "manifest.json"


def reports_dir(settings: Settings) -> Path:
    return Path(settings.reports_dir) if settings.reports_dir else settings.var_dir / "reports"


def folder_name(p: periods.Period) -> str:
    return f"{p.kind}-{p.first.isoformat()}_{p.last.isoformat()}"


def headline_values(figs: dict) -> dict[str, Any]:
    return {k: v.get("value") for k, v in figs["headline"].items()}


def write_report(stores: Stores, *, scope: str, period: periods.Period, out_dir: Path | None = None,
                 langs: tuple[str, ...] = render.LANGS, with_pdf: bool = True, now: datetime | None = None,
                 topics: list[dict] | None = None) -> dict[str, Any]:
    """Gather, render and write one report; returns the manifest (files + headline figures).

    Idempotent: writing the same scope and period again replaces the files.
    """
    base = Path(out_dir) if out_dir is not None else reports_dir(stores.settings)
    folder = base / scope / folder_name(period)
    folder.mkdir(parents=True, exist_ok=True)
    if topics is None:
        topics = _topics(stores, scope=scope, period=period, now=now)
    with stores.read_session() as session:
        figs = figures_mod.gather(session, scope=scope, period=period, settings=stores.settings, now=now,
                                  topics=topics)
    env = render.environment(stores.settings)
    files: dict[str, Any] = {"html": {}, "pdf": {}, "json": str(folder / "figures.json")}
    (folder / "figures.json").write_text(json.dumps(figs, ensure_ascii=False, indent=1, default=str),
                                         encoding="utf-8")
    narratives = {}
    for lang in langs:
        page = folder / f"report.{lang}.html"
        page.write_text(render.html(figs, lang, env), encoding="utf-8")
        files["html"][lang] = str(page)
        narratives[lang] = render.narrative(figs, lang, env)
        if with_pdf:
            files["pdf"][lang] = str(render.pdf(page, folder / f"report.{lang}.pdf"))
    manifest = {
        "scope": scope, "scope_name": figs["scope_name"], "period": figs["period"],
        "generated_at": figs["generated_at"], "definitions_version": figs["definitions_version"],
        "files": files, "headline": headline_values(figs), "narrative": narratives,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest


def _topics(stores: Stores, *, scope: str, period: periods.Period, now: datetime | None) -> list[dict]:
    """The hot-topics section (empty when the topics module cannot run, e.g. no ticket text)."""
    try:
        from cockpit import topics
    except ImportError:
        return []
    start, end = period.window(stores.settings.tz)
    with stores.read_session() as session:
        return topics.report_section(session, scope=scope, start=start, end=end, settings=stores.settings)


def archive(base: Path) -> list[dict[str, Any]]:
    """Every manifest under ``base``, newest period first (unreadable folders are skipped)."""
    out = []
    if not base.exists():
        return out
    for path in base.glob(f"*/*/{MANIFEST}"):
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        manifest["folder"] = str(path.parent.relative_to(base))
        out.append(manifest)
    out.sort(key=lambda m: (m["period"]["last"], m["period"]["kind"], m["scope"]), reverse=True)
    return out
