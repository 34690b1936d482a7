"""The simulator staffed from a planner roster: the seats on the floor are the plan's, interval by
interval, and simulated traffic runs on them."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from cockpit import timeutil
from cockpit.http.planning import roster_document
from cockpit.simulation.rosterseats import RosterSeats, planned_minus_absent
from cockpit.simulation import Province
from tests.metric_events import ingest, weekday_call_history


def _on_phones(seats, t: float) -> int:
    return sum(1 for s in seats if s.start <= t < s.end and not any(b0 <= t < b1 for b0, b1, _r in s.breaks))


def test_simros001_floor_follows_the_plan(sqlite_stores):
    now = timeutil.utcnow()
    ingest(sqlite_stores, weekday_call_history(2, now))
    doc = roster_document(sqlite_stores, scope="620100", week="2026-W50", now=now)
    roster = RosterSeats([doc])
    monday = date(2026, 12, 7)
    assert roster("620100", monday - timedelta(days=1)) is None  # not in the plan's week
    for day in (monday + timedelta(days=2), monday + timedelta(days=6)):
        seats = roster("620100", day)
        by_start = {r["start"]: r["planned"] for r in doc["intervals"]}
        for q in range(96):
            local = datetime(day.year, day.month, day.day) + timedelta(minutes=15 * q)
            key = (local - timedelta(hours=8)).replace(tzinfo=UTC).isoformat()
            assert _on_phones(seats, q * 900.0 + 450.0) == by_start[key], (day, q)
    # neighbours (consecutive seats of a shift) never share a break start
    shift_seats = [s for s in roster("620100", monday + timedelta(days=2)) if s.start > 0]
    for a, b in itertools.pairwise(shift_seats):
        if a.group == b.group and a.start == b.start and a.breaks and b.breaks:
            assert a.breaks[0][0] != b.breaks[0][0]


def test_simros002_simulated_day_runs_on_planned_seats(sqlite_stores):
    now = timeutil.utcnow()
    ingest(sqlite_stores, weekday_call_history(2, now))
    doc = roster_document(sqlite_stores, scope="620100", week="2026-W50", now=now)
    day = date(2026, 12, 9)
    roster = RosterSeats([doc])
    prov = Province(seed=3, cities=["620100"], incidents=False, roster=roster, sampler=lambda _c, _r: (36.0, 103.8))
    events = [e for _ms, _id, e in prov.simulate_city_day("620100", day)]
    logins = {e["seat_id"] for e in events if e["type"] == "seat.state" and e.get("reason") == "login"}
    assert logins == {s.seat_id for s in roster("620100", day)}
    answered = [e for e in events if e["type"] == "call.answered"]
    assert answered and {e["seat_id"] for e in answered} <= logins
    # an incident's no-shows come off the planned shifts that start near the simulator's shift
    seats = roster("620100", day)
    fewer = planned_minus_absent(seats, {"C": 0.5})
    assert 0 < len(seats) - len(fewer) <= len(seats) // 2 + 1


def test_simros003_cli_simulate_with_a_roster_file(sqlite_stores, tmp_path):
    import json

    from click.testing import CliRunner

    from cockpit.cli import main
    from cockpit.events import validate

    now = timeutil.utcnow()
    ingest(sqlite_stores, weekday_call_history(2, now))
    doc = roster_document(sqlite_stores, scope="620100", week="2026-W50", now=now)
    path = tmp_path / "roster.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "events.ndjson"
    result = CliRunner().invoke(main, ["simulate", "--roster", str(path), "--out", str(out), "--cities", "620100",
                                       "--start", "2026-12-09T08:00:00+08:00", "--duration", "2h",
                                       "--origin", "2026-12-09T00:00:00+08:00", "--no-incidents"])
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    answered = [e for e in events if e["type"] == "call.answered"]
    assert answered and all(e["seat_id"].startswith("620100-Wed") for e in answered)
    assert all(validate(e)[1] == [] for e in events[:200])
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    wrong = CliRunner().invoke(main, ["simulate", "--roster", str(bad), "--out", str(out), "--duration", "1h"])
    assert wrong.exit_code == 2 and "roster" in wrong.output


def test_simros004_an_unusable_plan_leaves_the_day_to_the_simulator():
    doc = {"scope": "620100", "monday": "2026-12-07",
           "days": [{"date": "2026-12-09", "shifts": [{"shift": "D", "start": "08:30", "people": 3, "breaks": []}]}]}
    assert RosterSeats([doc])("620100", date(2026, 12, 9)) is None  # no "minutes": an older document
