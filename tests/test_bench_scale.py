"""bench/scale.py end to end at toy size: generation through the bulk path, the marker, --reuse and
the JSON of the four timed reads (each beside its raw scan)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.services import PG_URL, REDIS_URL, SKIP_PG

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ("kpi_city_month", "league_table", "drill_first_page", "ticket_timeline")

pytestmark = pytest.mark.skipif(SKIP_PG, reason="PostgreSQL tests disabled (COCKPIT_TEST_SKIP_PG=1)")


def _run(url: str, *extra: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "scale.py"), "--tickets", "200", "--calls", "400",
         "--days", "2", "--workers", "1", "--repeat", "4", "--db", url, "--redis", REDIS_URL, "--json",
         *extra],
        capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_bsc001_scale_bench_json_at_toy_size():
    # Its own database next to the test database: the bench drops and recreates what it generates into.
    base = make_url(PG_URL)
    url = base.set(database=base.database + "_scale").render_as_string(hide_password=False)
    try:
        out = _run(url)
        gen = out["generation"]
        assert gen["reused"] is False
        assert gen["tickets"] > 0 and gen["call_events"] > 0 and gen["events_per_s"] > 0
        assert "cores" in out["machine"] and len(out["loadavg"]) == 3
        for name in QUERIES:
            figure = out["queries"][name]
            for side in ("product", "raw_scan"):
                assert figure[side]["p50_ms"] > 0 and figure[side]["p95_ms"] >= figure[side]["p50_ms"], figure
                assert figure[side]["runs"] >= 3
            assert figure["goal_p95_ms"] > 0 and isinstance(figure["goal_met"], bool)
            assert figure["agree"] is True, (name, figure)  # the product's figure equals the raw scan's
        again = _run(url, "--reuse", "--generate-only")
        assert again["generation"]["reused"] is True and "queries" not in again
        assert again["generation"]["tickets"] == gen["tickets"]
    finally:
        admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
        admin.dispose()
