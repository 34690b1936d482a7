"""Server CPU of one wall refresh in-process, with and without the kiosk session cache (issue 15, Screens).

    python bench/guard.py [--pg URL] [--redis URL] [--sessions 100] [--interval 2] [--requests 600] [--profile]

Seeds (or reuses) a day of traffic in PostgreSQL the way bench/screens.py does, starts kiosk
sessions over the cities through their links, then each session sends, every ``--interval`` s, the wall refresh callback (``/_dash-update-component``
with the session cookie and CSRF header, as the browser does) through the Flask test client: no
network, no load generator, so ``time.process_time`` per request is the server's own CPU. Requests
alternate "before" (``session_cache_seconds=0``: every request reads the session and its kiosk link
from PostgreSQL; and the wall's region check as it was, two SQL reads per refresh) and "after" (the
kiosk session cache; a wall of the screen's own scope needs no region read), in one process on the
same data. Payload renders (once a second per scope) are the slow tail: the median and the mean of
the fastest 90 % are the guard's figures. ``--profile`` prints where one refresh spends its CPU
(cProfile with a CPU clock, cumulative) for each.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import screens  # noqa: E402  (bench/screens.py: seeding, kiosk links, the Dash protocol)

# what the profile sums up: (label, function name, file fragment)
PARTS = [
    ("guard total (require_session_or_token)", "require_session_or_token", "auth/web.py"),
    ("  session lookup (_from_cookie)", "_from_cookie", "auth/web.py"),
    ("    SQL read + last-seen writes (sessions.load)", "load", "auth/sessions.py"),
    ("    cache read (sessions.cached)", "cached", "auth/sessions.py"),
    ("  role/scope check (policy.check_request)", "check_request", "auth/policy.py"),
    ("  body limit (_body_over)", "_body_over", "auth/web.py"),
    ("security headers (_security_headers)", "_security_headers", "auth/web.py"),
    ("shared screen answer (before_request)", "answer", "shared_payload.py"),
    ("  region check (require_region, SQL)", "require_region", "auth/web.py"),
    ("  region check as before (two SQL reads)", "_require_region_before", "bench/guard.py"),
    ("  payload fetch (memory/Redis)", "payload", "shared_payload.py"),
    ("Dash dispatch (callback, when not shared)", "dispatch", "dash/dash.py"),
]


def _cum(stats: pstats.Stats, name: str, fragment: str) -> float:
    total = 0.0
    for (file, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():
        if func == name and fragment in file:
            total += ct
    return total


def _require_region_before(stores, code):
    """cockpit.auth.web.require_region before the kiosk session cache landed: two SQL reads a refresh."""
    from cockpit.auth.principal import AccessDenied
    from cockpit.auth.scope import ancestors
    from cockpit.auth.web import current_principal
    from cockpit.store.regions import scope_level

    principal = current_principal()
    if principal.role == "system" or not code:
        return
    with stores.session() as session:
        if scope_level(session, str(code)) is not None:
            if "*" not in principal.scopes and not set(principal.scopes) & set(ancestors(session, str(code))):
                raise AccessDenied(f"region {code} is outside your scope", status=403)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL",
                                                       "postgresql+psycopg://postgres@127.0.0.1:5432/cockpit_bench_guard"))
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/1"))
    parser.add_argument("--requests", type=int, default=600, help="measured refreshes per setting")
    parser.add_argument("--sessions", type=int, default=100, help="kiosk sessions per setting")
    parser.add_argument("--cities", type=int, default=2, help="cities the sessions show (a render a second each)")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between a session's refreshes")
    parser.add_argument("--cache-seconds", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    from app import create_app
    from cockpit.settings import Settings
    from cockpit.store.db import Stores

    screens.prepare(args.pg, args.redis, True, args.scale)
    access = screens.make_access(args.pg, args.redis)
    base = Settings(database_url=args.pg, redis_url=args.redis, mode="development",
                    var_dir=Path("/tmp/bench_guard"))
    apps = {}
    for label, seconds in (("before", 0), ("after", args.cache_seconds)):
        stores = Stores.open(base.with_(session_cache_seconds=seconds))
        apps[label] = create_app(stores.settings, stores=stores)

    def clients(app, n: int):
        """``n`` kiosk sessions over the cities (each through its link), with their refresh config."""
        server, out, deps, configs = app.server, [], None, {}
        for j in range(n):
            code = screens.CITIES[j % args.cities]
            client = server.test_client()
            assert client.get(access["kiosk"][code]).status_code == 302
            csrf = client.get_cookie("_csrf_token").value
            if deps is None:
                deps = client.get("/_dash-dependencies").get_json()
            if code not in configs:
                path, search = f"/wall/{code}", "?lang=zh&kiosk=1"
                layout = client.post("/_dash-update-component",
                                     data=screens._route_body(screens.App(deps), path, search),
                                     content_type="application/json", headers={"X-CSRFToken": csrf}).get_json()
                configs[code] = screens.find_prop(layout, {"type": "wall-config", "index": "wall"}, "data")
            out.append((client, csrf, configs[code]))
        return out, screens.App(deps)

    prepared = {label: clients(app, args.sessions) for label, app in apps.items()}
    counter = [0]
    position = {label: 0 for label in apps}
    last = [0.0] * args.sessions  # when session j (of either setting) last refreshed

    import callbacks.shared_payload as shared_payload
    from cockpit.auth.web import require_region

    def one(label: str, paced: bool) -> float:
        """One refresh of the next session of ``label``; its CPU in ms."""
        shared_payload.require_region = _require_region_before if label == "before" else require_region
        bodies, dash_app = prepared[label]
        j = position[label] % len(bodies)
        position[label] += 1
        if paced and label == "before":  # both settings' session j refresh together, every interval
            wait = last[j] + args.interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            last[j] = time.monotonic()
        client, csrf, config = bodies[j]
        counter[0] += 1
        body = dash_app.wall.body([{"n": counter[0], "at": int(time.time() * 1000)}, "count"],
                                  [config, None, "sig"])
        t = time.process_time()
        resp = client.post("/_dash-update-component", data=body, content_type="application/json",
                           headers={"X-CSRFToken": csrf})
        cpu = (time.process_time() - t) * 1000
        assert resp.status_code == 200, resp.status_code
        return cpu

    def run(label: str, n: int) -> list[float]:
        return [one(label, False) for _ in range(n)]

    for _ in range(args.sessions):  # warm: every session seen once, payloads shared in Redis, pools open
        for label in apps:
            one(label, True)
    results: dict[str, list[float]] = {"before": [], "after": []}
    started = time.monotonic()
    for _ in range(args.requests):
        for label in ("before", "after"):
            results[label].append(one(label, True))
    cycles = args.requests / args.sessions
    print(f"load average {os.getloadavg()[0]:.1f}; {args.requests} refreshes per setting, interleaved; "
          f"{args.sessions} kiosk sessions per setting over {args.cities} cities, each refreshing every "
          f"{(time.monotonic() - started) / cycles:.2f} s (asked {args.interval} s); cache {args.cache_seconds} s")
    for label, values in results.items():
        fast = sorted(values)[:int(len(values) * 0.9)]
        print(f"{label:6}: CPU per wall refresh median {statistics.median(values):.2f} ms, "
              f"mean of fastest 90 % {statistics.mean(fast):.2f} ms, mean of all {statistics.mean(values):.2f} ms")
    if args.profile:
        for label in ("before", "after"):
            prof = cProfile.Profile(time.process_time)
            prof.enable()
            run(label, 300)
            prof.disable()
            stats = pstats.Stats(prof, stream=io.StringIO())
            per = 300
            print(f"\nprofile, {label}, 300 refreshes back to back (CPU ms per refresh, cProfile cumulative, "
                  f"inflated by profiling; slow requests make payload renders and cache misses frequent):")
            total = sum(v[3] for k, v in stats.stats.items() if k[2] == "wsgi_app" and "flask/app.py" in k[0])
            print(f"  {'whole request (Flask wsgi_app)':52} {1000 * total / per:7.2f}")
            for text, name, fragment in PARTS:
                print(f"  {text:52} {1000 * _cum(stats, name, fragment) / per:7.2f}")
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(25)
            print("\n".join(out.getvalue().splitlines()[:45]))


if __name__ == "__main__":
    main()
