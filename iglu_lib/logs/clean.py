"""Clean one `|`-separated CSV file of a droidlet log: the rules of the collated table.

Dialect: what droidlet's logger writes (Python's `csv.writer` with `delimiter="|"`): the
first line is the header; a field that starts with `"` is quoted and may then hold `|` and
line breaks, with `""` standing for a quote. A quote anywhere else is an ordinary character.
A record is one line, or several when a quoted field holds a line break; such a record is
numbered by its first line. A stray opening quote cannot swallow the lines after it: a
record running over several lines that does not have the header's number of fields is read
again line by line, so the stray quote damages only its own line (which then has the wrong
number of fields), never the next one.

Rules: CRLF (and lone CR) line endings are read as LF; every field is stripped of
surrounding whitespace; blank lines are no rows and are skipped; a row whose number of
fields differs from the header's goes to the rejects with its line number
(`wrong_field_count`), as does a line that is not UTF-8 (`not_utf8`); an exact duplicate of an
earlier row of the same file is dropped and counted. Kept rows get the log's `turk_log_id`.

Parsing is Arrow's CSV reader (C++), on the whole file at once. When its rows do not match
the file's lines one to one (blank lines, lone CR line endings), a row it found malformed
has an odd number of quotes (a quoted field holding a line break), or the file is not
UTF-8, the file is parsed again record by record with `csv`, so that every line number
stays exact. A big file is cleaned in pieces (`header` and `lines_before` say where a piece
sits in its file; see `sources`). Arrow allocates from the system allocator here: its default
pool hands freed pages back to the kernel at once, and faulting them in again for every file
cost a quarter of the run time on a big corpus.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LOG_ID_COLUMN = "turk_log_id"
REJECT_COLUMNS = ("source", "member", "line", "reason", "expected_fields", "found_fields", "text")
_BOM = b"\xef\xbb\xbf"
_SEPARATOR = "\x1f"
#: The ASCII characters Unicode calls white space and ASCII does not: where none occurs in an
#: ASCII file, Arrow's ASCII trim strips exactly what its UTF-8 trim would, five times faster.
_UNICODE_ONLY_SPACES = (b"\x1c", b"\x1d", b"\x1e", b"\x1f")


@dataclass(frozen=True)
class Reject:
    """A row that could not go into the table, and where it came from."""

    source: str
    member: str
    line: int
    reason: str
    expected_fields: int
    found_fields: int
    text: str

    def as_row(self) -> list[str]:
        return [self.source, self.member, str(self.line), self.reason,
                str(self.expected_fields), str(self.found_fields), self.text]


@dataclass
class CleanFile:
    """One cleaned CSV file: its header, kept rows (an Arrow table, `turk_log_id` last), the
    line each kept row came from, and what was dropped."""

    source: str
    member: str
    turk_log_id: str
    header: tuple[str, ...] = ()
    table: Any = None
    line_numbers: Any = None
    rows_in: int = 0
    duplicates: int = 0
    rejects: list[Reject] = field(default_factory=list)
    #: 0 for a whole file or its first piece, 1 for a later piece of a big file
    piece: int = 0

    @property
    def rows_kept(self) -> int:
        return 0 if self.table is None else self.table.num_rows


def clean_file(data: bytes, *, source: str, member: str, turk_log_id: str,
               header: tuple[str, ...] | None = None, lines_before: int = 1) -> CleanFile:
    """Clean the bytes of one CSV file (see the module docstring for the rules).

    With `header`, `data` is a later piece of a file whose header that is, and whose first
    line is line `lines_before + 1` of the file (line numbers stay the file's own)."""
    result = CleanFile(source, member, turk_log_id)
    if header is None:
        data = data.removeprefix(_BOM)
        end = _header_end(data)
        header_line = (data if end < 0 else data[:end]).strip()
        if not header_line:
            return result
        result.header = tuple(_split_header(header_line))
        body = b"" if end < 0 else data[end + 1:]
        lines_before = 1
    else:
        result.header, body = header, data
    ascii_body = body.isascii()
    parsed = _parse_whole(body, result, lines_before) if ascii_body or _is_utf8(body) else None
    if parsed is None:
        result.rows_in, result.rejects = 0, []
        parsed = _parse_lines(body, result, lines_before)
    table, numbers = parsed
    ascii_spaces = ascii_body and not any(char in body for char in _UNICODE_ONLY_SPACES)
    _keep_first(table, numbers, result, separator_free=_SEPARATOR.encode() not in body,
                ascii_spaces=ascii_spaces)
    return result


def _header_end(data: bytes) -> int:
    """Where the header line ends: its LF (a CRLF's LF), or a lone CR (old Mac line ends)."""
    newline = data.find(b"\n")
    carriage = data.find(b"\r", 0, newline if newline >= 0 else len(data))
    if carriage >= 0 and data[carriage + 1:carriage + 2] != b"\n":
        return carriage
    return newline


def _split_header(line: bytes) -> list[str]:
    import csv

    text = line.decode("utf-8", errors="replace")
    try:
        names = next(csv.reader([text], delimiter="|"), [])
    except csv.Error:  # a quoted name running over the line: the names as they stand
        names = text.split("|")
    return [name.strip() for name in names]


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _parse_whole(body: bytes, result: CleanFile, lines_before: int) -> tuple[Any, Any] | None:
    """Arrow parses the whole (UTF-8) body; None when a line number could be off (blank
    lines) or a record may run over a line end (a malformed row with an odd number of
    quotes), so that the caller takes the careful path."""
    import numpy as np

    invalid: list[Any] = []
    table = _read(body, len(result.header), invalid)
    rows = table.num_rows + len(invalid)
    lines = body.count(b"\n") + (0 if body.endswith(b"\n") or not body else 1)
    if rows != lines or any(row.text.count('"') % 2 for row in invalid):
        return None
    bad = np.array([row.number for row in invalid], dtype=np.int64)
    numbers = np.setdiff1d(np.arange(1, lines + 1), bad, assume_unique=True) + lines_before
    result.rows_in = rows
    result.rejects = [_reject(result, row.number + lines_before, row.text, row.actual_columns)
                      for row in invalid]
    return table, numbers


def _parse_lines(body: bytes, result: CleanFile, lines_before: int) -> tuple[Any, Any]:
    """Record by record with `csv`: blank lines skipped, undecodable lines and records of the
    wrong width rejected, each with the number of its first line. A quoted field may hold
    line breaks; a record over several lines of the wrong width is read again line by line."""
    import numpy as np
    import pyarrow as pa

    width = len(result.header)
    lines = body.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    texts, undecodable = _decode_lines(lines)
    columns: list[list[str]] = [[] for _ in range(width)]
    numbers = []
    index = 0
    while index < len(texts):
        text = texts[index]
        if not text.strip():
            index += 1
            continue
        number = index + lines_before + 1
        result.rows_in += 1
        fields, used = _record(texts, index)
        if used > 1 and (len(fields) != width or undecodable.intersection(range(index, index + used))):
            fields, used = _record(texts, index, single_line=True)
        index += used
        if number - lines_before - 1 in undecodable:
            result.rejects.append(_reject(result, number, text, 0, "not_utf8"))
        elif len(fields) != width:
            result.rejects.append(_reject(result, number, "\n".join(texts[index - used:index]),
                                          len(fields)))
        else:
            for values, value in zip(columns, fields, strict=True):
                values.append(value)
            numbers.append(number)
    table = pa.table({f"f{i}": pa.array(values, pa.string()) for i, values in enumerate(columns)})
    return table, np.array(numbers, dtype=np.int64)


def _decode_lines(lines: list[bytes]) -> tuple[list[str], set[int]]:
    """Each line as text (undecodable bytes replaced), and the indexes of those not UTF-8."""
    texts, undecodable = [], set()
    for index, raw in enumerate(lines):
        try:
            texts.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(raw.decode("utf-8", errors="replace"))
            undecodable.add(index)
    return texts, undecodable


def _record(texts: list[str], start: int, *, single_line: bool = False) -> tuple[list[str], int]:
    """The fields of the record that starts at line `start`, and how many lines it took."""
    import csv
    import itertools

    if single_line or '"' not in texts[start]:
        return next(csv.reader([texts[start]], delimiter="|", quotechar='"', doublequote=True), []), 1
    following = (text + "\n" for text in itertools.islice(texts, start, None))
    reader = csv.reader(following, delimiter="|", quotechar='"', doublequote=True)
    fields = next(reader, [])
    if fields and fields[-1].endswith("\n") and reader.line_num == len(texts) - start:
        fields[-1] = fields[-1][:-1]  # an unterminated quote ran to the end: no line break of its own
    return fields, max(1, reader.line_num)


def _read(body: bytes, width: int, invalid: list[Any]) -> Any:
    """The rows of `body` as an all-string table; rows of the wrong width go to `invalid`."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    names = [f"f{i}" for i in range(width)]
    if not body or body.isspace():
        return pa.table({name: pa.array([], pa.string()) for name in names})

    def handle(row: Any) -> str:
        if row.text.strip():
            invalid.append(row)
        return "skip"

    return pa_csv.read_csv(
        pa.py_buffer(body), memory_pool=pa.system_memory_pool(),
        read_options=pa_csv.ReadOptions(column_names=names, use_threads=False, block_size=1 << 26),
        parse_options=pa_csv.ParseOptions(delimiter="|", quote_char='"', double_quote=True,
                                          newlines_in_values=False, invalid_row_handler=handle),
        convert_options=pa_csv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                              strings_can_be_null=False,
                                              quoted_strings_can_be_null=False),
    )


def _reject(result: CleanFile, line: int, text: str, found: int,
            reason: str = "wrong_field_count") -> Reject:
    return Reject(result.source, result.member, line, reason, len(result.header), found, text)


def row_keys(table: Any, *, separator_free: bool = False) -> Any:
    """One string per row that is equal exactly when the rows are: each field length-prefixed,
    or, when the caller knows no value holds the unit separator, the fields joined by it."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if separator_free:
        return pc.binary_join_element_wise(*table.columns, _SEPARATOR,
                                           memory_pool=pa.system_memory_pool())
    parts = []
    for column in table.columns:
        parts += [pc.cast(pc.binary_length(column), pa.string()), column]
    return pc.binary_join_element_wise(*parts, _SEPARATOR)


def _keep_first(table: Any, numbers: Any, result: CleanFile, *, separator_free: bool,
                ascii_spaces: bool = False) -> None:
    """Strip every field, drop exact duplicates within the file, append the log id.
    `ascii_spaces`: the caller knows the file holds no white space but ASCII's."""
    import pyarrow as pa
    import pyarrow.compute as pc

    pool = pa.system_memory_pool()
    trim = pc.ascii_trim_whitespace if ascii_spaces else pc.utf8_trim_whitespace
    stripped = pa.table([trim(c, memory_pool=pool) for c in table.columns],
                        names=[f"f{i}" for i in range(table.num_columns)])
    keep = _first_occurrences(stripped, separator_free)
    result.duplicates = stripped.num_rows - int(keep.sum())
    if result.duplicates:
        stripped, numbers = stripped.filter(pa.array(keep)), numbers[keep]
    log_ids = pa.array([result.turk_log_id] * stripped.num_rows, pa.string())
    result.table = pa.Table.from_arrays([*stripped.columns, log_ids],
                                        names=[*result.header, LOG_ID_COLUMN])
    result.line_numbers = numbers


def _first_occurrences(table: Any, separator_free: bool) -> Any:
    """A mask of the rows that are no exact copy of an earlier row. Two equal rows have equal
    last fields (in logs, usually a time stamp), so only rows whose last field repeats are
    compared in full: most files then never build a key for every row."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    keep = np.ones(table.num_rows, dtype=bool)
    if table.num_rows < 2 or table.num_columns == 0:
        return keep
    last = pc.dictionary_encode(table.column(table.num_columns - 1).combine_chunks()).indices
    codes = last.to_numpy(zero_copy_only=False)
    candidates = np.flatnonzero(np.bincount(codes)[codes] > 1)
    if not len(candidates):
        return keep
    subset = table.take(pa.array(candidates)) if len(candidates) < table.num_rows else table
    keys = row_keys(subset, separator_free=separator_free).combine_chunks()
    key_codes = pc.dictionary_encode(keys).indices.to_numpy(zero_copy_only=False)
    first = np.zeros(len(candidates), dtype=bool)
    first[np.unique(key_codes, return_index=True)[1]] = True
    keep[candidates[~first]] = False
    return keep
