"""Clean one `|`-separated CSV file of a droidlet log: the rules of the collated table.

Quoting: one record per physical line; a field may be quoted with `"` to hold `|` (and `""`
stands for a quote inside a quoted field), the way Python's `csv` module writes with
`delimiter="|"`. A newline cannot be part of a field, so a stray quote can only ever damage
its own line (the row then has the wrong number of fields and is rejected), never swallow
the rest of the file.

Per line: CRLF becomes LF, every field is stripped of surrounding whitespace, a blank line
is skipped (it is no row), a row whose field count differs from the header's goes to the
rejects with its line number, an exact duplicate of an earlier row of the same file is
dropped and counted. Kept rows are re-written in the same dialect (quoted only where needed)
with the log's `turk_log_id` appended as the last field, and each gets a 64-bit hash (CRC-32
and Adler-32 side by side) so the caller can drop duplicates across files of the same log
without holding the rows themselves. Hashes are only ever compared between rows of the same
`turk_log_id`, so a crafted collision could at most hide a row of the crafter's own log.

Whole-buffer searches find the few lines that need a careful look (a quote, stray
whitespace, a blank, the wrong number of separators); only those are parsed one by one,
with `csv`. Every other line passes through untouched.
"""

from __future__ import annotations

import csv
import zlib
from array import array
from dataclasses import dataclass, field

DELIMITER = b"|"
QUOTE = b'"'
#: How fields are read; `skipinitialspace` lets `  "quoted"` still count as quoted.
READ_DIALECT = {"delimiter": "|", "quotechar": '"', "doublequote": True,
                "skipinitialspace": True, "strict": False}
WRITE_DIALECT = {"delimiter": "|", "quotechar": '"', "doublequote": True,
                 "lineterminator": "\n", "quoting": csv.QUOTE_MINIMAL}
LOG_ID_COLUMN = "turk_log_id"
_NEEDS_QUOTES = ('|', '"', "\n", "\r")
#: Whitespace next to a separator or a line end, after all whitespace became a space; with
#: the offset of the whitespace char, so that it is counted on its own line.
_STRAY_TOKENS = [(b" |", 0), (b"| ", 1), (b" \n", 0), (b"\n ", 1)]
_WHITESPACE_TO_SPACE = bytes.maketrans(b"\t\r\x0b\x0c", b"    ")
_BOM = b"\xef\xbb\xbf"


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


REJECT_COLUMNS = ("source", "member", "line", "reason", "expected_fields", "found_fields", "text")


@dataclass
class CleanFile:
    """One cleaned CSV file: its header, kept rows (as one block) and what was dropped."""

    source: str
    member: str
    turk_log_id: str
    header: tuple[str, ...] = ()
    block: bytes = b""                 # kept rows, `\n`-terminated, turk_log_id appended
    hashes: bytes = b""                # 8 bytes per kept row, same order
    line_numbers: bytes = b""          # array('I') of each kept row's line in the file
    rows_in: int = 0
    duplicates: int = 0
    rejects: list[Reject] = field(default_factory=list)

    @property
    def rows_kept(self) -> int:
        return len(self.hashes) // 8

    def kept_lines(self) -> list[bytes]:
        return self.block.split(b"\n")[:-1]


def clean_file(data: bytes, *, source: str, member: str, turk_log_id: str) -> CleanFile:
    """Clean the bytes of one CSV file (see the module docstring for the rules)."""
    result = CleanFile(source, member, turk_log_id)
    text = data.removeprefix(_BOM).replace(b"\r\n", b"\n")
    lines = text.split(b"\n")
    header_line = lines[0].strip()
    if not header_line:
        return result
    result.header = tuple(_parse_line(header_line.decode("utf-8", errors="replace")))
    body = lines[1:]
    if body and not body[-1]:
        body.pop()
    suspects = _suspect_lines(text, body, len(result.header)) if _is_utf8(text) else None
    rows, numbers = _rows(body, suspects, len(result.header), result)
    _keep_unique(rows, numbers, result)
    return result


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _suspect_lines(text: bytes, body: list[bytes], width: int) -> set[int]:
    """Indexes of body lines that need a careful look: a quote, stray whitespace, blank, or
    the wrong number of separators. Found with whole-buffer searches; the rest pass as is."""
    separators = width - 1
    suspects = {i for i, line in enumerate(body) if line.count(DELIMITER) != separators}
    if separators == 0 or b"\n\n" in text:
        suspects.update(i for i, line in enumerate(body) if not line)
    if QUOTE in text:
        suspects.update(i for i, line in enumerate(body) if QUOTE in line)
    spaced = text.translate(_WHITESPACE_TO_SPACE)
    if any(token in spaced for token, _ in _STRAY_TOKENS) or spaced.endswith(b" "):
        suspects.update(_lines_at(spaced, _STRAY_TOKENS))
        if spaced.endswith(b" "):
            suspects.add(len(body) - 1)
    return suspects


def _lines_at(text: bytes, tokens: list[tuple[bytes, int]]) -> set[int]:
    """Body line indexes holding any of `tokens` (each with the offset of the char that counts)."""
    positions = []
    for token, shift in tokens:
        at = text.find(token)
        while at >= 0:
            positions.append(at + shift)
            at = text.find(token, at + 1)
    found, line, last = set(), 0, 0
    for position in sorted(positions):
        line += text.count(b"\n", last, position)
        last = position
        found.add(line - 1)
    found.discard(-1)
    return found


def _rows(body: list[bytes], suspects: set[int] | None, width: int, result: CleanFile
          ) -> tuple[list[bytes], array]:
    if suspects is not None and not suspects:
        result.rows_in = len(body)
        return body, array("I", range(2, len(body) + 2))
    rows, numbers = [], array("I")
    start = 0
    for index in sorted(suspects) if suspects is not None else range(len(body)):
        rows.extend(body[start:index])
        numbers.extend(range(start + 2, index + 2))
        result.rows_in += index - start
        start = index + 1
        line = _careful_line(body[index], index + 2, width, result)
        if line is not None:
            rows.append(line)
            numbers.append(index + 2)
    rows.extend(body[start:])
    numbers.extend(range(start + 2, len(body) + 2))
    result.rows_in += len(body) - start
    return rows, numbers


def _careful_line(raw: bytes, number: int, width: int, result: CleanFile) -> bytes | None:
    """The clean form of one line, or None when it is blank or rejected (and counted)."""
    if not raw.strip():
        return None
    result.rows_in += 1
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        result.rejects.append(_reject(result, number, raw, width, 0, "not_utf8"))
        return None
    fields = _parse_line(text)
    if len(fields) != width:
        result.rejects.append(_reject(result, number, raw.strip(), width, len(fields)))
        return None
    return _write_line(fields) if QUOTE in raw else DELIMITER.join(
        field.encode("utf-8") for field in fields)


def _parse_line(text: str) -> list[str]:
    if '"' not in text:
        return [part.strip() for part in text.split("|")]
    return [part.strip() for part in next(csv.reader([text], **READ_DIALECT), [])]


def _write_line(fields: list[str]) -> bytes:
    """Fields joined by `|`, each quoted only if it holds `|`, `"` or a line break (as `csv`
    does with QUOTE_MINIMAL, which is what `WRITE_DIALECT` describes for other writers)."""
    return "|".join([_quoted(value) for value in fields]).encode("utf-8")


def _quoted(value: str) -> str:
    if any(char in value for char in _NEEDS_QUOTES):
        return '"' + value.replace('"', '""') + '"'
    return value


def _reject(result: CleanFile, number: int, line: bytes, expected: int, found: int,
            reason: str = "wrong_field_count") -> Reject:
    return Reject(result.source, result.member, number, reason, expected, found,
                  line.decode("utf-8", errors="replace"))


def _keep_unique(rows: list[bytes], numbers: array, result: CleanFile) -> None:
    """Drop exact duplicates within the file, append the log id, hash what is kept."""
    if len(set(rows)) == len(rows):
        unique, kept_numbers = rows, numbers
    else:
        first_seen: dict[bytes, int] = {}
        for line, number in zip(rows, numbers, strict=True):
            first_seen.setdefault(line, number)
        unique, kept_numbers = list(first_seen), array("I", first_seen.values())
    result.duplicates = len(rows) - len(unique)
    suffix = DELIMITER + _write_line([result.turk_log_id])
    result.block = (suffix + b"\n").join(unique) + suffix + b"\n" if unique else b""
    result.hashes = array("Q", [zlib.crc32(line) | zlib.adler32(line) << 32
                                for line in unique]).tobytes()
    result.line_numbers = kept_numbers.tobytes()
