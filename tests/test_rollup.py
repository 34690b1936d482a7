"""15-minute rollups: idempotent recomputation, and rollup + raw-edge KPIs equal to raw scans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cockpit.metrics import kpi, queries
from cockpit.metrics import rollups
from cockpit.store.models import CallRollup, TicketRollup
from tests.factories import Stream
from tests.metric_events import call, ingest, random_calls, random_tickets

START = datetime(2026, 11, 2, 0, 0)
HOURS = 30
NOW = START + timedelta(days=15)


def _rows(session):
    calls = session.execute(select(CallRollup).order_by(CallRollup.city, CallRollup.interval_start)).scalars()
    tickets = session.execute(
        select(TicketRollup).order_by(TicketRollup.city, TicketRollup.district, TicketRollup.category,
                                      TicketRollup.subcategory, TicketRollup.interval_start)).scalars()
    strip = lambda o: {k: v for k, v in vars(o).items() if not k.startswith("_")}  # noqa: E731
    return [strip(r) for r in calls], [strip(r) for r in tickets]


@pytest.fixture
def traffic(stores):
    ingest(stores, random_calls(42, start=START, hours=HOURS) + random_tickets(7, start=START, hours=HOURS))
    return stores


def test_rol001_interval_rows_by_hand(stores):
    t = datetime(2026, 11, 2, 8, 15)
    ingest(stores, [
        *call("A", queued=t, answer_after=10, talk=100, hold=5, acw=15),   # handle 120
        *call("B", queued=t + timedelta(minutes=14, seconds=59), answer_after=20),
        *call("C", queued=t + timedelta(minutes=3), abandon_after=4),       # short
        *call("D", queued=t + timedelta(minutes=15), answer_after=1),       # next interval
    ])
    with stores.session() as s:
        written = rollups.rollup_interval(s, t + timedelta(minutes=7), now=NOW)
        row = s.get(CallRollup, ("620100", t))
        assert written == {"call_rollups_15m": 1, "ticket_rollups_15m": 0}
        assert (row.offered, row.answered, row.abandoned, row.short_abandoned, row.answered_within_sl) == (3, 2, 1, 1, 1)
        assert row.wait_answered_sum_s == pytest.approx(30)
        assert (row.ended, row.handle_sum_s, row.sl_threshold_s) == (1, pytest.approx(120), 15)
        assert s.get(CallRollup, ("620100", t + timedelta(minutes=15))) is None  # not asked for


def test_rol002_rerun_gives_the_same_rows(traffic):
    with traffic.session() as s:
        rollups.rollup_range(s, START, START + timedelta(hours=HOURS), now=NOW)
    with traffic.session() as s:
        first = _rows(s)
    with traffic.session() as s:
        rollups.rollup_range(s, START, START + timedelta(hours=HOURS), now=NOW)
        rollups.rollup_interval(s, START + timedelta(hours=3), now=NOW)
        rollups.rollup_interval(s, START + timedelta(hours=3), cities=["620200"], now=NOW)
    with traffic.session() as s:
        second = _rows(s)
    assert first == second
    assert len(first[0]) > 100 and len(first[1]) > 100
    assert sum(r["offered"] for r in first[0]) > 0


def test_rol003_rollup_and_raw_paths_agree(traffic):
    # calls straddling the ragged window edges below: queued before an edge, ended after it
    ingest(traffic, call("X1", queued=START + timedelta(hours=5, minutes=3), answer_after=10, talk=400.0)
           + call("X2", queued=START + timedelta(hours=26, minutes=50), answer_after=10, talk=400.0))
    with traffic.session() as s:
        rollups.rollup_range(s, START, START + timedelta(hours=HOURS), now=NOW)
    windows = [
        (START + timedelta(minutes=7, seconds=13), START + timedelta(hours=26, minutes=52, seconds=1)),  # ragged
        (START, START + timedelta(hours=HOURS)),                                                          # aligned
        (START - timedelta(days=1), START + timedelta(days=3)),                                          # beyond
        (START + timedelta(hours=5, minutes=1), START + timedelta(hours=5, minutes=14)),                  # inside one
        # longer than ROLLUP_HANDLING_MIN: handling time from rollups + corrections at each end
        (START - timedelta(days=9, minutes=-7), START + timedelta(hours=26, minutes=52, seconds=1)),
        (START + timedelta(hours=5, minutes=3, seconds=30), START + timedelta(days=14)),
    ]
    with traffic.session() as s:
        for start, end in windows:
            for scope in ("620100", "620200", "620102"):
                fast = kpi.kpi(s, scope=scope, start=start, end=end, settings=traffic.settings, now=NOW)
                slow = kpi.kpi(s, scope=scope, start=start, end=end, settings=traffic.settings, now=NOW,
                                   use_rollups=False)
                for key in ("offered", "answered", "abandoned", "short_abandoned", "answered_within_sl",
                            "connection_rate", "service_level", "abandon_rate", "asa_s", "aht_s",
                            "tickets_created", "seat_handling_s", "occupancy", "utilisation"):
                    assert fast[key] == pytest.approx(slow[key]), (scope, start, end, key)
        month = kpi.kpi(s, scope="620100", start=START, end=START + timedelta(days=30),
                            settings=traffic.settings, now=NOW)
        assert month["calls_path"] == "rollups+raw"
        assert queries.handling_seconds(s, cities=("620100",), start=START - timedelta(days=20),
                                        end=START + timedelta(days=1))[1] == "rollups+raw"
        assert month["offered"] > 0


def test_rol004_stale_threshold_or_uncovered_falls_back_to_raw(traffic):
    with traffic.session() as s:
        rollups.rollup_range(s, START, START + timedelta(hours=HOURS), now=NOW)
    with traffic.session() as s:
        other = kpi.kpi(s, scope="620100", start=START, end=START + timedelta(hours=HOURS),
                            settings=traffic.settings, now=NOW, sl_threshold_s=30)
        raw = kpi.kpi(s, scope="620100", start=START, end=START + timedelta(hours=HOURS),
                          settings=traffic.settings, now=NOW, sl_threshold_s=30, use_rollups=False)
        assert other["calls_path"] == "raw"
        assert other["service_level"] == pytest.approx(raw["service_level"])
        # intervals newer than now - SETTLE are written but not trusted
        lo, hi = queries.rollup_coverage(s)
        assert lo == START and hi == START + timedelta(hours=HOURS)
    with traffic.session() as s:
        recent_now = START + timedelta(hours=10, minutes=20)
        rollups.rollup_range(s, START + timedelta(hours=HOURS), START + timedelta(hours=HOURS + 5),
                             now=recent_now)
        assert queries.rollup_coverage(s)[1] == START + timedelta(hours=HOURS)


def test_rol005_aware_datetimes_accepted(traffic):
    with traffic.session() as s:
        rollups.rollup_range(s, START.replace(tzinfo=UTC), (START + timedelta(hours=2)).replace(tzinfo=UTC),
                             now=NOW.replace(tzinfo=UTC))
        assert queries.rollup_coverage(s) == (START, START + timedelta(hours=2))


def test_rol006_cli_rollup_command(traffic):
    import json

    from click.testing import CliRunner

    from cockpit.cli import main

    env = {"COCKPIT_DATABASE_URL": traffic.settings.sqlalchemy_url, "COCKPIT_REDIS_URL": traffic.settings.redis_url,
           "COCKPIT_TIMEZONE": "UTC"}
    args = ["rollup", "--from", START.isoformat(), "--to", (START + timedelta(hours=6)).isoformat()]
    first = CliRunner().invoke(main, args, env=env)
    assert first.exit_code == 0, first.output
    out = json.loads(first.output)
    assert out["call_rollups_15m"] > 0 and out["ticket_rollups_15m"] > 0
    with traffic.session() as s:
        rows = _rows(s)
        assert queries.rollup_coverage(s) == (START, START + timedelta(hours=6))
    again = CliRunner().invoke(main, args, env=env)
    assert json.loads(again.output) == out
    with traffic.session() as s:
        assert _rows(s) == rows


def test_rol007_tickets_by_sub_category(stores):
    s = Stream(base=START.replace(tzinfo=UTC), prefix="r7-")
    paths = [["城乡建设", "冬季采暖"], ["城乡建设", "冬季采暖"], ["城乡建设", "物业服务"], ["城乡建设"],
             ["城乡建设", "冬季采暖", "片区停暖"]]
    ingest(stores, [s.event("ticket.created", 60 * i, ticket_id=f"R{i}", district="620102", category=path,
                            text="诉求") for i, path in enumerate(paths)])
    with stores.session() as session:
        rollups.rollup_range(session, START, START + timedelta(hours=1), now=NOW)
        rollups.rollup_range(session, START, START + timedelta(hours=1), now=NOW)  # idempotent
        rows = {(r.category, r.subcategory): r.created for r in session.scalars(select(TicketRollup))}
        # the top-level readers sum over sub-categories: the rollup path agrees with the raw one
        window = {"cities": ["620100"], "start": START, "end": START + timedelta(hours=1)}
        totals = (queries.tickets_created(session, **window), queries.tickets_created(session, **window,
                                                                                     use_rollups=False))
    # the second level only: a third level does not split the row; a one-level path has ""
    assert rows == {("城乡建设", "冬季采暖"): 3, ("城乡建设", "物业服务"): 1, ("城乡建设", ""): 1}
    assert totals == (5, 5)


def test_rol008_calls_by_city_in_one_statement_equal_each_city(traffic):
    # the league's grouped call counts: per city equal to call_counts of that city alone, on the
    # rollups + raw edges path, the raw path and with a stale threshold (raw for the window)
    with traffic.session() as s:
        rollups.rollup_range(s, START, START + timedelta(hours=HOURS), now=NOW)
    windows = [(START + timedelta(minutes=7, seconds=13), START + timedelta(hours=26, minutes=52, seconds=1)),
               (START - timedelta(days=1), START + timedelta(days=3)),
               (START + timedelta(hours=5, minutes=1), START + timedelta(hours=5, minutes=14))]
    cities = ("620100", "620200", "620300")
    with traffic.session() as s:
        for start, end in windows:
            for threshold, use in ((15.0, True), (15.0, False), (30.0, True)):
                grouped = queries.call_counts_by_city(s, cities=cities, start=start, end=end,
                                                      sl_threshold_s=threshold, short_abandon_s=5,
                                                      use_rollups=use)
                for city in cities:
                    alone, _ = queries.call_counts(s, cities=(city,), start=start, end=end, sl_threshold_s=threshold,
                                                   short_abandon_s=5, use_rollups=use)
                    got = grouped.get(city)
                    if not alone.offered and not alone.answered:
                        assert got is None or got.figures() == alone.figures(), (city, start)
                        continue
                    assert got.figures() == pytest.approx(alone.figures()), (city, start, threshold, use)
        assert set(grouped) == {"620100", "620200"}


def test_rol009_handling_time_at_the_edges_counts_long_calls_in_flight(traffic):
    # calls in flight at a window's edge: short ones queued just before it, long ones (1.5 h, 3 h,
    # 30 h from queueing to the end) queued hours before it, found through ix_calls_long_city_queued;
    # every path equals the definition summed in Python (ended in the window, queued at most
    # MAX_CALL_SPAN before its start)
    from cockpit.store.models import Call

    edges = [START + timedelta(hours=6), START + timedelta(hours=20)]
    extra = []
    for n, edge in enumerate(edges):
        for i, (before_s, talk, hold) in enumerate(((60, 300.0, 0.0), (5400, 5500.0, 0.0),
                                                    (3 * 3600, 3 * 3600 + 60.0, 0.0), (30 * 3600, 80000.0, 28007.0),
                                                    (3 * 3600, 600.0, 0.0))):
            extra += call(f"L{n}{i}", queued=edge - timedelta(seconds=before_s), answer_after=10, talk=talk,
                          hold=hold, acw=5.0)
    ingest(traffic, extra)
    with traffic.session() as s:
        rollups.rollup_range(s, START - timedelta(days=2), START + timedelta(hours=HOURS), now=NOW)
        rows = s.execute(select(Call.queued_at, Call.ended_at, Call.talk_s, Call.hold_s, Call.acw_s)
                         .where(Call.city == "620100", Call.answered_at.is_not(None))).all()
        assert sum(1 for r in rows if r.ended_at and r.ended_at - r.queued_at > timedelta(hours=1)) >= 6

        def by_hand(lo, hi):
            return sum((r.talk_s or 0) + (r.hold_s or 0) + (r.acw_s or 0) for r in rows
                       if r.ended_at is not None and lo <= r.ended_at < hi
                       and r.queued_at >= lo - queries.MAX_CALL_SPAN)

        windows = [(edges[0], edges[1]), (edges[0], edges[1] + timedelta(days=9)),
                   (edges[0] - timedelta(days=9), edges[1]), (edges[0], edges[0] + timedelta(minutes=30))]
        for lo, hi in windows:
            want = by_hand(lo, hi)
            for rolled in (True, False):
                got, _path = queries.handling_seconds(s, cities=("620100",), start=lo, end=hi, use_rollups=rolled)
                assert got == pytest.approx(want), (lo, hi, rolled)
            assert want > 0
