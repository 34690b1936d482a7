"""The live store on a real three-master Redis Cluster (loopback): same counters as one Redis.

Every key of a city carries ``{city}`` as its hash tag, so the multi-key Lua scripts and the
shared screen payload's lock stay in one slot; cross-city reads are per-city commands.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest

from cockpit.events import validate
from cockpit.settings import Settings
from cockpit.store import live
from cockpit.store.db import make_redis
from tests.factories import random_stream
from tests.services import WORKER_INDEX

PORTS = [17101 + 10 * WORKER_INDEX + i for i in range(3)]

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    procs = []
    for port in PORTS:
        d = tmp_path_factory.mktemp(f"node{port}")
        procs.append(subprocess.Popen(
            ["redis-server", "--port", str(port), "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
             "--save", "", "--appendonly", "no", "--bind", "127.0.0.1", "--dir", str(d)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        for port in PORTS:
            for _ in range(100):
                if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True).stdout.strip() == "PONG":
                    break
                time.sleep(0.1)
        subprocess.run(["redis-cli", "--cluster", "create", *[f"127.0.0.1:{p}" for p in PORTS],
                        "--cluster-replicas", "0", "--cluster-yes"], check=True, capture_output=True)
        for _ in range(100):
            info = subprocess.run(["redis-cli", "-p", str(PORTS[0]), "cluster", "info"], capture_output=True,
                                  text=True).stdout
            if "cluster_state:ok" in info:
                break
            time.sleep(0.1)
        client = make_redis(Settings(redis_url=f"redis+cluster://127.0.0.1:{PORTS[0]}"))
        yield client
        client.close()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)


def _events(now):
    raws = random_stream(3, 400, 150, base=now - timedelta(hours=3), cities=("620100", "620200", "620300"))
    return [validate(r)[0] for r in raws]


def test_cluster001_live_counters_equal_on_cluster_and_single_redis(cluster, redis_client):
    now = datetime.now(UTC)
    events = _events(now)
    cfg = live.LiveConfig.from_settings(Settings())
    live.clear(cluster)
    for i in range(0, len(events), 250):
        live.apply(cluster, events[i : i + 250], cfg, now=now)
        live.apply(redis_client, events[i : i + 250], cfg, now=now)
    assert live.snapshot(cluster) == live.snapshot(redis_client)
    cities = ["620100", "620200", "620300"]
    day = live.day_str(now, cfg.tz)
    assert live.day_totals(cluster, cities, day) == live.day_totals(redis_client, cities, day)
    assert live.minute_series(cluster, cities, day) == live.minute_series(redis_client, cities, day)
    assert live.seat_counts(cluster, cities) == live.seat_counts(redis_client, cities)
    assert live.waiting(cluster, cities, now=now) == live.waiting(redis_client, cities, now=now)
    assert live.known_cities(cluster) == cities
    # One city's keys live on one node (one hash slot), so its Lua scripts are legal there.
    slots = {cluster.keyslot(k) for k in live.snapshot(cluster) if k.startswith("ck:{620100}")}
    assert len(slots) == 1
    assert live.clear(cluster) > 0 and live.snapshot(cluster) == {}


def test_cluster002_ingest_and_rebuild_on_cluster(cluster, sqlite_stores):
    from cockpit.ingest import ingest_batch, rebuild_live

    now = datetime.now(UTC)
    live.clear(cluster)
    sqlite_stores.redis = cluster
    raws = random_stream(4, 300, 100, base=now - timedelta(hours=2))
    for i in range(0, len(raws), 200):
        assert ingest_batch(sqlite_stores, raws[i : i + 200], source="t").live_applied
    before = live.snapshot(cluster)
    assert before
    rebuild_live(sqlite_stores, now=now)
    assert live.snapshot(cluster) == before
