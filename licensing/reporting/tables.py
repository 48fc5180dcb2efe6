"""Tables of figures and rows, and the two spreadsheet formats they download as. The dashboard
shows its tables with `display` and exports the same tables; the data exports stream theirs.

CSV is written row by row (a response can stream it), UTF-8 with a byte-order mark so that
Excel opens Chinese text correctly. XLSX is a zip whose index comes last, so it is written to a
file in constant memory and served once complete.
"""

import csv
import datetime as dt
import logging
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import xlsxwriter
from django.db import OperationalError
from django.utils import timezone
from django.utils.translation import gettext

from ..domain.money import cny
from ..domain.numbers import money_text, percent
from ..domain.text import visible_start

log = logging.getLogger(__name__)

EXCEL_MAX_ROWS = 1_048_576  # per sheet, header included; longer tables continue on a new sheet
PROGRESS_EVERY = 5000


@dataclass(frozen=True)
class Column:
    """A column: its header and what its cells hold. `choices` turns stored codes into labels."""

    label: str
    kind: str = "text"  # text | count | money | percent | ratio | date | datetime
    choices: dict = field(default_factory=dict)


@dataclass
class Table:
    slug: str
    title: str
    columns: list[Column]
    rows: Iterable[Sequence]
    # Per row, the admin list behind its figure: (model name, filter query), or None. The page
    # links each row's label there; the downloads ignore it.
    links: Sequence[tuple[str, str] | None] = ()

    def cells(self, row) -> list:
        """A row's values as the reader sees them: codes as labels, datetimes in local time."""
        return [_readable(column, value) for column, value in zip(self.columns, row, strict=True)]


def _readable(column: Column, value):
    if value is None:
        return None
    if column.choices:
        return str(column.choices.get(value, value))
    if column.kind == "money":
        return cny(value)  # SQLite's SUM drops the scale: 5000 -> 5000.00
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).replace(tzinfo=None)
    return value


def display(column: Column, value) -> str:
    """A cell for the page: money with separators and 2 places, rates with a percent sign."""
    value = _readable(column, value)
    if value is None or value == "":
        return "—"
    if column.kind == "money":
        return money_text(value)
    if column.kind == "percent":
        return f"{value}%"
    if column.kind == "ratio":
        return percent(value)
    if column.kind == "count":
        return f"{value:,}"
    if column.kind == "datetime":
        return f"{value:%Y-%m-%d %H:%M}"
    return str(value)


class _Line:
    """A file-like object whose write returns the line, for csv.writer in a stream."""

    def write(self, line):
        return line


def csv_lines(table: Table) -> Iterator[str]:
    """The table as CSV lines, for a streamed response. Should the database cancel the query
    (statement timeout) once the status line is sent, the file ends with a line that says so,
    and one line is logged. (Nothing is read before the response starts: a server-side cursor
    opened for a response that is never read would be left open on the connection.)"""
    stopped = gettext(
        "The export stopped here: the database took too long. Narrow the filters, or request the XLSX file, "
        "which is built in the background."
    )
    return _csv_stream(table, table.rows, stopped)


def _csv_stream(table: Table, rows: Iterable[Sequence], stopped: str) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow([neutralise(str(c.label)) for c in table.columns])
    written = 0
    try:
        for row in rows:
            yield writer.writerow(_csv_cell(value) for value in table.cells(row))
            written += 1
    except OperationalError as exc:
        if "statement timeout" not in str(exc):
            raise
        log.warning("CSV export %s stopped by the statement timeout after %s rows", table.slug, written)
        yield writer.writerow([neutralise(stopped)])


# A text cell starting with one of these is read by Excel and LibreOffice as a formula (OWASP,
# "CSV injection"): such a cell is prefixed with an apostrophe, which makes it plain text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralise(text: str) -> str:
    """Prefix an apostrophe to a cell a spreadsheet would read as a formula, also when spaces or
    invisible characters (zero-width, BOM) stand before the trigger, or it is typed full-width (＝)."""
    start = unicodedata.normalize("NFKC", visible_start(text)[:1])
    return "'" + text if text.startswith(FORMULA_TRIGGERS) or start.startswith(FORMULA_TRIGGERS) else text


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, str):
        return neutralise(value)  # every text cell: names, references, titles, labels
    return value  # Decimal and date print exactly (33333.33, 2026-11-22); numbers are never formulas


def write_xlsx(tables: Iterable[Table], target, progress: Callable[[int], None] | None = None) -> int:
    """Write each table on its own sheet of `target` (a path or a binary file). `progress` is told
    the rows written so far every PROGRESS_EVERY rows. Returns the number of data rows."""
    book = xlsxwriter.Workbook(target, {"constant_memory": True, "in_memory": not isinstance(target, str)})
    formats = {
        "money": book.add_format({"num_format": "#,##0.00"}),
        "date": book.add_format({"num_format": "yyyy-mm-dd"}),
        "datetime": book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        "ratio": book.add_format({"num_format": "0.00%"}),
        "header": book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1}),
    }
    written = 0
    for table in tables:
        sheet, row_number, part = None, EXCEL_MAX_ROWS, 0
        for row in table.rows:
            if row_number == EXCEL_MAX_ROWS:
                part += 1
                sheet = _new_sheet(book, table, part, formats)
                row_number = 1
            for col, (column, value) in enumerate(zip(table.columns, table.cells(row), strict=True)):
                _write_cell(sheet, row_number, col, column, value, formats)
            row_number += 1
            written += 1
            if progress and written % PROGRESS_EVERY == 0:
                progress(written)
        if sheet is None:  # an empty table still gets its sheet and header
            _new_sheet(book, table, 1, formats)
    book.close()
    return written


def _new_sheet(book, table: Table, part: int, formats):
    # Sheet names: at most 31 characters, none of []:*?/\
    name = str(table.title).translate({ord(c): " " for c in "[]:*?/\\"})
    sheet = book.add_worksheet(name[:31] if part == 1 else f"{name[:25]} ({part})")
    for col, column in enumerate(table.columns):
        sheet.write_string(0, col, str(column.label), formats["header"])
        sheet.set_column(col, col, 14 if column.kind != "text" else 22)
    sheet.freeze_panes(1, 0)
    return sheet


def _write_cell(sheet, row: int, col: int, column: Column, value, formats) -> None:
    if value is None:
        return
    if isinstance(value, dt.datetime):
        sheet.write_datetime(row, col, value, formats["datetime"])
    elif isinstance(value, dt.date):
        sheet.write_datetime(row, col, dt.datetime.combine(value, dt.time()), formats["date"])
    elif isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        # XLSX stores numbers as doubles, as Excel does: amounts to the fen read back exactly.
        sheet.write_number(row, col, float(value), formats.get(column.kind))
    else:
        sheet.write_string(row, col, str(value))  # a string cell, never a formula, whatever it starts with
