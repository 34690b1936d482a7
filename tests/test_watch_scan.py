"""The count-model scan detector (``method: "scan"``, cockpit/watch/rules_scan.py) on the same five
weeks of Poisson traffic as test_watch_volume: every injected surge found, nothing else, and the
false-alarm budget is what alpha says."""

from __future__ import annotations

from datetime import UTC, timedelta

from sqlalchemy import select

from cockpit.ingest import ingest_batch
from cockpit.metrics import rollups
from cockpit.store.models import Alert
from cockpit.watch import evaluate as watchpoints
from cockpit.watch.rules_scan import EVALS_PER_WEEK, WINDOWS_H, tail_p
from tests.test_watch_volume import START, _incidents, _stream

SCAN = {"rules": {"volume_anomaly": {"method": "scan"}, "volume_anomaly_city": {"method": "scan"}}}


def test_scan001_tail_probabilities_and_alpha():
    assert abs(tail_p(5, 1.5, 1e9) - 0.0186) < 1e-3  # Poisson(1.5): P(X >= 5)
    assert tail_p(5, 1.5, 10.0) > tail_p(5, 1.5, 1e9)  # overdispersion widens the tail
    assert tail_p(0, 3.0, 10.0) == 1.0
    # alpha for 0.1 false alerts per city-week over 500 keys, every 15 minutes, 4 windows
    assert EVALS_PER_WEEK == 672 and len(WINDOWS_H) == 4
    assert abs(0.1 / (500 * EVALS_PER_WEEK * len(WINDOWS_H)) - 7.44e-8) < 1e-9


def test_scan002_every_surge_found_and_nothing_else(sqlite_stores):
    stores = sqlite_stores
    stores.settings = stores.settings.with_(watchpoints=SCAN)
    ingest_batch(stores, _stream(), source="test")
    with stores.session() as session:
        rollups.rollup_range(session, START, START + timedelta(days=35), now=START + timedelta(days=36))
    rules = ["volume_anomaly", "volume_anomaly_city"]
    at = START + timedelta(days=28)
    while at <= START + timedelta(days=35):
        with stores.session() as session:
            watchpoints.evaluate(session, stores.settings, now=at, rules=rules)
        at += timedelta(minutes=15)
    with stores.session() as session:
        found = list(session.scalars(select(Alert).where(Alert.rule.in_(rules)).order_by(Alert.first_seen)))
    incs = _incidents()

    def matches(alert, inc) -> bool:
        seen = alert.first_seen.replace(tzinfo=UTC)
        if not inc.start < seen <= inc.end + timedelta(hours=1):
            return False
        if inc.rule == "volume_anomaly_city":
            return alert.city == inc.key
        return alert.rule == inc.rule and alert.key == inc.key

    unexplained = [(a.key, a.first_seen, a.detail) for a in found if not any(matches(a, i) for i in incs)]
    assert unexplained == []
    delays = {i.key: min((a.first_seen.replace(tzinfo=UTC) - i.start for a in found if matches(a, i)), default=None)
              for i in incs}
    assert all(d is not None for d in delays.values()), delays
    assert all(d <= timedelta(minutes=90) for d in delays.values()), delays
    print("scan:", {k: int(d.total_seconds() // 60) for k, d in delays.items()})
