"""Collate one kind of CSV file of a log corpus into a clean table (`iglu logs process`).

Sources (archives and loose files, see `sources`) are read, parsed and cleaned in a pool of
threads (see `clean` for the row rules; zlib and Arrow release the GIL) and come back as Arrow tables in a stable
order; the calling thread only drops rows already kept from an earlier file of the same log (a log
uploaded twice, an archive next to its extracted copy) and writes. Memory stays bounded on
big corpora: a worker holds one archive's files of the kind, only a few sources are in flight
at once, rows are written in row groups of a bounded size, and the cross-file duplicate check
keeps only where each log was seen, reading an earlier file again in the rare case it must.

Outputs in `--out`: `NAME_<date>.csv` (UTF-8, LF, `|`-separated, a value quoted when it
needs it with `""` for a quote, the header's columns then `turk_log_id`), `NAME_<date>.parquet`
(the same table, every column a string), and `NAME_<date>_rejects.csv` (every row that did
not make it, with source, member, line number, reason and text). The two CSV files are
opened by people in spreadsheets, so a cell starting with `=`, `+`, `-`, `@`, tab or CR
(and not a plain number) gets a leading `'` (`iglu_lib.spreadsheet`; `report.read_csv_table`
undoes it); `raw=True` (`--raw`) writes them as they are. The Parquet file is always raw.

A decompression bomb (an archive inflating beyond `max_ratio`, see `sources`) is a bad
archive with its reason, also counted in `decompression_bombs`.
"""

from __future__ import annotations

import collections
import concurrent.futures
import csv
import datetime as dt
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iglu_lib.errors import IgluError
from iglu_lib.logs.clean import LOG_ID_COLUMN, REJECT_COLUMNS, CleanFile, Reject, row_keys
from iglu_lib.logs.sources import (
    MAX_RATIO,
    READ_ERRORS,
    Source,
    SourceResult,
    find_sources,
    read_source,
)

#: Kept rows buffered before they are written (one Parquet row group each).
FLUSH_ROWS = 250_000


class NoLogsFound(IgluError):
    """The source folder holds no archive and no loose file of the kind asked for."""



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
    decompression_bombs: int = 0
    outputs: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "archives": self.archives, "members_read": self.members_read,
            "rows_in": self.rows_in, "duplicates_removed": self.duplicates_removed,
            "malformed_rows": self.malformed_rows, "rows_out": self.rows_out,
            "bad_archives": sorted(self.bad_archives),
            "bad_archive_errors": dict(sorted(self.bad_archive_errors.items())),
            "decompression_bombs": self.decompression_bombs,
            "outputs": self.outputs,
        }


class SeenLogs:
    """Where each `turk_log_id` was read before. A duplicate row always shares its log id, so
    only a file whose log was already seen (a log uploaded twice, an archive beside its
    extracted copy: rare) is compared, exactly, with the earlier files of that log, which are
    read again for it. Nothing per row is kept, so memory does not grow with the corpus."""

    def __init__(self, max_ratio: float = MAX_RATIO) -> None:
        self._where: dict[str, list[tuple[Source, str]]] = {}
        self._max_ratio = max_ratio

    def new_rows(self, source: Source, cleaned: CleanFile) -> Any:
        """A boolean mask over the file's kept rows: True where no earlier file of its log had it."""
        import numpy as np
        import pyarrow.compute as pc

        where = self._where.setdefault(cleaned.turk_log_id, [])
        this = (source, cleaned.member)
        earlier = [file for file in where if file != this]  # pieces of one file: see `sources`
        mask = np.ones(cleaned.rows_kept, dtype=bool)
        if earlier:
            keys = row_keys(cleaned.table)
            for table in self._earlier_tables(cleaned, earlier):
                seen = pc.is_in(keys, value_set=row_keys(table)).to_numpy(zero_copy_only=False)
                mask &= ~seen
        if this not in where:
            where.append(this)
        return mask

    def _earlier_tables(self, cleaned: CleanFile, earlier: list[tuple[Source, str]]) -> Iterator[Any]:
        for source, member in earlier:
            for again in read_source(source, self._max_ratio).iter_files():
                if again.member == member and again.header == cleaned.header:
                    yield again.table


class TableWriter:
    """Writes the kept rows to `NAME_<date>.csv` and `.parquet`, the rejects beside them.

    A batch of rows is written in the background (the CSV and the Parquet file each in its own
    thread; Arrow's writers release the GIL) while the next batch is collected, so reading does
    not stall during a write. At most one batch is being written at a time, in order."""

    def __init__(self, out: Path, kind: str, date: str, *, raw: bool = False) -> None:
        self.raw = raw
        out.mkdir(parents=True, exist_ok=True)
        stem = f"{kind}_{date}"
        self.paths = {"csv": out / f"{stem}.csv", "parquet": out / f"{stem}.parquet",
                      "rejects": out / f"{stem}_rejects.csv"}
        self._parts = {key: path.with_name(path.name + ".part") for key, path in self.paths.items()}
        self._rejects = self._parts["rejects"].open("w", encoding="utf-8", newline="")
        self._rejects_writer = csv.writer(self._rejects, delimiter="|", lineterminator="\n")
        self._rejects_writer.writerow(REJECT_COLUMNS)
        self.columns: tuple[str, ...] | None = None
        self._pending: list[Any] = []
        self._pending_rows = 0
        self._csv: Any = None
        self._parquet: Any = None
        self._writing: list[concurrent.futures.Future] = []
        self._threads = concurrent.futures.ThreadPoolExecutor(max_workers=2,
                                                              thread_name_prefix="logs-write")

    def start(self, columns: tuple[str, ...]) -> None:
        import pyarrow as pa
        import pyarrow.csv as pa_csv
        import pyarrow.parquet as pq

        self.columns = columns
        schema = pa.schema([(name, pa.string()) for name in columns])
        self._csv = pa_csv.CSVWriter(str(self._parts["csv"]), schema, write_options=pa_csv.WriteOptions(
            delimiter="|", quoting_style="needed"))
        # Dictionary pages only where values repeat by design; free text gains nothing from them.
        self._parquet = pq.ParquetWriter(self._parts["parquet"], schema,
                                         use_dictionary=[LOG_ID_COLUMN])

    def write(self, table: Any) -> None:
        self._pending.append(table)
        self._pending_rows += table.num_rows
        if self._pending_rows >= FLUSH_ROWS:
            self._flush()

    def reject(self, rejects: Iterable[Reject]) -> None:
        from iglu_lib.spreadsheet import escape_cell

        rows = (r.as_row() for r in rejects)
        self._rejects_writer.writerows(rows if self.raw else ([escape_cell(v) for v in row] for row in rows))

    def _flush(self) -> None:
        import pyarrow as pa

        if not self._pending:
            return
        table = pa.concat_tables(self._pending)
        self._pending, self._pending_rows = [], 0
        self._wait()
        self._writing = [self._threads.submit(self._write_csv, table),
                         self._threads.submit(self._parquet.write_table, table)]

    def _write_csv(self, table: Any) -> None:
        """The CSV for people: formula-leading cells escaped unless `raw` (Parquet stays raw)."""
        from iglu_lib.spreadsheet import escape_arrow_table

        self._csv.write_table(table if self.raw else escape_arrow_table(table))

    def _wait(self) -> None:
        """Until the batch being written is on disk; raises what its writing raised."""
        writing, self._writing = self._writing, []
        for future in writing:
            future.result()

    def close(self) -> dict[str, str]:
        """Finish every file and move it into place; returns the paths written."""
        written = {}
        try:
            if self.columns is not None:
                self._flush()
                self._wait()
                self._csv.close()
                self._parquet.close()
        finally:
            self._threads.shutdown()
        self._rejects.close()
        for key, part in self._parts.items():
            if part.exists():
                part.replace(self.paths[key])
                written[key] = str(self.paths[key])
        return written


def process_logs(src: str | Path, kind: str, out: str | Path, *, date: str | None = None,
                 workers: int | None = None, progress: bool = True, raw: bool = False,
                 max_ratio: float = MAX_RATIO) -> dict[str, Any]:
    """Collate every `kind.csv` under `src` into `out`; returns the summary (see `Summary`).
    `raw`: CSV cells as they are (default: escaped for spreadsheets); `max_ratio`: the
    decompression-ratio guard (default 200:1; 0 turns it off)."""
    from tqdm.auto import tqdm

    sources = find_sources(src, kind)
    if not sources:
        raise NoLogsFound(f"{src}: no archive (.tar, .tar.gz, .tgz) and no {kind}.csv found; "
                          "check --src and --kind")
    summary = Summary()
    writer = TableWriter(Path(out), kind, date or dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d"),
                         raw=raw)
    seen = SeenLogs(max_ratio)
    total = sum(s.path.stat().st_size for s in sources)
    with tqdm(total=total, unit="B", unit_scale=True, desc=f"process {kind}",
              disable=not progress) as bar:
        for result in read_all(sources, workers, max_ratio):
            _collect(result, summary, writer, seen)
            bar.update(result.source.path.stat().st_size)
    summary.outputs = writer.close()
    return summary.as_dict()


def read_all(sources: list[Source], workers: int | None = None,
             max_ratio: float = MAX_RATIO) -> Iterator[SourceResult]:
    """Read the sources in a pool of threads, a bounded number in flight, in their order.

    Threads rather than processes: the heavy parts (ISA-L, Arrow's parser and kernels) release
    the GIL, and tables then need no copying between processes. One thread more than cores:
    while a reader waits for the GIL (tar headers, Python glue) the spare one keeps its core busy."""
    count = workers or min(4, (os.cpu_count() or 1) + 1)
    if count <= 1 or len(sources) < 2:
        yield from (read_source(source, max_ratio) for source in sources)
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=count, thread_name_prefix="logs") as pool:
        pending: collections.deque = collections.deque()
        for source in sources:
            pending.append(pool.submit(read_source, source, max_ratio))
            if len(pending) >= 2 * count:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _collect(result: SourceResult, summary: Summary, writer: TableWriter, seen: SeenLogs) -> None:
    if result.source.is_archive:
        summary.archives += 1
    if result.error is not None:
        summary.bad_archives.append(result.source.name)
        summary.bad_archive_errors[result.source.name] = result.error
        summary.decompression_bombs += result.is_bomb
        return
    try:
        for cleaned in result.iter_files():
            _collect_file(result, cleaned, summary, writer, seen)
    except READ_ERRORS as err:  # a big archive read again (see `sources`) changed in between
        summary.bad_archives.append(result.source.name)
        summary.bad_archive_errors[result.source.name] = (
            f"{type(err).__name__}: {err} (changed while it was read; rows read before are kept)")


def _collect_file(result: SourceResult, cleaned: CleanFile, summary: Summary, writer: TableWriter,
                  seen: SeenLogs) -> None:
    summary.members_read += cleaned.piece == 0
    summary.rows_in += cleaned.rows_in
    summary.duplicates_removed += cleaned.duplicates
    summary.malformed_rows += len(cleaned.rejects)
    writer.reject(cleaned.rejects)
    if not cleaned.header:
        return
    if writer.columns is None:
        writer.start((*cleaned.header, LOG_ID_COLUMN))
    if (*cleaned.header, LOG_ID_COLUMN) != writer.columns:
        _reject_whole_file(cleaned, summary, writer)
        return
    mask = seen.new_rows(result.source, cleaned)
    kept = int(mask.sum())
    summary.duplicates_removed += cleaned.rows_kept - kept
    summary.rows_out += kept
    if kept:  # an empty table may still hold its file's buffers: never keep one pending
        writer.write(cleaned.table if kept == cleaned.rows_kept else cleaned.table.filter(mask))


def _reject_whole_file(cleaned: CleanFile, summary: Summary, writer: TableWriter) -> None:
    """A file whose header differs from the table's: every kept row becomes a reject."""
    expected = len(writer.columns or ()) - 1
    reason = f"header_mismatch: {'|'.join(cleaned.header)}"
    rows = zip(*(column.to_pylist() for column in cleaned.table.columns[:-1]), strict=True)
    rejects = [Reject(cleaned.source, cleaned.member, int(number), reason, expected,
                      len(cleaned.header), "|".join(row))
               for row, number in zip(rows, cleaned.line_numbers, strict=True)]
    summary.malformed_rows += len(rejects)
    writer.reject(rejects)
