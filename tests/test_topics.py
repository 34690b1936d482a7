"""Hot topics: segmentation, grouping, growth against the baseline, and the real TipDM messages.

The real-data tests read tests/data/tipdm2020 (a copy of ../shared/data/tipdm2020-citizen-messages
trimmed for the tests; see tests/data/SOURCE.md) and check what docs/topics.md reports.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from cockpit import topics
from cockpit.cli import main
from cockpit.ingest import ingest_batch
from tests.services import DATA, REDIS_URL
from tests.factories import Stream

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import topics_eval  # noqa: E402

TIPDM = DATA / "tipdm2020"
LOCAL = timedelta(hours=8)


def test_top001_segmentation_keeps_content_words_codes_and_places():
    terms, pairs, place, place_words = topics.segment("请书记关注A市A4区58车贷案，反映丽发新城小区旁搅拌站噪音扰民问题")
    assert "58车贷" in terms and "搅拌站" in terms and "噪音" in terms
    assert not {"反映", "问题", "A市", "A4区"} & set(terms)  # boilerplate and anonymised codes go
    assert terms.count("58车贷") == topics.LEAD_WEIGHT  # the gist at the start weighs more
    assert place == "丽发新城" and "新城" in place_words
    assert "噪音扰民" in pairs


def _burst_docs(base: datetime) -> tuple[list[topics.Doc], list[topics.Doc]]:
    window = [topics.Doc(f"w{i}", f"幸福里小区电梯故障频繁，困人{i}次，物业不修，电话13912345678", base + timedelta(hours=i))
              for i in range(5)]
    window += [topics.Doc("w-heat", "幸福里小区冬季暖气不热，室温只有十二度", base + timedelta(hours=9))]
    window += [topics.Doc(f"n{i}", text, base + timedelta(hours=10 + i)) for i, text in enumerate([
        "人民路公交站台破损需要维修", "建议增加夜间公交班次", "某餐馆油烟扰民", "学校门口交通拥堵"])]
    window += [topics.Doc(f"b{i}", f"东方红广场夜间广场舞噪音扰民第{i}次", base + timedelta(hours=20 + i))
               for i in range(3)]
    # before the window: the dance noise is old news (4 a week), the lift is new
    baseline = [topics.Doc(f"old{i}", f"东方红广场夜间广场舞噪音扰民{i}", base - timedelta(days=1 + i * 1.5))
                for i in range(16)]
    return window, baseline


def test_top002_groups_rank_by_growth_and_mask_examples():
    base = datetime(2026, 11, 23, 2)
    window, baseline = _burst_docs(base)
    found = topics.find_topics(window, start=base, end=base + timedelta(days=7), baseline=baseline)
    by_label = {t["label"]: t for t in found}
    lift = next(t for t in found if "电梯" in t["terms"])
    dance = next(t for t in found if "噪音" in t["terms"])
    assert lift["count"] == 5 and set(lift["ids"]) == {f"w{i}" for i in range(5)}  # not the heating one
    assert lift["baseline_per_period"] == 0 and lift["growth"] == 6.0 and lift["emerging"]
    assert dance["count"] == 3 and dance["baseline_per_period"] == 4.0 and dance["growth"] == pytest.approx(0.8)
    assert not dance["emerging"]
    assert [t["rank"] for t in found] == list(range(1, len(found) + 1)) and found[0] is lift
    assert "13912345678" not in lift["example"] and "139****5678" in lift["example"]
    assert "幸福里小区" in lift["label"] or "电梯" in lift["label"], by_label
    assert topics.find_topics([], start=base, end=base + timedelta(days=1)) == []


def _month(y: int, m: int) -> tuple[datetime, datetime]:
    start = datetime(y, m, 1) - LOCAL
    end = datetime(y + (m == 12), m % 12 + 1, 1) - LOCAL
    return start, end


@pytest.fixture(scope="module")
def votes():
    return topics.prepare(topics_eval.load_votes(TIPDM))


def test_top003_real_messages_find_the_known_hot_issues(votes):
    """August 2019: the 伊景园滨河苑 parking-space bundling; November 2019: the 丽发新城 mixing plant."""
    aug = topics.find_topics(votes, start=_month(2019, 8)[0], end=_month(2019, 8)[1], baseline=votes)
    assert "滨河苑" in aug[0]["label"] and "车位" in aug[0]["terms"] and aug[0]["count"] >= 30
    assert aug[0]["emerging"]
    nov = topics.find_topics(votes, start=_month(2019, 11)[0], end=_month(2019, 11)[1], baseline=votes)
    assert "丽发新城" in nov[0]["label"] and "搅拌站" in nov[0]["terms"] and nov[0]["count"] >= 10
    sep = topics.find_topics(votes, start=_month(2019, 9)[0], end=_month(2019, 9)[1], baseline=votes)
    most_voted = max((d for d in votes if _month(2019, 9)[0] <= d.at < _month(2019, 9)[1]), key=lambda d: d.weight)
    assert any(most_voted.id in t["ids"] and "高铁" in t["terms"] for t in sep)  # 绿地海外滩, 669 votes


def test_top004_groups_agree_with_the_labelled_categories():
    result = topics_eval.labelled(topics_eval.load_labelled(TIPDM))
    assert result["messages"] == 495
    assert result["purity"] >= 0.8 and result["purity"] - result["random_purity_mean"] >= 0.25
    assert result["messages_grouped"] >= 100


def test_top005_cli_and_api_over_tickets(stores):
    base = datetime(2026, 11, 23, 2, tzinfo=UTC)
    window, baseline = _burst_docs(base.replace(tzinfo=None))
    s = Stream("620100", base, prefix="top-")
    raws = []
    for doc in window + baseline:
        at = (doc.at.replace(tzinfo=UTC) - base).total_seconds()
        raws.append(s.event("ticket.created", at, ticket_id=f"620100-{doc.id}", district="620102",
                            category=["城乡建设"], text=doc.text))
    assert not ingest_batch(stores, raws, source="test").rejected
    env = {"COCKPIT_DATABASE_URL": stores.settings.database_url, "COCKPIT_REDIS_URL": REDIS_URL}
    out = CliRunner().invoke(main, ["topics", "--scope", "620100", "--from", "2026-11-23T10:00:00+08:00",
                                    "--to", "2026-11-30T10:00:00+08:00", "--json"], env=env, catch_exceptions=False)
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    first = doc["topics"][0]
    assert "电梯" in first["terms"] and first["count"] == 5 and first["emerging"]
    assert sorted(first["ids"]) == sorted(f"620100-w{i}" for i in range(5))
    bad = CliRunner().invoke(main, ["topics", "--scope", "620100", "--from", "2026-01-01", "--to", "2026-11-30"],
                             env=env)
    assert bad.exit_code == 2 and json.loads(bad.stderr)["field"] == "to"

    from app import create_app
    from cockpit.store import tokens

    client = create_app(stores.settings, stores=stores).server.test_client()
    with stores.session() as session:
        key = tokens.create(session, "topics", ["620100"])
    assert client.get("/api/v1/topics?scope=620100").status_code == 401
    api = client.get("/api/v1/topics?scope=620100&from=2026-11-23T10:00:00%2B08:00&to=2026-11-30T10:00:00%2B08:00",
                     headers={"Authorization": f"Bearer {key}"})
    assert api.status_code == 200 and api.get_json()["topics"][0]["ids"] == first["ids"]
