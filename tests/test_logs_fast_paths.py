"""The fast paths of `iglu logs process` give what the careful ones give: members held whole
or cleaned in pieces, ASCII or Unicode trimming, rows written in background batches."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
from pathlib import Path

import pandas as pd
import pytest

from iglu_lib.local.droidlet_logs import CorpusSpec, write_corpus
from iglu_lib.logs import process, sources
from iglu_lib.logs.clean import clean_file
from iglu_lib.logs.process import process_logs

SPEC = CorpusSpec(batches=2, logs_per_batch=4, rows_per_log=60, seed=5, hostile_rate=0.1)
CSV = b"command|time\nbuild|1\n dig |2\nbuild|1\n"


def _tar(log: Path) -> bytes:
    """A plain tar of the folder `log`, under its own name."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(log, arcname=log.name)
    return buffer.getvalue()


def _mixed_folder(folder):
    """Archives in every compression, and broken ones: truncated, trailing junk, bad checksum."""
    log = folder.parent / "members" / "a"
    log.mkdir(parents=True)
    (log / "nsp_outputs.csv").write_bytes(CSV)
    (log / "error_details.csv").write_bytes(b"x|y\n1|2\n")
    plain = _tar(log)
    folder.mkdir()
    good = gzip.compress(plain)
    (folder / "1.tar.gz").write_bytes(good)
    (folder / "2.tar.gz").write_bytes(bz2.compress(plain))  # named .gz, found by its magic
    (folder / "3.tgz").write_bytes(lzma.compress(plain))
    (folder / "4.tar.gz").write_bytes(good + gzip.compress(b""))  # a second, empty member
    (folder / "5-truncated.tar.gz").write_bytes(good[:-20])
    (folder / "6-junk.tar.gz").write_bytes(good + b"junk")
    (folder / "7-bad-crc.tar.gz").write_bytes(good[:-8] + bytes(8))
    return folder


@pytest.mark.parametrize("build", [lambda p: write_corpus(p, SPEC), _mixed_folder],
                         ids=["generated", "compressions"])
def test_members_held_whole_and_cleaned_in_pieces_agree(tmp_path, monkeypatch, build):
    build(tmp_path / "src")
    whole = process_logs(tmp_path / "src", "nsp_outputs", tmp_path / "whole", date="d",
                         workers=2, progress=False)
    monkeypatch.setattr(sources, "HOLD_BYTES", 0)  # every archive read twice, in pieces
    monkeypatch.setattr(sources, "PIECE_BYTES", 1500)  # a few lines per piece
    streamed = process_logs(tmp_path / "src", "nsp_outputs", tmp_path / "streamed", date="d",
                            workers=2, progress=False)
    assert whole["rows_out"] > 0 and whole["bad_archives"]
    assert {k: v for k, v in whole.items() if k not in ("outputs", "bad_archive_errors")} == \
        {k: v for k, v in streamed.items() if k not in ("outputs", "bad_archive_errors")}
    assert set(whole["bad_archive_errors"]) == set(streamed["bad_archive_errors"])
    for kind in ("csv", "rejects"):
        assert open(whole["outputs"][kind], "rb").read() == open(streamed["outputs"][kind], "rb").read()


def test_every_compression_is_read_and_broken_archives_are_listed(tmp_path):
    summary = process_logs(_mixed_folder(tmp_path / "src"), "nsp_outputs", tmp_path / "out",
                           date="d", workers=1, progress=False)
    assert summary["bad_archives"] == ["5-truncated.tar.gz", "6-junk.tar.gz", "7-bad-crc.tar.gz"]
    assert (summary["members_read"], summary["rows_out"]) == (4, 2)


@pytest.mark.parametrize("space", ["\x1c", "\x1d", "\x1e", "\x1f", "\t", "\x0b", "\x0c", "\u3000",
                                   "\u00a0"])
def test_fields_are_stripped_of_what_python_calls_white_space(space):
    line = f"{space}build{space}|{space} 1{space}\n"
    cleaned = clean_file(f"command|time\n{line}".encode(), source="s", member="m", turk_log_id="x")
    assert cleaned.table.column("command").to_pylist() == ["build"]
    assert cleaned.table.column("time").to_pylist() == ["1"]


def test_ascii_and_unicode_files_are_stripped_alike():
    ascii_only = clean_file(b"command|time\n  build\t|\t1 \n", source="s", member="m",
                            turk_log_id="x")
    unicode = clean_file("command|time\n  build\t|\t1 \nbäu|2\n".encode(), source="s",
                         member="m", turk_log_id="x")
    assert ascii_only.table.column("command").to_pylist() == ["build"]
    assert unicode.table.column("command").to_pylist() == ["build", "bäu"]


def test_rows_written_in_many_background_batches_keep_their_order(tmp_path, monkeypatch):
    write_corpus(tmp_path / "src", SPEC)
    one = process_logs(tmp_path / "src", "nsp_outputs", tmp_path / "one", date="d", workers=2,
                       progress=False)
    monkeypatch.setattr(process, "FLUSH_ROWS", 7)
    many = process_logs(tmp_path / "src", "nsp_outputs", tmp_path / "many", date="d",
                        workers=2, progress=False)
    assert open(one["outputs"]["csv"], "rb").read() == open(many["outputs"]["csv"], "rb").read()
    table = pd.read_parquet(many["outputs"]["parquet"])
    assert table.equals(pd.read_parquet(one["outputs"]["parquet"]))
    assert len(table) == many["rows_out"] > 7 * 10
