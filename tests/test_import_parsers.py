"""Importer parsers, without a database: real files in, events out, checked against pandas.

Every expected figure is computed here from the raw file with pandas / plain Python, never
copied from the importer's output.
"""

from __future__ import annotations

import gzip
import io
import json
import re
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from cockpit.events import validate
from cockpit.importers import la311, nyc311, open311, technion
from cockpit.importers.common import RowError, parse_timestamp

from tests.services import DATA

TECHNION = DATA / "technion_anonymous_bank_1999_02.tsv.gz"
NYC = DATA / "nyc311_2022-05-01_sample.csv.gz"
LA_FILES = (DATA / "la311_2017_first2000.csv.gz", DATA / "la311_2018_first2000.csv.gz")
OPEN311 = DATA / "open311_requests.json"
IL = ZoneInfo("Asia/Jerusalem")
NY = ZoneInfo("America/New_York")
BORO = {"MANHATTAN": "MN", "BRONX": "BX", "BROOKLYN": "BK", "QUEENS": "QN", "STATEN ISLAND": "SI"}


@pytest.fixture(scope="module")
def technion_raw() -> pd.DataFrame:
    df = pd.read_csv(TECHNION, sep="\t", dtype=str)
    df.columns = [c.strip() for c in df.columns]
    return df.apply(lambda col: col.str.strip())


@pytest.fixture(scope="module")
def technion_results():
    return list(technion.parse(TECHNION, city="TLV"))


def _events(results, kind=None):
    return [e for r in results for e in r.events if kind is None or e["type"] == kind]


def _secs(hms: str) -> int:
    h, m, s = (int(x) for x in hms.split(":"))
    return h * 3600 + m * 60 + s


# --- Technion ---------------------------------------------------------------------------------


def test_imp001_technion_counts_match_raw_file(technion_raw, technion_results):
    raw = technion_raw
    queued = (raw.q_start != "0:00:00") | (raw.q_exit != "0:00:00") | (raw.q_time.astype(int) > 0)
    agent, hang, phantom = raw.outcome == "AGENT", raw.outcome == "HANG", raw.outcome == "PHANTOM"

    skipped = Counter(r.skipped for r in technion_results if r.skipped)
    assert skipped == {"phantom": int(phantom.sum()), "ivr_hangup": int((hang & ~queued).sum())}
    assert skipped["phantom"] == 278 and skipped["ivr_hangup"] == 1941  # SOURCE.md sanity figures
    assert [r for r in technion_results if r.errors] == []
    assert sum(1 for r in technion_results if r.row is not None) == len(raw)

    assert len(_events(technion_results, "call.offered")) == int((agent | (hang & queued)).sum())
    answered = _events(technion_results, "call.answered")
    assert len(answered) == int(agent.sum())
    assert len(_events(technion_results, "call.abandoned")) == int((hang & queued).sum())
    assert len(_events(technion_results, "call.ended")) == int(agent.sum())
    assert sum(e["wait_s"] for e in answered) == raw.loc[agent, "q_time"].astype(int).sum()
    assert sum(e["talk_s"] for e in _events(technion_results, "call.ended")) == \
        raw.loc[agent, "ser_time"].astype(int).sum()
    no_server = Counter(e["seat_id"] for e in answered)["NO_SERVER"]
    assert no_server == int((agent & (raw.server == "NO_SERVER")).sum()) == 491


def test_imp002_technion_every_event_is_valid_and_ids_unique(technion_results):
    events = _events(technion_results)
    bad = [(e["event_id"], errs) for e in events for _, errs in [validate(e)] if errs]
    assert bad == []
    ids = [e["event_id"] for e in events]
    assert len(ids) == len(set(ids))
    call_ids = [e["call_id"] for e in _events(technion_results, "call.offered")]
    assert len(call_ids) == len(set(call_ids))
    again = [e["event_id"] for e in _events(technion.parse(TECHNION, city="TLV"))]
    assert again == ids


REAL_ROWS = "\n".join([
    "vru+line\tcall_id\tcustomer_id\tpriority\ttype\tdate\tvru_entry\tvru_exit\tvru_time\tq_start\tq_exit"
    "\tq_time\toutcome\tser_start\tser_exit\tser_time\tserver",
    # no queue, service crosses midnight
    "AA0102\t31307\t0\t0\tPS\t990220\t23:59:32\t23:59:44\t12\t0:00:00\t0:00:00\t0\tAGENT\t23:59:43\t0:01:28\t105\tDARMON",
    # queue starts at exactly midnight (q_start 0:00:00 is a real time here)
    "AA0102\t31056\t15696776\t2\tPS\t990215\t23:59:54\t23:59:54\t0\t0:00:00\t0:00:27\t27\tAGENT\t0:00:26\t0:01:33\t67\tAVNI",
    # priority call logged with vru_exit 57 s before vru_entry: same day, not the next one
    "AA0102\t30456\t25627027\t2\tPS\t990207\t9:48:14\t9:47:17\t-57\t9:47:17\t9:50:11\t174\tAGENT\t9:50:11\t9:51:28\t77\tKAZAV",
    # abandoned in queue after midnight
    "AA0105\t35608\t0\t0\tNW\t990210\t23:59:19\t23:59:19\t0\t23:59:29\t0:00:26\t57\tHANG\t0:00:00\t0:00:00\t0\tNO_SERVER",
    # answered with no agent recorded
    "AA0101\t34537\t0\t0\tPS\t990201\t7:31:45\t7:31:55\t10\t0:00:00\t0:00:00\t0\tAGENT\t7:31:54\t7:31:59\t5\tNO_SERVER",
    "",
])


def test_imp003_technion_midnight_and_quirks():
    results = list(technion.parse(io.StringIO(REAL_ROWS), city="TLV"))
    by_call = {}
    for r in results:
        for e in r.events:
            if "call_id" in e:
                by_call.setdefault(e["call_id"], {})[e["type"]] = e
    at = lambda e: datetime.fromisoformat(e["occurred_at"])  # noqa: E731

    c = by_call["AA0102-19990220-31307"]
    assert at(c["call.offered"]) == datetime(1999, 2, 20, 23, 59, 44, tzinfo=IL)
    assert at(c["call.answered"]) == at(c["call.offered"]) and c["call.answered"]["wait_s"] == 0
    assert at(c["call.ended"]) == datetime(1999, 2, 21, 0, 1, 28, tzinfo=IL)
    assert c["call.ended"]["talk_s"] == 105

    c = by_call["AA0102-19990215-31056"]
    assert at(c["call.offered"]) == datetime(1999, 2, 16, 0, 0, 0, tzinfo=IL)
    assert at(c["call.answered"]) == datetime(1999, 2, 16, 0, 0, 27, tzinfo=IL)
    assert c["call.answered"]["wait_s"] == 27 and c["call.answered"]["seat_id"] == "AVNI"

    c = by_call["AA0102-19990207-30456"]
    assert at(c["call.offered"]) == datetime(1999, 2, 7, 9, 47, 17, tzinfo=IL)
    assert at(c["call.answered"]) == datetime(1999, 2, 7, 9, 50, 11, tzinfo=IL)

    c = by_call["AA0105-19990210-35608"]
    assert set(c) == {"call.offered", "call.abandoned"}
    assert at(c["call.abandoned"]) == datetime(1999, 2, 11, 0, 0, 26, tzinfo=IL)
    assert c["call.abandoned"]["wait_s"] == 57

    c = by_call["AA0101-19990201-34537"]
    assert c["call.answered"]["seat_id"] == "NO_SERVER"
    seats = {e["seat_id"] for r in results for e in r.events if e["type"] == "seat.state"}
    assert seats == {"DARMON", "AVNI", "KAZAV"}


def test_imp004_technion_seat_days_match_raw_service_spans(technion_raw, technion_results):
    raw = technion_raw[(technion_raw.outcome == "AGENT") & (technion_raw.server != "NO_SERVER")
                       & ~((technion_raw.ser_start == "0:00:00") & (technion_raw.ser_exit == "0:00:00"))]
    expected = {}
    for rec in raw.itertuples(index=False):
        day = datetime.strptime(rec.date, "%y%m%d")
        entry = _secs(rec.vru_entry)

        def moment(hms: str) -> datetime:
            s = _secs(hms)
            if s < entry - 12 * 3600:
                s += 86400
            return (day + timedelta(seconds=s)).replace(tzinfo=IL)

        key = (rec.server, rec.date)
        start, end = moment(rec.ser_start), moment(rec.ser_exit)
        lo, hi = expected.get(key, (start, end))
        expected[key] = (min(lo, start), max(hi, end))

    got = {}
    for r in technion_results:
        if r.row is None:
            ready, offline = r.events
            assert (ready["state"], offline["state"]) == ("ready", "offline")
            day = ready["event_id"].split(":")[4][2:]
            got[(ready["seat_id"], day)] = (datetime.fromisoformat(ready["occurred_at"]),
                                            datetime.fromisoformat(offline["occurred_at"]))
    assert got == expected
    assert len({seat for seat, _ in got}) == technion_raw.server[technion_raw.server != "NO_SERVER"].nunique()


def test_imp005_technion_bad_rows_reported_with_row_numbers():
    results = list(technion.parse(DATA / "technion_bad_rows.tsv", city="TLV"))
    errors = {r.row: r.errors[0]["field"] for r in results if r.errors}
    assert errors == {4: "date", 6: "call_id"}
    assert Counter(r.skipped for r in results if r.skipped) == {"ivr_hangup": 2, "phantom": 1}
    ok_rows = [r.row for r in results if r.ok and r.row is not None]
    assert ok_rows == [2, 3, 5, 7, 11, 12, 13]
    ended7 = [e for r in results if r.row == 7 for e in r.events if e["type"] == "call.ended"]
    assert ended7[0]["talk_s"] == 99999 and validate(ended7[0])[1][0].field == "talk_s"


def test_imp006_technion_broken_values_never_raise():
    header = REAL_ROWS.splitlines()[0]
    lines = [header,
             "AA0101\t1\t0\t0\tPS\t990201\t25:00:00\t7:02:56\t9\t0:00:00\t0:00:00\t0\tAGENT\t7:02:55\t7:05:41\t166\tX",
             "AA0101\t2\t0\t0\tPS\t990201\t7:02:47\t7:02:56\t9\t0:00:00\t0:00:00\tabc\tAGENT\t7:02:55\t7:05:41\t1\tX",
             "AA0101\t3\t0\t0\tPS\t990201\t7:02:47\t7:02:56\t9\t0:00:00\t0:00:00\t0\tLOST\t7:02:55\t7:05:41\t1\tX",
             "AA0101\t4\t0\t0\tPS\t990201\t7:02:47\t7:02:56\t9\t7:02:56\t7:03:00\t-4\tHANG\t0:00:00\t0:00:00\t0\tX",
             "AA0101\t5\t0\t0\tPS\t990201\t7:02:47",
             "AA0101\t6\t0\t0\tPS\t990201\t7:02:47\t7:02:56\t9\t0:00:00\t0:00:00\t0\tAGENT\t7:02:55\t7:05:41\t5\tX"]
    results = list(technion.parse(lines, city="TLV"))
    assert [(r.row, r.errors[0]["field"]) for r in results if r.errors] == [
        (2, "vru_entry"), (3, "q_time"), (4, "outcome"), (5, "q_time"), (6, "outcome")]
    assert [r.row for r in results if r.ok and r.row is not None] == [7]


# --- timestamps -------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("05/01/2022 12:00:03 AM", datetime(2022, 5, 1, 0, 0, 3, tzinfo=NY)),
    ("05/01/2022 12:00:03 PM", datetime(2022, 5, 1, 12, 0, 3, tzinfo=NY)),
    ("05/01/2022 01:24:27 PM", datetime(2022, 5, 1, 13, 24, 27, tzinfo=NY)),
    ("05/01/2022 13:24:27", datetime(2022, 5, 1, 13, 24, 27, tzinfo=NY)),
    ("05/01/2022", datetime(2022, 5, 1, tzinfo=NY)),
    ("2022-05-01T00:00:03.000", datetime(2022, 5, 1, 0, 0, 3, tzinfo=NY)),
    ("2022-05-01 00:00:03", datetime(2022, 5, 1, 0, 0, 3, tzinfo=NY)),
    ("2022-05-01", datetime(2022, 5, 1, tzinfo=NY)),
])
def test_imp007_timestamps_us_and_iso_are_local(text, expected):
    got = parse_timestamp(text, NY, field_name="Created Date")
    assert got == expected and got.utcoffset() == timedelta(hours=-4)


def test_imp008_timestamps_zones_dst_and_errors():
    assert parse_timestamp("2022-05-01T04:00:03Z", NY, field_name="f").utcoffset() == timedelta(0)
    assert parse_timestamp("2010-04-14T06:37:38-08:00", NY, field_name="f").utcoffset() == timedelta(hours=-8)
    assert parse_timestamp("", NY, field_name="f") is None
    # 01:30 happens twice on 2022-11-06 in New York: the first (daylight) one is taken.
    assert parse_timestamp("11/06/2022 01:30:00 AM", NY, field_name="f").utcoffset() == timedelta(hours=-4)
    assert parse_timestamp("01/15/2022 10:00:00 AM", NY, field_name="f").utcoffset() == timedelta(hours=-5)
    for bad in ("13/45/2022 10:00:00 AM", "05/01/2022 13:00:00 PM", "yesterday", "2022-02-30T10:00:00",
                "05-01-2022"):
        with pytest.raises(RowError) as exc:
            parse_timestamp(bad, NY, field_name="Created Date")
        assert exc.value.field == "Created Date" and bad in exc.value.message


# --- NYC 311 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("board", "borough", "code"), [
    ("01 BROOKLYN", "BROOKLYN", "NYC-BK01"),
    ("12 MANHATTAN", "MANHATTAN", "NYC-MN12"),
    ("03 STATEN ISLAND", "STATEN ISLAND", "NYC-SI03"),
    ("64 MANHATTAN", "MANHATTAN", "NYC-MN64"),
    ("Unspecified QUEENS", "QUEENS", "NYC-QN"),
    ("0 Unspecified", "BRONX", "NYC-BX"),
    ("0 Unspecified", "Unspecified", None),
    ("", "", None),
])
def test_imp009_nyc_district_codes(board, borough, code):
    assert nyc311.district_code(board, borough) == code


def _nyc_raw() -> pd.DataFrame:
    return pd.read_csv(NYC, dtype=str)


def _expected_nyc_district(board: str, borough: str) -> str | None:
    m = re.fullmatch(r"(\d+) (.+)", board or "")
    if m and int(m.group(1)) and m.group(2) in BORO:
        return f"NYC-{BORO[m.group(2)]}{int(m.group(1)):02d}"
    boro = BORO.get((board or "").replace("Unspecified", "").strip()) or BORO.get(borough or "")
    return f"NYC-{boro}" if boro else None


def test_imp010_nyc_tickets_match_pandas_groupby():
    raw = _nyc_raw()
    results = list(nyc311.parse(NYC, city="NYC"))
    assert [r for r in results if not r.ok] == []
    created = _events(results, "ticket.created")
    assert len(created) == len(raw) == 924
    assert Counter(e["category"][0] for e in created) == raw.groupby("Complaint Type").size().to_dict()
    # The borough is the community board's: Marble Hill (Borough MANHATTAN) is served by
    # "08 BRONX", so it counts for the Bronx; that one row is the only difference in this file.
    board_boro = raw["Community Board"].str.extract(r"^\d+ (.+)$")[0].where(lambda b: b.isin(list(BORO)))
    per_boro = board_boro.fillna(raw["Borough"]).map(BORO)
    assert Counter(e["district"][:6] for e in created) == {
        f"NYC-{b}": n for b, n in per_boro.groupby(per_boro).size().items()}
    assert int((per_boro != raw["Borough"].map(BORO)).sum()) == 1
    expected_district = Counter(
        _expected_nyc_district(b, boro) for b, boro in zip(raw["Community Board"], raw["Borough"]))
    assert Counter(e.get("district") for e in created) == expected_district
    assert len(_events(results, "ticket.closed")) == int(raw["Closed Date"].notna().sum()) == 480
    assert Counter(e["unit"] for e in _events(results, "ticket.dispatched")) == \
        raw.groupby("Agency").size().to_dict()
    channel = {"PHONE": "phone", "ONLINE": "web", "MOBILE": "app", "UNKNOWN": "other"}
    assert Counter(e["channel"] for e in created) == Counter(
        channel[c] for c in raw["Open Data Channel Type"])
    assert sum(1 for e in created if "lat" in e) == int(raw.Latitude.notna().sum())
    bad = [errs for e in _events(results) for _, errs in [validate(e)] if errs]
    assert bad == []


def test_imp011_nyc_api_style_export_gives_the_same_events():
    raw = _nyc_raw().head(60)
    api = raw.rename(columns=lambda c: re.sub(r"\W+", "_", c.lower()).strip("_"))
    for col in ("created_date", "closed_date"):
        api[col] = pd.to_datetime(api[col], format="%m/%d/%Y %I:%M:%S %p").dt.strftime("%Y-%m-%dT%H:%M:%S.000")
    portal = io.StringIO()
    raw.to_csv(portal, index=False)
    modern = io.StringIO()
    api.to_csv(modern, index=False)
    a = _events(nyc311.parse(io.StringIO(portal.getvalue()), city="NYC"))
    b = _events(nyc311.parse(io.StringIO(modern.getvalue()), city="NYC"))
    assert len(a) >= 60 and a == b


def test_imp012_nyc_one_request_in_detail():
    results = list(nyc311.parse(NYC, city="NYC"))
    row = next(r for r in results if r.raw["uniquekey"] == "54046813")
    created, dispatched, closed = row.events
    assert created["ticket_id"] == "NYC-54046813" and created["event_id"] == "nyc311:NYC:54046813:created"
    assert created["occurred_at"] == "2022-05-01T00:00:09-04:00"
    assert created["category"] == ["Noise - Street/Sidewalk", "Loud Music/Party"]
    assert created["district"] == "NYC-MN09" and created["channel"] == "app"
    assert (created["lat"], created["lon"]) == (40.81237834836466, -73.95240115039357)
    assert dispatched["unit"] == "NYPD" and dispatched["occurred_at"] == created["occurred_at"]
    assert closed["occurred_at"] == "2022-05-01T00:07:46-04:00" and closed["unit"] == "NYPD"
    assert closed["resolution"].startswith("The Police Department responded")
    utc = list(nyc311.parse(NYC, city="NYC", tz="UTC"))
    assert next(r for r in utc if r.raw["uniquekey"] == "54046813").events[0]["occurred_at"] == \
        "2022-05-01T00:00:09+00:00"


def test_imp013_nyc_bad_rows_reported_with_row_numbers():
    results = list(nyc311.parse(DATA / "nyc311_bad_rows.csv", city="NYC"))
    assert {r.row: r.errors[0]["field"] for r in results if r.errors} == {4: "Created Date", 6: "Unique Key"}
    assert "05/32/2022" in next(r for r in results if r.row == 4).errors[0]["message"]
    row8 = next(r for r in results if r.row == 8)
    assert row8.ok and row8.warnings == ("location_unreadable",) and "lat" not in row8.events[0]
    assert sum(1 for r in results if r.ok) == 8


# --- Los Angeles ------------------------------------------------------------------------------


def test_imp014_la_district_codes_and_channels():
    assert la311.district_code("13") == "LA-CD13"
    assert la311.district_code("3.0") == "LA-CD03"
    assert la311.district_code("") is None
    with pytest.raises(RowError):
        la311.district_code("x")
    assert [la311.channel(c) for c in ("Call", "Mobile App", "Self Service", "Email", "Driver Self Report")] == [
        "phone", "app", "web", "email", "other"]


@pytest.mark.parametrize("path", LA_FILES, ids=["2017", "2018"])
def test_imp015_la_tickets_match_pandas_groupby(path):
    raw = pd.read_csv(path, dtype=str)
    results = list(la311.parse(path, city="LA"))
    assert [r for r in results if not r.ok] == []
    created = _events(results, "ticket.created")
    assert len(created) == len(raw) == 2000
    assert Counter(e["category"][0] for e in created) == raw.groupby("RequestType").size().to_dict()
    expected_cd = Counter(f"LA-CD{int(cd):02d}" if isinstance(cd, str) else None for cd in raw.CD)
    assert Counter(e.get("district") for e in created) == expected_cd
    assert len(_events(results, "ticket.closed")) == int(raw.ClosedDate.notna().sum())
    assert Counter(e["unit"] for e in _events(results, "ticket.dispatched")) == raw.groupby("Owner").size().to_dict()
    assert Counter(e["channel"] for e in created)["phone"] == int(raw.RequestSource.isin(["Call", "Voicemail"]).sum())
    fmt = "%m/%d/%Y %I:%M:%S %p"
    negative = pd.to_datetime(raw.ClosedDate, format=fmt) < pd.to_datetime(raw.CreatedDate, format=fmt)
    assert Counter(w for r in results for w in r.warnings)["closed_before_created"] == int(negative.sum())
    created_at = {e["ticket_id"]: datetime.fromisoformat(e["occurred_at"]) for e in created}
    assert all(datetime.fromisoformat(e["occurred_at"]) >= created_at[e["ticket_id"]]
               for e in _events(results, "ticket.closed"))
    bad = [errs for e in _events(results) for _, errs in [validate(e)] if errs]
    assert bad == []


# --- Open311 ----------------------------------------------------------------------------------


def test_imp016_open311_fixture():
    results = list(open311.parse(OPEN311, city="SF"))
    items = json.loads(OPEN311.read_text())
    assert [r.row for r in results] == list(range(1, len(items) + 1)) and all(r.ok for r in results)
    created = _events(results, "ticket.created")
    assert [e["ticket_id"] for e in created] == [f"SF-{i['service_request_id']}" for i in items]
    closed = _events(results, "ticket.closed")
    assert [e["ticket_id"].split("-")[1] for e in closed] == [
        str(i["service_request_id"]) for i in items if i["status"] == "closed"]
    assert closed[1]["occurred_at"] == "2010-04-21T15:40:00-07:00"
    assert closed[1]["resolution"] == "Graffiti removed by crew 4."
    dispatched = {e["ticket_id"] for e in _events(results, "ticket.dispatched")}
    assert dispatched == {f"SF-{i['service_request_id']}" for i in items if i.get("agency_responsible")}
    first = created[0]
    assert first["category"] == ["Sidewalk and Curb Issues"] and first["due_at"] == "2010-04-15T06:37:38-08:00"
    assert (first["lat"], first["lon"]) == (37.762221815, -122.4651145)
    assert "lat" not in created[-1]
    assert all(not validate(e)[1] for e in _events(results))


def test_imp017_open311_bad_documents_and_items():
    assert [(r.row, r.errors[0]["field"]) for r in open311.parse(["{not json"], city="SF")] == [(0, "(file)")]
    assert [(r.row, r.errors[0]["field"]) for r in open311.parse(['{"a": 1}'], city="SF")] == [(0, "(file)")]
    wrapped = json.dumps({"service_requests": [
        {"service_request_id": "1", "status": "open", "service_name": "Pothole",
         "requested_datetime": "2012-01-01T10:00:00-05:00"},
        {"status": "open", "service_name": "Pothole", "requested_datetime": "2012-01-01T10:00:00-05:00"},
        {"service_request_id": "3", "status": "pending", "service_name": "Pothole",
         "requested_datetime": "2012-01-01T10:00:00-05:00"},
        {"service_request_id": "4", "status": "closed", "service_name": "Pothole",
         "requested_datetime": "2012-01-01T10:00:00-05:00"},
        "not an object",
    ]})
    results = list(open311.parse([wrapped], city="SF"))
    assert [(r.row, r.errors[0]["field"] if r.errors else None) for r in results] == [
        (1, None), (2, "service_request_id"), (3, "status"), (4, "updated_datetime"), (5, "(request)")]


def test_imp018_gzip_and_plain_give_the_same_rows(tmp_path):
    plain = tmp_path / "nyc.csv"
    plain.write_bytes(gzip.decompress(NYC.read_bytes()))
    assert [r.events for r in nyc311.parse(plain, city="NYC")] == [r.events for r in nyc311.parse(NYC, city="NYC")]


def test_imp019_wrong_or_empty_files_are_one_file_error(tmp_path):
    assert list(nyc311.parse(["Unique Key,Created Date,Complaint Type\n"], city="NYC")) == []
    assert list(technion.parse([], city="TLV")) == []
    wrong = list(nyc311.parse(LA_FILES[0], city="NYC"))
    assert [(r.row, r.raw, r.errors[0]["field"]) for r in wrong] == [(1, None, "(file)")]
    assert "uniquekey" in wrong[0].errors[0]["message"]
    wrong = list(technion.parse(NYC, city="TLV"))
    assert [(r.row, r.errors[0]["field"]) for r in wrong] == [(1, "(file)")]
    wrong = list(la311.parse(OPEN311, city="LA"))
    assert [(r.row, r.errors[0]["field"]) for r in wrong] == [(1, "(file)")]


def test_imp020_bytes_that_are_not_utf8_do_not_stop_the_file(tmp_path):
    lines = gzip.decompress(NYC.read_bytes()).split(b"\n")[:4]
    lines[2] = lines[2].replace(b"Loud Music/Party", b"Loud Music/Part\xe9", 1)
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"\n".join(lines) + b"\n")
    results = list(nyc311.parse(path, city="NYC"))
    assert [r.row for r in results] == [2, 3, 4] and all(r.ok for r in results)
    assert results[1].events[0]["category"][1] == "Loud Music/Part\ufffd"
