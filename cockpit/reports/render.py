"""Figures -> narrative text, a self-contained HTML page and a PDF.

Templates are Jinja2 files in ``cockpit/reports/templates``; a deployment overrides any of them by
putting a file of the same name in ``COCKPIT_REPORT_TEMPLATES`` (searched first). The narrative
templates only phrase the figures they are given; every number comes from the figures document.
The PDF is printed by headless Chromium (``--print-to-pdf``), which renders the same HTML.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from cockpit.names_en import category_en, unit_en
from cockpit.reports import charts
from cockpit.settings import Settings

TEMPLATES = Path(__file__).parent / "templates"
LANGS = ("zh", "en")
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
PDF_TIMEOUT_S = 120


class PdfError(RuntimeError):
    """Chromium is missing or failed to print."""


def environment(settings: Settings | None = None) -> Environment:
    """The Jinja2 environment: the deployment's template folder first, then the bundled one."""
    loaders = []
    if settings is not None and settings.report_templates:
        loaders.append(FileSystemLoader(settings.report_templates))
    loaders.append(FileSystemLoader(str(TEMPLATES)))
    env = Environment(loader=ChoiceLoader(loaders), autoescape=select_autoescape(["html.j2"]),
                      undefined=StrictUndefined, trim_blocks=False, lstrip_blocks=False,
                      keep_trailing_newline=False)
    env.filters["local_time"] = local_time
    env.filters["category_name"] = category_name
    env.filters["unit_name"] = unit_name
    return env


def category_name(name: str | None, lang: str) -> str | None:
    """A ticket category as a report in ``lang`` prints it (English: ``cockpit.names_en``)."""
    return category_en(name) if name and lang == "en" else name


def unit_name(name: str | None, lang: str) -> str | None:
    """A handling unit as a report in ``lang`` prints it (English: region and department)."""
    return unit_en(name) if name and lang == "en" else name


def local_time(iso: str, zone: str = "UTC") -> str:
    """An ISO time of the figures (UTC) as ``YYYY-MM-DD HH:MM`` in ``zone`` (the cockpit's zone)."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    moment = datetime.fromisoformat(iso)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def narrative(figures: dict, lang: str, env: Environment | None = None) -> list[str]:
    """The narrative paragraphs in ``lang`` ('zh' or 'en') for a figures document."""
    env = env or environment()
    text = env.get_template(f"narrative.{lang}.j2").render(f=figures, h=figures["headline"])
    return [line.strip() for line in text.splitlines() if line.strip()]


def chart_svgs(figures: dict, lang: str) -> dict[str, Markup]:
    """The report's charts as inline SVG (categories bar chart, area map)."""
    cats = [(category_name(c["name"], lang), c["count"]) for c in figures["categories"]["top"]]
    out = {"categories": Markup(charts.bar_chart(cats)), "map": Markup("")}
    parent = figures["scope"] if figures["level"] in ("city", "province") else None
    if parent:
        try:
            from geo import boundaries

            collection = boundaries.geojson(parent, simplified=True)
        except KeyError:  # a deployment's own code without a bundled boundary: no map, the table stays
            collection = None
        if collection:
            counts = {a["code"]: a["count"] for a in figures["areas"]}
            out["map"] = Markup(charts.area_map(collection, counts, name_key="name" if lang == "zh" else "name_en"))
    return out


def html(figures: dict, lang: str, env: Environment | None = None) -> str:
    """The whole report as one HTML page in ``lang`` (no script, no external resource)."""
    env = env or environment()
    return env.get_template("report.html.j2").render(
        f=figures, lang=lang, narrative=narrative(figures, lang, env), charts=chart_svgs(figures, lang))


def chromium_path() -> str | None:
    found = os.environ.get("COCKPIT_CHROMIUM") or shutil.which("chromium")
    if found:
        return found
    return next((c for c in CHROMIUM_CANDIDATES if Path(c).exists()), None)


def pdf(html_path: Path, pdf_path: Path) -> Path:
    """Print ``html_path`` to ``pdf_path`` with headless Chromium (offline: network disabled)."""
    binary = chromium_path()
    if binary is None:
        raise PdfError("no Chromium found (install chromium, or set COCKPIT_CHROMIUM)")
    with tempfile.TemporaryDirectory(prefix="cockpit-pdf-") as profile:
        cmd = [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--disable-background-networking", "--disable-component-update", "--no-first-run",
               "--disable-sync", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
               f"--user-data-dir={profile}", "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw",
               f"--print-to-pdf={pdf_path.resolve()}", html_path.resolve().as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PDF_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise PdfError(f"Chromium did not finish printing within {PDF_TIMEOUT_S} s") from None
    if proc.returncode != 0 or not pdf_path.exists() or pdf_path.stat().st_size == 0:
        raise PdfError(f"Chromium failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
    return pdf_path
