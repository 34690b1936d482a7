"""Day rollups (``store.days``): ``call_days`` and ``ticket_days`` kept by every write in its
transaction equal a recount from the raw rows, by hand and on mixed streams (duplicates, reordering,
calls and tickets across local midnight in Asia/Shanghai), and the KPI and the league read through
them equal the raw scan."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from cockpit.metrics import kpi, queries
from cockpit.store import days
from cockpit.store.models import CallDay, TicketDay
from cockpit.views import panels
from tests.metric_events import T0, call, ingest, random_calls, random_tickets, scenario_calls, scenario_tickets, ticket

NOV1 = datetime(2026, 10, 31, 16, 0)  # local midnight of 1 Nov 2026 (Asia/Shanghai), naive UTC
NOV2 = NOV1 + timedelta(days=1)


def _keep(stores) -> None:
    with stores.session() as s:
        assert days.ensure(s, stores.settings)


def _kept_equals_recount(stores) -> tuple[list, list]:
    with stores.session() as s:
        kept = (days.rows(s, CallDay), days.rows(s, TicketDay))
        days.rebuild(s, stores.settings)
        assert (days.rows(s, CallDay), days.rows(s, TicketDay)) == kept
    return kept


def _in_batches(stores, events: list[dict], size: int, seed: int) -> None:
    events = list(events)
    random.Random(seed).shuffle(events)
    for i in range(0, len(events), size):
        ingest(stores, events[i : i + size])


def test_day001_hand_counts_across_local_midnight(stores):
    _keep(stores)
    # 23:59:58 local on 1 Nov, answered at 00:00:05 on 2 Nov: a call of 1 Nov (its queue time)
    midnight_call = call("M1", queued=NOV2 - timedelta(seconds=2), answer_after=7, talk=60.0)
    # created 23:59:30 on 1 Nov, dispatched and responded after midnight: a ticket of 1 Nov
    midnight_ticket = [ticket("TM", "created", NOV2 - timedelta(seconds=30), category=["城建"]),
                       ticket("TM", "dispatched", NOV2 + timedelta(seconds=10), unit="U1"),
                       ticket("TM", "responded", NOV2 + timedelta(minutes=10), unit="U1")]
    late_ticket = [ticket("TL", "created", NOV2 + timedelta(hours=23), category=["咨询"])]  # 23:00 on 2 Nov
    events = scenario_calls() + scenario_tickets() + midnight_call + midnight_ticket + late_ticket
    _in_batches(stores, events + random.Random(1).sample(events, 12), 5, seed=2)  # re-sent and out of order
    calls, tickets = _kept_equals_recount(stores)
    # offered: every call reaching the queue (C7 answered without an offer); answered C1 C2 C5 C7 C8;
    # abandoned C3 (3 s: short) and C4
    assert calls == [("620100", NOV1, 1, 1, 0, 0), ("620100", NOV2, 8, 5, 2, 1)]
    # created, dispatched, closed, responded (the days' due_for_response), in time, valid callbacks,
    # resolved, satisfied, closed with due, on time, ever closed, reopened, returned, handoffs, auto, auto kept
    assert tickets == [
        ("620100", NOV1, "", 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),              # TM
        ("620100", NOV2, "", 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0),              # T5 TL
        ("620100", NOV2, "620102", 3, 2, 2, 2, 1, 2, 1, 1, 2, 1, 2, 0, 0, 0, 1, 1),        # T1 T2 T6
        ("620100", NOV2, "620103", 2, 2, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 1),        # T3 T4
    ]
    now = T0 + timedelta(days=3)  # T3's response deadline has passed: due for response, read from tickets
    with stores.session() as s:
        whole = queries.ticket_counts(s, cities=("620100",), start=NOV2, end=NOV2 + timedelta(days=1), now=now,
                                      settings=stores.settings)
        raw = queries.ticket_counts(s, cities=("620100",), start=NOV2, end=NOV2 + timedelta(days=1), now=now,
                                    settings=stores.settings, use_cohorts=False)
        assert whole == raw and whole.due_for_response == 4  # T1 T2 T4 responded, T3 overdue
        # up to 20:00: the day's row minus TL (created after the window), the same as row by row
        evening = [queries.ticket_counts(s, cities=("620100",), start=NOV2, end=NOV2 + timedelta(hours=20), now=now,
                                         settings=stores.settings, use_cohorts=fast) for fast in (True, False)]
        assert evening[0] == evening[1] and evening[0].created == 6 and whole.created == 7
        early = queries.ticket_counts(s, cities=("620100",), start=NOV2, end=NOV2 + timedelta(days=1),
                                      now=T0 + timedelta(hours=3), settings=stores.settings)
        assert early.due_for_response == 3
        # the days are what is read: a changed stored count shows
        s.execute(update(TicketDay).values(created=TicketDay.created + 100))
        s.execute(update(CallDay).values(offered=CallDay.offered + 10))
        assert queries.ticket_counts(s, cities=("620100",), start=NOV2, end=NOV2 + timedelta(days=1), now=now,
                                      settings=stores.settings).created == 7 + 300
        rows = kpi.rankings(s, scope="620000", level="city", start=NOV1, end=NOV2 + timedelta(days=1),
                            settings=stores.settings, now=now)["rows"]
        assert {r["key"]: r["offered"] for r in rows}["620100"] == 9 + 20
        s.rollback()


def _mixed_stream(start: datetime) -> list[dict]:
    """Three cities over four days around local midnight of 1 Nov: calls of every outcome, tickets
    left open, dispatched without a response, closed, called back, reopened and returned."""
    cities = ("620100", "620200", "620300")
    events = random_calls(5, start=start, hours=24 * 4, cities=cities, per_hour=3)
    tickets = random_tickets(6, start=start, hours=24 * 4, cities=cities, per_hour=2)
    rng = random.Random(7)
    for e in [e for e in tickets if e["type"] == "ticket.created"]:
        at = datetime.fromisoformat(e["occurred_at"].replace("Z", "+00:00")).replace(tzinfo=None)
        city, tid, roll = e["city"], e["ticket_id"], rng.random()
        if roll < 0.2:
            continue
        events.append(ticket(tid, "dispatched", at + timedelta(minutes=rng.choice([2, 50])), city, unit="U1",
                             auto=rng.random() < 0.5))
        if roll < 0.35:
            continue
        if rng.random() < 0.2:
            events.append(ticket(tid, "returned", at + timedelta(minutes=55), city, unit="U1", reason="not ours"))
        events += [ticket(tid, "responded", at + timedelta(hours=rng.choice([1, 20, 30])), city, unit="U1"),
                   ticket(tid, "closed", at + timedelta(hours=rng.choice([2, 26, 80])), city, unit="U1")]
        if roll < 0.8:
            events.append(ticket(tid, "callback", at + timedelta(hours=90), city, resolved=rng.choice(["yes", "no"]),
                                 satisfaction=rng.choice(["satisfied", "basic", "dissatisfied", "unreachable"])))
        if roll > 0.9:
            events.append(ticket(tid, "reopened", at + timedelta(hours=95), city))
    return events + tickets


def test_day002_mixed_stream_kpi_and_league_equal_the_raw_scan(stores):
    _keep(stores)
    start = NOV1 - timedelta(days=2, hours=5)
    events = _mixed_stream(start)
    _in_batches(stores, events + random.Random(3).sample(events, 300), 211, seed=4)
    calls, tickets = _kept_equals_recount(stores)
    assert len(calls) >= 12 and len(tickets) >= 30
    months = [(NOV1 - timedelta(days=31), NOV1), (NOV1, NOV1 + timedelta(days=30))]
    for at in (start + timedelta(days=5), NOV1 + timedelta(hours=20), start + timedelta(days=12)):
        with stores.session() as s:
            assert days.usable(s, stores.settings)
            for scope in ("620100", "620200", "620102", "620000"):
                # whole months, a window ending late in a day (its rest taken out of the day's row),
                # one day, and "today" up to a time before and after its middle
                for lo, hi in months + [(start, at), (NOV1, NOV1 + timedelta(days=1)), (NOV1, NOV1 + timedelta(hours=9)),
                                        (NOV1, NOV1 + timedelta(hours=15)), (NOV1 + timedelta(hours=1), at)]:
                    doc = kpi.kpi(s, scope=scope, start=lo, end=hi, settings=stores.settings, now=at)
                    raw = kpi.kpi(s, scope=scope, start=lo, end=hi, settings=stores.settings, now=at,
                                  use_rollups=False)
                    doc.pop("calls_path"), raw.pop("calls_path")
                    assert doc == raw, (scope, lo, hi, at)
            for level in ("city", "district"):
                fast = queries.ticket_counts(s, cities=("620100", "620200", "620300"), start=start, end=at,
                                             now=at, settings=stores.settings, group_by=level)
                slow = queries.ticket_counts(s, cities=("620100", "620200", "620300"), start=start, end=at,
                                             now=at, settings=stores.settings, group_by=level, use_cohorts=False)
                assert fast == slow, level
            league = panels.compute_league(stores, "620000", at.replace(tzinfo=UTC))
            lo = datetime.fromisoformat(league["from"]).replace(tzinfo=None)
            trend_days = [datetime.fromisoformat(d).date() for d in league["trend_days"]]
            assert league["trends"] == queries.daily_tickets(s, cities=league["cities"], days=trend_days,
                                                             tz=stores.settings.tz, use_cohorts=False)
            today = at.replace(tzinfo=UTC).astimezone(stores.settings.tz).date()
            before = [today - timedelta(days=panels.HISTORY_NEEDED_DAYS - i) for i in range(panels.HISTORY_NEEDED_DAYS)]
            per_day = queries.daily_tickets(s, cities=league["cities"], days=before, tz=stores.settings.tz,
                                            use_cohorts=False)
            assert league["history"]["days"] == sum(any(v[i] for v in per_day.values()) for i in range(len(before))) > 0
            by_city = queries.ticket_counts(s, cities=league["cities"], start=lo, end=at, now=at,
                                            settings=stores.settings, group_by="city", use_cohorts=False)
            for city in ("620100", "620200", "620300"):
                row = league["rows"][city]
                cc, _ = queries.call_counts(s, cities=(city,), start=lo, end=at, use_rollups=False,
                                            sl_threshold_s=stores.settings.sl_threshold_s,
                                            short_abandon_s=stores.settings.short_abandon_s)
                assert (row["offered"], row["connection_rate"]) == (cc.offered, cc.figures()["connection_rate"])
                assert {k: row[k] for k in panels.LEAGUE_TICKET_RATES} == \
                    {k: by_city[city].figures()[k] for k in panels.LEAGUE_TICKET_RATES}, city
                assert row["tickets_created"] == by_city[city].created


def test_day003_other_settings_read_the_other_paths_until_rebuilt(stores):
    _keep(stores)
    start = NOV1 - timedelta(hours=30)
    ingest(stores, _mixed_stream(start))
    at = start + timedelta(days=6)
    other = stores.settings.with_(count_basic_as_satisfied=True, short_abandon_s=10)
    with stores.session() as s:
        assert not days.usable(s, other)
        for settings in (stores.settings, other):
            fast = queries.ticket_counts(s, cities=("620100", "620200"), start=NOV1, end=at, now=at,
                                         settings=settings, group_by="city")
            slow = queries.ticket_counts(s, cities=("620100", "620200"), start=NOV1, end=at, now=at,
                                         settings=settings, group_by="city", use_cohorts=False)
            assert fast == slow
        assert days.ensure(s, other) and not days.ensure(s, other)  # rebuilt once, for the new settings
        assert days.usable(s, other)
        fast = kpi.rankings(s, scope="620000", level="city", start=NOV1, end=at, settings=other, now=at)
        assert {r["key"]: r["connection_rate"] for r in fast["rows"]} == {
            c: queries.call_counts(s, cities=(c,), start=NOV1, end=at, sl_threshold_s=other.sl_threshold_s,
                                   short_abandon_s=10, use_rollups=False)[0].figures()["connection_rate"]
            for c in (r["key"] for r in fast["rows"])}


def test_day004_a_zone_without_one_offset_keeps_nothing(stores):
    settings = stores.settings.with_(timezone="America/New_York")
    assert days.fixed_offset_s(settings.tz) is None and days.fixed_offset_s(stores.settings.tz) == 8 * 3600
    _keep(stores)
    with stores.session() as s:
        assert days.ensure(s, settings)  # drops the days kept for Shanghai
        assert days.current_shape(s) is None and not days.usable(s, settings)
    ingest(stores, scenario_calls() + scenario_tickets())
    with stores.session() as s:
        assert days.rows(s, CallDay) == [] and days.rows(s, TicketDay) == []


def test_day005_the_worker_builds_them_and_cockpit_rollup_recounts_its_range(sqlite_stores):
    import json

    from click.testing import CliRunner

    from cockpit import jobs
    from cockpit.cli import main

    ingest(sqlite_stores, scenario_calls() + scenario_tickets())  # before they are kept (a migrated database)
    with sqlite_stores.session() as s:
        assert days.current_shape(s) is None and days.rows(s, TicketDay) == []
    jobs.freeze_cohorts(sqlite_stores, now=T0 + timedelta(days=3))  # the worker's minute: builds them
    kept = _kept_equals_recount(sqlite_stores)
    assert kept[0] and kept[1]
    with sqlite_stores.session() as s:  # damaged by hand
        s.execute(update(TicketDay).values(created=0))
        s.execute(update(CallDay).values(offered=0))
    env = {"COCKPIT_DATABASE_URL": sqlite_stores.settings.sqlalchemy_url,
           "COCKPIT_REDIS_URL": sqlite_stores.settings.redis_url}
    out = CliRunner().invoke(main, ["rollup", "--from", (NOV2 + timedelta(hours=9)).replace(tzinfo=UTC).isoformat(),
                                    "--to", (NOV2 + timedelta(hours=12)).replace(tzinfo=UTC).isoformat()], env=env)
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["ticket_days"] == len(kept[1])
    assert _kept_equals_recount(sqlite_stores) == kept
