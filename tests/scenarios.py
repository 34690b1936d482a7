"""Seed scenarios around local noon of today, shared by the wall, province and panel tests.

Times are built around local noon of today (Asia/Shanghai), so the live store's TTL window (read
from the real clock by ``live.apply``) holds today and last week but not two weeks ago.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cockpit.ingest import ingest_batch
from tests.factories import Stream

CITY = "620100"


def _scenario_now() -> datetime:
    """A minute of today (Asia/Shanghai) close to the real clock, as aware UTC.

    The live store keeps queue entries against the real clock (``live.QUEUE_HORIZON``), so a fixed
    hour such as noon made the queue assertions depend on when the suite ran (they failed after
    18:00). Kept between 06:00 and 23:00 local so the scenario's hours stay inside today.
    """
    from zoneinfo import ZoneInfo

    real = datetime.now(ZoneInfo("Asia/Shanghai")).replace(second=0, microsecond=0)
    local = min(max(real, real.replace(hour=6, minute=0)), real.replace(hour=23, minute=0))
    return local.astimezone(UTC)


NOW = _scenario_now()


def seed_city_today(stores) -> None:
    """Lanzhou in the hour before NOW: answered/abandoned/waiting calls, three open tickets, seats."""
    s = Stream(CITY, base=NOW - timedelta(hours=1), prefix="wt-")
    raws = []
    for i, wait in enumerate((3, 5, 20, 40)):
        raws += s.answered_call(f"a{i}", i * 300, wait, 120, seat="s1")
    raws += s.abandoned_call("x1", 1500, 2)  # short abandon
    raws += s.abandoned_call("x2", 1600, 30)
    raws.append(s.event("call.offered", 3500, call_id="w1"))  # still waiting at NOW (100 s)
    raws += s.ticket("T1", 100, district="620102", category=("城乡建设", "供热"), close=False)
    raws += s.ticket("T2", 200, district="620102", category=("城乡建设", "供水"), close=False)
    raws += s.ticket("T3", 300, district="620103", category=("交通运输", "公交"), close=False)
    raws += [s.event("seat.state", 10, seat_id="s1", state="on_call"),
             s.event("seat.state", 10, seat_id="s2", state="ready"),
             s.event("seat.state", 10, seat_id="s3", state="offline")]
    assert ingest_batch(stores, raws, source="test").rejected == []


def seed_offered_on(stores, days_ago: int, n: int, *, hour_offset: float, tickets: int = 0) -> None:
    base = NOW - timedelta(days=days_ago) - timedelta(hours=hour_offset)
    s = Stream(CITY, base=base, prefix=f"wd{days_ago}-")
    raws = []
    for i in range(n):
        raws += s.answered_call(f"d{days_ago}-c{i}", i * 60, 4, 60)
    for i in range(tickets):
        raws += s.ticket(f"d{days_ago}-T{i}", i * 60, category=("城乡建设", "供热"), close=False)
    assert ingest_batch(stores, raws, source="test").rejected == []


def seed_province(stores) -> None:
    """Two cities today (Lanzhou, Jiayuguan) and one Lanzhou ticket three days old."""
    raws = []
    for city, answered, abandoned, tickets in (("620100", 6, 2, 4), ("620200", 2, 0, 1)):
        s = Stream(city, base=NOW - timedelta(hours=2), prefix=f"pv-{city}-")
        for i in range(answered):
            raws += s.answered_call(f"a{i}", i * 60, 5, 60)
        for i in range(abandoned):
            raws += s.abandoned_call(f"x{i}", 900 + i * 60, 40)
        for i in range(tickets):
            raws += s.ticket(f"{city}-T{i}", i * 120, district="620102" if city == "620100" else "620201")
    old = Stream("620100", base=NOW - timedelta(days=3), prefix="pv-old-")
    raws += old.ticket("old-T", 0)
    assert ingest_batch(stores, raws, source="test").rejected == []


# ------------------------------------------------------------------ assessment (tests/test_assessment.py)

ASSESSMENT_BASE = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)  # 10:00 local, inside October 2026


def assessment_tickets() -> list[dict]:
    """Units A (mostly hard tickets) and B (mostly easy) in October 2026; expectations in test_assessment."""
    s = Stream("620100", ASSESSMENT_BASE, prefix="as-")
    out: list[dict] = []
    n = 0

    def ticket(unit, district, category, on_time, reopen=False, ret=False):
        nonlocal n
        n += 1
        tid = f"620100-AS{n}"
        t = n * 600
        out.extend([
            s.event("ticket.created", t, ticket_id=tid, district=district, category=[category],
                    due_at=s.at(t + 2 * 86400)),
            s.event("ticket.dispatched", t + 60, ticket_id=tid, unit=unit),
            s.event("ticket.responded", t + 3600, ticket_id=tid, unit=unit),
        ])
        if ret:
            out.append(s.event("ticket.returned", t + 1800, ticket_id=tid, unit=unit, reason="非本单位"))
            out.append(s.event("ticket.dispatched", t + 1900, ticket_id=tid, unit=unit))
        close_at = t + (86400 if on_time else 3 * 86400)
        out.append(s.event("ticket.closed", close_at, ticket_id=tid, unit=unit, resolution="办结"))
        out.append(s.event("ticket.callback", close_at + 3600, ticket_id=tid, resolved="yes",
                           satisfaction="satisfied"))
        if reopen:
            out.append(s.event("ticket.reopened", close_at + 7200, ticket_id=tid, reason="未解决"))
            out.append(s.event("ticket.closed", close_at + 9000, ticket_id=tid, unit=unit, resolution="再次办结"))

    for i in range(8):
        ticket("A", "620102", "难", on_time=i < 5)
    for i in range(2):
        ticket("A", "620102", "易", on_time=True)
    for i in range(2):
        ticket("B", "620103", "难", on_time=i < 1)
    for i in range(8):
        ticket("B", "620103", "易", on_time=i < 7, reopen=(i == 0), ret=(i == 1))
    return out


# ------------------------------------------------------------------ reports (tests/test_reports.py)

def seed_report_weeks(stores, *, with_last_year: bool = True) -> dict[str, int]:
    """Tickets and calls in this week, the week before and (optionally) the same week last year."""
    counts = {}
    plans = {"now": (datetime(2026, 11, 24, 2, tzinfo=UTC), 9), "prev": (datetime(2026, 11, 17, 2, tzinfo=UTC), 6)}
    if with_last_year:
        plans["yoy"] = (datetime(2025, 11, 25, 2, tzinfo=UTC), 12)
    raws = []
    for name, (base, n) in plans.items():
        s = Stream("620100", base, prefix=f"rep-{name}-")
        for i in range(n):
            raws += s.ticket(f"620100-{name}-{i}", i * 3600, district="620102" if i % 3 else "620103",
                             category=("城乡建设", "供热") if i % 2 else ("交通运输", "公交"),
                             satisfaction="satisfied" if i % 4 else "dissatisfied")
            raws += s.answered_call(f"{name}-c{i}", i * 600, wait=5 + i, talk=120, seat="s1")
        counts[name] = n
    s = Stream("620100", plans["now"][0], prefix="rep-extra-")
    raws += [s.event("ticket.returned", 700, ticket_id="620100-now-1", unit="城关区人民政府", reason="非本单位")]
    raws += s.abandoned_call("now-ab", 50, wait=30)
    result = ingest_batch(stores, raws, source="test")
    assert not result.rejected, result.rejected
    return counts


TOPIC_LIFT = "幸福里小区电梯故障频繁，今天又困人，物业不修"
TOPIC_DANCE = "东方红广场夜间广场舞噪音扰民"
TOPIC_OTHERS = ("人民路公交站台破损需要维修", "建议增加夜间公交班次", "某餐馆油烟扰民", "学校门口交通拥堵")


def seed_topics(stores, now: datetime, *, baseline_days: int = 4, text: bool = True) -> None:
    """Hand-made requests for the hot-topics panel in Lanzhou: today (from four hours before ``now``,
    20 minutes apart) five about a broken lift in 城关区 (new: nothing like it before), three about
    square-dance noise in 七里河区 and four unrelated ones; on each of the ``baseline_days`` days before,
    at the same hours, three about the dance noise (every day's news) and one unrelated. ``text=False``:
    today's tickets carry no text."""
    s = Stream(CITY, base=now, prefix="tp-")

    def tickets(texts: list[tuple[str, str]], day: int) -> list[dict]:
        start = -day * 86400 - 4 * 3600
        return [s.event("ticket.created", start + i * 1200, ticket_id=f"tp{day}-{i}", district=district,
                        category=["城乡建设", "物业服务"], channel="phone", urgency="normal", text=words,
                        due_at=s.at(start + i * 1200 + 5 * 86400))
                for i, (words, district) in enumerate(texts)]

    today = [(TOPIC_LIFT + f"第{i}次" if text else "", "620102") for i in range(5)]
    today += [(TOPIC_DANCE + f"今天第{i}次" if text else "", "620103") for i in range(3)]
    today += [(words if text else "", "620104") for words in TOPIC_OTHERS]
    raws = tickets(today, 0)
    for day in range(1, baseline_days + 1):
        raws += tickets([(TOPIC_DANCE + f"第{day}{i}次", "620103") for i in range(3)]
                        + [(TOPIC_OTHERS[day % 4], "620104")], day)
    result = ingest_batch(stores, raws, source="test")
    assert not result.rejected, result.rejected
