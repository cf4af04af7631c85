"""Where the CSV files of a log corpus are: tar archives (read as streams) and loose files.

A corpus folder (what `iglu logs sync` mirrors) holds one archive per HIT,
`<batch>/<turk_log_id>/logs.tar.gz` (or `.tgz`, `.tar`), and sometimes already-extracted
logs, `<...>/<turk_log_id>/NAME.csv`. An archive is read front to back in tar's stream mode,
its compression recognised by its first bytes (not its name), decompressed in chunks
whatever its size, and never extracted to disk: only the members called `NAME.csv` are
read, one at a time. An archive that cannot be read to its end (truncated upload, not an
archive, bad checksum) is reported with the error and none of its rows are used, so the
table never holds half an archive.

Memory stays bounded whatever an archive holds:
- a decompression-ratio guard (`max_ratio`, default `MAX_RATIO` = 200:1, beyond what CSV
  logs reach under gzip, about 10:1) stops reading an archive that inflates to more than
  `max_ratio` times its size (and more than `RATIO_ALLOWANCE_BYTES`): a decompression bomb
  becomes a bad archive with the reason (`ArchiveBomb`);
- an archive whose wanted members hold more than `HOLD_BYTES` is first read to its end
  without keeping anything (checksums, guard), then read again and its members cleaned in
  pieces of about `PIECE_BYTES`, cut between records (a loose file that big is cleaned in
  pieces too); exact duplicates across the pieces of one file are found by a 64-bit hash of
  each row (a collision, about one in 10^19 per pair of rows, would drop a row). Such a
  source is cleaned in the calling thread while its rows are written.
"""

from __future__ import annotations

import bz2
import contextlib
import io
import lzma
import tarfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, Protocol

from isal import igzip, isal_zlib

from iglu_lib.errors import IgluError
from iglu_lib.logs.clean import CleanFile, clean_file

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz")


class _Readable(Protocol):
    """A binary stream as the ratio guard reads it (a gzip file is not typed as an IO[bytes])."""

    def read(self, size: int = -1, /) -> bytes: ...


#: Decompressed streams by the magic bytes a file starts with; anything else is plain tar.
#: gzip is inflated by ISA-L (`isal`), about twice as fast as zlib, with the same checks.
COMPRESSIONS: dict[bytes, Callable[[IO[bytes]], _Readable]] = {
    b"\x1f\x8b": lambda raw: igzip.GzipFile(fileobj=raw, mode="rb"),
    b"BZh": lambda raw: bz2.BZ2File(raw, mode="rb"),
    b"\xfd7zXZ\x00": lambda raw: lzma.LZMAFile(raw, mode="rb"),
}
#: Default decompression-ratio guard: an archive may inflate to this many times its size.
MAX_RATIO = 200.0
#: What any archive may inflate to whatever its ratio (small archives of repetitive logs).
RATIO_ALLOWANCE_BYTES = 16 << 20
#: Wanted members of one archive held in memory at most; beyond, the archive is read twice
#: and cleaned in pieces.
HOLD_BYTES = 16 << 20
#: About how much of a big member is cleaned at a time.
PIECE_BYTES = 8 << 20
_CHUNK = 1 << 20


class ArchiveBomb(IgluError, ValueError):
    """An archive inflates to more than the decompression-ratio guard allows."""


class LogFolderMissing(IgluError, FileNotFoundError):
    """The folder of synced logs does not exist."""


# isal's stub declares `error` as an instance of Exception; it is the exception class.
_ISAL_ERROR: type[Exception] = isal_zlib.error  # type: ignore[assignment]
READ_ERRORS = (tarfile.TarError, EOFError, OSError, zlib.error, _ISAL_ERROR, lzma.LZMAError,
                ValueError)


class _Guarded(io.RawIOBase):
    """A decompressed stream that raises `ArchiveBomb` once more than `limit` bytes came out."""

    def __init__(self, stream: _Readable, limit: float, compressed: int, max_ratio: float) -> None:
        super().__init__()
        self._stream, self._limit, self.total = stream, limit, 0
        self._compressed, self._max_ratio = compressed, max_ratio

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(_CHUNK), b""))
        data = self._stream.read(size)
        self.total += len(data)
        if self.total > self._limit:
            raise ArchiveBomb(
                f"decompresses to more than {self.total / 1e6:.0f} MB from {self._compressed / 1e6:.2f}"
                f" MB, beyond the {self._max_ratio:g}:1 decompression-ratio guard; refused as a "
                "decompression bomb (raise max_ratio / --max-ratio if the archive is genuine)")
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


@dataclass(frozen=True)
class Source:
    """An archive or a loose CSV file of the corpus, named relative to the corpus folder."""

    path: Path
    name: str
    kind: str

    @property
    def is_archive(self) -> bool:
        return self.name.endswith(ARCHIVE_SUFFIXES)


@dataclass
class SourceResult:
    """The cleaned CSV files of one source, or the error that made it unreadable. A big
    archive (`deferred`) has been checked to its end, and its files are cleaned piece by
    piece while `iter_files` is consumed."""

    source: Source
    files: list[CleanFile] = field(default_factory=list)
    error: str | None = None
    deferred: bool = False
    max_ratio: float = MAX_RATIO

    @property
    def is_bomb(self) -> bool:
        return self.error is not None and self.error.startswith(ArchiveBomb.__name__)

    def iter_files(self) -> Iterator[CleanFile]:
        if self.deferred:
            yield from _archive_pieces(self.source, self.max_ratio)
        else:
            yield from self.files


def find_sources(folder: str | Path, kind: str) -> list[Source]:
    """Every archive and every loose `kind.csv` under `folder`, in a stable order."""
    root = Path(folder)
    if not root.is_dir():
        raise LogFolderMissing(f"{root}: no such folder; pass the folder `iglu logs sync` wrote to")
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = path.relative_to(root).as_posix()
        if name.endswith(ARCHIVE_SUFFIXES) or path.name == f"{kind}.csv":
            found.append(Source(path, name, kind))
    return found


def read_source(source: Source, max_ratio: float = MAX_RATIO) -> SourceResult:
    """Read and clean every `kind.csv` of one source (runs in a reading thread). `max_ratio`
    is the decompression-ratio guard (0 or less: none)."""
    if not source.is_archive:
        if source.path.stat().st_size > HOLD_BYTES:
            return SourceResult(source, deferred=True)  # a big loose file: cleaned in pieces
        data = source.path.read_bytes()
        return SourceResult(source, [clean_file(data, source=source.name, member=source.name,
                                                turk_log_id=source.path.parent.name)])
    result = SourceResult(source, max_ratio=max_ratio)
    held = 0
    try:
        with _tar_stream(source, max_ratio) as (tar, _):
            for member in _wanted(tar, source):
                held += member.size
                if held > HOLD_BYTES:
                    result.files, result.deferred = [], True
                if result.deferred:
                    continue  # only checked here; cleaned in pieces by `iter_files`
                handle = tar.extractfile(member)
                if handle is not None:
                    result.files.append(clean_file(handle.read(), source=source.name,
                                                   member=member.name,
                                                   turk_log_id=_log_id(member.name, source)))
    except READ_ERRORS as err:
        return SourceResult(source, error=f"{type(err).__name__}: {err}")
    return result


@contextlib.contextmanager
def _tar_stream(source: Source, max_ratio: float) -> Iterator[tuple[tarfile.TarFile, _Guarded]]:
    """The archive as a tar stream behind the ratio guard, read to its very end on leaving
    (so that a compressed stream's checksum is verified)."""
    size = source.path.stat().st_size
    limit = max(max_ratio * size, RATIO_ALLOWANCE_BYTES) if max_ratio > 0 else float("inf")
    with source.path.open("rb") as raw:
        stream = _Guarded(_decompressed(raw), limit, size, max_ratio)
        with tarfile.open(fileobj=stream, mode="r|", bufsize=_CHUNK) as tar:
            yield tar, stream
        while stream.read(_CHUNK):
            pass


def _wanted(tar: tarfile.TarFile, source: Source) -> Iterator[tarfile.TarInfo]:
    wanted = f"{source.kind}.csv"
    for member in tar:
        if member.isfile() and PurePosixPath(member.name).name == wanted:
            yield member


def _decompressed(raw: IO[bytes]) -> _Readable:
    """The tar stream inside `raw`, by the compression its first bytes name."""
    magic = raw.read(6)
    raw.seek(0)
    opener = next((c for prefix, c in COMPRESSIONS.items() if magic.startswith(prefix)), None)
    return raw if opener is None else opener(raw)


def _archive_pieces(source: Source, max_ratio: float) -> Iterator[CleanFile]:
    """The wanted members of a big archive (already read through once), or a big loose file,
    cleaned in pieces."""
    if not source.is_archive:
        with source.path.open("rb") as handle:
            yield from _member_pieces(handle, source, source.name)
        return
    with _tar_stream(source, max_ratio) as (tar, _):
        for member in _wanted(tar, source):
            extracted = tar.extractfile(member)
            if extracted is not None:
                yield from _member_pieces(extracted, source, member.name)


def _member_pieces(handle: IO[bytes], source: Source, member: str) -> Iterator[CleanFile]:
    """One member cleaned piece by piece; rows repeating a row of an earlier piece dropped."""
    log_id = _log_id(member, source)
    header: tuple[str, ...] | None = None
    lines_before, seen = 0, _SeenRows()
    for piece in _pieces(handle):
        cleaned = clean_file(piece, source=source.name, member=member, turk_log_id=log_id,
                             header=header, lines_before=lines_before)
        cleaned.piece = 0 if header is None else 1
        lines_before += _line_count(piece)
        if header is None and not cleaned.header:
            yield cleaned  # no header: the file gives no rows, as when read whole
            return
        header = cleaned.header
        seen.drop_repeats(cleaned)
        yield cleaned


def _pieces(handle: IO[bytes]) -> Iterator[bytes]:
    """The member's bytes in pieces of about `PIECE_BYTES`, each ending after a line break
    outside quotes (when a piece would pass twice the size without one: at any line break)."""
    buffer = b""
    while chunk := handle.read(PIECE_BYTES):
        buffer += chunk
        cut = _cut(buffer, force=len(buffer) >= 2 * PIECE_BYTES)
        if cut:
            yield buffer[:cut]
            buffer = buffer[cut:]
    if buffer:
        yield buffer


def _cut(buffer: bytes, *, force: bool) -> int:
    """Where to cut `buffer`: after its last line break with an even number of quotes before
    it (0: no such place)."""
    quotes = buffer.count(b'"')
    end = len(buffer)
    while (at := buffer.rfind(b"\n", 0, end)) >= 0:
        quotes -= buffer.count(b'"', at, end)
        if quotes % 2 == 0:
            return at + 1
        end = at
    if force:
        last = buffer.rfind(b"\n")
        return last + 1 if last >= 0 else len(buffer)
    return 0


def _line_count(piece: bytes) -> int:
    """Line breaks in `piece` as the careful parser counts them (CRLF, LF and lone CR)."""
    return piece.count(b"\n") + piece.count(b"\r") - piece.count(b"\r\n")


class _SeenRows:
    """64-bit hashes of the rows kept from the earlier pieces of one file."""

    def __init__(self) -> None:
        self._hashes: Any = None

    def drop_repeats(self, cleaned: CleanFile) -> None:
        import numpy as np
        import pandas as pd

        from iglu_lib.logs.clean import row_keys

        if not cleaned.rows_kept:
            return
        keys = row_keys(cleaned.table).to_numpy(zero_copy_only=False)
        hashes = pd.util.hash_array(keys.astype(object), categorize=False)
        if self._hashes is not None:
            new = ~np.isin(hashes, self._hashes)
            if not new.all():
                cleaned.duplicates += int((~new).sum())
                cleaned.table = cleaned.table.filter(new)
                cleaned.line_numbers = cleaned.line_numbers[new]
                hashes = hashes[new]
            self._hashes = np.union1d(self._hashes, hashes)
        else:
            self._hashes = np.unique(hashes)


def _log_id(member: str, source: Source) -> str:
    """The log's folder inside the archive, or the archive's own folder for a top-level file."""
    parent = PurePosixPath(member).parent.name
    return parent or source.path.parent.name
