"""A decompression bomb (a 2 MB `.tar.gz` holding 512 MB of CSV) neither exhausts memory nor
spoils the rest: `iglu logs process` refuses it by its ratio and processes the other logs,
and with the guard turned off it reads it in pieces, under 1 GiB, with exact counts.

Peak memory is that of a child running `iglu logs process`, read with getrusage in a
wrapper process of its own (so that no other child of the test run counts)."""

from __future__ import annotations

import collections
import gzip
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

CSV_BYTES = 512 << 20
DISTINCT = 12
HEADER = b"command|action_dict|source|agent|time\n"
GIB = 1 << 30


def _row(number: int) -> bytes:
    """A row whose long run of one letter deflate squeezes about 1000:1 (a bomb's trick)."""
    return b"build a t%sower|{'a': %d}|model|bot|%06d\n" % (b"o" * 2000, number % 7, number)


class _Repeating(io.RawIOBase):
    """`size` bytes: the header, then the same block of DISTINCT rows over and over (the last
    block cut short on a line end), produced as read, so the test never holds them."""

    def __init__(self, size: int) -> None:
        block = b"".join(_row(n) for n in range(DISTINCT))
        body = size - len(HEADER)
        self.rows = (body // len(block)) * DISTINCT
        tail = body % len(block)
        self.rows += block[:tail].count(b"\n")
        tail = block[:tail].rfind(b"\n") + 1
        padding = body % len(block) - tail  # spaces at the end: a blank line, no row
        self._parts = collections.deque(
            [HEADER, *[block] * (body // len(block)), block[:tail], b" " * padding])
        self._current = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._current and self._parts:
            self._current = self._parts.popleft()
        data, self._current = self._current[:len(buffer)], self._current[len(buffer):]
        buffer[:len(data)] = data
        return len(data)


@pytest.fixture(scope="module")
def bomb_folder(tmp_path_factory):
    """One ordinary log and one bomb, as `iglu logs sync` would mirror them."""
    folder = tmp_path_factory.mktemp("bomb")
    good = folder / "batch" / "good-log"
    good.mkdir(parents=True)
    with tarfile.open(good / "logs.tar.gz", "w:gz") as tar:
        data = HEADER + _row(1) + _row(2) + _row(2) + b"short|row\n"
        info = tarfile.TarInfo("good-log/nsp_outputs.csv")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    bomb = folder / "batch" / "bomb-log"
    bomb.mkdir()
    content = _Repeating(CSV_BYTES)
    with gzip.open(bomb / "logs.tar.gz", "wb", compresslevel=6) as gz, \
            tarfile.open(fileobj=gz, mode="w|") as tar:
        info = tarfile.TarInfo("bomb-log/nsp_outputs.csv")
        info.size = CSV_BYTES
        tar.addfile(info, io.BufferedReader(content, 1 << 20))
    return folder, content.rows


def _process(src: Path, out: Path, *extra: str) -> tuple[dict, int]:
    """`iglu logs process --json` in a child; its summary and its peak resident bytes."""
    iglu = str(Path(sys.executable).with_name("iglu"))
    wrapper = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stderr.write(done.stderr)\n"
        "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "print(done.stdout)\n")
    done = subprocess.run([sys.executable, "-c", wrapper, iglu, "logs", "process", "--src", str(src),
                           "--kind", "nsp_outputs", "--out", str(out), "--date", "d", "--json", *extra],
                          capture_output=True, text=True, check=True)
    status, peak_kb = map(int, done.stdout.splitlines()[0].split())
    assert status == 0, done.stderr
    return json.loads("\n".join(done.stdout.splitlines()[1:])), peak_kb * 1024


def test_the_bomb_is_small_and_large(bomb_folder):
    folder, _ = bomb_folder
    size = (folder / "batch" / "bomb-log" / "logs.tar.gz").stat().st_size
    assert size < 4 << 20 and CSV_BYTES / size > 200


def test_a_bomb_is_refused_by_its_ratio_and_the_rest_is_processed(bomb_folder, tmp_path):
    folder, _ = bomb_folder
    summary, peak = _process(folder, tmp_path)
    print(f"peak resident memory {peak / 2**20:.0f} MiB")
    assert peak < GIB, f"peak resident memory {peak / 2**20:.0f} MiB"
    assert summary["bad_archives"] == ["batch/bomb-log/logs.tar.gz"]
    assert "decompression bomb" in summary["bad_archive_errors"]["batch/bomb-log/logs.tar.gz"]
    assert summary["decompression_bombs"] == 1
    assert {k: summary[k] for k in ("archives", "members_read", "rows_in", "duplicates_removed",
                                    "malformed_rows", "rows_out")} == {
        "archives": 2, "members_read": 1, "rows_in": 4, "duplicates_removed": 1,
        "malformed_rows": 1, "rows_out": 2}


def test_without_the_guard_the_bomb_is_read_in_pieces_under_1_gib_with_exact_counts(bomb_folder, tmp_path):
    folder, rows = bomb_folder
    summary, peak = _process(folder, tmp_path, "--max-ratio", "0")
    print(f"peak resident memory {peak / 2**20:.0f} MiB")
    assert peak < GIB, f"peak resident memory {peak / 2**20:.0f} MiB"
    assert summary["bad_archives"] == [] and summary["decompression_bombs"] == 0
    assert {k: summary[k] for k in ("archives", "members_read", "rows_in", "duplicates_removed",
                                    "malformed_rows", "rows_out")} == {
        "archives": 2, "members_read": 2, "rows_in": 4 + rows, "duplicates_removed": 1 + rows - DISTINCT,
        "malformed_rows": 1, "rows_out": 2 + DISTINCT}
