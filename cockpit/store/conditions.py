"""Small WHERE-clause builders shared by the store's and the metrics' queries."""

from __future__ import annotations

from collections.abc import Iterable


def one_of(column, values: Iterable):
    """``column = v`` for one value (a plain index lookup), ``column IN (...)`` for several."""
    values = list(values)
    return column == values[0] if len(values) == 1 else column.in_(values)
