"""Importers end to end on SQLite and PostgreSQL (real Redis): the SQL tables must hold exactly
the figures computed here independently from the raw files with pandas."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from cockpit.cli import main
from cockpit.importers import UnknownCity, run
from cockpit.store.models import (
    Call, DeadLetter, EventRecord, Region, Seat, SeatStateChange, Ticket, TicketStep,
)

from tests.services import DATA, REDIS_URL

TECHNION = DATA / "technion_anonymous_bank_1999_02.tsv.gz"
NYC = DATA / "nyc311_2022-05-01_sample.csv.gz"
LA_FILES = (DATA / "la311_2017_first2000.csv.gz", DATA / "la311_2018_first2000.csv.gz")
IL = ZoneInfo("Asia/Jerusalem")
BORO = {"MANHATTAN": "MN", "BRONX": "BX", "BROOKLYN": "BK", "QUEENS": "QN", "STATEN ISLAND": "SI"}


def _table_counts(stores) -> dict[str, int]:
    with stores.session() as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m))
                for m in (EventRecord, Call, Seat, SeatStateChange, Ticket, TicketStep, DeadLetter)}


def _secs(hms: str) -> int:
    h, m, s = (int(x) for x in hms.split(":"))
    return h * 3600 + m * 60 + s


def _technion_expected() -> pd.DataFrame:
    """One row per offered call: local day it was offered, outcome, wait, talk (pandas only)."""
    raw = pd.read_csv(TECHNION, sep="\t", dtype=str)
    raw.columns = [c.strip() for c in raw.columns]
    raw = raw.apply(lambda col: col.str.strip())
    queued = (raw.q_start != "0:00:00") | (raw.q_exit != "0:00:00") | (raw.q_time.astype(int) > 0)
    offered = raw[(raw.outcome == "AGENT") | ((raw.outcome == "HANG") & queued)].copy()
    start = offered.q_start.where(queued[offered.index], offered.vru_exit).map(_secs)
    entry = offered.vru_entry.map(_secs)
    start = start.where(start >= entry - 12 * 3600, start + 86400)  # crossed midnight
    offered["day"] = (pd.to_datetime(offered.date, format="%y%m%d") + pd.to_timedelta(start, unit="s")).dt.date
    offered["wait"] = offered.q_time.astype(int)
    offered["talk"] = offered.ser_time.astype(int)
    return offered


@pytest.mark.slow
def test_imp101_technion_month_sql_matches_raw_file(stores):
    summary = run(stores, TECHNION, "technion", city="TLV")
    exp = _technion_expected()
    raw_outcomes = pd.read_csv(TECHNION, sep="\t", dtype=str, usecols=["outcome"]).outcome
    assert summary["read"] == len(raw_outcomes) == 33344
    assert summary["rejected"] == 0 and summary["rejected_by_reason"] == {}
    assert summary["skipped"]["phantom"] == int((raw_outcomes == "PHANTOM").sum())
    assert summary["skipped"]["ivr_hangup"] == int((raw_outcomes == "HANG").sum()) - int(
        (exp.outcome == "HANG").sum())
    assert summary["imported"] == summary["events"]

    with stores.session() as s:
        rows = s.execute(select(Call.offered_at, Call.answered_at, Call.abandoned_at, Call.ended_at,
                                Call.wait_s, Call.talk_s).where(Call.city == "TLV")).all()
        answered_wait = s.scalar(select(func.sum(Call.wait_s)).where(Call.answered_at.isnot(None)))
        answered_n = s.scalar(select(func.count()).select_from(Call).where(Call.answered_at.isnot(None)))
        abandoned_n = s.scalar(select(func.count()).select_from(Call).where(Call.abandoned_at.isnot(None)))
        seats = s.execute(select(Seat.seat_id, Seat.state)).all()
        seat_changes = s.scalar(select(func.count()).select_from(SeatStateChange))

    agent, hang = exp.outcome == "AGENT", exp.outcome == "HANG"
    assert len(rows) == len(exp) == 31125
    assert answered_n == int(agent.sum()) and abandoned_n == int(hang.sum())
    assert answered_wait == exp.loc[agent, "wait"].sum()
    assert sum(r.talk_s for r in rows if r.ended_at is not None) == exp.loc[agent, "talk"].sum()

    def local_day(naive_utc: datetime):
        return naive_utc.replace(tzinfo=UTC).astimezone(IL).date()

    got = Counter()
    for r in rows:
        day = local_day(r.offered_at)
        got[(day, "offered")] += 1
        got[(day, "answered")] += r.answered_at is not None
        got[(day, "abandoned")] += r.abandoned_at is not None
    want = Counter()
    for day, n in exp.groupby("day").size().items():
        want[(day, "offered")] = n
    for day, n in exp[agent].groupby("day").size().items():
        want[(day, "answered")] = n
    for day, n in exp[hang].groupby("day").size().items():
        want[(day, "abandoned")] = n
    assert +got == +want
    assert len({d for d, _ in want}) == 28

    no_times = (exp.ser_start == "0:00:00") & (exp.ser_exit == "0:00:00")
    servers = exp.loc[agent & (exp.server != "NO_SERVER") & ~no_times, ["server", "date"]].drop_duplicates()
    assert sorted(seat for seat, _ in seats) == sorted(servers.server.unique())
    assert {state for _, state in seats} == {"offline"}
    assert seat_changes == 2 * len(servers)

    before = _table_counts(stores)
    again = run(stores, TECHNION, "technion", city="TLV")
    assert again["imported"] == 0 and again["duplicates"] == summary["events"]
    assert _table_counts(stores) == before


def _nyc_expected_district(board: str, borough: str) -> str | None:
    number, _, name = (board or "").partition(" ")
    if number.isdigit() and int(number) and name in BORO:
        return f"NYC-{BORO[name]}{int(number):02d}"
    boro = BORO.get((board or "").replace("Unspecified", "").strip()) or BORO.get(borough)
    return f"NYC-{boro}" if boro else None


def test_imp102_nyc_sample_sql_matches_pandas(stores):
    raw = pd.read_csv(NYC, dtype=str)
    summary = run(stores, NYC, "nyc311", city="NYC")
    assert (summary["read"], summary["rejected"]) == (len(raw), 0)
    with stores.session() as s:
        per_district = dict(s.execute(select(Ticket.district, func.count()).group_by(Ticket.district)).all())
        per_category = dict(s.execute(select(Ticket.category, func.count()).group_by(Ticket.category)).all())
        closed = s.scalar(select(func.count()).select_from(Ticket).where(Ticket.closed_at.isnot(None)))
        status = dict(s.execute(select(Ticket.status, func.count()).group_by(Ticket.status)).all())
        units = dict(s.execute(select(Ticket.unit, func.count()).group_by(Ticket.unit)).all())
        first = s.get(Ticket, "NYC-54049402")
    want_district = Counter(_nyc_expected_district(b, boro) for b, boro in zip(raw["Community Board"], raw.Borough))
    assert per_district == dict(want_district)
    per_boro = Counter()
    for code, n in per_district.items():
        per_boro[code[4:6]] += n
    raw_boro = Counter(raw.Borough.map(BORO))
    # Marble Hill is in Manhattan but served by Bronx community board 8 (one row in this sample).
    assert per_boro == raw_boro + Counter({"BX": 1}) - Counter({"MN": 1})
    assert per_category == raw.groupby("Complaint Type").size().to_dict()
    assert closed == status["closed"] == int(raw["Closed Date"].notna().sum())
    assert status.get("dispatched", 0) == int(raw["Closed Date"].isna().sum())
    assert units == raw.groupby("Agency").size().to_dict()
    assert first.created_at == datetime(2022, 5, 1, 4, 0, 3)  # 00:00:03 EDT, stored naive UTC
    assert first.channel == "web" and first.district == "NYC-BX04" and first.lat == pytest.approx(40.8306533)

    before = _table_counts(stores)
    again = run(stores, NYC, "nyc311", city="NYC")
    assert again["imported"] == 0 and again["duplicates"] == summary["events"] == summary["imported"]
    assert _table_counts(stores) == before


def test_imp103_la_files_sql_matches_pandas(stores):
    raw = pd.concat([pd.read_csv(p, dtype=str) for p in LA_FILES], ignore_index=True)
    for path in LA_FILES:
        summary = run(stores, path, "la311", city="LA", tz="America/Los_Angeles")
        assert summary["rejected"] == 0 and summary["read"] == 2000
    with stores.session() as s:
        per_district = dict(s.execute(select(Ticket.district, func.count()).group_by(Ticket.district)).all())
        per_category = dict(s.execute(select(Ticket.category, func.count()).group_by(Ticket.category)).all())
        per_channel = dict(s.execute(select(Ticket.channel, func.count()).group_by(Ticket.channel)).all())
        closed = s.scalar(select(func.count()).select_from(Ticket).where(Ticket.closed_at.isnot(None)))
        total = s.scalar(select(func.count()).select_from(Ticket).where(Ticket.city == "LA"))
        negative = s.scalar(select(func.count()).select_from(Ticket).where(Ticket.closed_at < Ticket.created_at))
        located = s.scalar(select(func.count()).select_from(Ticket).where(Ticket.lat.isnot(None)))
    assert total == len(raw) == raw.SRNumber.nunique()
    assert per_district == dict(Counter(f"LA-CD{int(cd):02d}" if isinstance(cd, str) else None for cd in raw.CD))
    assert per_category == raw.groupby("RequestType").size().to_dict()
    assert closed == int(raw.ClosedDate.notna().sum())
    assert negative == 0
    assert located == int(raw.Latitude.notna().sum())
    sources = raw.RequestSource.value_counts()
    assert per_channel["phone"] == sources.get("Call", 0) + sources.get("Voicemail", 0)
    assert per_channel["app"] == sources["Mobile App"] and per_channel["web"] == sources["Self Service"]
    assert sum(per_channel.values()) == len(raw)


def test_imp104_nyc_bad_rows_dead_lettered_rest_imported(stores):
    reported = []
    summary = run(stores, DATA / "nyc311_bad_rows.csv", "nyc311", city="NYC",
                  on_reject=lambda ref, errors: reported.append((ref, errors[0]["field"])))
    assert summary["read"] == 10 and summary["rejected"] == 2
    assert summary["rejected_by_reason"] == {"Created Date": 1, "Unique Key": 1}
    assert [(r["row"], r["field"]) for r in summary["rejected_rows"]] == [(4, "Created Date"), (6, "Unique Key")]
    assert reported == [("nyc311_bad_rows.csv:4", "Created Date"), ("nyc311_bad_rows.csv:6", "Unique Key")]
    assert summary["warnings"] == {"location_unreadable": 1}
    with stores.session() as s:
        dead = s.execute(select(DeadLetter.row_ref, DeadLetter.reason, DeadLetter.source, DeadLetter.raw)
                         .order_by(DeadLetter.row_ref)).all()
        tickets = s.scalar(select(func.count()).select_from(Ticket))
    assert [(d.row_ref, d.reason, d.source) for d in dead] == [
        ("nyc311_bad_rows.csv:4", "Created Date", "import.nyc311"),
        ("nyc311_bad_rows.csv:6", "Unique Key", "import.nyc311")]
    assert json.loads(dead[0].raw)["createddate"] == "05/32/2022 01:61:00 AM"
    assert tickets == 8


def test_imp105_technion_bad_rows_parse_and_schema_rejects(stores):
    summary = run(stores, DATA / "technion_bad_rows.tsv", "technion", city="TLV")
    assert summary["read"] == 12
    assert summary["skipped"] == {"ivr_hangup": 2, "phantom": 1}
    assert summary["rejected"] == 3
    assert summary["rejected_by_reason"] == {"call_id": 1, "date": 1, "talk_s": 1}
    assert sorted(r["row"] for r in summary["rejected_rows"]) == [4, 6, 7]
    with stores.session() as s:
        refs = sorted(s.scalars(select(DeadLetter.row_ref)))
        calls = s.scalar(select(func.count()).select_from(Call))
        row7 = s.get(Call, ("TLV", "AA0101-19990201-34541"))
    assert refs == ["technion_bad_rows.tsv:4", "technion_bad_rows.tsv:6", "technion_bad_rows.tsv:7"]
    assert calls == 7
    # The row's valid facts are kept; only the refused event is missing.
    assert row7.answered_at is not None and row7.ended_at is None and row7.seat_id == "KAZAV"
    second = run(stores, DATA / "technion_bad_rows.tsv", "technion", city="TLV")
    assert second["imported"] == 0 and second["rejected"] == 3


def test_imp106_open311_import(stores):
    summary = run(stores, DATA / "open311_requests.json", "open311", city="SF")
    assert (summary["read"], summary["rejected"]) == (6, 0)
    with stores.session() as s:
        t = s.get(Ticket, "SF-638351")
        n_closed = s.scalar(select(func.count()).select_from(Ticket).where(Ticket.status == "closed"))
        unassigned = s.get(Ticket, "SF-638344")
    assert t.status == "closed" and t.unit == "Department of Public Works"
    assert t.created_at == datetime(2010, 4, 20, 16, 12, 5) and t.closed_at == datetime(2010, 4, 21, 22, 40)
    assert t.due_at == datetime(2010, 4, 22, 16, 12, 5) and t.text.startswith("Tags on the east wall")
    assert n_closed == 3
    assert unassigned.status == "closed" and unassigned.unit == "unknown"


def test_imp107_cli_prints_rejects_and_summary_last(stores):
    env = {"COCKPIT_DATABASE_URL": stores.settings.database_url, "COCKPIT_REDIS_URL": REDIS_URL}
    result = CliRunner().invoke(
        main, ["import", "tickets", str(DATA / "nyc311_bad_rows.csv"), "--format", "nyc311", "--city", "NYC"],
        env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"read", "imported", "duplicates", "rejected", "rejected_by_reason", "skipped"} <= set(summary)
    assert (summary["read"], summary["rejected"], summary["tz"]) == (10, 2, "America/New_York")
    assert "rejected nyc311_bad_rows.csv:4: Created Date" in result.stderr
    calls = CliRunner().invoke(
        main, ["import", "calls", str(DATA / "technion_bad_rows.tsv"), "--format", "technion", "--city", "TLV",
               "--tz", "Asia/Jerusalem"], env=env, catch_exceptions=False)
    assert calls.exit_code == 0
    assert json.loads(calls.stdout.strip().splitlines()[-1])["skipped"] == {"ivr_hangup": 2, "phantom": 1}
    bad_tz = CliRunner().invoke(main, ["import", "calls", str(DATA / "technion_bad_rows.tsv"), "--city", "TLV",
                                       "--tz", "Mars/Olympus"], env=env)
    assert bad_tz.exit_code == 2 and "unknown time zone" in bad_tz.stderr
    with stores.session() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 8


def test_imp108_batches_do_not_change_the_result(stores):
    small = run(stores, DATA / "la311_2018_first2000.csv.gz", "la311", city="LA", batch_size=97)
    assert small["imported"] == small["events"] and small["rejected"] == 0
    before = _table_counts(stores)
    big = run(stores, DATA / "la311_2018_first2000.csv.gz", "la311", city="LA", batch_size=5000)
    assert big["duplicates"] == small["events"] and big["imported"] == 0
    assert _table_counts(stores) == before
    with stores.session() as s:
        assert s.scalar(select(func.count()).select_from(TicketStep)) == small["events"]


def test_imp109_city_must_be_a_loaded_region(stores):
    with stores.session() as s:
        s.add(Region(code="NYC", name="纽约", name_en="New York City", level="city"))
    with pytest.raises(UnknownCity):
        run(stores, DATA / "nyc311_bad_rows.csv", "nyc311", city="NY")
    env = {"COCKPIT_DATABASE_URL": stores.settings.database_url, "COCKPIT_REDIS_URL": REDIS_URL}
    cli = CliRunner().invoke(main, ["import", "tickets", str(DATA / "nyc311_bad_rows.csv"), "--format", "nyc311",
                                    "--city", "NY"], env=env)
    assert cli.exit_code == 2 and "unknown region code 'NY'" in cli.stderr
    assert _table_counts(stores)["tickets"] == 0
    ok = run(stores, DATA / "nyc311_bad_rows.csv", "nyc311", city="NYC")
    assert ok["imported"] == ok["events"] > 0 and _table_counts(stores)["tickets"] == 8


def test_imp110_wrong_format_is_one_file_error_and_exit_1(stores):
    env = {"COCKPIT_DATABASE_URL": stores.settings.database_url, "COCKPIT_REDIS_URL": REDIS_URL}
    cli = CliRunner().invoke(main, ["import", "tickets", str(LA_FILES[0]), "--format", "nyc311", "--city", "LA"],
                             env=env)
    assert cli.exit_code == 1
    summary = json.loads(cli.stdout.strip().splitlines()[-1])
    assert summary["file_error"].startswith("(file): missing column(s) uniquekey")
    assert (summary["read"], summary["rejected"], summary["events"]) == (0, 1, 0)
    with stores.session() as s:
        assert s.scalar(select(DeadLetter.reason)) == "(file)"


def test_imp111_progress_bar_on_stderr_keeps_stdout_one_json_line(stores):
    env = {"COCKPIT_DATABASE_URL": stores.settings.database_url, "COCKPIT_REDIS_URL": REDIS_URL}
    args = ["import", "tickets", str(DATA / "nyc311_bad_rows.csv"), "--format", "nyc311", "--city", "NYC"]
    quiet = CliRunner().invoke(main, args, env=env, catch_exceptions=False)  # not a terminal: no bar
    assert quiet.exit_code == 0 and "importing" not in quiet.stderr
    shown = CliRunner().invoke(main, [*args, "--progress"], env=env, catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    assert "importing nyc311" in shown.stderr and "10/" not in shown.stdout
    (line,) = shown.stdout.strip().splitlines()
    assert json.loads(line)["read"] == 10
