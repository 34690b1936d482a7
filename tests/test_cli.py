"""The core `cockpit` commands as a user runs them: schema, token, ingest, dead letters, rebuild."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from cockpit.store import live
from cockpit.cli import main
from tests.services import REDIS_URL
from tests.factories import Stream


@pytest.fixture
def env(tmp_path, redis_client):
    return {
        "COCKPIT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "COCKPIT_REDIS_URL": REDIS_URL,
        "COCKPIT_VAR_DIR": str(tmp_path / "var"),
    }


def _run(env: dict, *args: str):
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_cli001_upgrade_token_ingest_deadletter_rebuild(env, tmp_path, redis_client):
    _run(env, "db", "upgrade")
    _run(env, "db", "upgrade")  # idempotent
    token = _run(env, "tokens", "create", "feed", "--scope", "620100").output.strip()
    assert token.startswith("ck_")

    s = Stream(base=datetime.now(UTC) - timedelta(hours=1), prefix="cli-")
    events = s.answered_call("c1", 0, 9, 120) + s.abandoned_call("c2", 30, 2)
    path = tmp_path / "events.ndjson"
    lines = [json.dumps(e) for e in events] + ["{broken json", json.dumps({**events[0], "event_id": "x", "wait_s": 1})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    answer = json.loads(_run(env, "ingest", str(path)).output.strip().splitlines()[-1])
    assert answer["accepted"] == 5 and answer["duplicates"] == 0
    assert [(r["index"], r["errors"][0]["field"]) for r in answer["rejected"]] == [(5, "(event)"), (6, "wait_s")]
    assert "not JSON" in answer["rejected"][0]["errors"][0]["message"]

    again = json.loads(_run(env, "ingest", str(path)).output.strip().splitlines()[-1])
    assert again["accepted"] == 0 and again["duplicates"] == 5

    dead = [json.loads(line) for line in _run(env, "deadletter", "list").output.strip().splitlines()]
    assert len(dead) == 4  # two bad lines, twice
    assert {d["row"] for d in dead} == {"line 6", "line 7"}
    assert any(d["raw"] == "{broken json" for d in dead)

    before = live.snapshot(redis_client)
    redis_client.flushdb()
    replayed = json.loads(_run(env, "live", "rebuild").output.strip().splitlines()[-1])
    assert replayed == {"replayed_events": 5}
    assert live.snapshot(redis_client) == before


def test_cli002_the_worker_lowers_its_cpu_priority_so_web_requests_win(tmp_path):
    """`cockpit worker` runs at COCKPIT_WORKER_NICE (10 by default) below the priority it was started
    with; 0 leaves it unchanged. Run in a child process: niceness cannot be raised back."""
    import os
    import subprocess
    import sys

    probe = ("import os, cockpit.jobs as jobs\n"
             "jobs.run_worker = lambda stores, **kw: print('niceness', os.nice(0))\n"
             "from cockpit.cli import main\n"
             "main(['worker'], standalone_mode=False)\n")
    start = os.nice(0)
    found = {}
    for setting in (None, "3", "0"):
        env = {**os.environ, "COCKPIT_MODE": "development", "COCKPIT_VAR_DIR": str(tmp_path),
               "COCKPIT_DATABASE_URL": f"sqlite:///{tmp_path / 'w.sqlite3'}", "COCKPIT_REDIS_URL": REDIS_URL}
        env.pop("COCKPIT_WORKER_NICE", None)
        if setting is not None:
            env["COCKPIT_WORKER_NICE"] = setting
        out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        found[setting] = int(out.stdout.split("niceness")[1].split()[0])
    assert found == {None: min(19, start + 10), "3": min(19, start + 3), "0": start}
    result = CliRunner().invoke(main, ["worker"], env={"COCKPIT_WORKER_NICE": "20"})
    assert result.exit_code == 1 and "worker_nice" in result.output
