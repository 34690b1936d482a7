"""The ``job_runs`` table: one row per named job mark (rollup coverage, live epoch, live dirty, ...).

A mark is its name, an optional ``last_done`` time and the ``updated_at`` of its last write; all
naive UTC. Functions take a session first and never commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cockpit.store.models import JobRun
from cockpit.timeutil import utcnow


def exists(session: Session, name: str) -> bool:
    """Whether the mark ``name`` is set."""
    return session.get(JobRun, name) is not None


def touch(session: Session, name: str, *, at: datetime | None = None) -> None:
    """Set the mark ``name`` (created when missing), ``updated_at`` = ``at`` (default now); its
    ``last_done`` is kept.

    One upsert statement, so processes that set the same mark at the same moment (two ingest
    processes recording a new deployment's first live epoch, or both marking the live store dirty)
    never fail on the primary key."""
    when = at if at is not None else utcnow()
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(JobRun).values(name=name, updated_at=when)
    session.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"updated_at": when}))
    for obj in list(session.identity_map.values()):  # a mark this session loaded reads the new time
        if isinstance(obj, JobRun) and obj.name == name:
            session.expire(obj)


def remove(session: Session, name: str) -> None:
    """Clear the mark ``name`` (nothing when it is not set)."""
    row = session.get(JobRun, name)
    if row is not None:
        session.delete(row)


def set_done(session: Session, name: str, value: datetime) -> None:
    """``last_done`` of the mark ``name`` = ``value`` (created when missing), flushed."""
    row = session.get(JobRun, name)
    if row is None:
        session.add(JobRun(name=name, last_done=value, updated_at=utcnow()))
    else:
        row.last_done, row.updated_at = value, utcnow()
    session.flush()


def last_done(session: Session, name: str) -> datetime | None:
    """``last_done`` of the mark ``name`` (None when it is not set or has none)."""
    row = session.get(JobRun, name)
    return row.last_done if row is not None else None


def count_after(session: Session, prefix: str, *, now: datetime) -> int:
    """How many marks named ``prefix...`` have a ``last_done`` after ``now`` (unexpired leases)."""
    return int(session.scalar(select(func.count()).select_from(JobRun)
                              .where(JobRun.name.like(prefix + "%"), JobRun.last_done > now)) or 0)
