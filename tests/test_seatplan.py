"""The planning panel of /supervise: today's calls against the forecast, seats required / planned /
logged in now and for the next two hours (read model and layout), and its scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cockpit.auth.principal import AccessDenied, Principal
from cockpit.http.planning import roster_document
from cockpit.views.seatplan import supervise_plan
from layouts.roster import current_week
from layouts.seatplan import plan_panel
from tests.metric_events import call, ingest, seat, weekday_call_history

NOW = datetime(2026, 11, 25, 2, 5)  # naive UTC: Wednesday 10:05 in Shanghai; calls every weekday 09:00-11:00


def _texts(component) -> str:
    out = []

    def walk(c):
        if isinstance(c, str):
            out.append(c)
        elif isinstance(c, (list, tuple)):
            for x in c:
                walk(x)
        elif hasattr(c, "children"):
            walk(c.children)
    walk(component)
    return " ".join(out)


def _user(*scopes: str, role: str = "supervisor") -> Principal:
    return Principal(kind="user", name="测试员", role=role, scopes=tuple(scopes))


def _busy_morning() -> list[dict]:
    """Today 09:00-10:05 local: 6 calls a quarter hour, twice the usual 3."""
    start = NOW.replace(hour=1, minute=0)
    return [e for i in range(26) for e in call(f"today{i}", queued=start + timedelta(seconds=150 * i + 30),
                                               answer_after=4, talk=100)]


def test_plan001_calls_against_the_forecast_and_seats_now_and_next(sqlite_stores):
    stores = sqlite_stores
    ingest(stores, weekday_call_history(2, NOW) + _busy_morning()
           + [seat(f"P{k}", "ready", NOW - timedelta(minutes=5)) for k in range(2)])
    roster = roster_document(stores, scope="620100", week=current_week(stores.settings.tz, NOW.replace(tzinfo=UTC)),
                             now=NOW)
    data = supervise_plan(stores, {"city": "620100"}, now=NOW, principal=_user("620100"))
    assert data["available"] and data["forecast_ready"] and data["method"] == "glm_how"
    tot = data["totals"]
    assert tot["offered_so_far"] == 26 == sum(r["offered"] for r in data["today"])
    # 09:00-10:05 local: 4 quarters x 3 calls and a third of the next, the weekday pattern
    assert tot["forecast_so_far"] == pytest.approx(13, abs=2)
    assert tot["ratio"] == pytest.approx(26 / tot["forecast_so_far"], rel=0.01)
    # the day-ahead forecast of the past quarters, with an 80 % interval around it
    nine = [r for r in data["today"] if r["whole"] and r["offered"]]
    assert len(nine) == 4 and all(r["lower"] <= r["forecast"] <= r["upper"] for r in nine)
    # the next two hours: the live forecast, lifted by today's busy morning (intraday update)
    assert [r["start"] for r in data["ahead"]][0] == NOW.replace(minute=0, tzinfo=UTC).isoformat()
    assert len(data["ahead"]) == 9 and data["intraday"]["ratio"] > 1.2
    assert data["ahead"][0]["forecast"] > 3  # 3 a quarter hour usually; today runs hotter
    first = next(r for r in roster["intervals"] if r["start"] == data["ahead"][0]["start"])
    assert data["seats"]["planned"] == first["planned"] == data["ahead"][0]["planned"]
    assert data["seats"]["logged_in"] == 2 and data["seats"]["required"] == data["ahead"][0]["required"] >= 1
    zh, en = _texts(plan_panel(data, "zh")), _texts(plan_panel(data, "en"))
    assert "话务预测与坐席" in zh and "今日来电" in zh and "在岗坐席" in zh and "预测数据不足" not in zh
    assert "Forecast and seats" in en and "Logged-in seats" in en and "Planned seats" in en
    assert "未来2小时预测已按今日来电水平调整" in zh and "adjusted to today's call level" in en
    assert "兰州" in zh and "Lanzhou" in en
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in en)  # complete English


def test_plan002_too_little_history_says_so(sqlite_stores):
    stores = sqlite_stores
    ingest(stores, _busy_morning())
    data = supervise_plan(stores, {}, now=NOW, principal=_user("620100"))
    assert data["scope"] == "620100" and data["available"]
    assert data["forecast_ready"] is False and data["method"] == "recent_rate"
    zh, en = _texts(plan_panel(data, "zh")), _texts(plan_panel(data, "en"))
    assert "预测数据不足" in zh and "Too little history" in en
    assert "无排班" in zh and "no roster" in en


def test_plan003_scope_is_enforced(sqlite_stores):
    stores = sqlite_stores
    ingest(stores, _busy_morning())
    with pytest.raises(AccessDenied) as refused:
        supervise_plan(stores, {"city": "620100"}, now=NOW, principal=_user("620200"))
    assert refused.value.status == 403
    own = supervise_plan(stores, {}, now=NOW, principal=_user("620200"))
    assert own["scope"] == "620200" and own["totals"]["offered_so_far"] == 0  # Jiayuguan's calls: none
    # a district filter shows its city's panel to a city user; a district user sees no city calls
    assert supervise_plan(stores, {"district": "620103"}, now=NOW, principal=_user("620100"))["scope"] == "620100"
    district = supervise_plan(stores, {"district": "620103"}, now=NOW, principal=_user("620103"))
    assert district["available"] is False and "totals" not in district
    assert "区县没有话务预测" in _texts(plan_panel(district, "zh"))
    province = supervise_plan(stores, {}, now=NOW, principal=_user("620000", role="leader"))
    assert province["scope"] == "620000" and province["totals"]["offered_so_far"] == 26
