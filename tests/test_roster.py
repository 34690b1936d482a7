"""The roster integer program: a case small enough to solve by hand, staggered breaks, a whole week
whose projected service level meets the target wherever the templates allow, and the command."""

from __future__ import annotations

import itertools
import json
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from cockpit import timeutil
from cockpit.cli import main
from cockpit.planning import roster as R
from cockpit.simulation import profiles
from tests.metric_events import ingest, weekday_call_history
from tests.services import REDIS_URL


def test_ros001_hand_computed_three_intervals_two_shifts():
    """need = 2, 3, 1 seats; shift A covers intervals 0-1, B covers 1-2, each paid half an hour.
    Interval 0 needs A >= 2, interval 2 needs B >= 1, interval 1 needs A + B >= 3: the cheapest
    plan is A = 2, B = 1, 1.5 paid hours, coverage exactly 2, 3, 1."""
    shifts = [R.Shift("A", 0, 2), R.Shift("B", 1, 2)]
    sol = R.solve([2, 3, 1], shifts)
    assert sol.status == "optimal"
    assert sol.counts == [2, 1]
    assert sol.coverage == [2, 3, 1]
    assert sol.paid_hours == pytest.approx(1.5)
    assert sol.short == [0.0, 0.0, 0.0]
    # at most one person on A: interval 0 is one seat short, and B = 2 still covers interval 1
    capped = R.solve([2, 3, 1], [R.Shift("A", 0, 2, max_staff=1), R.Shift("B", 1, 2)])
    assert capped.counts == [1, 2] and capped.coverage == [1, 3, 2]
    assert capped.short == [1.0, 0.0, 0.0] and capped.paid_hours == pytest.approx(1.5)
    # a minimum staff is paid even when not needed
    floor = R.solve([0, 0, 0], [R.Shift("A", 0, 2, min_staff=1), R.Shift("B", 1, 2)])
    assert floor.counts == [1, 0] and floor.paid_hours == pytest.approx(0.5)


def test_ros002_breaks_are_staggered_and_neighbours_differ():
    """Eight intervals, one 15-minute break in intervals 3 or 4. Four people would leave 2 on the
    phones while half pause; needing 3 in those intervals takes 6 people, 3 at each break start."""
    shift = R.Shift("A", 0, 8, (R.Pause(1, 3, 4),))
    sol = R.solve([4, 4, 4, 3, 3, 4, 4, 4], [shift])
    assert sol.counts == [6]
    assert sol.breaks == [[{3: 3, 4: 3}]]
    assert sol.coverage == [6, 6, 6, 3, 3, 6, 6, 6]
    order = R.assign_breaks(6, sol.breaks[0][0])
    assert sorted(order) == [3, 3, 3, 4, 4, 4]
    assert all(a != b for a, b in itertools.pairwise(order))
    # an unpaid lunch is not paid time
    lunch = R.Shift("L", 0, 8, (R.Pause(2, 3, 4, "lunch", paid=False),))
    assert lunch.paid_hours == pytest.approx(1.5)


def _week_forecast(daily: float) -> list[float]:
    return [daily * profiles.DAY_LEVEL[d] * profiles.HOUR_SHAPE[q // 4] / 4 for d in range(7) for q in range(96)]


def test_ros003_week_meets_target_wherever_templates_allow():
    fc = _week_forecast(2600.0)
    aht, patience, threshold, target = 220.0, 347.7, 15.0, 0.8
    need = R.requirement(fc, aht_s=aht, patience_s=patience, threshold_s=threshold, target=target)
    shifts = R.week_shifts(date(2026, 11, 30), ZoneInfo("Asia/Shanghai"), list(R.DEFAULT_TEMPLATES))
    assert len(shifts) == 7 * len(R.DEFAULT_TEMPLATES)
    sol = R.solve(need, shifts, cyclic=True)
    assert sol.status == "optimal"
    sl = R.projected_service_level(sol.coverage, fc, aht_s=aht, patience_s=patience, threshold_s=threshold)
    # the default templates cover every hour without a binding maximum: no interval is short
    assert sum(sol.short) == 0
    for k, (n, c, level) in enumerate(zip(need, sol.coverage, sl)):
        assert c >= n, k
        if level is not None:
            assert level >= target, (k, level)
    # and the plan is tight: paid hours within 35 % of the seat-hours needed (breaks, lunch, shift lengths)
    assert sol.paid_hours <= 1.35 * sum(need) / 4
    # a template set that leaves nights empty cannot meet the target there, and says so
    day_only = [t for t in R.DEFAULT_TEMPLATES if t["name"] in ("E", "D", "M", "L")]
    partial = R.solve(need, R.week_shifts(date(2026, 11, 30), ZoneInfo("Asia/Shanghai"), day_only), cyclic=True)
    uncovered = [k for k in range(len(need)) if k % 96 < 4 * 4 and need[k] > 0]  # 00:00-04:00
    assert uncovered and all(partial.short[k] == need[k] for k in uncovered)
    assert all(partial.short[k] == 0 for k in range(len(need)) if 10 * 4 <= k % 96 < 20 * 4)


def test_ros004_bad_templates_and_weeks_name_the_field():
    with pytest.raises(R.RosterError) as err:
        R.week_shifts(date(2026, 11, 30), ZoneInfo("Asia/Shanghai"), [{"name": "Z", "start": "25:00", "hours": 8}])
    assert err.value.field == "roster_templates"
    with pytest.raises(R.RosterError) as err:
        R.week_shifts(date(2026, 11, 30), ZoneInfo("Asia/Shanghai"),
                      [{"name": "Z", "start": "08:00", "hours": 4, "breaks": [{"minutes": 15, "from_h": 5, "to_h": 6}]}])
    assert "outside the shift" in err.value.message
    with pytest.raises(R.RosterError) as err:
        R.parse_week("2026-53x", today=date(2026, 11, 30))
    assert err.value.field == "week"
    assert R.parse_week("2026-W49", today=date(2026, 1, 1)) == date(2026, 11, 30)
    assert R.parse_week(None, today=date(2026, 12, 2)) == date(2026, 12, 7)


def test_ros010_cli_roster_json_kept_and_replanned(sqlite_stores, tmp_path):
    now = timeutil.utcnow()
    ingest(sqlite_stores, weekday_call_history(2, now))
    env = {"COCKPIT_DATABASE_URL": sqlite_stores.settings.database_url, "COCKPIT_REDIS_URL": REDIS_URL,
           "COCKPIT_VAR_DIR": str(tmp_path / "var")}
    local = now + timedelta(hours=8)
    iso = (local.date() + timedelta(days=7)).isocalendar()
    week = f"{iso.year}-W{iso.week:02d}"
    result = CliRunner().invoke(main, ["roster", "--scope", "620100", "--week", week, "--json"], env=env)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["week"] == week and len(doc["days"]) == 7 and len(doc["intervals"]) == 7 * 96
    assert doc["solver"]["status"] == "optimal"
    busy = [r for r in doc["intervals"] if r["required"] > 0]
    assert busy and all(r["planned"] >= r["required"] for r in busy)
    assert all(r["projected_service_level"] >= doc["service_level_target"] for r in busy)
    assert doc["totals"]["under_staffed_seat_hours"] == 0
    again = CliRunner().invoke(main, ["roster", "--scope", "620100", "--week", week, "--json"], env=env)
    assert json.loads(again.output)["planned_at"] == doc["planned_at"]  # the kept plan
    text = CliRunner().invoke(main, ["roster", "--scope", "620100", "--week", week], env=env)
    assert text.exit_code == 0 and "paid hours" in text.output
    bad = CliRunner().invoke(main, ["roster", "--scope", "620100", "--week", "next", "--json"], env=env)
    assert bad.exit_code == 2 and json.loads(bad.stderr)["field"] == "week"


def test_ros011_http_forecast_and_roster_match_the_cli_shape(sqlite_stores):
    from flask import Flask

    from cockpit.http import planning as api_planning

    ingest(sqlite_stores, weekday_call_history(2, timeutil.utcnow()))
    app = Flask(__name__)
    app.config["COCKPIT_STORES"] = sqlite_stores
    app.register_blueprint(api_planning.bp)
    client = app.test_client()
    fc = client.get("/api/v1/forecast?scope=620100&days=1&level=0.9")
    assert fc.status_code == 200
    doc = fc.get_json()
    assert doc["level"] == 0.9 and len(doc["intervals"]) == 96 and doc["method"] == "glm_how"
    bad = client.get("/api/v1/forecast?scope=620100&days=0")
    assert bad.status_code == 400 and bad.get_json()["field"] == "days"
    assert client.get("/api/v1/forecast").get_json()["field"] == "scope"
    roster = client.get("/api/v1/roster?scope=620100")  # next week by default
    assert roster.status_code == 200
    assert {"days", "intervals", "totals", "solver", "week"} <= set(roster.get_json())
    wrong = client.get("/api/v1/roster?scope=620100&week=2026-W99")
    assert wrong.status_code == 400 and wrong.get_json()["field"] == "week"
