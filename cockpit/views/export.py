"""The filtered ticket set as a download: CSV or Excel, in the grid's order, personal data masked.

The same URL filter and scope as the supervision grid (``views.drill``), read EXPORT_CHUNK rows per
query through ``cockpit.store.tickets.page``; cells that a spreadsheet would run as formulas are
neutralised. Times are local (``settings.tz``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from cockpit import timeutil
from cockpit.store import tickets
from cockpit.views.drill import apply_alert, fmt_local, scoped_filter
from cockpit.views.ticket import mask_ticket

EXPORT_CHUNK = 5_000
EXPORT_MAX_ROWS = 1_000_000
EXPORT_COLUMNS = ("ticket_id", "city", "district", "category", "unit", "status", "channel", "urgency",
                  "created_at", "due_at", "closed_at", "returns", "transfers", "satisfaction", "address", "text")
TIME_COLUMNS = ("created_at", "due_at", "closed_at")


def spreadsheet_cell(value):
    from cockpit.auth.sanitize import spreadsheet_cell as neutralise

    return neutralise(value)


def export_rows(stores, query: dict[str, str], *, sort_model: list | None = None) -> Iterator[list]:
    """The filtered ticket set as rows (header first), in the grid's order, EXPORT_CHUNK rows per
    query (offset paging on a stable order); at most EXPORT_MAX_ROWS rows. Times local (settings.tz)."""
    settings = stores.settings
    with stores.session() as session:
        flt = scoped_filter(session, query, settings)
    yield list(EXPORT_COLUMNS)
    offset = 0
    while offset < EXPORT_MAX_ROWS:
        with stores.session() as session:
            effective = apply_alert(session, flt, timeutil.utcnow())
            rows = tickets.page(session, effective, offset=offset, limit=EXPORT_CHUNK, sort_model=sort_model,
                                tz=settings.tz)
        for t in rows:  # personal data masked (an export leaves the cockpit), formulas neutralised
            masked = mask_ticket({c: getattr(t, c) for c in EXPORT_COLUMNS})
            yield [fmt_local(masked[c], settings.tz) if c in TIME_COLUMNS else spreadsheet_cell(masked[c])
                   for c in EXPORT_COLUMNS]
        offset += len(rows)
        if len(rows) < EXPORT_CHUNK:
            return


def export_csv(stores, query: dict[str, str], *, sort_model: list | None = None) -> Iterator[str]:
    """``export_rows`` as CSV text chunks (UTF-8 with BOM so Excel reads Chinese), one per row."""
    first = True
    for row in export_rows(stores, query, sort_model=sort_model):
        buf = io.StringIO()
        csv.writer(buf).writerow(row)
        yield ("\ufeff" if first else "") + buf.getvalue()
        first = False


def export_xlsx(stores, query: dict[str, str], *, sort_model: list | None = None) -> bytes:
    """``export_rows`` as an Excel workbook (one sheet; openpyxl's write-only mode keeps memory flat
    while rows are added; the zip itself is built in memory, capped by EXPORT_MAX_ROWS)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("tickets")
    for row in export_rows(stores, query, sort_model=sort_model):
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # text, never a formula, whatever it starts with
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

