"""Real data: the Technion "Anonymous Bank" month (February 1999, tests/data, see its SOURCE.md)
imported through cockpit.importers.technion; every telephony figure is checked against an
independent computation from the raw file, done here with the csv module only.

Independent reading of the log: PHANTOM rows are not calls; a HANG row that never queued hung up
in the IVR and never reached the agent queue (not offered). Every other row is offered; AGENT =
answered with queue wait ``q_time`` (0 when it went straight to an agent); HANG = abandoned after
``q_time`` seconds; talk = ``ser_time`` (the log has no hold or after-call work).
"""

from __future__ import annotations

import csv
import gzip
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cockpit import importers
from cockpit import timeutil
from cockpit.metrics import kpi
from cockpit.metrics import rollups

DATA = Path(__file__).parent / "data" / "technion_anonymous_bank_1999_02.tsv.gz"
TZ = ZoneInfo("Asia/Jerusalem")
CITY = "technion"
SL_T, SHORT_T = 15, 5

pytestmark = pytest.mark.slow


def _hms(text: str) -> int:
    h, m, s = (int(p) for p in text.split(":"))
    return h * 3600 + m * 60 + s


def _independent() -> tuple[Counter, Counter]:
    """Month totals and offered calls per local queue day, straight from the file."""
    totals: Counter = Counter()
    per_day: Counter = Counter()
    with gzip.open(DATA, "rt", encoding="ascii") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            outcome, q_time = row["outcome"], int(row["q_time"])
            queued = q_time > 0 or row["q_start"] != "0:00:00" or row["q_exit"] != "0:00:00"
            if outcome == "PHANTOM" or (outcome == "HANG" and not queued):
                continue
            totals["offered"] += 1
            wait = q_time if queued else 0
            if outcome == "AGENT":
                totals["answered"] += 1
                totals["within"] += wait <= SL_T
                totals["wait_sum"] += wait
                totals["talk_sum"] += int(row["ser_time"])
            else:
                totals["abandoned"] += 1
                totals["short"] += wait <= SHORT_T
            entry = _hms(row["vru_entry"])
            if queued:
                at = _hms(row["q_exit"]) - q_time if row["q_exit"] != "0:00:00" else _hms(row["q_start"])
            else:
                at = _hms(row["vru_exit"])
            if at - entry < -12 * 3600:   # the call crossed midnight after arriving
                at += 86_400
            day = datetime.strptime(row["date"], "%y%m%d") + timedelta(seconds=at)
            per_day[day.date()] += 1
    return totals, per_day


def test_met200_technion_month_matches_independent_count(stores):
    summary = importers.run(stores, DATA, "technion", city=CITY, tz="Asia/Jerusalem")
    assert summary["rejected"] == 0
    expected, per_day = _independent()
    start = timeutil.naive_utc(datetime(1999, 2, 1), TZ)
    end = timeutil.naive_utc(datetime(1999, 3, 1), TZ)
    with stores.session() as s:
        raw = kpi.kpi(s, scope=CITY, start=start, end=end, settings=stores.settings, use_rollups=False)
        rollups.rollup_range(s, start, end, settings=stores.settings)
    with stores.session() as s:
        fast = kpi.kpi(s, scope=CITY, start=start, end=end, settings=stores.settings)
        days = {
            d: kpi.kpi(s, scope=CITY, start=timeutil.naive_utc(datetime(1999, 2, d), TZ),
                           end=timeutil.naive_utc(datetime(1999, 2, d) + timedelta(days=1), TZ),
                           settings=stores.settings)["offered"]
            for d in range(1, 29)
        }
    off = expected["offered"] - expected["short"]
    for doc in (raw, fast):
        assert doc["offered"] == expected["offered"]
        assert doc["answered"] == expected["answered"]
        assert doc["abandoned"] == expected["abandoned"]
        assert doc["short_abandoned"] == expected["short"]
        assert doc["answered_within_sl"] == expected["within"]
        assert doc["connection_rate"] == pytest.approx(expected["answered"] / off)
        assert doc["service_level"] == pytest.approx(expected["within"] / off)
        assert doc["abandon_rate"] == pytest.approx((expected["abandoned"] - expected["short"]) / off)
        assert doc["asa_s"] == pytest.approx(expected["wait_sum"] / expected["answered"])
        assert doc["aht_s"] == pytest.approx(expected["talk_sum"] / expected["answered"])
    assert fast["calls_path"] == "rollups+raw"
    assert {d: n for d, n in days.items()} == {k.day: v for k, v in per_day.items() if k.month == 2}
    # SOURCE.md's sanity figures: 18,336 calls queued, 21.6% of them hung up
    assert expected["abandoned"] == pytest.approx(0.216 * 18_336, rel=0.005)
