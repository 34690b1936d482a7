"""Benchmark: ``cockpit demo`` from a fresh var/ dir until its history is complete (issue 15).

Starts ``cockpit demo`` (SQLite + embedded Redis, the README's first command) in a new temporary
var dir, reads its console, and prints for each run: when the web server answered, when today so
far was loaded, when the console said ``history: N/N days loaded``, and the CPU-seconds the
demo's whole process tree used until then (web server, feeder, loader processes; user + sys from
``/proc``, sampled every 0.5 s, so processes that end between samples are counted by their
parent's ``cutime``/``cstime`` once reaped). The demo is stopped as soon as the history is
complete. The load average is printed with every run: the machine is shared, so the CPU-seconds
are the figure that carries over to another machine.

    python bench/demo.py [--days 28] [--port 9400] [--baseline REF]

``--baseline REF`` first runs the same measurement on the code of git ref REF (checked out into a
temporary worktree and run with ``PYTHONPATH`` pointing at it): the same-run baseline.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
HISTORY = re.compile(r"history: (\d+)/(\d+) days loaded")


def _tree_cpu(root: int) -> float:
    """User + sys seconds of ``root`` and its live descendants, plus their reaped children."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        # fields[1] = ppid; utime, stime, cutime, cstime are fields 14-17 of stat (11-14 here)
        stats[int(entry.name)] = (int(fields[1]), sum(int(x) for x in fields[11:15]) / TICK)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += stats[pid][1]
        todo += [p for p, (ppid, _) in stats.items() if ppid == pid]
    return total


def run_once(label: str, pythonpath: Path, *, days: int, port: int, timeout: float) -> dict:
    var = Path(tempfile.mkdtemp(prefix="cockpit-demo-bench-"))
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "COCKPIT_VAR_DIR": str(var), "OPENBLAS_NUM_THREADS": "1"}
    for key in ("COCKPIT_DATABASE_URL", "COCKPIT_REDIS_URL"):  # the embedded stores, as the README runs it
        env.pop(key, None)
    cmd = [sys.executable, "-c", "from cockpit.cli import main; main()", "demo", "--port", str(port),
           "--days", str(days)]
    load0 = os.getloadavg()
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=pythonpath, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    marks: dict[str, float] = {}
    cpu = {"last": 0.0}
    done = threading.Event()
    lines: list[str] = []

    def read() -> None:
        for line in proc.stdout:
            lines.append(line)
            now = time.monotonic() - t0
            if "seeding" in line and "earlier days" in line:
                marks.setdefault("today_loaded", now)
            m = HISTORY.search(line)
            if m:
                marks.setdefault("first_history_line", now)
                if m.group(1) == m.group(2):
                    marks["history_complete"] = now
                    cpu["at_complete"] = max(cpu["last"], _tree_cpu(proc.pid))
                    done.set()
            if "Traceback" in line:
                marks.setdefault("traceback", now)
        done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        while not done.is_set() and time.monotonic() - t0 < timeout:
            cpu["last"] = max(cpu["last"], _tree_cpu(proc.pid))
            if "server_up" not in marks:
                try:
                    urllib.request.urlopen(url, timeout=1).read()
                    marks["server_up"] = time.monotonic() - t0
                except OSError:
                    pass
            done.wait(0.5)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        reader.join(timeout=5)
    load1 = os.getloadavg()
    events = None
    try:
        import sqlite3

        with sqlite3.connect(var / "cockpit.sqlite3") as conn:
            events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    except Exception:  # noqa: BLE001 - reported as unknown
        pass
    shutil.rmtree(var, ignore_errors=True)
    out = {"label": label, **{k: round(v, 1) for k, v in marks.items()},
           "cpu_s_at_complete": round(cpu.get("at_complete", cpu["last"]), 1), "events": events,
           "load_start": round(load0[0], 2), "load_end": round(load1[0], 2)}
    if "history_complete" not in marks:
        out["error"] = "history not complete within the timeout; last lines:\n" + "".join(lines[-15:])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--port", type=int, default=9400)
    parser.add_argument("--baseline", help="git ref of the code to measure first (same run)")
    parser.add_argument("--timeout", type=float, default=3600.0)
    args = parser.parse_args()
    print(f"machine: {describe()}", flush=True)
    runs: list[tuple[str, Path]] = []
    tmp_tree = None
    if args.baseline:
        tmp_tree = Path(tempfile.mkdtemp(prefix="cockpit-demo-baseline-")) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tmp_tree), args.baseline],
                       check=True, capture_output=True)
        runs.append((f"baseline {args.baseline}", tmp_tree))
    runs.append(("now", ROOT))
    try:
        for label, tree in runs:
            r = run_once(label, tree, days=args.days, port=args.port, timeout=args.timeout)
            print(f"{r['label']}: server up {r.get('server_up')} s, today loaded {r.get('today_loaded')} s, "
                  f"history {args.days}/{args.days} at {r.get('history_complete')} s, "
                  f"{r['cpu_s_at_complete']} CPU-s (demo process tree), {r['events']} events, "
                  f"load {r['load_start']} -> {r['load_end']}", flush=True)
            if "error" in r:
                print(r["error"], flush=True)
    finally:
        if tmp_tree is not None:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tmp_tree)],
                           capture_output=True)
            shutil.rmtree(tmp_tree.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
