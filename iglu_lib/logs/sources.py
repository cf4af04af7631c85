"""Where the CSV files of a log corpus are: tar archives (read as streams) and loose files.

A corpus folder (what `iglu logs sync` mirrors) holds one archive per HIT,
`<batch>/<turk_log_id>/logs.tar.gz` (or `.tgz`, `.tar`), and sometimes already-extracted
logs, `<...>/<turk_log_id>/NAME.csv`. An archive is read front to back in tar's stream mode,
its compression recognised by its first bytes (not its name), and never extracted to disk:
only the members called `NAME.csv` are read, one at a time. An archive that cannot be read
to its end (truncated upload, not an archive, bad checksum) is reported with the error and
none of its rows are used, so the table never holds half an archive.
"""

from __future__ import annotations

import bz2
import io
import lzma
import tarfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from isal import igzip, isal_zlib

from iglu_lib.logs.clean import CleanFile, clean_file

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz")


@dataclass(frozen=True)
class Compression:
    """How to undo one compression: as a stream (big archives, bounded memory) or in one call
    on the whole file (the common small archive: no Python work per chunk, fewer copies).
    Both verify the checksum and fail on a truncated file."""

    stream: Callable[[IO[bytes]], IO[bytes]]
    whole: Callable[[bytes], bytes]


#: Compressions by the magic bytes a file starts with; anything else is plain tar. gzip is
#: inflated by ISA-L (`isal`), about twice as fast as zlib, with the same checks.
COMPRESSIONS: dict[bytes, Compression] = {
    b"\x1f\x8b": Compression(lambda raw: igzip.GzipFile(fileobj=raw, mode="rb"), igzip.decompress),
    b"BZh": Compression(lambda raw: bz2.BZ2File(raw, mode="rb"), bz2.decompress),
    b"\xfd7zXZ\x00": Compression(lambda raw: lzma.LZMAFile(raw, mode="rb"), lzma.decompress),
}
#: Compressed archives up to this size are decompressed in one call; bigger ones stream.
WHOLE_FILE_BYTES = 16 << 20
_READ_ERRORS = (tarfile.TarError, EOFError, OSError, zlib.error, isal_zlib.error, lzma.LZMAError,
                ValueError)
_CHUNK = 1 << 20


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
    """The cleaned CSV files of one source, or the error that made it unreadable."""

    source: Source
    files: list[CleanFile] = field(default_factory=list)
    error: str | None = None


def find_sources(folder: str | Path, kind: str) -> list[Source]:
    """Every archive and every loose `kind.csv` under `folder`, in a stable order."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder; pass the folder `iglu logs sync` wrote to")
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = path.relative_to(root).as_posix()
        if name.endswith(ARCHIVE_SUFFIXES) or path.name == f"{kind}.csv":
            found.append(Source(path, name, kind))
    return found


def read_source(source: Source) -> SourceResult:
    """Read and clean every `kind.csv` of one source (runs in a reading thread)."""
    if not source.is_archive:
        data = source.path.read_bytes()
        return SourceResult(source, [clean_file(data, source=source.name, member=source.name,
                                                turk_log_id=source.path.parent.name)])
    result = SourceResult(source)
    try:
        for member, data in _archive_members(source):
            result.files.append(clean_file(data, source=source.name, member=member,
                                           turk_log_id=_log_id(member, source)))
    except _READ_ERRORS as err:
        return SourceResult(source, error=f"{type(err).__name__}: {err}")
    return result


def _archive_members(source: Source) -> Iterator[tuple[str, bytes]]:
    wanted = f"{source.kind}.csv"
    with source.path.open("rb") as raw:
        stream = _decompressed(raw, source.path.stat().st_size)
        with tarfile.open(fileobj=stream, mode="r|", bufsize=_CHUNK) as tar:
            for member in tar:
                if member.isfile() and PurePosixPath(member.name).name == wanted:
                    handle = tar.extractfile(member)
                    if handle is not None:
                        yield member.name, handle.read()
        while stream.read(_CHUNK):  # the rest, so a compressed stream's checksum is verified
            pass


def _decompressed(raw: IO[bytes], size: int) -> IO[bytes]:
    """The tar stream inside `raw`, by the compression its first bytes name."""
    magic = raw.read(6)
    raw.seek(0)
    compression = next((c for prefix, c in COMPRESSIONS.items() if magic.startswith(prefix)), None)
    if compression is None:
        return raw
    if size <= WHOLE_FILE_BYTES:
        return io.BytesIO(compression.whole(raw.read()))
    return compression.stream(raw)


def _log_id(member: str, source: Source) -> str:
    """The log's folder inside the archive, or the archive's own folder for a top-level file."""
    parent = PurePosixPath(member).parent.name
    return parent or source.path.parent.name
