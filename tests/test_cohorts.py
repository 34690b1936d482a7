"""Frozen ticket cohorts (metrics.cohorts): the ticket rates read through each city-day's frozen rows
equal the row-by-row figures, by hand, on random streams and on real 311 data, also after frozen
tickets change (reopened, a new callback), with other settings and at an earlier ``now``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from cockpit.importers import run
from cockpit.metrics import cohorts, definitions, kpi, queries
from cockpit.metrics.definitions import TicketCounts
from cockpit.store.models import Ticket, TicketCohort, TicketCohortDay
from tests.metric_events import T0, W_END, ingest, random_tickets, scenario_tickets, ticket
from tests.services import DATA

SH = ZoneInfo("Asia/Shanghai")
DAY0 = datetime(2026, 11, 1, 16, 0)  # local midnight of 2 Nov 2026 (Asia/Shanghai), naive UTC
TICKET_FIGURES = ("tickets_created", "tickets_dispatched", "tickets_closed", "response_rate", "resolution_rate",
                  "satisfaction_rate", "on_time_closure_rate", "rework_rate", "return_rate",
                  "transfer_chain_mean", "dispatch_accuracy")


def _both(session, settings, **kw) -> tuple:
    fast = queries.ticket_counts(session, settings=settings, **kw)
    slow = queries.ticket_counts(session, settings=settings, use_cohorts=False, **kw)
    return fast, slow


def _frozen(stores) -> tuple[int, int, int]:
    with stores.session() as s:
        return (s.scalar(select(func.count()).select_from(Ticket).where(Ticket.cohort_frozen.is_(True))),
                s.scalar(select(func.count()).select_from(TicketCohortDay)),
                s.scalar(select(func.count()).select_from(TicketCohortDay).where(TicketCohortDay.dirty.is_(True))))


def test_coh001_fields_line_up():
    # the stored columns, the SQL columns and the container are one order
    names = [c.name for c in TicketCohort.__table__.columns][3:]
    assert names == [f for f in TicketCounts.__dataclass_fields__]


def test_coh002_hand_scenario_frozen_then_changed(stores):
    ingest(stores, scenario_tickets())
    now = T0 + timedelta(days=3)
    day = (DAY0, DAY0 + timedelta(days=1))
    done = cohorts.run_job(stores, now=now)
    # T1, T2 (callback in), T4 closed then reopened (no), T5 (closed, no callback expected): 3 frozen
    assert done == {"days": 1, "tickets_frozen": 3}
    assert _frozen(stores) == (3, 1, 0)
    with stores.session() as s:
        ids = set(s.scalars(select(Ticket.ticket_id).where(Ticket.cohort_frozen.is_(True))))
        assert ids == {"T1", "T2", "T5"}
        for window in ((T0, W_END), day, (DAY0 - timedelta(days=3), DAY0 + timedelta(days=5))):
            doc = kpi.kpi(s, scope="620100", start=window[0], end=window[1], settings=stores.settings, now=now)
            raw = kpi.kpi(s, scope="620100", start=window[0], end=window[1], settings=stores.settings, now=now,
                          use_rollups=False)
            assert {k: doc[k] for k in TICKET_FIGURES} == {k: raw[k] for k in TICKET_FIGURES}, window
        # the hand figures of tests/test_metrics.py::test_met030, now through the frozen day
        doc = kpi.kpi(s, scope="620100", start=T0, end=W_END, settings=stores.settings, now=now)
        assert doc["satisfaction_rate"] == pytest.approx(1 / 2) and doc["rework_rate"] == pytest.approx(1 / 4)
        whole = queries.ticket_counts(s, cities=("620100",), start=day[0], end=day[1], now=now,
                                      settings=stores.settings)
        assert (whole.created, whole.closed, whole.ever_closed, whole.reopened) == (6, 3, 4, 1)
        # the day's rows are what is read: a changed stored count shows (the raw path does not move)
        s.execute(update(TicketCohort).values(created=TicketCohort.created + 100))
        tampered, raw = _both(s, stores.settings, cities=("620100",), start=day[0], end=day[1], now=now)
        assert tampered.created == raw.created + 2 * 100  # two district rows: 620102 (T1, T2) and "" (T5)
        s.rollback()

    # T1 reopened and T2's callback revised after freezing: the day is dirty, figures stay exact
    ingest(stores, [ticket("T1", "reopened", now + timedelta(hours=1)),
                    ticket("T2", "callback", now + timedelta(hours=2), resolved="yes", satisfaction="satisfied")])
    assert _frozen(stores) == (1, 1, 1)
    later = now + timedelta(hours=3)
    with stores.session() as s:
        fast, slow = _both(s, stores.settings, cities=("620100",), start=day[0], end=day[1], now=later)
        # reopened T1 T4; closed T2 T5; satisfied T1 (its callback stands) and T2 (revised)
        assert fast == slow and (slow.reopened, slow.closed, slow.satisfied) == (2, 2, 2)
    assert cohorts.run_job(stores, now=later) == {"days": 1, "tickets_frozen": 2}
    assert _frozen(stores) == (2, 1, 0)
    with stores.session() as s:
        fast, slow = _both(s, stores.settings, cities=("620100",), start=day[0], end=day[1], now=later)
        assert fast == slow
        # other settings than the frozen rows were counted with: read row by row, same figures
        for other in (stores.settings.with_(count_basic_as_satisfied=True),
                      stores.settings.with_(response_deadline_s=3600)):
            fast, slow = _both(s, other, cities=("620100",), start=day[0], end=day[1], now=later)
            assert fast == slow
        by_district = _both(s, stores.settings, cities=("620100",), start=day[0], end=day[1], now=later,
                            group_by="district")
        assert by_district[0] == by_district[1] and None in by_district[0]


def test_coh003_unanswered_dispatch_settles_before_freezing(stores):
    # closed without a response: "due for response" depends on now until the deadline passes
    ingest(stores, [
        ticket("Q1", "created", T0, category=["城建"]),
        ticket("Q1", "dispatched", T0 + timedelta(minutes=5), unit="U1"),
        ticket("Q1", "closed", T0 + timedelta(hours=1), unit="U1", no_callback=True),
    ])
    day = (DAY0, DAY0 + timedelta(days=1))
    deadline = timedelta(seconds=definitions.response_deadline_s(stores.settings))
    early = DAY0 + timedelta(days=1, minutes=1)   # the day is over, the deadline is not
    assert cohorts.run_job(stores, now=early)["tickets_frozen"] == 0
    settled = T0 + timedelta(minutes=5) + deadline + timedelta(minutes=1)
    assert cohorts.run_job(stores, now=settled)["tickets_frozen"] == 1
    with stores.session() as s:
        for now in (T0 + timedelta(hours=2), settled, settled + timedelta(days=30)):
            fast, slow = _both(s, stores.settings, cities=("620100",), start=day[0], end=day[1], now=now)
            assert fast == slow, now
        assert _both(s, stores.settings, cities=("620100",), start=day[0], end=day[1],
                     now=T0 + timedelta(hours=2))[0].due_for_response == 0


def test_coh004_random_streams_every_window_and_grouping(stores):
    start = DAY0 - timedelta(days=2)
    events = random_tickets(11, start=start, hours=24 * 5, per_hour=4)
    # every third ticket runs its course; some get reopened after their callback
    steps = []
    for i, e in enumerate(e for e in events if e["type"] == "ticket.created"):
        at = datetime.fromisoformat(e["occurred_at"].replace("Z", "+00:00")).replace(tzinfo=None)
        city, tid = e["city"], e["ticket_id"]
        if i % 3:
            steps += [ticket(tid, "dispatched", at + timedelta(minutes=5), city, unit="U1", auto=bool(i % 2)),
                      ticket(tid, "responded", at + timedelta(hours=i % 30), city, unit="U1"),
                      ticket(tid, "closed", at + timedelta(hours=2 + i % 50), city, unit="U1")]
            if i % 5:
                steps.append(ticket(tid, "callback", at + timedelta(hours=60), city, resolved="yes",
                                    satisfaction=["satisfied", "basic", "dissatisfied"][i % 3]))
    ingest(stores, events + steps)
    now = start + timedelta(days=9)
    done = cohorts.run_job(stores, now=now)
    frozen, days, _ = _frozen(stores)
    assert done["days"] == days >= 10 and frozen > 100
    windows = [(DAY0, DAY0 + timedelta(days=2)), (start + timedelta(hours=7, minutes=3), now),
               (DAY0 + timedelta(hours=5), DAY0 + timedelta(days=1, hours=5)), (start - timedelta(days=30), now)]

    def check(at):
        with stores.session() as s:
            for lo, hi in windows:
                for kw in ({"cities": ("620100",)}, {"cities": ("620100", "620200"), "group_by": "city"},
                           {"cities": ("620100",), "districts": ("620102",)},
                           {"cities": ("620100", "620200"), "group_by": "district"}):
                    fast, slow = _both(s, stores.settings, start=lo, end=hi, now=at, **kw)
                    assert fast == slow, (lo, hi, kw)

    check(now)
    # frozen tickets change: reopened, a second callback, a late earlier step
    changed = [e for e in steps if e["type"] == "ticket.callback"][:15]
    ingest(stores, [ticket(e["ticket_id"], "reopened", now + timedelta(minutes=1), e["city"]) for e in changed[:8]]
           + [ticket(e["ticket_id"], "callback", now + timedelta(minutes=2), e["city"], resolved="no",
                     satisfaction="dissatisfied") for e in changed[8:]])
    assert _frozen(stores)[2] > 0
    check(now + timedelta(minutes=5))
    cohorts.run_job(stores, now=now + timedelta(minutes=5))
    assert _frozen(stores)[2] == 0
    check(now + timedelta(minutes=6))


@pytest.mark.slow
def test_coh005_real_311_data_months_and_league(stores):
    # Los Angeles 311 (2017 and 2018 samples): closed tickets without callbacks freeze after the wait
    for path in (DATA / "la311_2017_first2000.csv.gz", DATA / "la311_2018_first2000.csv.gz"):
        run(stores, path, "la311", city="LA", tz="America/Los_Angeles")
    run(stores, DATA / "nyc311_2022-05-01_sample.csv.gz", "nyc311", city="NYC")
    now = datetime(2026, 11, 30, 12, 0)
    with stores.session() as s:
        lo, hi = s.execute(select(func.min(Ticket.created_at), func.max(Ticket.created_at))).one()
    out = cohorts.freeze_days(stores, lo, hi + timedelta(days=1), now=now)
    frozen, days, _ = _frozen(stores)
    assert out["tickets_frozen"] == frozen > 1000 and days == out["days"]
    with stores.session() as s:
        months = []
        month = datetime(lo.year, lo.month, 1)
        while month <= hi:
            nxt = datetime(month.year + month.month // 12, month.month % 12 + 1, 1)
            months.append((month - timedelta(hours=8), nxt - timedelta(hours=8)))  # local months
            month = nxt
        for scope in ("LA", "NYC"):
            for start, end in months:
                doc = kpi.kpi(s, scope=scope, start=start, end=end, settings=stores.settings, now=now)
                raw = kpi.kpi(s, scope=scope, start=start, end=end, settings=stores.settings, now=now,
                              use_rollups=False)
                assert {k: doc[k] for k in TICKET_FIGURES} == {k: raw[k] for k in TICKET_FIGURES}, (scope, start)
        fast, slow = _both(s, stores.settings, cities=("LA", "NYC"), start=lo, end=hi, now=now, group_by="city")
        assert fast == slow and sum(c.created for c in fast.values()) > 4000


def test_coh006_days_with_tickets_probe_equals_the_daily_counts(stores):
    # the league's history days: one probe a day instead of counting every ticket of 28 days
    ingest(stores, random_tickets(5, start=DAY0 - timedelta(days=3), hours=30, per_hour=1)
           + random_tickets(6, start=DAY0 + timedelta(days=4), hours=5, per_hour=2, cities=("620200",)))
    days = [(DAY0 + timedelta(days=i, hours=8)).date() for i in range(-5, 8)]
    with stores.session() as s:
        for cities in (("620100",), ("620200",), ("620100", "620200"), ("620300",)):
            counts = queries.daily_tickets(s, cities=cities, days=days, tz=SH)
            want = [any(per[i] for per in counts.values()) for i in range(len(days))]
            assert queries.days_with_tickets(s, cities=cities, days=days, tz=SH) == want
            assert sum(want) > 0 or cities == ("620300",)


def test_coh007_the_worker_recounts_every_minute_and_the_cli_after_a_range(sqlite_stores):
    import json

    from apscheduler.schedulers.background import BackgroundScheduler
    from click.testing import CliRunner

    from cockpit import jobs
    from cockpit.cli import main

    scheduler = BackgroundScheduler()
    jobs.schedule(scheduler, sqlite_stores)
    job = scheduler.get_job("ticket_cohorts")
    assert job is not None and job.func is jobs.freeze_cohorts and job.trigger.interval == timedelta(minutes=1)
    ingest(sqlite_stores, scenario_tickets())
    env = {"COCKPIT_DATABASE_URL": sqlite_stores.settings.sqlalchemy_url,
           "COCKPIT_REDIS_URL": sqlite_stores.settings.redis_url}
    out = CliRunner().invoke(main, ["rollup", "--from", (DAY0 - timedelta(days=1)).isoformat(),
                                    "--to", (DAY0 + timedelta(days=2)).isoformat()], env=env)
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["ticket_cohort_days"] == 1
    assert _frozen(sqlite_stores) == (3, 1, 0)


def test_coh008_every_ticket_writer_marks_the_frozen_day_dirty(stores):
    # the bulk path (SQLite: prepared chunks; PostgreSQL: the set-based upsert) and the columnar
    # SQL fold rewrite ticket rows too: each marks the frozen day dirty and unflags the ticket
    from cockpit.bulk import bulk_ingest

    ingest(stores, scenario_tickets())
    now = T0 + timedelta(days=3)
    day = (DAY0, DAY0 + timedelta(days=1))
    assert cohorts.run_job(stores, now=now)["tickets_frozen"] == 3
    result = bulk_ingest(stores, [ticket("T2", "reopened", now + timedelta(hours=1))], source="test", rollup=False,
                         now=(now + timedelta(hours=1)).replace(tzinfo=UTC))
    assert result.accepted == 1
    assert _frozen(stores) == (2, 1, 1)
    later = now + timedelta(hours=2)
    with stores.session() as s:
        fast, slow = _both(s, stores.settings, cities=("620100",), start=day[0], end=day[1], now=later)
        assert fast == slow and slow.reopened == 2
    assert cohorts.run_job(stores, now=later)["tickets_frozen"] == 2
    assert _frozen(stores) == (2, 1, 0)
    if stores.engine.dialect.name != "postgresql":
        return  # the columnar SQL fold is PostgreSQL's
    from cockpit.store import columnar

    with stores.session() as s:
        columnar.refold(s, ["T1"])
    assert _frozen(stores) == (1, 1, 1)
    with stores.session() as s:
        fast, slow = _both(s, stores.settings, cities=("620100",), start=day[0], end=day[1], now=later)
        assert fast == slow
        first = s.get(Ticket, "T1").first_step_at
        assert first == T0  # the columnar fold keeps the steps' span too


def test_coh009_kpi_months_and_league_equal_the_raw_counts_across_a_local_month_boundary(stores):
    # a mixed stream around local midnight of 1 Nov 2026 (Asia/Shanghai): tickets left open, closed
    # with and without callbacks, reopened after their day froze; the KPI of each local month and
    # the league panel (rows, province rates, daily trends) equal the row-by-row figures
    from cockpit.views import panels

    boundary = datetime(2026, 10, 31, 16, 0)  # 1 Nov 00:00 Shanghai, naive UTC
    start = boundary - timedelta(days=2, hours=5)
    events = random_tickets(15, start=start, hours=24 * 4, per_hour=3, cities=("620100", "620200", "620300"))
    steps = []
    for i, e in enumerate(e for e in events if e["type"] == "ticket.created"):
        at = datetime.fromisoformat(e["occurred_at"].replace("Z", "+00:00")).replace(tzinfo=None)
        city, tid = e["city"], e["ticket_id"]
        if i % 4 == 0:
            continue  # never dispatched: open
        steps.append(ticket(tid, "dispatched", at + timedelta(minutes=3), city, unit="U1", auto=bool(i % 3)))
        if i % 4 == 1:
            continue  # dispatched, no response: due for response once the deadline passed
        steps += [ticket(tid, "responded", at + timedelta(hours=i % 30), city, unit="U1"),
                  ticket(tid, "closed", at + timedelta(hours=1 + i % 40), city, unit="U1")]
        if i % 4 == 2:
            steps.append(ticket(tid, "callback", at + timedelta(hours=50), city, resolved=["yes", "no"][i % 2],
                                satisfaction=["satisfied", "basic", "dissatisfied", "unreachable"][i % 4 // 2 + i % 2]))
    ingest(stores, events + steps)
    now = start + timedelta(days=12)
    assert cohorts.run_job(stores, now=now)["tickets_frozen"] > 100
    months = [(boundary - timedelta(days=31), boundary), (boundary, boundary + timedelta(days=30))]
    tz = stores.settings.tz

    def check(at):
        with stores.session() as s:
            for city in ("620100", "620200", "620102"):
                for lo, hi in months + [(start, at)]:
                    doc = kpi.kpi(s, scope=city, start=lo, end=hi, settings=stores.settings, now=at)
                    raw = kpi.kpi(s, scope=city, start=lo, end=hi, settings=stores.settings, now=at,
                                  use_rollups=False)
                    doc.pop("calls_path"), raw.pop("calls_path")
                    assert doc == raw and doc["tickets_created"] > 0, (city, lo)
            league = panels.compute_league(stores, "620000", at.replace(tzinfo=UTC))
            cities = league["cities"]
            lo = datetime.fromisoformat(league["from"]).replace(tzinfo=None)
            by_city = queries.ticket_counts(s, cities=cities, start=lo, end=at, now=at, settings=stores.settings,
                                            group_by="city", use_cohorts=False)
            for city, counts in by_city.items():
                row = league["rows"][city]
                assert {k: row[k] for k in panels.LEAGUE_TICKET_RATES} == \
                    {k: counts.figures()[k] for k in panels.LEAGUE_TICKET_RATES}, city
            whole = queries.ticket_counts(s, cities=cities, start=lo, end=at, now=at, settings=stores.settings,
                                          use_cohorts=False).figures()
            assert league["province"] == {k: whole[k] for k in panels.LEAGUE_TICKET_RATES}
            days = [datetime.fromisoformat(d).date() for d in league["trend_days"]]
            assert league["trends"] == queries.daily_tickets(s, cities=cities, days=days, tz=tz, use_cohorts=False)
            assert sum(sum(v) for v in league["trends"].values()) > 100

    check(now)
    reopened = [e for e in steps if e["type"] == "ticket.callback"][:10]
    ingest(stores, [ticket(e["ticket_id"], "reopened", now + timedelta(minutes=1), e["city"]) for e in reopened])
    assert _frozen(stores)[2] > 0  # dirty days: read row by row
    check(now + timedelta(minutes=5))
    cohorts.run_job(stores, now=now + timedelta(minutes=5))
    assert _frozen(stores)[2] == 0
    check(now + timedelta(minutes=6))
    check(boundary + timedelta(hours=3))  # "now" early on the month's first day: its days are not settled
