"""Importers for real data files: call logs and 311 service-request exports become events.

Each format module has a pure ``parse(lines_or_path, *, city, tz) -> Iterator[RowResult]``;
``run`` streams those results into ``ingest.ingest_batch`` in batches and returns a summary.
Rows that cannot become events are dead-lettered with their row number; nothing is dropped
without being counted. Event ids are derived from the rows, so a re-import is all duplicates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cockpit.importers import la311, nyc311, open311, technion
from cockpit.importers.common import RowResult

PARSERS: dict[str, Callable[..., Iterator[RowResult]]] = {
    technion.FORMAT: technion.parse,
    nyc311.FORMAT: nyc311.parse,
    la311.FORMAT: la311.parse,
    open311.FORMAT: open311.parse,
}
DEFAULT_TZ: dict[str, str] = {
    technion.FORMAT: technion.DEFAULT_TZ,
    nyc311.FORMAT: nyc311.DEFAULT_TZ,
    la311.FORMAT: la311.DEFAULT_TZ,
    open311.FORMAT: open311.DEFAULT_TZ,
}
CALL_FORMATS = (technion.FORMAT,)
TICKET_FORMATS = (nyc311.FORMAT, la311.FORMAT, open311.FORMAT)
BATCH_SIZE = 2000  # events per ingest_batch call
MAX_REPORTED_ROWS = 100  # rejected rows listed one by one in the summary

RejectHook = Callable[[str, list[dict]], None]


class UnknownCity(ValueError):
    """``--city`` is not a loaded region code (ingest would refuse every event)."""


def source_name(fmt: str) -> str:
    """The ``source`` of every event and dead letter an import writes, e.g. ``import.nyc311``."""
    return f"import.{fmt}"


def row_ref(path: str | Path, row: int | str) -> str:
    """``<file name>:<row>`` (at most 64 characters, the file name cut from the left)."""
    tail = f":{row}"
    return Path(path).name[-(64 - len(tail)):] + tail


def parse(path: str | Path, fmt: str, *, city: str, tz: str | None = None) -> Iterator[RowResult]:
    """The ``RowResult``s of a file in format ``fmt`` (pure, no database)."""
    if fmt not in PARSERS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(PARSERS)}")
    return PARSERS[fmt](path, city=city, tz=tz or DEFAULT_TZ[fmt])


def run(
    stores: Any,
    path: str | Path,
    fmt: str,
    *,
    city: str,
    tz: str | None = None,
    batch_size: int = BATCH_SIZE,
    on_reject: RejectHook | None = None,
    progress: Any = None,
) -> dict:
    """Import one file into SQL and Redis through ``ingest_batch``; returns the summary.

    ``tz`` names the zone of naive timestamps (default per format: ``DEFAULT_TZ``). Streams the
    file and ingests ``batch_size`` events at a time. Idempotent: a second run of the same file
    reports every event as a duplicate and changes nothing.

    Summary keys: ``read`` (data rows read), ``events`` (events the rows produced, including
    derived seat events), ``imported`` / ``duplicates`` (events new / already stored),
    ``rejected`` (rows with an error: unreadable rows plus rows with an event the schema
    refused), ``rejected_by_reason`` (by the first error's field), ``rejected_rows`` (the first
    ``MAX_REPORTED_ROWS`` as ``{"row", "field", "message"}``), ``skipped`` (rows that are not
    facts to import, by reason, e.g. ``phantom``, ``ivr_hangup``), ``warnings`` (repaired data
    quirks by name), ``dead_lettered`` (rows written to ``dead_letters``), ``file_error`` (set
    when the file as a whole cannot be read: not JSON, a required column missing).
    ``on_reject(row_ref, errors)`` is called for each rejected row as it is found; ``progress``
    (a tqdm bar) is advanced by the rows read. Events go through the bulk path
    (``cockpit.bulk.BulkLoader``): same validation and state as ``ingest_batch``, only today's
    events counted live, rollups of the file's range recomputed at the end.
    Raises ``UnknownCity`` before reading when regions are loaded and ``city`` is not one of them.
    """
    from cockpit.store import deadletter
    from cockpit.bulk import BulkLoader

    _check_city(stores, city)
    source = source_name(fmt)
    summary: dict[str, Any] = {
        "file": str(path), "format": fmt, "city": city, "tz": tz or DEFAULT_TZ[fmt],
        "read": 0, "events": 0, "imported": 0, "duplicates": 0, "rejected": 0,
        "rejected_by_reason": Counter(), "rejected_rows": [], "skipped": Counter(),
        "warnings": Counter(), "dead_lettered": 0, "file_error": None,
    }
    loader = BulkLoader(stores, source=source)
    rejected_refs: set[str] = set()
    batch: list[dict] = []
    refs: list[str] = []
    dead: list[dict] = []

    def reject(ref: str, row: int | None, errors: list[dict]) -> None:
        if ref in rejected_refs:
            return
        rejected_refs.add(ref)
        first = errors[0] if errors else {"field": "unknown", "message": ""}
        summary["rejected"] += 1
        summary["rejected_by_reason"][first["field"]] += 1
        if len(summary["rejected_rows"]) < MAX_REPORTED_ROWS:
            summary["rejected_rows"].append(
                {"row": row, "field": first["field"], "message": first["message"]})
        if on_reject is not None:
            on_reject(ref, errors)

    def flush() -> None:
        if dead:
            with stores.session() as session:
                deadletter.record_many(session, dead)
            summary["dead_lettered"] += len(dead)
            dead.clear()
        if not batch:
            return
        result = loader.add(list(batch), list(refs))
        summary["imported"] += result.accepted
        summary["duplicates"] += result.duplicates
        summary["dead_lettered"] += len(result.rejected)
        for item in result.rejected:
            ref = refs[item["index"]]
            reject(ref, _row_of(ref), item["errors"])
        batch.clear()
        refs.clear()

    derived = 0
    for result in parse(path, fmt, city=city, tz=tz):
        if result.row is not None and result.raw is not None:  # not a file-level error
            summary["read"] += 1
            if progress is not None:
                progress.update(1)
        for name in result.warnings:
            summary["warnings"][name] += 1
        if result.row is None:
            derived += 1
        ref = row_ref(path, result.row if result.row is not None else f"derived{derived}")
        if result.skipped:
            summary["skipped"][result.skipped] += 1
            continue
        if result.errors:
            if result.raw is None:
                summary["file_error"] = f"{result.errors[0]['field']}: {result.errors[0]['message']}"
            raw = result.raw if result.raw is not None else {"file": str(path)}
            dead.append({"source": source, "raw": raw, "errors": result.errors, "row_ref": ref})
            reject(ref, result.row, result.errors)
            continue
        for event in result.events:
            event.setdefault("source", source)
            batch.append(event)
            refs.append(ref)
        summary["events"] += len(result.events)
        if len(batch) >= batch_size or len(dead) >= batch_size:
            flush()
    flush()
    loader.finish()
    for key in ("rejected_by_reason", "skipped", "warnings"):
        summary[key] = dict(sorted(summary[key].items()))
    return summary


def _check_city(stores: Any, city: str) -> None:
    from cockpit.store import regions

    with stores.session() as session:
        if regions.is_unknown(session, city):
            raise UnknownCity(f"unknown region code {city!r}: use a code of the loaded regions")


def _row_of(ref: str) -> int | None:
    tail = ref.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None


__all__ = ["PARSERS", "DEFAULT_TZ", "RowResult", "UnknownCity", "parse", "run", "row_ref", "source_name"]
