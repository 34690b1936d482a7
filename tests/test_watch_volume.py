"""Volume anomaly proof: a deterministic five-week ticket stream with known injected incidents.

Four weeks of normal Poisson traffic (a day/night profile) for 3 districts x 3 categories give
the baseline; in week five three district x category surges and one city-wide surge are
injected. The rules are evaluated every 15 minutes through week five (as the worker would,
every minute, but cheaper): every incident must be found within 75 minutes of its start, and no
alert may appear that matches no incident (normal days raise nothing).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from cockpit.metrics import rollups
from cockpit.watch import evaluate as watchpoints
from cockpit.ingest import ingest_batch
from cockpit.store.models import Alert
from tests.factories import Stream

START = datetime(2026, 10, 4, 16, 0, tzinfo=UTC)  # Monday 2026-10-05 00:00 in China
DISTRICTS = ("620102", "620103", "620104")
CATEGORIES = (("城乡建设", "供热"), ("水务", "供水"), ("交通运输", "道路"))
HOURLY = [0.5] * 7 + [2.0] + [4.0] * 12 + [2.0] * 2 + [0.8] * 2  # by local hour


@dataclass(frozen=True)
class Injected:
    rule: str
    key: str
    start: datetime
    end: datetime
    extra_per_hour: float  # added rate, per key affected


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth: fine for the small rates used here.
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _incidents() -> list[Injected]:
    day = lambda n, h: START + timedelta(days=n, hours=h)  # noqa: E731 - local day n, hour h
    return [
        Injected("volume_anomaly", "620100:620102:城乡建设:供热", day(29, 10), day(29, 13), 16.0),
        Injected("volume_anomaly", "620100:620103:水务:供水", day(31, 15), day(31, 19), 16.0),
        Injected("volume_anomaly", "620100:620104:交通运输:道路", day(33, 9), day(33, 11), 14.0),
        Injected("volume_anomaly_city", "620100", day(34, 8), day(34, 20), 0.0),  # every key x2
    ]


def _stream() -> list[dict]:
    rng = random.Random(42)
    s = Stream(base=START, prefix="vol-")
    incs = _incidents()
    out, n = [], 0
    for hour in range(35 * 24):
        at = START + timedelta(hours=hour)
        local_h = hour % 24
        for district in DISTRICTS:
            for category in CATEGORIES:
                lam = HOURLY[local_h]
                for inc in incs:
                    if inc.start <= at < inc.end:
                        if inc.rule == "volume_anomaly_city":
                            lam *= 2
                        elif inc.key == f"620100:{district}:{category[0]}:{category[1]}":
                            lam += inc.extra_per_hour
                for _ in range(_poisson(rng, lam)):
                    n += 1
                    t = hour * 3600 + rng.uniform(0, 3599)
                    out.append(s.event("ticket.created", t, ticket_id=f"V{n}", district=district,
                                       category=list(category), text="诉求"))
    return out


def _expected_first(events: list[dict], inc: Injected, rule: str) -> datetime | None:
    """The first 15-minute evaluation time at which the documented criterion holds for the
    incident's key, computed in Python from the raw stream (independent of the SQL)."""
    p = watchpoints.DEFAULTS[rule]
    times = []
    for e in events:
        key = "620100" if rule == "volume_anomaly_city" else f"620100:{e['district']}:{':'.join(e['category'])}"
        if key == inc.key:
            times.append(datetime.fromisoformat(e["occurred_at"]))

    def count(a: datetime, b: datetime) -> int:
        return sum(1 for t in times if a <= t < b)

    at = inc.start
    while at <= inc.end + timedelta(hours=1):
        n = count(at - timedelta(hours=1), at)
        base = [count(at - timedelta(days=7 * w, hours=1), at - timedelta(days=7 * w)) for w in range(1, 5)]
        # the trend: the trend_h hours ending trend_gap_h + 1 hours ago against the same hours of the
        # four weeks before, once the rollups (from START) cover all five spans
        t_end = at - timedelta(hours=1 + p["trend_gap_h"])
        spans = [(t_end - timedelta(days=7 * w, hours=p["trend_h"]), t_end - timedelta(days=7 * w)) for w in range(5)]
        factor = 1.0
        if spans[-1][0] >= START:
            factor = watchpoints.trend_factor(count(*spans[0]), [count(a, b) for a, b in spans[1:]],
                                              p["trend_prior"])
        z, med, _ = watchpoints.robust_z(n, [b * factor for b in base])
        if n >= p["min_count"] and z >= p["z"] and not (med > 0 and n < p["min_ratio"] * med):
            return at
        at += timedelta(minutes=15)
    return None


def test_watch020_volume_anomalies_found_without_false_alerts(stores, capsys):
    events = _stream()
    ingest_batch(stores, events, source="test")
    with stores.session() as session:
        rollups.rollup_range(session, START, START + timedelta(days=35), now=START + timedelta(days=36))
    incs = _incidents()
    rules = ["volume_anomaly", "volume_anomaly_city"]
    at = START + timedelta(days=28)
    while at <= START + timedelta(days=35):
        with stores.session() as session:
            watchpoints.evaluate(session, stores.settings, now=at, rules=rules)
        at += timedelta(minutes=15)
    with stores.session() as session:
        found = list(session.scalars(select(Alert).where(Alert.rule.in_(rules)).order_by(Alert.first_seen)))

    def matches(alert: Alert, inc: Injected) -> bool:
        seen = alert.first_seen.replace(tzinfo=UTC)
        if not inc.start < seen <= inc.end + timedelta(hours=1):
            return False
        if inc.rule == "volume_anomaly_city":  # a city-wide surge also explains its districts' rises
            return alert.city == inc.key
        return alert.rule == inc.rule and alert.key == inc.key

    true_alerts = [a for a in found if any(matches(a, i) for i in incs)]
    detected = [i for i in incs if any(matches(a, i) and a.rule == i.rule for a in found)]
    precision = len(true_alerts) / len(found) if found else 1.0
    recall = len(detected) / len(incs)
    with capsys.disabled():
        print(f"\nvolume anomaly [{stores.dialect}]: {len(found)} alerts, {len(true_alerts)} true, "
              f"{len(detected)}/{len(incs)} incidents found: precision {precision:.2f}, recall {recall:.2f}; "
              + ", ".join(f"{a.key} +{(a.first_seen.replace(tzinfo=UTC) - i.start).seconds // 60} min"
                          for a in true_alerts for i in incs if matches(a, i)))
    assert [(a.rule, a.key, a.first_seen, a.detail) for a in found if a not in true_alerts] == []  # normal days: nothing
    assert recall == 1.0
    assert len(true_alerts) <= len(incs) + 3  # no flapping: about one alert per incident
    for inc in incs:
        alert = next(a for a in true_alerts if matches(a, inc) and a.rule == inc.rule)
        assert alert.first_seen.replace(tzinfo=UTC) == _expected_first(events, inc, inc.rule)
        assert alert.first_seen.replace(tzinfo=UTC) <= inc.start + timedelta(hours=2)
        assert alert.state == "resolved" and alert.resolved_by == "system"  # cleared after the incident
