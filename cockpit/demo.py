"""``cockpit demo``: the whole product on one machine, with nothing to install.

SQLite file + embedded Redis under the var dir, the bundled Gansu boundaries, `--days` (four weeks) of simulated
history and live simulated traffic, the worker's jobs and the web server, in one process.

The web server starts at once; in the background today's traffic so far is written first, then the
earlier days (ingestion does not care about order), then live traffic follows the clock.

A new demo simulates its past with the columnar simulator (``cockpit.simulation.columnar``: the
same model drawn in numpy columns, loaded set-based by ``cockpit.bulk_columnar``), the 28 days (the
default ``--days``; the screens wait for as many as were seeded, ``demo_settings``) in about a minute
of CPU per core instead of six: every contact up to the end of the first day
(``columnar_day0`` in var/demo.json), with all of its later steps, comes from it, and contacts from
the next local midnight on come from the object simulator (``Province``, whose seats follow the
kept rosters). Each ticket and call is made by one of the two, so no ticket misses its creation.
A var/ seeded before this (no ``columnar_day0``) keeps the object simulator throughout.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cockpit import jobs
from cockpit.planning import live as planning_live
from cockpit.simulation.rosterseats import RosterSeats
from cockpit.store import history, live, migrate
from cockpit.ingest import forget_regions, ingest_stream, rebuild_live, transient
from cockpit.settings import Settings
from cockpit.store.db import Stores, stop_embedded_redis

log = logging.getLogger(__name__)

LIVE_STEP_S = 1.0  # how often the live simulator hands a batch to ingestion
RESUME_OVERLAP = timedelta(minutes=30)  # re-generated on resume; duplicates are skipped by event_id


def _state_path(settings: Settings) -> Path:
    return settings.var_dir / "demo.json"


def load_state(settings: Settings) -> dict:
    path = _state_path(settings)
    return json.loads(path.read_text()) if path.exists() else {}


def save_state(settings: Settings, state: dict) -> None:
    _state_path(settings).write_text(json.dumps(state, indent=2))


def last_sim_event(stores: Stores) -> datetime | None:
    with stores.session() as session:
        latest = history.last_event_at(session, source="sim")
    return latest.replace(tzinfo=UTC) if latest else None


def prepare(settings: Settings) -> Stores:
    """Schema, regions and a live store consistent with SQL."""
    from geo.regions import load_default_regions

    migrate.upgrade(settings)
    stores = Stores.open(settings)
    with stores.session() as session:
        load_default_regions(session)
    forget_regions(stores)
    state = live.epoch_state(stores.redis)
    if state != "ok":
        log.info("live store %s: rebuilding live counters from SQL", state)
        rebuild_live(stores)
    return stores


DEMO_USERS = (  # (name, role, scope): one per role for Lanzhou, and one for the province
    ("lanzhou-leader", "leader", "620100"),
    ("lanzhou-supervisor", "supervisor", "620100"),
    ("lanzhou-admin", "admin", "620100"),
    ("gansu-leader", "leader", "620000"),
)


def ensure_demo_users(stores: Stores) -> list[tuple[str, str, str, str]]:
    """Create the demo users once, with random passwords kept in var/demo_users.json (mode 0600)."""
    import secrets

    from cockpit.auth import users

    path = stores.settings.var_dir / "demo_users.json"
    known = json.loads(path.read_text()) if path.exists() else {}
    out = []
    with stores.session() as session:
        for name, role, scope in DEMO_USERS:
            password = known.get(name)
            if users.get(session, name) is None or password is None:
                password = secrets.token_urlsafe(12)
                if users.get(session, name) is None:
                    users.create(session, name, role=role, scope=scope, password=password)
                else:
                    users.reset_password(session, name, password)
                known[name] = password
            out.append((name, role, scope, password))
    path.touch(mode=0o600)
    path.write_text(json.dumps(known, indent=2))
    return out


def _ingest_window(stores: Stores, province, start: datetime, end: datetime) -> int:
    return ingest_stream(stores, province.events(start, end), source="sim").accepted


class DemoTraffic:
    """The demo's simulated traffic after its seed: the columnar simulator's events of contacts up
    to the end of local day ``day0`` (their late ticket steps and calls past midnight included),
    then the object simulator's (``province``, its history starting at ``day0``'s next midnight)."""

    def __init__(self, seed: int, day0, province, *, first, cities: list[str] | None = None,
                 scale: float = 1.0) -> None:
        from cockpit.simulation import catalog, local_midnight
        from cockpit.simulation.columnar import CityDayGen
        from cockpit.simulation.engine import HORIZON_DAYS

        self.gen = CityDayGen(seed, scale=scale, seat_detail=True)  # busy seats on the wall, as live
        self.cities = list(cities or catalog.cities())
        # The days whose contacts may still have events to come (none before the history's first day).
        self.days = [day0 - timedelta(days=back) for back in range(HORIZON_DAYS, -1, -1)
                     if day0 - timedelta(days=back) >= first]
        self.province = province
        self.object_from = local_midnight(day0 + timedelta(days=1))
        self._cache: dict = {}  # (city, day) -> (CityDay, its events' epoch ms, sorted)
        self._spent: set = set()  # city-days whose every event lies before the windows still asked for

    def _columnar(self, start: datetime, end: datetime) -> list[dict]:
        import numpy as np

        lo, hi = round(start.timestamp() * 1000), round(end.timestamp() * 1000)
        out: list[dict] = []
        for day in self.days:
            for city in self.cities:
                key = (city, day)
                if key in self._spent:
                    continue
                if key not in self._cache:
                    cd = self.gen.city_day(city, day)
                    times = np.concatenate([cd.calls["offered_ms"], cd.calls["outcome_ms"], cd.calls["ended_ms"],
                                            cd.seat_changes["ms"], cd.tickets["created_ms"], cd.steps["ms"]])
                    self._cache[key] = (cd, np.sort(times[times >= 0]))
                cd, times = self._cache[key]
                if not len(times) or times[-1] < lo:
                    # Windows only move forward once stored (a failed one is asked again), so
                    # nothing of this city-day is asked for again: forget its columns.
                    del self._cache[key]
                    self._spent.add(key)
                    continue
                if np.searchsorted(times, lo) < np.searchsorted(times, hi):  # any event in the window
                    out += cd.clip(lo, hi).raw_events()
        self.days = [d for d in self.days if not all((c, d) in self._spent for c in self.cities)]
        return out

    def events(self, start: datetime, end: datetime) -> list[dict]:
        raws = self._columnar(start, end) if self.days else []
        if end > self.object_from:
            raws += list(self.province.events(max(start, self.object_from), end))
        return raws


def seed_demo_history(stores: Stores, *, days: int, seed: int) -> None:
    """Seed today so far, then the earlier days, then roll them up; skipped when already done."""
    from cockpit.simulation import local_midnight, seed_history
    from cockpit.simulation.seeding import default_workers

    settings = stores.settings
    state = load_state(settings)
    origin = datetime.fromisoformat(state["origin"])
    columnar = bool(state.get("columnar"))

    if not state.get("seeded"):
        now = datetime.now(UTC)
        today = local_midnight(now.astimezone(settings.tz).date())
        if not state.get("today_seeded"):
            # Today first: ingestion is order-free, and the wall needs today before the baselines.
            log.info("seeding today so far (seed %d)", seed)
            # Today so far of the history that began at ``origin``, in one process per core (rolls up too).
            seed_history(stores, 0, seed=seed, end=now, origin=min(origin, today), progress=False,
                         workers=default_workers(), columnar=columnar, seat_detail=True)
            state.update(today_seeded=True, live_from=now.isoformat())
            if columnar:  # contacts up to the end of this day are the columnar simulator's (DemoTraffic)
                state.update(columnar_day0=now.astimezone(settings.tz).date().isoformat())
            save_state(settings, state)
        if origin < today:
            log.info("seeding %d earlier days of simulated history", days)
            started = time.monotonic()

            def report(done: int, total: int) -> None:
                # One console line per simulated day: the walls show the same count ("12/28").
                print(f"history: {done}/{total} days loaded ({time.monotonic() - started:.0f} s)", flush=True)

            totals = seed_history(stores, days, seed=seed, end=today, progress=False, on_day=report,
                                  workers=default_workers(), columnar=columnar)  # rolls up too
            log.info("seeded %s events; incidents: %s", totals["accepted"],
                     "; ".join(f"{i['kind']} {i['city']} {i.get('district') or ''} {i['start']}"
                               for i in totals["incidents"]))
        state.update(seeded=True)
        save_state(settings, state)
        log.info("history complete")
    planned = planning_live.plan_weeks(stores)  # the live floor follows these from tomorrow on
    log.info("rosters planned: %s", planned or "all kept")


def live_traffic(stores: Stores, *, seed: int, stop: threading.Event) -> None:
    """Stream simulated events as the clock passes them, from where the seed (or a previous run) ended."""
    from cockpit.simulation import Province

    settings = stores.settings
    while not load_state(settings).get("live_from"):
        if stop.wait(1.0):
            return
    state = load_state(settings)
    # From tomorrow on (today's floor is already on the wall) the seats are the kept rosters'.
    tomorrow = datetime.now(UTC).astimezone(settings.tz).date() + timedelta(days=1)
    roster = RosterSeats(since=tomorrow, lookup=lambda city, monday: planning_live.kept_roster(stores, city, monday))
    origin = datetime.fromisoformat(state["origin"])
    if state.get("columnar_day0"):
        from cockpit.simulation import local_midnight

        day0 = date.fromisoformat(state["columnar_day0"])
        # The object simulator's history starts where the columnar simulator's contacts end.
        province = DemoTraffic(seed, day0, Province(seed=seed, origin=local_midnight(day0 + timedelta(days=1)),
                                                    seat_detail=True, roster=roster),
                               first=origin.astimezone(settings.tz).date())
    else:
        province = Province(seed=seed, origin=origin, seat_detail=True, roster=roster)
    cursor = last_sim_event(stores) or datetime.now(UTC)
    cursor = max(cursor - RESUME_OVERLAP, datetime.fromisoformat(state["live_from"]))
    log.info("live simulated traffic from %s", cursor.isoformat())
    while not stop.is_set():
        now = datetime.now(UTC)
        if now > cursor:
            try:
                _ingest_window(stores, province, cursor, now)
            except Exception as exc:
                if not transient(exc):
                    raise
                # SQLite busy with the history load: retry the same window (re-sent events are
                # duplicates) with the same Province; a new one would re-simulate 15 province-days.
                log.warning("live traffic: store busy (%s); retrying", exc.__class__.__name__)
                stop.wait(LIVE_STEP_S)
                continue
            cursor = now
        stop.wait(LIVE_STEP_S)


def demo_state(settings: Settings, *, days: int, seed: int) -> dict:
    """var/demo.json, started anew (history window of ``days`` days) when it was seeded otherwise."""
    state = load_state(settings)
    if state.get("seed") != seed or "origin" not in state:
        from cockpit.simulation.seeding import history_window

        settings.var_dir.mkdir(parents=True, exist_ok=True)
        state = {"seed": seed, "origin": history_window(days)[0].isoformat(), "days": days, "columnar": True}
        save_state(settings, state)
    return state


def demo_settings(settings: Settings, state: dict) -> Settings:
    """The demo's settings for its seeded history: the screens wait for the days it has (``--days``,
    as seeded), not for four weeks it will never have."""
    from cockpit.views.panels import HISTORY_NEEDED_DAYS

    return settings.with_(history_days=max(1, min(HISTORY_NEEDED_DAYS, int(state.get("days") or HISTORY_NEEDED_DAYS))))


def run_demo(settings: Settings, *, host: str, port: int, days: int, seed: int) -> None:
    """Web server in this process; simulated traffic and the worker's jobs in a child process.

    The split keeps the web process responsive: seeding, live traffic and the jobs are CPU-bound
    Python that would otherwise hold the GIL between every refresh's round trips. The child
    reaches the embedded Redis through its unix socket and the SQLite file through WAL.
    """
    from app import create_app
    from cockpit.auth.web import QuietRequestHandler

    from cockpit.auth.web import demo_secret

    started = time.monotonic()
    # The demo runs over plain HTTP on this machine: its own secret key under var/, no Secure cookies.
    settings = settings.with_(mode="demo", secret_key=settings.secret_key or demo_secret(settings.var_dir))
    state = demo_state(settings, days=days, seed=seed)
    settings = demo_settings(settings, state)
    stores = prepare(settings)
    demo_users = ensure_demo_users(stores)
    feeder = _start_feeder(stores, days=days, seed=seed)
    app = create_app(settings, stores=stores, warm=True)
    url = f"http://{host}:{port}"
    log.info("cockpit demo ready in %.1f s: %s  (wall: %s/wall/620100, province: %s/province/620000)",
             time.monotonic() - started, url, url, url)
    print(f"Cockpit demo: {url}  (log in at {url}/login)", flush=True)
    for name, role, scope, password in demo_users:
        print(f"  user {name:<22} role {role:<10} scope {scope}  password {password}", flush=True)
    # SIGTERM ends the demo like Ctrl-C does: the feeder is stopped and the embedded Redis shut down.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        app.run(host=host, port=port, debug=False, request_handler=QuietRequestHandler)
    finally:
        feeder.terminate()
        try:
            feeder.wait(timeout=10)
        except subprocess.TimeoutExpired:
            feeder.kill()
        stop_embedded_redis(stores.redis)


def _start_feeder(stores: Stores, *, days: int, seed: int) -> subprocess.Popen:
    settings = stores.settings
    redis_url = settings.redis_url
    if not redis_url:
        redis_url = "unix://" + stores.redis.connection_pool.connection_kwargs["path"]
    env = {
        **os.environ,
        "COCKPIT_DATABASE_URL": settings.sqlalchemy_url,
        "COCKPIT_REDIS_URL": redis_url,
        "COCKPIT_VAR_DIR": str(settings.var_dir),
        "COCKPIT_DEMO_DAYS": str(days),
        "COCKPIT_DEMO_SEED": str(seed),
        "COCKPIT_HISTORY_DAYS": str(settings.history_days),  # the worker's panels count the same days
    }
    code = "from cockpit.demo import run_feeder; run_feeder()"
    return subprocess.Popen([sys.executable, "-c", code], env=env)


def run_feeder() -> None:
    """The demo's background process: history, live traffic and the scheduled jobs, until killed."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    stores = Stores.open(settings)
    days, seed = int(os.environ["COCKPIT_DEMO_DAYS"]), int(os.environ["COCKPIT_DEMO_SEED"])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threads = [
        threading.Thread(target=_guard, args=(seed_demo_history, stop), kwargs=dict(stores=stores, days=days,
                         seed=seed), name="demo-history", daemon=True),
        threading.Thread(target=_guard, args=(live_traffic, stop), kwargs=dict(stores=stores, seed=seed, stop=stop),
                         name="demo-live", daemon=True),
    ]
    for thread in threads:
        thread.start()
    scheduler = jobs.start_background(stores)
    parent = os.getppid()
    while not stop.wait(5.0):
        if os.getppid() != parent:  # the web process died without stopping us: do not run on alone
            break
    stop.set()
    scheduler.shutdown(wait=False)


def _guard(target, halt: threading.Event, **kwargs) -> None:
    """Run ``target`` to completion; on an error log it and retry after 10 s instead of dying silently."""
    while not halt.is_set():
        try:
            target(**kwargs)
            return
        except Exception:  # noqa: BLE001 - a demo must keep running; the error is logged
            log.exception("%s failed; retrying in 10 s", target.__name__)
            halt.wait(10)
