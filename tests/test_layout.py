"""The layout rules of docs/layout.md, checked on the source with ``ast`` (no import, no service).

- SQL and Redis live in one layer: outside ``cockpit/store/`` and ``cockpit/metrics/queries/`` no
  module imports SQLAlchemy's query constructs, runs statements on a session, or sends Redis
  commands (``Session``, ``sessionmaker`` and ``sqlalchemy.exc`` may be named anywhere).
- Layers import downward only: http/cli/demo/jobs/importers/simulation -> views/watch/ingest (and
  the other read-model and domain modules) -> metrics -> store -> the shared top-level modules; and
  ``cockpit/`` never imports dash, ``layouts`` or ``callbacks`` (the entry points, ``cli`` and
  ``demo``, may start ``app.create_app``).

Detection is syntactic: a session is any receiver whose name contains "session", a Redis client
one named ``redis``, ``client``, ``pipe`` or ``pipeline`` (which is how the code base names them).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "cockpit"

# Exceptions, each with the work that removes it: module -> reason. Empty since every module outside
# store/ and metrics/queries/ was emptied (auth, reports, Open311, watch, planning, bulk, drill-down).
# Never add a module here to get green: move its SQL or Redis into store/.
SQL_ALLOWED: dict[str, str] = {}
# Upward imports still there, (module, target folder) -> the work that removes it. Empty likewise.
UPWARD_ALLOWED: dict[tuple[str, str], str] = {}

SQLALCHEMY_OK = {"sqlalchemy.exc": None, "sqlalchemy.orm": {"Session", "sessionmaker"},
                 "sqlalchemy.engine": {"Engine"}}
SESSION_CALLS = {"execute", "scalars", "scalar", "query", "get", "merge", "add", "add_all", "delete",
                 "bulk_save_objects", "bulk_insert_mappings", "bulk_update_mappings"}
REDIS_RECEIVERS = {"redis", "client", "pipe", "pipeline"}
REDIS_CALLS = {
    "get", "set", "mget", "mset", "getset", "setex", "setnx", "incr", "incrby", "decr", "expire", "pexpire",
    "ttl", "pttl", "delete", "unlink", "exists", "rename", "type", "keys", "scan", "scan_iter", "hget", "hset",
    "hmget", "hgetall", "hincrby", "hdel", "hkeys", "hvals", "hlen", "zadd", "zrem", "zrange", "zrangebyscore",
    "zremrangebyscore", "zcard", "zcount", "zscore", "sadd", "srem", "smembers", "sismember", "scard", "lpush",
    "rpush", "lpop", "rpop", "lrange", "ltrim", "llen", "publish", "eval", "evalsha", "register_script",
    "pipeline", "execute_command", "info", "flushdb", "dump", "restore", "lock",
}
SHARED = {"__init__", "events", "settings", "errors", "timeutil", "batching", "names_en"}
MIDDLE = {"views", "watch", "ingest", "bulk", "auth", "planning", "reports", "topics", "georeport", "privacy",
          "periods"}
LAYER_NAMES = ("shared", "store", "metrics", "read models and domain", "entry points")


def layer(module: str) -> int:
    """0 shared, 1 store, 2 metrics, 3 views/watch/ingest and peers, 4 http/cli/demo/jobs/importers/simulation."""
    head = module.split(".")[0]
    if head in SHARED:
        return 0
    return {"store": 1, "metrics": 2}.get(head, 3 if head in MIDDLE else 4)


def _receiver(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def sql_and_redis(tree: ast.AST) -> list[str]:
    """What in one module's syntax tree is SQL or a Redis command: ['line 12: imports select from sqlalchemy']."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            names = {a.name for a in node.names}
            allowed = SQLALCHEMY_OK.get(node.module, set())
            if node.module not in SQLALCHEMY_OK or (allowed is not None and not names <= allowed):
                found.append(f"line {node.lineno}: imports {', '.join(sorted(names))} from {node.module}")
        elif isinstance(node, ast.Import):
            found += [f"line {node.lineno}: imports {a.name}" for a in node.names
                      if a.name.split(".")[0] == "sqlalchemy" and a.name not in SQLALCHEMY_OK]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name, call = _receiver(node.func.value), node.func.attr
            if name and "session" in name.lower() and call in SESSION_CALLS:
                found.append(f"line {node.lineno}: {name}.{call}()")
            elif name in REDIS_RECEIVERS and call in REDIS_CALLS:
                found.append(f"line {node.lineno}: Redis {name}.{call}()")
    return found


def imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, target) of every import, lazy ones too; cockpit modules as 'store.live', others as written."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module == "cockpit":
                out += [(node.lineno, a.name) for a in node.names]
            else:
                out.append((node.lineno, node.module.removeprefix("cockpit.") if node.module.startswith("cockpit.")
                            else "!" + node.module))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name.removeprefix("cockpit.") if a.name.startswith("cockpit.") else "!" + a.name)
                    for a in node.names]
    return out


def upward_imports(module: str, tree: ast.AST) -> list[str]:
    """Imports of ``module`` (dotted, under cockpit) that point to a higher layer or out of cockpit's reach."""
    found = []
    for line, target in imports(tree):
        if target.startswith("!"):
            top = target[1:].split(".")[0]
            if top in ("dash", "layouts", "callbacks") or (top == "app" and layer(module) < 4):
                found.append(f"line {line}: imports {target[1:]} (cockpit/ never imports the Dash side; "
                             "only the entry points start app.create_app)")
            continue
        if layer(target) > layer(module) and (module, target.split(".")[0]) not in UPWARD_ALLOWED \
                and (module.split(".")[0], target.split(".")[0]) not in UPWARD_ALLOWED:
            found.append(f"line {line}: {LAYER_NAMES[layer(module)]} imports {target} "
                         f"({LAYER_NAMES[layer(target)]})")
    return found


def modules() -> list[tuple[str, ast.AST]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if "migrations" in rel.parts:
            continue
        out.append((rel.as_posix(), ast.parse(path.read_text(encoding="utf-8"), filename=str(path))))
    return out


def _dotted(rel: str) -> str:
    return rel.removesuffix(".py").replace("/", ".")


def test_layout001_sql_and_redis_only_in_store_and_metric_queries():
    bad = {}
    for rel, tree in modules():
        if rel.startswith(("store/", "metrics/queries/")) or rel in SQL_ALLOWED:
            continue
        found = sql_and_redis(tree)
        if found:
            bad[rel] = found
    assert bad == {}, "SQL or Redis outside store/ and metrics/queries/ (docs/layout.md): " + "; ".join(
        f"cockpit/{rel} {', '.join(found[:3])}" for rel, found in bad.items())


def test_layout002_layers_import_downward_only():
    bad = {}
    for rel, tree in modules():
        found = upward_imports(_dotted(rel), tree)
        if found:
            bad[rel] = found
    assert bad == {}, "upward imports (docs/layout.md): " + "; ".join(
        f"cockpit/{rel} {', '.join(found)}" for rel, found in bad.items())


@pytest.mark.parametrize("source, module, expected", [
    ("from sqlalchemy import select\n", "views.wall", "imports select from sqlalchemy"),
    ("def f(session):\n    return session.execute(q)\n", "views.wall", "session.execute()"),
    ("def f(stores):\n    stores.redis.hgetall('k')\n", "views.wall", "Redis redis.hgetall()"),
    ("from sqlalchemy.orm import Session\nfrom sqlalchemy.exc import OperationalError\n", "views.wall", None),
    ("def f(batch):\n    batch.execute()\n", "views.wall", None),
])
def test_layout003_the_sql_check_finds_a_planted_statement(source, module, expected):
    found = sql_and_redis(ast.parse(source))
    assert (found == []) if expected is None else any(expected in f for f in found), found


@pytest.mark.parametrize("source, module, expected", [
    ("from cockpit.views import wall\n", "store.history", "store imports views"),
    ("def f():\n    from cockpit.http import kpi\n", "metrics.kpi", "metrics imports http"),
    ("import dash\n", "views.wall", "never imports the Dash side"),
    ("from app import create_app\n", "views.wall", "never imports the Dash side"),
    ("from app import create_app\n", "cli.core", None),
    ("from cockpit.store import live\nfrom cockpit.metrics import kpi\n", "views.wall", None),
])
def test_layout004_the_layer_check_finds_a_planted_upward_import(source, module, expected):
    found = upward_imports(module, ast.parse(source))
    assert (found == []) if expected is None else any(expected in f for f in found), found
