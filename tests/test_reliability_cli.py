"""Issue 12, defect 4: ``cockpit ingest`` stores or dead-letters every line, and always prints its summary."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from cockpit.cli import main
from cockpit.store import live
from tests.conftest import REDIS_URL
from tests.factories import Stream


@pytest.fixture
def env(tmp_path, redis_client):
    env = {"COCKPIT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}", "COCKPIT_REDIS_URL": REDIS_URL,
           "COCKPIT_VAR_DIR": str(tmp_path / "var")}
    assert CliRunner().invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    return env


def _answer(result) -> dict:
    return json.loads(result.output.strip().splitlines()[-1])


def test_rel040_every_line_is_stored_or_dead_lettered_with_its_line_number(env, tmp_path, redis_client):
    s = Stream(base=datetime.now(UTC) - timedelta(hours=1), prefix="big-")
    good = [json.dumps(s.event("call.offered", i % 3000, call_id=f"c{i}")).encode() for i in range(5003)]
    year_one = s.event("call.offered", 1, call_id="bad1")
    year_one["occurred_at"] = "0001-01-01T00:00:00+14:00"
    nul = s.event("call.offered", 2, call_id="bad2", channel="ph\x00one")
    tail = json.dumps(s.event("call.offered", 3, call_id="last")).encode()
    lines = good + [json.dumps(year_one).encode(), json.dumps(nul).encode(), b"\xff\xfe not utf-8 \xc3(",
                    b"", b"[" * 50_000, tail]
    path = tmp_path / "events.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = CliRunner().invoke(main, ["ingest", str(path)], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output[-2000:]
    answer = _answer(result)
    assert answer["accepted"] == 5004 and answer["duplicates"] == 0
    rejected = {r["line"]: r["errors"][0] for r in answer["rejected"]}
    assert sorted(rejected) == [5004, 5005, 5006, 5008]
    assert rejected[5004]["field"] == "occurred_at" and rejected[5005]["field"] == "channel"
    assert "not UTF-8" in rejected[5006]["message"] and "nested too deeply" in rejected[5008]["message"]
    dead = [json.loads(x) for x in CliRunner().invoke(main, ["deadletter", "list"], env=env).output.splitlines()]
    assert sorted(d["row"] for d in dead) == ["line 5004", "line 5005", "line 5006", "line 5008"]
    # The calls span 50 minutes from s.base, which may cross local midnight: count every local day they touch.
    tz = __import__("zoneinfo").ZoneInfo("Asia/Shanghai")
    days = {live.day_str(s.base, tz), live.day_str(s.base + timedelta(seconds=3000), tz)}
    assert sum(live.day_totals(redis_client, ["620100"], day)["off"] for day in days) == 5004


def test_rel041_summary_is_printed_when_the_database_fails_half_way(env, tmp_path):
    s = Stream(base=datetime.now(UTC) - timedelta(hours=1), prefix="half-")
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(json.dumps(s.event("call.offered", i, call_id=f"c{i}")) for i in range(10)) + "\n")
    broken = {**env, "COCKPIT_DATABASE_URL": f"sqlite:///{tmp_path / 'missing-dir' / 'x.sqlite3'}"}
    result = CliRunner().invoke(main, ["ingest", str(path)], env=broken)
    assert result.exit_code == 1
    answer = _answer(result)
    assert answer["accepted"] == 0 and answer["stopped_at_line"] == 1 and "OperationalError" in answer["error"]
