"""Collate one kind of CSV file of a log corpus into a clean table (`iglu logs process`).

Sources (archives and loose files, see `sources`) are read and cleaned in a pool of worker
processes (see `clean` for the row rules) and come back in a stable order; this process
only drops rows already seen in an earlier file of the same log (a log uploaded twice, an
archive next to its extracted copy), by their 64-bit hashes, and writes. Memory stays bounded
on big corpora: a worker holds one archive's files of the kind, only a few sources are in
flight at once, rows are written in blocks of a few megabytes, and the cross-file duplicate
check keeps 8 bytes per distinct row, not the rows.

Outputs in `--out`: `NAME_<date>.csv` (UTF-8, LF, `|`-separated and quoted like the logs,
the header's columns then `turk_log_id`), `NAME_<date>.parquet` (the same table, every
column a string), and `NAME_<date>_rejects.csv` (every row that did not make it, with
source, member, line number, reason and text).
"""

from __future__ import annotations

import collections
import concurrent.futures
import csv
import datetime as dt
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iglu_lib.logs.clean import (
    LOG_ID_COLUMN,
    READ_DIALECT,
    REJECT_COLUMNS,
    WRITE_DIALECT,
    CleanFile,
    Reject,
)
from iglu_lib.logs.sources import Source, SourceResult, find_sources, read_source

#: Rows of kept data buffered before a block is written to the CSV and the Parquet file.
FLUSH_BYTES = 32 << 20


class NoLogsFound(Exception):
    """The source folder holds no archive and no loose file of the kind asked for."""

    user_error = True


@dataclass
class Summary:
    """What `iglu logs process --json` prints."""

    archives: int = 0
    members_read: int = 0
    rows_in: int = 0
    duplicates_removed: int = 0
    malformed_rows: int = 0
    rows_out: int = 0
    bad_archives: list[str] = field(default_factory=list)
    bad_archive_errors: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "archives": self.archives, "members_read": self.members_read,
            "rows_in": self.rows_in, "duplicates_removed": self.duplicates_removed,
            "malformed_rows": self.malformed_rows, "rows_out": self.rows_out,
            "bad_archives": sorted(self.bad_archives),
            "bad_archive_errors": dict(sorted(self.bad_archive_errors.items())),
            "outputs": self.outputs,
        }


class SeenRows:
    """The 64-bit hashes of the rows kept so far, per `turk_log_id` (a duplicate always shares
    its log id), as one sorted array per log: 8 bytes per distinct row, never the rows."""

    def __init__(self) -> None:
        self._by_log: dict[str, Any] = {}

    def first_seen(self, turk_log_id: str, hashes: Any) -> Any:
        """A boolean mask over `hashes` (distinct already): True where the row is new; records them."""
        import numpy as np

        known = self._by_log.get(turk_log_id)
        if known is None:
            self._by_log[turk_log_id] = np.sort(hashes)
            return np.ones(len(hashes), dtype=bool)
        mask = ~np.isin(hashes, known, assume_unique=True)
        self._by_log[turk_log_id] = np.sort(np.concatenate((known, hashes[mask])))
        return mask


class TableWriter:
    """Writes the kept rows to `NAME_<date>.csv` and `.parquet`, the rejects beside them."""

    def __init__(self, out: Path, kind: str, date: str) -> None:
        out.mkdir(parents=True, exist_ok=True)
        stem = f"{kind}_{date}"
        self.paths = {"csv": out / f"{stem}.csv", "parquet": out / f"{stem}.parquet",
                      "rejects": out / f"{stem}_rejects.csv"}
        self._parts = {key: path.with_name(path.name + ".part") for key, path in self.paths.items()}
        self._csv = self._parts["csv"].open("wb")
        self._rejects = self._parts["rejects"].open("w", encoding="utf-8", newline="")
        self._rejects_writer = csv.writer(self._rejects, **WRITE_DIALECT)
        self._rejects_writer.writerow(REJECT_COLUMNS)
        self.columns: tuple[str, ...] | None = None
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._parquet: Any = None

    def start(self, header: tuple[str, ...]) -> None:
        self.columns = (*header, LOG_ID_COLUMN)
        self._csv.write(_csv_line(self.columns))

    def write(self, block: bytes) -> None:
        self._pending.append(block)
        self._pending_bytes += len(block)
        if self._pending_bytes >= FLUSH_BYTES:
            self._flush()

    def reject(self, rejects: Iterable[Reject]) -> None:
        self._rejects_writer.writerows(r.as_row() for r in rejects)

    def _flush(self) -> None:
        if not self._pending:
            return
        block = b"".join(self._pending)
        self._pending, self._pending_bytes = [], 0
        self._csv.write(block)
        table = _arrow_table(block, self.columns or ())
        if self._parquet is None:
            import pyarrow.parquet as pq

            self._parquet = pq.ParquetWriter(self._parts["parquet"], table.schema)
        self._parquet.write_table(table)

    def close(self) -> dict[str, str]:
        """Finish every file and move it into place; returns the paths written."""
        self._flush()
        if self._parquet is None and self.columns is not None:
            import pyarrow.parquet as pq

            pq.write_table(_arrow_table(b"", self.columns), self._parts["parquet"])
        elif self._parquet is not None:
            self._parquet.close()
        self._csv.close()
        self._rejects.close()
        written = {}
        for key, part in self._parts.items():
            if part.exists() and (key != "csv" or self.columns is not None):
                part.replace(self.paths[key])
                written[key] = str(self.paths[key])
            else:
                part.unlink(missing_ok=True)
        return written


def _csv_line(values: Iterable[str]) -> bytes:
    import io

    buffer = io.StringIO()
    csv.writer(buffer, **WRITE_DIALECT).writerow(list(values))
    return buffer.getvalue().encode("utf-8")


def _arrow_table(block: bytes, columns: tuple[str, ...]) -> Any:
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    if not block:
        return pa.table({name: pa.array([], pa.string()) for name in columns})
    return pa_csv.read_csv(
        pa.py_buffer(block),
        read_options=pa_csv.ReadOptions(column_names=list(columns), block_size=8 << 20),
        parse_options=pa_csv.ParseOptions(delimiter=READ_DIALECT["delimiter"],
                                          quote_char=READ_DIALECT["quotechar"],
                                          double_quote=True, newlines_in_values=False),
        convert_options=pa_csv.ConvertOptions(column_types=dict.fromkeys(columns, pa.string()),
                                              strings_can_be_null=False,
                                              quoted_strings_can_be_null=False),
    )


def process_logs(src: str | Path, kind: str, out: str | Path, *, date: str | None = None,
                 workers: int | None = None, progress: bool = True) -> dict[str, Any]:
    """Collate every `kind.csv` under `src` into `out`; returns the summary (see `Summary`)."""
    from tqdm.auto import tqdm

    sources = find_sources(src, kind)
    if not sources:
        raise NoLogsFound(f"{src}: no archive (.tar, .tar.gz, .tgz) and no {kind}.csv found; "
                          "check --src and --kind")
    summary = Summary()
    writer = TableWriter(Path(out), kind, date or dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d"))
    seen = SeenRows()
    total = sum(s.path.stat().st_size for s in sources)
    with tqdm(total=total, unit="B", unit_scale=True, desc=f"process {kind}",
              disable=not progress) as bar:
        for result in read_all(sources, workers):
            _collect(result, summary, writer, seen)
            bar.update(result.source.path.stat().st_size)
    summary.outputs = writer.close()
    return summary.as_dict()


def read_all(sources: list[Source], workers: int | None = None) -> Iterator[SourceResult]:
    """Read the sources in worker processes, a bounded number in flight, in their order."""
    count = workers or min(4, os.cpu_count() or 1)
    if count <= 1 or len(sources) < 2:
        yield from map(read_source, sources)
        return
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
        pending: collections.deque = collections.deque()
        queue = iter(sources)
        for source in queue:
            pending.append(pool.submit(read_source, source))
            if len(pending) >= 4 * count:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _collect(result: SourceResult, summary: Summary, writer: TableWriter, seen: SeenRows) -> None:
    if result.source.is_archive:
        summary.archives += 1
    if result.error is not None:
        summary.bad_archives.append(result.source.name)
        summary.bad_archive_errors[result.source.name] = result.error
        return
    for cleaned in result.files:
        summary.members_read += 1
        summary.rows_in += cleaned.rows_in
        summary.duplicates_removed += cleaned.duplicates
        summary.malformed_rows += len(cleaned.rejects)
        writer.reject(cleaned.rejects)
        if not cleaned.header:
            continue
        if writer.columns is None:
            writer.start(cleaned.header)
        if (*cleaned.header, LOG_ID_COLUMN) != writer.columns:
            _reject_whole_file(cleaned, summary, writer)
            continue
        _write_new_rows(cleaned, summary, writer, seen)


def _write_new_rows(cleaned: CleanFile, summary: Summary, writer: TableWriter,
                    seen: SeenRows) -> None:
    import numpy as np

    hashes = np.frombuffer(cleaned.hashes, dtype=np.uint64)
    mask = seen.first_seen(cleaned.turk_log_id, hashes)
    kept = int(mask.sum())
    summary.duplicates_removed += len(hashes) - kept
    summary.rows_out += kept
    if kept == len(hashes):
        writer.write(cleaned.block)
    elif kept:
        lines = cleaned.kept_lines()
        writer.write(b"".join(line + b"\n" for line, keep in zip(lines, mask, strict=True) if keep))


def _reject_whole_file(cleaned: CleanFile, summary: Summary, writer: TableWriter) -> None:
    """A file whose header differs from the table's: every kept row becomes a reject."""
    from array import array

    numbers = array("I")
    numbers.frombytes(cleaned.line_numbers)
    expected = len(writer.columns or ()) - 1
    reason = f"header_mismatch: {'|'.join(cleaned.header)}"
    rejects = [Reject(cleaned.source, cleaned.member, number, reason, expected,
                      len(cleaned.header), line.rsplit(b"|", 1)[0].decode("utf-8"))
               for line, number in zip(cleaned.kept_lines(), numbers, strict=True)]
    summary.malformed_rows += len(rejects)
    writer.reject(rejects)
