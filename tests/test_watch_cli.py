"""`cockpit watch backtest` and `cockpit alerts list|prune` as a user runs them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from cockpit.cli import main
from cockpit.ingest import ingest_batch
from cockpit.settings import Settings
from cockpit.store.db import Stores
from cockpit.store.models import Alert
from cockpit.watch import evaluate as watchpoints
from tests.services import REDIS_URL
from tests.factories import Stream

BASE = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 10:00 Beijing
DAY = 86400


@pytest.fixture
def env(tmp_path, redis_client):
    return {"COCKPIT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}", "COCKPIT_REDIS_URL": REDIS_URL,
            "COCKPIT_VAR_DIR": str(tmp_path / "var"),
            "COCKPIT_WATCHPOINTS": '{"rules": {"closed_late": {"enabled": true}}}'}  # off by default


def _run(env: dict, *args: str):
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _stores(env) -> Stores:
    return Stores.open(Settings(database_url=env["COCKPIT_DATABASE_URL"], redis_url=REDIS_URL,
                                var_dir=env["COCKPIT_VAR_DIR"]))


def test_wcli001_backtest_replays_the_past_without_touching_alerts_and_list_has_no_cap(env, redis_client):
    _run(env, "db", "upgrade")
    s = Stream(base=BASE, prefix="wc-")
    raws = []
    for i in range(3):  # due 5 days after creation, closed 2 days late
        raws += [s.event("ticket.created", i * 600, ticket_id=f"T{i}", district="620102",
                         category=["城乡建设", "供热"], text="暖气不热", due_at=s.at(5 * DAY)),
                 s.event("ticket.closed", 7 * DAY, ticket_id=f"T{i}", unit="U1")]
    raws += [s.event("ticket.created", 0, ticket_id="O1", district="620102", category=["城乡建设", "供热"],
                     text="暖气不热", due_at=s.at(5 * DAY))]  # still open
    raws += [s.event("ticket.created", 2 * DAY, ticket_id="G1", district="620103", category=["城乡建设", "燃气"],
                     text="楼道里煤气泄漏", due_at=s.at(3 * DAY)),
             s.event("ticket.closed", 2 * DAY + 1800, ticket_id="G1", unit="U2")]
    stores = _stores(env)
    ingest_batch(stores, raws, source="test")
    stores.close()

    out = _run(env, "watch", "backtest", "--scope", "620100", "--from", "2026-11-02T08:00:00",
               "--to", "2026-11-10T08:00:00+08:00", "--every", "1h", "--json").output
    found = json.loads(out)
    by_rule = {a["rule"]: a for a in found}
    assert set(by_rule) == {"overdue", "closed_late", "urgent_content"}
    overdue = by_rule["overdue"]
    assert (overdue["city"], overdue["district"]) == ("620100", "620102")
    # Due 11-07 10:00 Beijing: the first hourly step after it.
    assert overdue["first_fired_at"] == "2026-11-07T11:00:00+08:00"
    assert by_rule["urgent_content"]["district"] == "620103" and by_rule["urgent_content"]["severity"] == "critical"
    assert by_rule["urgent_content"]["category"] is None or isinstance(by_rule["urgent_content"]["category"], str)
    assert json.loads(_run(env, "watch", "backtest", "--scope", "620103", "--from", "2026-11-02T08:00:00",
                           "--to", "2026-11-10T08:00:00", "--every", "1h", "--rule", "overdue",
                           "--json").output) == []
    stores = _stores(env)
    with stores.session() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0  # the live table untouched
    assert json.loads(_run(env, "alerts", "list", "--scope", "620100", "--json").output) == []
    # Live evaluation (the present: T0-T2 are closed, O1 is not): one overdue group, listed without a cap.
    with stores.session() as session:
        watchpoints.evaluate(session, stores.settings, now=BASE + timedelta(days=6), rules=["overdue"])
    stores.close()
    listed = json.loads(_run(env, "alerts", "list", "--scope", "620100", "--status", "open", "--json").output)
    assert [(a["rule"], a["district"], a["size"]) for a in listed] == [("overdue", "620102", 1)]
    bad = CliRunner().invoke(main, ["watch", "backtest", "--scope", "620100", "--from", "yesterday",
                                    "--to", "2026-11-10T08:00:00", "--json"], env=env)
    assert bad.exit_code == 2 and "--from" in bad.output
    assert json.loads(_run(env, "alerts", "prune", "--keep-days", "30").output)["alerts"] == 0


def test_wcli002_backtest_on_imported_public_data_names_rule_place_time_with_zone_and_severity(env, redis_client):
    """Real data that came in through an importer (NYC 311, 2022-05-01), not the simulator."""
    from tests.services import DATA

    _run(env, "db", "upgrade")
    _run(env, "import", "tickets", str(DATA / "nyc311_2022-05-01_sample.csv.gz"), "--format", "nyc311",
         "--city", "NYC")
    out = _run(env, "watch", "backtest", "--scope", "NYC", "--from", "2022-05-01T00:00:00-04:00",
               "--to", "2022-05-02T00:00:00-04:00", "--every", "1h", "--json").output
    found = json.loads(out)
    assert found, "no alert in a day of New York's 311 requests"
    for a in found:
        assert {"rule", "city", "district", "category", "first_fired_at", "severity"} <= set(a)
        assert a["city"] == "NYC" and a["district"].startswith("NYC-")
        fired = datetime.fromisoformat(a["first_fired_at"])
        assert fired.utcoffset() == timedelta(hours=8)  # the deployment's zone, stated
        assert datetime(2022, 5, 1, 4, tzinfo=UTC) <= fired <= datetime(2022, 5, 2, 4, tzinfo=UTC)
        assert a["severity"] in ("critical", "major", "minor")
    # Addresses that called again and again that night (noise complaints): grouped per community board.
    repeats = {a["district"]: a for a in found if a["rule"] == "repeat_complaint"}
    assert "NYC-MN12" in repeats and " · 反复投诉 · " in repeats["NYC-MN12"]["title"]
    stores = _stores(env)
    with stores.session() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0  # the live table untouched
    stores.close()
