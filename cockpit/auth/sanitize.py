"""Untrusted text leaving the app: spreadsheet cells (CSV / Excel formula injection).

OWASP CSV-injection guidance: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is read as a formula by spreadsheet programs; prefixing a single quote makes it text.
Full-width variants (``＝`` ``＋`` ``－`` ``＠``) are treated alike: some spreadsheet programs fold them.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def spreadsheet_cell(value):
    """``value`` safe for a CSV or Excel cell: strings that could start a formula get a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
