"""The one batching loop: consecutive batches of an iterable (ingestion, imports, IN lists)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of ``size`` items (the last one shorter; none for no items). Lazy: a
    generator is read one batch at a time."""
    pending: list[T] = []
    for item in items:
        pending.append(item)
        if len(pending) >= size:
            yield pending
            pending = []
    if pending:
        yield pending
