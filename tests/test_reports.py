"""Written reports: the narrative says what the figures say, for increases, decreases, no change and
missing data; the files are self-contained and every headline number is the metric contract's."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner

from cockpit import periods
from cockpit.cli import main
from cockpit.metrics import kpi as kpis
from cockpit.reports import archive, figures, render, write_report
from tests.services import REDIS_URL
from tests.login import client_for
from tests.scenarios import seed_report_weeks

# ---------------------------------------------------------------- pure: comparisons and narrative


def test_rep001_change_directions():
    assert figures.change(120, 100, kind="count") == {"direction": "up", "value": 20.0, "kind": "count"}
    assert figures.change(80, 100, kind="count") == {"direction": "down", "value": 20.0, "kind": "count"}
    assert figures.change(100, 100, kind="count")["direction"] == "flat"
    assert figures.change(100, None, kind="count")["direction"] == "none"
    assert figures.change(5, 0, kind="count")["direction"] == "none"  # no base to compare with
    assert figures.change(0, 0, kind="count")["direction"] == "flat"
    assert figures.change(0.923, 0.911, kind="rate") == {"direction": "up", "value": 1.2, "kind": "rate"}
    assert figures.change(0.90004, 0.9, kind="rate")["direction"] == "flat"  # prints as 0.0 points
    assert figures.change(None, 0.9, kind="rate")["direction"] == "none"


def _item(value, previous, kind, year_before=None):
    return {"value": value, "previous": previous, "year_before": year_before, "kind": kind,
            "change": figures.change(value, previous, kind=kind),
            "change_yoy": figures.change(value, year_before, kind=kind), "status": None}


def _figs(tickets=(120, 100), satisfaction=(0.923, 0.911), offered=(1000, 1000), yoy=None) -> dict:
    h = {
        "tickets_created": _item(tickets[0], tickets[1], "count", yoy),
        "offered": _item(offered[0], offered[1], "count"),
        "answered": _item(offered[0] and offered[0] - 50, offered[1] and offered[1] - 50, "count"),
        "connection_rate": _item(0.95, 0.95, "rate"),
        "service_level": _item(0.8, 0.8, "rate"),
        "response_rate": _item(0.97, 0.96, "rate"),
        "resolution_rate": _item(0.88, None, "rate"),
        "satisfaction_rate": _item(satisfaction[0], satisfaction[1], "rate"),
        "on_time_closure_rate": _item(None, 0.9, "rate"),
        "overdue_open_now": {"value": 3, "kind": "count"},
    }
    return {
        "scope": "620100", "level": "city", "scope_name": "兰州市", "scope_name_en": "Lanzhou",
        "period": periods.period("week", date(2026, 11, 29)).as_dict(),
        "history": {"previous": tickets[1] is not None, "year_before": yoy is not None},
        "headline": h, "categories": {"top": [{"name": "城乡建设", "count": 60, "share": 0.5}],
                                      "growing": [{"name": "交通运输", "count": 30, "previous": 10, "added": 20}]},
        "topics": [], "alerts": {"raised": 7, "escalated": 2, "resolved": 5, "open_at_end": 4},
        "staffing": None,
    }


def test_rep002_narrative_increase_decrease_flat_missing_zh():
    zh = lambda f: "\n".join(render.narrative(f, "zh"))  # noqa: E731
    up = zh(_figs())
    assert "2026年11月23日至11月29日，兰州市共受理诉求120件，环比上升20.0%。" in up
    assert "满意率92.3%，较上期提高1.2个百分点" in up
    assert "响应率97.0%，较上期提高1.0个百分点" in up
    assert "解决率88.0%；" in up  # no previous figure: no comparison, no invented one
    assert "按时办结率暂无数据。" in up  # missing current figure
    assert "接通率95.0%，较上期持平" in up
    assert "诉求最多的类别是“城乡建设”，共60件，占50.0%；增长最快的是“交通运输”，比上期增加20件。" in up
    assert "本周触发预警7条，督办2条，解除5条，期末仍未解除4条。" in up
    down = zh(_figs(tickets=(80, 100), satisfaction=(0.85, 0.9)))
    assert "共受理诉求80件，环比下降20.0%。" in down and "满意率85.0%，较上期下降5.0个百分点" in down
    flat = zh(_figs(tickets=(100, 100)))
    assert "共受理诉求100件，环比持平。" in flat
    missing = zh(_figs(tickets=(100, None)))
    assert "共受理诉求100件，环比无可比数据。" in missing
    yoy = zh(_figs(tickets=(1234, 1000), yoy=1300))
    assert "共受理诉求1,234件，环比上升23.4%，同比下降5.1%。" in yoy
    no_calls = zh(_figs(offered=(None, None)))
    assert "热线呼入" not in no_calls  # a district scope has no call figures: the sentence is left out


def test_rep003_narrative_increase_decrease_flat_missing_en():
    en = lambda f: "\n".join(render.narrative(f, "en"))  # noqa: E731
    up = en(_figs())
    assert ("In the week 2026-11-23 to 2026-11-29, Lanzhou received 120 requests, up 20.0% on the previous "
            "period.") in up
    assert "satisfaction rate 92.3%, up 1.2 points;" in up and "on-time closure rate no data." in up
    assert "received 80 requests, down 20.0% on the previous period." in en(_figs(tickets=(80, 100)))
    assert "received 100 requests, unchanged on the previous period." in en(_figs(tickets=(100, 100)))
    assert "received 100 requests, no comparable data on the previous period." in en(_figs(tickets=(100, None)))
    assert "and down 5.1% on the same period last year." in en(_figs(tickets=(1234, 1000), yoy=1300))


def test_rep012_english_reports_name_categories_and_units_in_english():
    """An English report translates the stored Chinese vocabulary (one table with the screens,
    cockpit.names_en): categories in the narrative, the chart, the tables; units in the cases and
    the unit ranking; a name outside the tables in pinyin, never in characters."""
    from cockpit.names_en import CATEGORY_EN

    up = "\n".join(render.narrative(_figs(), "en"))
    assert 'The largest category was "Urban & rural construction"' in up
    assert 'the fastest-growing was "Transport"' in up and "城乡建设" not in up and "交通运输" not in up
    assert "城乡建设" in "\n".join(render.narrative(_figs(), "zh"))
    assert CATEGORY_EN["城乡建设"] == "Urban & rural construction"
    svg = render.chart_svgs({**_figs(), "level": "district"}, "en")["categories"]
    assert "Urban &amp; rural construction" in svg and "城乡建设" not in svg
    assert render.unit_name("城关区人民政府", "en") == "Chengguan People's Government"
    assert render.unit_name("城关区人民政府", "zh") == "城关区人民政府"
    assert render.category_name("某某问题", "en") == "Moumouwenti"


def test_rep004_deployment_templates_override(tmp_path, settings):
    (tmp_path / "narrative.zh.j2").write_text("{{ f.scope_name }}：{{ h.tickets_created.value }}件", encoding="utf-8")
    env = render.environment(settings.with_(report_templates=str(tmp_path)))
    assert render.narrative(_figs(), "zh", env) == ["兰州市：120件"]
    assert render.narrative(_figs(), "en", env)[0].startswith("In the week")  # not overridden


# ---------------------------------------------------------------- from the database

END = date(2026, 11, 29)  # Sunday; the week is 11-23..11-29 local


def test_rep005_figures_are_the_contracts_and_the_text_says_them(stores, tmp_path):
    counts = seed_report_weeks(stores)
    p = periods.period("week", END)
    now = datetime(2026, 11, 30, 1, 0)
    manifest = write_report(stores, scope="620100", period=p, out_dir=tmp_path, with_pdf=False, now=now)
    start, end = p.window(stores.settings.tz)
    with stores.session() as session:
        kpi = kpis.kpi(session, scope="620100", start=start, end=end, settings=stores.settings, now=now)
    for key in figures.HEADLINE:
        assert manifest["headline"][key] == kpi[key], key
    assert manifest["headline"]["tickets_created"] == counts["now"] == 9
    zh, en = "\n".join(manifest["narrative"]["zh"]), "\n".join(manifest["narrative"]["en"])
    change = round((9 - 6) / 6 * 100, 1)
    yoy = round((12 - 9) / 12 * 100, 1)
    assert f"兰州市共受理诉求9件，环比上升{change:.1f}%，同比下降{yoy:.1f}%。" in zh
    assert f"Lanzhou received 9 requests, up {change:.1f}% on the previous period and down {yoy:.1f}%" in en
    assert f"热线呼入{kpi['offered']}次，接通{kpi['answered']}次，接通率{kpi['connection_rate'] * 100:.1f}%" in zh
    assert f"满意率{kpi['satisfaction_rate'] * 100:.1f}%" in zh
    figs = json.loads((tmp_path / "620100" / "week-2026-11-23_2026-11-29" / "figures.json").read_text())
    assert figs["categories"]["top"][0]["count"] + figs["categories"]["top"][1]["count"] == 9
    assert [c["reason"] for c in figs["cases"]][:2] == ["most_handoffs", "dissatisfied"]
    assert figs["cases"][0]["ticket_id"] == "620100-now-1"
    html = (tmp_path / "620100" / "week-2026-11-23_2026-11-29" / "report.zh.html").read_text()
    assert "http://" not in html and "https://" not in html and "<script" not in html and "src=" not in html
    assert "<svg" in html and "城关区" in html  # the map, with the region names
    english = (tmp_path / "620100" / "week-2026-11-23_2026-11-29" / "report.en.html").read_text()
    for chinese, translated in (("城乡建设", "Urban &amp; rural construction"), ("交通运输", "Transport")):
        assert chinese not in english and translated in english  # categories in English (chart, narrative)
    units = [r["key"] for r in figs["rankings"]["unit"]]
    assert units and not any(u in english for u in units)  # handling units too
    assert manifest["narrative"]["zh"][0] in html
    # written at 01:00 UTC: the report says when in the cockpit's zone (it printed '2026-11-30 01:00 UTC')
    assert "生成时间 2026-11-30 09:00 (Asia/Shanghai)" in html and " UTC " not in html
    # the composite score on the scale of the province screen's 综合得分 (101.3 there read 1.013 here)
    first = figs["rankings"][figs["ranking_level"]][0]
    assert f"<td>{first['score'] * 100:.1f}</td>" in html and f"<td>{first['score']:.3f}</td>" not in html
    # hot topics: every ticket says 暖气不热; a topic is one district's: 620102 has six this week and
    # four the week before (the baseline is four weeks) -> growth (6 + 1) / (4 / 4 + 1) = 3.5
    topic = figs["topics"][0]
    assert topic["count"] == 6 and topic["area"] == "620102"
    assert topic["growth"] == pytest.approx(3.5) and topic["emerging"]
    assert f"“{topic['label']}”（6件）" in zh
    listed = archive(tmp_path)
    assert [m["period"]["label"] for m in listed] == ["2026-11-23..2026-11-29"]


def test_rep006_without_history_the_text_says_so(stores, tmp_path):
    seed_report_weeks(stores, with_last_year=False)
    manifest = write_report(stores, scope="620100", period=periods.period("week", END), out_dir=tmp_path,
                            with_pdf=False, now=datetime(2026, 11, 30, 1, 0))
    zh = manifest["narrative"]["zh"][0]
    assert zh.endswith("共受理诉求9件，环比上升50.0%。") and "同比" not in zh
    early = write_report(stores, scope="620100", period=periods.period("week", date(2026, 11, 22)),
                         out_dir=tmp_path, with_pdf=False, now=datetime(2026, 11, 30, 1, 0))
    assert early["narrative"]["zh"][0].endswith("共受理诉求6件，环比无可比数据。")


def test_rep007_cli_writes_html_and_pdf(sqlite_stores, tmp_path):
    seed_report_weeks(sqlite_stores)
    env = {"COCKPIT_DATABASE_URL": sqlite_stores.settings.database_url, "COCKPIT_REDIS_URL": REDIS_URL}
    out = CliRunner().invoke(main, ["report", "--scope", "620100", "--period", "week", "--end", "2026-11-29",
                                    "--out", str(tmp_path), "--lang", "zh"], env=env, catch_exceptions=False)
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["headline"]["tickets_created"] == 9 and doc["period"]["kind"] == "week"
    pdf = doc["files"]["pdf"]["zh"]
    with open(pdf, "rb") as fh:
        assert fh.read(5) == b"%PDF-"
    assert doc["files"]["html"]["zh"].endswith("report.zh.html")
    bad = CliRunner().invoke(main, ["report", "--scope", "620100", "--period", "decade", "--out", str(tmp_path)],
                             env=env)
    assert bad.exit_code == 2 and json.loads(bad.stderr)["field"] == "period"
    unknown = CliRunner().invoke(main, ["report", "--scope", "999999", "--out", str(tmp_path)], env=env)
    assert unknown.exit_code == 2 and json.loads(unknown.stderr)["field"] == "scope"


def test_rep008_periods():
    p = periods.period("month", date(2026, 11, 30))
    assert (p.first, p.last, p.label) == (date(2026, 11, 1), date(2026, 11, 30), "2026-11")
    assert periods.previous(p) == periods.Period("month", date(2026, 10, 1), date(2026, 10, 31))
    mtd = periods.period("month", date(2026, 3, 15))
    assert periods.previous(mtd) == periods.Period("month", date(2026, 2, 1), date(2026, 2, 15))
    assert periods.previous(periods.period("month", date(2026, 3, 31))).last == date(2026, 2, 28)
    assert periods.year_before(periods.period("week", date(2028, 2, 29))).last == date(2027, 2, 28)
    start, end = periods.period("week", date(2026, 11, 29)).window(copy.deepcopy(UTC))
    assert end - start == timedelta(days=7)


def test_rep009_scheduled_job_and_archive_route(sqlite_stores, tmp_path):
    from app import create_app
    from cockpit.reports.schedule import last_complete, write_due_reports

    assert last_complete("week", date(2026, 11, 30)) == periods.Period("week", date(2026, 11, 23), date(2026, 11, 29))
    assert last_complete("week", date(2026, 12, 6)).last == date(2026, 11, 29)  # a Sunday: last week is done
    assert last_complete("month", date(2026, 12, 1)).label == "2026-11"
    assert last_complete("year", date(2026, 12, 1)).label == "2025"
    seed_report_weeks(sqlite_stores)
    settings = sqlite_stores.settings.with_(reports_dir=str(tmp_path / "archive"))
    stores = type(sqlite_stores).open(settings, redis_client=sqlite_stores.redis)
    now = datetime(2026, 11, 30, 2, 0)  # Monday 10:00 local
    written = write_due_reports(stores, now=now, kinds=("week", "month"), with_pdf=False)
    # the week 11-23..11-29 for the city (the province has no regions loaded and no tickets of its own
    # code, but covers 620100 by adcode); October has no data: skipped
    assert sorted((m["scope"], m["period"]["label"]) for m in written) == [
        ("620000", "2026-11-23..2026-11-29"), ("620100", "2026-11-23..2026-11-29")]
    assert write_due_reports(stores, now=now, kinds=("week", "month"), with_pdf=False) == []  # idempotent
    app = create_app(settings, stores=stores)
    assert app.server.test_client().get("/reports/files/620100/week-2026-11-23_2026-11-29/report.zh.html") \
        .status_code == 401  # no session, no token
    other = client_for(app, role="leader", scope="620500", stores=stores)
    assert other.get("/reports/files/620100/week-2026-11-23_2026-11-29/report.zh.html").status_code == 403
    client = client_for(app, role="leader", scope="620100", stores=stores)
    ok = client.get("/reports/files/620100/week-2026-11-23_2026-11-29/report.zh.html")
    assert ok.status_code == 200 and "兰州市共受理诉求9件" in ok.get_data(as_text=True)
    assert client.get("/reports/files/620100/week-2026-11-23_2026-11-29/manifest.json").status_code == 404
    sneaky = client.get("/reports/files/620100/week-2026-11-23_2026-11-29/..%2Fmanifest.json")
    assert '"files"' not in sneaky.get_data(as_text=True)  # at most the app's page shell, never the file
    assert "root:" not in client.get("/reports/files/620100/..%2F..%2Fetc/passwd").get_data(as_text=True)
    stores.engine.dispose()


def test_rep010_archive_rows_in_the_pages_language_and_the_cockpits_zone():
    """The English archive listed '兰州市 (620100)', and a report written at 08:02 Beijing time as
    'Generated 2026-12-01 00:02' (the UTC stamp cut to minutes)."""
    from zoneinfo import ZoneInfo

    from layouts.reports import reports_table

    manifest = {"scope": "620100", "scope_name": "兰州市", "folder": "620100/week-x",
                "period": {"kind": "week", "label": "2026-11-24..2026-11-30"}, "headline": {"tickets_created": 5},
                "files": {"html": {"en": "620100/week-x/report.en.html"}}, "generated_at": "2026-12-01T00:02:54+00:00"}

    def cells(lang):
        row = reports_table([manifest], lang, ZoneInfo("Asia/Shanghai")).children[1].children[0]
        return [c.children for c in row.children]

    en, zh = cells("en"), cells("zh")
    assert en[0] == "Lanzhou (620100)" and zh[0] == "兰州市 (620100)"
    assert en[-1] == zh[-1] == "2026-12-01 08:02"


def test_rep011_typical_cases_and_topic_examples_mask_household_numbers():
    """The report's typical cases and hot-topic examples quoted '城关区南滨河路252号24栋家中暖气不热':
    the building number the ticket page and Open311 mask in an address."""
    from datetime import datetime, timedelta
    from types import SimpleNamespace

    from cockpit import topics
    from cockpit.reports.figures import _case

    ticket = SimpleNamespace(ticket_id="T1", category="城乡建设", district="620102", unit=None, status="closed",
                             created_at=datetime(2026, 11, 24, 2), returns=0, transfers=0, satisfaction=None,
                             text="城关区南滨河路252号24栋3单元家中暖气不热，电话13812345678")
    assert _case(ticket, "overdue")["text"] == "城关区南滨河路252号*栋*单元家中暖气不热，电话138****5678"
    base = datetime(2026, 11, 23, 2)
    docs = [topics.Doc(f"w{i}", f"幸福里小区{i + 1}栋电梯故障频繁，困人，物业不修", base + timedelta(hours=i))
            for i in range(5)]
    found = topics.find_topics(docs, start=base, end=base + timedelta(days=7))
    assert found and all("栋" not in t["example"] or "*栋" in t["example"] for t in found), found[0]["example"]
