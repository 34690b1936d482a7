"""The assessment (考核) against figures computed by hand (docs/metrics.md, "Assessment").

Scenario: two handling units in two districts, two categories. Category 难 (hard) is closed on
time less often everywhere than 易 (easy). Unit A gets mostly hard tickets, unit B mostly easy.

    on-time closures      hard (难)     easy (易)     total
    A / 620102            5 of 8        2 of 2        7 of 10 = 0.70
    B / 620103            1 of 2        7 of 8        8 of 10 = 0.80
    reference G_c         6/10 = 0.6    9/10 = 0.9    15/20 = 0.75

    expected A = (8 * 0.6 + 2 * 0.9) / 10 = 0.66  -> score 100 * 0.70 / 0.66 = 106.06
    expected B = (2 * 0.6 + 8 * 0.9) / 10 = 0.84  -> score 100 * 0.80 / 0.84 =  95.24
    unadjusted A = 100 * 0.70 / 0.75 = 93.33, B = 100 * 0.80 / 0.75 = 106.67

Response and satisfaction are perfect everywhere. One of B's easy tickets is also reopened and one
returned, which makes the easy category's reference 0.9 for both (see test_ass002): A scores
102.04 on rework and return, B 97.83. A ranks first adjusted, second unadjusted.
The events are ``tests.scenarios.assessment_tickets`` (the browser test shows the same scenario).
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from click.testing import CliRunner

from cockpit.cli import main
from cockpit.ingest import ingest_batch
from cockpit.metrics import assessment
from cockpit.metrics.definitions import TicketCounts
from tests.services import REDIS_URL
from tests.scenarios import assessment_tickets


def test_ass001_pure_formula_by_hand():
    def counts(closed_with_due, on_time):
        return TicketCounts(created=closed_with_due, closed_with_due=closed_with_due, closed_on_time=on_time)

    groups = {("A", "难"): counts(8, 5), ("A", "易"): counts(2, 2), ("B", "难"): counts(2, 1),
              ("B", "易"): counts(8, 7)}
    cfg = assessment.config(None, {"on_time_closure_rate": 1.0})
    rows = {r["key"]: r for r in assessment.score_groups(groups, cfg)}
    a, b = rows["A"]["metrics"]["on_time_closure_rate"], rows["B"]["metrics"]["on_time_closure_rate"]
    assert a["expected"] == pytest.approx(0.66) and b["expected"] == pytest.approx(0.84)
    assert a["score"] == pytest.approx(100 * 0.7 / 0.66) and b["score"] == pytest.approx(100 * 0.8 / 0.84)
    assert a["score_unadjusted"] == pytest.approx(93.333, abs=1e-3)
    assert rows["A"]["rank"] == 1 and rows["A"]["rank_unadjusted"] == 2
    # metrics without a denominator are absent, not zero
    assert rows["A"]["metrics"]["satisfaction_rate"]["score"] is None
    assert assessment.metric_score(0.0, 0.0) == 100.0 and assessment.metric_score(0.5, 0.0) == 120.0
    assert assessment.metric_score(1.0, 0.5) == 120.0  # capped
    assert assessment.composite({"a": 100.0, "b": None, "c": 80.0}, {"a": 1, "b": 5, "c": 3}) == pytest.approx(85.0)


def test_ass002_units_and_districts_from_the_database(stores):
    result = ingest_batch(stores, assessment_tickets(), source="test")
    assert not result.rejected, result.rejected
    start, end = datetime(2026, 9, 30, 16, 0), datetime(2026, 10, 31, 16, 0)
    now = datetime(2026, 11, 20)
    with stores.session() as session:
        by_unit = assessment.assess(session, scope="620100", level="unit", start=start, end=end,
                                    settings=stores.settings, now=now)
        by_district = assessment.assess(session, scope="620100", level="district", start=start, end=end,
                                        settings=stores.settings, now=now)
    rows = {r["key"]: r for r in by_unit["rows"]}
    a, b = rows["A"], rows["B"]
    assert a["metrics"]["on_time_closure_rate"]["score"] == pytest.approx(106.0606, abs=1e-3)
    # B's reopened ticket closes again 2.5 h later, still before its deadline: 8 of 10 on time
    assert b["metrics"]["on_time_closure_rate"]["good_rate"] == pytest.approx(0.8)
    assert b["metrics"]["on_time_closure_rate"]["score"] == pytest.approx(95.238, abs=1e-3)
    # rework: B 1 of 10 reopened; hard/easy reference: 难 0/10 reopened, 易 1/10 -> good 1.0, 0.9
    # B expected good = (2 * 1.0 + 8 * 0.9) / 10 = 0.92, actual good 0.9 -> 97.83; A expected
    # (8 * 1.0 + 2 * 0.9) / 10 = 0.98, actual 1.0 -> 102.04
    assert b["metrics"]["rework_rate"]["value"] == pytest.approx(0.1)
    assert b["metrics"]["rework_rate"]["score"] == pytest.approx(100 * 0.9 / 0.92)
    assert a["metrics"]["rework_rate"]["score"] == pytest.approx(100 * 1.0 / 0.98)
    # return: B 1 of 10 returned, same shape as rework
    assert b["metrics"]["return_rate"]["score"] == pytest.approx(100 * 0.9 / 0.92)
    for row in (a, b):
        assert row["metrics"]["satisfaction_rate"]["score"] == pytest.approx(100.0)
        assert row["metrics"]["response_rate"]["score"] == pytest.approx(100.0)
    w = assessment.DEFAULT_WEIGHTS
    expect_a = (w["response_rate"] * 100 + w["on_time_closure_rate"] * 100 * 0.7 / 0.66
                + w["satisfaction_rate"] * 100 + w["rework_rate"] * 100 / 0.98 + w["return_rate"] * 100 / 0.98)
    assert a["score"] == pytest.approx(expect_a)
    assert [r["key"] for r in by_unit["rows"]] == ["A", "B"]
    assert {r["key"]: r["score"] for r in by_district["rows"]} == pytest.approx(
        {"620102": a["score"], "620103": b["score"]})


def test_ass003_cli_weights_and_errors(stores):
    assert not ingest_batch(stores, assessment_tickets(), source="test").rejected
    env = {"COCKPIT_DATABASE_URL": stores.settings.database_url, "COCKPIT_REDIS_URL": REDIS_URL}
    out = CliRunner().invoke(main, ["assess", "--scope", "620100", "--period", "month", "--end", "2026-10-31",
                                    "--level", "unit", "--weights", "on_time_closure_rate=1", "--json"],
                             env=env, catch_exceptions=False)
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["period"] == {"kind": "month", "first": "2026-10-01", "last": "2026-10-31", "label": "2026-10",
                             "days": 31}
    assert doc["weights"]["on_time_closure_rate"] == 1.0 and doc["weights"]["satisfaction_rate"] == 0.0
    scores = {r["key"]: r["score"] for r in doc["rows"]}
    assert scores == pytest.approx({"A": 100 * 0.7 / 0.66, "B": 100 * 0.8 / 0.84})
    bad = CliRunner().invoke(main, ["assess", "--scope", "620100", "--weights", "speed=1", "--json"], env=env)
    assert bad.exit_code == 2 and json.loads(bad.stderr)["field"] == "weights"
    # below min_tickets: listed, not ranked (configuration from Settings.assessment)
    settings = stores.settings.with_(assessment={"min_tickets": 11})
    with stores.session() as session:
        doc = assessment.assess(session, scope="620100", level="unit", start=datetime(2026, 9, 30, 16),
                                end=datetime(2026, 10, 31, 16), settings=settings, now=datetime(2026, 11, 20))
    assert [r["rank"] for r in doc["rows"]] == [None, None]


def test_ass004_api_needs_a_token_covering_the_scope(stores):
    from app import create_app
    from cockpit.store import tokens

    assert not ingest_batch(stores, assessment_tickets(), source="test").rejected
    client = create_app(stores.settings, stores=stores).server.test_client()
    assert client.get("/api/v1/assessment?scope=620100").status_code == 401
    with stores.session() as session:
        other = tokens.create(session, "tianshui", ["620500"])
        lz = tokens.create(session, "lanzhou", ["620100"])
    assert client.get("/api/v1/assessment?scope=620100",
                      headers={"Authorization": f"Bearer {other}"}).status_code == 403
    ok = client.get("/api/v1/assessment?scope=620100&level=unit&end=2026-10-31",
                    headers={"Authorization": f"Bearer {lz}"})
    assert ok.status_code == 200 and [r["key"] for r in ok.get_json()["rows"]] == ["A", "B"]
    bad = client.get("/api/v1/assessment?scope=620100&period=fortnight", headers={"Authorization": f"Bearer {lz}"})
    assert bad.status_code == 400 and bad.get_json()["field"] == "period"


def test_ass005_table_builder_in_both_languages():
    from layouts.assessment import assessment_table

    groups = {("620102", "难"): TicketCounts(created=10, closed_with_due=10, closed_on_time=7),
              ("620103", "难"): TicketCounts(created=3, closed_with_due=3, closed_on_time=3)}
    doc = {"rows": assessment.score_groups(groups, assessment.config(None)), "weights": assessment.DEFAULT_WEIGHTS}
    zh = str(assessment_table(doc, "zh", {"620102": "城关区"}))
    en = str(assessment_table(doc, "en"))
    assert "城关区" in zh and "按时办结率" in zh and "样本不足" in zh  # 620103 has 3 < 10 tickets
    assert "On-time closure" in en and "too few" in en and "70.0%" in en


def test_ass006_pages_and_api_follow_the_callers_scope(stores):
    from app import create_app
    from tests.login import client_for

    assert not ingest_batch(stores, assessment_tickets(), source="test").rejected
    other_city = [{"event_id": "ass6-ts", "type": "ticket.created", "occurred_at": "2026-10-05T02:00:00+00:00",
                   "city": "620500", "ticket_id": "620500-X1", "category": ["城乡建设"]}]
    assert not ingest_batch(stores, other_city, source="test").rejected  # Tianshui is a known region now
    app = create_app(stores.settings, stores=stores)
    lanzhou = client_for(app, role="leader", scope="620100", stores=stores)
    assert lanzhou.get("/assessment?scope=620500").status_code == 403
    assert lanzhou.get("/api/v1/assessment?scope=620500").status_code == 403
    ok = lanzhou.get("/api/v1/assessment?scope=620100&level=unit&end=2026-10-31")
    assert ok.status_code == 200 and [r["key"] for r in ok.get_json()["rows"]] == ["A", "B"]
