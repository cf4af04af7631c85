"""Cells a spreadsheet can open safely: formula-leading text is neutralised the OWASP way.

A CSV cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a formula
by Excel, LibreOffice and Google Sheets (`=HYPERLINK(...)`, `+cmd|' /C calc'!A0`, `@SUM(...)`):
text a worker typed must never do that on a researcher's machine. Such a text cell gets a
leading single quote, which spreadsheets show as text and do not evaluate
(https://owasp.org/www-community/attacks/CSV_Injection).

What is left alone: values that are not strings (a float -3.5 stays a number) and strings that
are a plain decimal number (`-3.5`, `+2`, `1e-3`: a spreadsheet reads them as that number, and
no formula can hide in them). To keep the escape reversible, a text that already starts with
quotes followed by a formula character gets one quote more, so `unescape_cell` always gives
back the original text.

Every CSV meant for people goes through here (the published game-record export, the analysis
tables, the collated logs CSV); machine pipelines ask for `raw` output, and Parquet is always
raw. This module imports nothing heavy, so any package may use it.
"""

from __future__ import annotations

import re
from typing import Any

#: First characters that make a spreadsheet evaluate a cell.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: The character put in front of a formula-leading text.
ESCAPE = "'"
#: A plain decimal number, which stays as it is (see the module docstring).
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
def needs_escape(text: str) -> bool:
    """Whether `text` must get a leading quote before it goes into a people-facing CSV."""
    return text.lstrip(ESCAPE).startswith(FORMULA_PREFIXES) and not _NUMBER.fullmatch(text)


def escape_cell(value: Any) -> Any:
    """`value` safe for a spreadsheet: a formula-leading string gets a leading `'`."""
    if isinstance(value, str) and value and needs_escape(value):
        return ESCAPE + value
    return value


def unescape_cell(value: Any) -> Any:
    """The inverse of `escape_cell`, for reading an escaped export back."""
    if isinstance(value, str) and value.startswith(ESCAPE) and needs_escape(value[1:]):
        return value[1:]
    return value


def escape_frame(frame: Any) -> Any:
    """A copy of a pandas DataFrame whose text cells (and column names) are escaped."""
    return _map_text(frame, escape_cell)


def unescape_frame(frame: Any) -> Any:
    """The inverse of `escape_frame` on a frame read back as text."""
    return _map_text(frame, unescape_cell)


def _map_text(frame: Any, cell: Any) -> Any:
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or str(out[column].dtype) in ("string", "str"):
            out[column] = out[column].map(cell)
    return out.rename(columns=lambda name: cell(name) if isinstance(name, str) else name)


def escape_arrow_column(column: Any) -> Any:
    """A string Arrow array or chunked array with its formula-leading cells escaped, as it was
    when no cell needs it. Vectorised: the first byte of every cell is looked at in numpy,
    and only the (few) cells that start like a formula are looked at in Python."""
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        chunks = [escape_arrow_column(chunk) for chunk in column.chunks]
        if all(new is old for new, old in zip(chunks, column.chunks, strict=True)):
            return column
        return pa.chunked_array(chunks, type=column.type)
    candidates = _first_byte_candidates(column)
    if not candidates.any():
        return column
    import pyarrow.compute as pc

    values = column.filter(pa.array(candidates)).to_pylist()
    return pc.replace_with_mask(column, pa.array(candidates),
                                pa.array([escape_cell(v) for v in values], column.type))


_FIRST_BYTES = frozenset(ord(c) for c in (*FORMULA_PREFIXES, ESCAPE))


def _first_byte_candidates(array: Any) -> Any:
    """A boolean numpy mask of the cells whose first byte is a formula character or a quote."""
    import numpy as np
    import pyarrow as pa

    size = len(array)
    _, offsets_buffer, data_buffer = array.buffers()[:3]
    if size == 0 or data_buffer is None or data_buffer.size == 0:
        return np.zeros(size, dtype=bool)
    offset_type: type[np.signedinteger[Any]] = np.int64 if pa.types.is_large_string(array.type) else np.int32
    offsets = np.frombuffer(offsets_buffer, dtype=offset_type)[array.offset:array.offset + size + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    starts = offsets[:-1]
    present = offsets[1:] > starts
    first = data[np.minimum(starts, len(data) - 1)]
    table = np.zeros(256, dtype=bool)
    table[list(_FIRST_BYTES)] = True
    mask = table[first] & present
    if array.null_count:
        mask &= np.asarray(array.is_valid())
    return mask


def escape_arrow_table(table: Any) -> Any:
    """An Arrow table of strings with every column escaped (see `escape_arrow_column`)."""
    import pyarrow as pa

    return pa.table([escape_arrow_column(c) for c in table.columns], names=table.column_names)
