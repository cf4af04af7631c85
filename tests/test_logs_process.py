"""`iglu logs process`: generated corpora come out with exactly the counts the generator
injected, hostile content survives intact, bad input is reported, nothing lands on disk."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pandas as pd
import pytest

from iglu_lib.local.droidlet_logs import CorpusSpec, sized, write_corpus
from iglu_lib.logs.process import NoLogsFound, process_logs
from iglu_lib.logs.report import read_csv_table

SPEC = CorpusSpec(batches=3, logs_per_batch=4, rows_per_log=50, seed=7, hostile_rate=0.1)


def _read_table(path: str) -> pd.DataFrame:
    return read_csv_table(path)


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    return folder, write_corpus(folder, SPEC)


@pytest.mark.parametrize("kind", ["nsp_outputs", "error_details"])
@pytest.mark.parametrize("workers", [1, 2])
def test_counts_match_what_the_generator_injected(corpus, tmp_path, kind, workers):
    folder, truth = corpus
    summary = process_logs(folder, kind, tmp_path, date="2026-01-02", workers=workers, progress=False)
    expected = truth.summary(kind)
    assert {key: summary[key] for key in expected} == expected
    assert kind != "nsp_outputs" or (expected["duplicates_removed"] > 0 and expected["malformed_rows"] > 0)
    assert len(expected["bad_archives"]) == SPEC.corrupt_archives
    table = _read_table(summary["outputs"]["csv"])
    assert len(table) == expected["rows_out"]
    assert not table.duplicated().any()
    parquet = pd.read_parquet(summary["outputs"]["parquet"])
    assert parquet.equals(table)
    rejects = _read_table(summary["outputs"]["rejects"])
    assert len(rejects) == expected["malformed_rows"]
    assert set(rejects["reason"]) == {"wrong_field_count"}


def test_the_table_is_clean_and_names_each_log(corpus, tmp_path):
    folder, _ = corpus
    summary = process_logs(folder, "nsp_outputs", tmp_path, date="d", workers=1, progress=False)
    table = _read_table(summary["outputs"]["csv"])
    assert list(table.columns) == ["command", "action_dict", "source", "agent", "time", "turk_log_id"]
    for column in table.columns:
        assert (table[column] == table[column].str.strip()).all(), column
        assert not table[column].str.contains("\r").any(), column
    log_folders = {p.parent.name for p in folder.rglob("logs.t*")}
    assert set(table["turk_log_id"]) <= log_folders | {p.parent.name for p in folder.rglob("*.csv")}
    assert b"\r\n" not in Path(summary["outputs"]["csv"]).read_bytes()


def test_archives_are_never_extracted_to_disk(corpus, tmp_path):
    folder, _ = corpus
    before = sorted(folder.rglob("*"))
    process_logs(folder, "nsp_outputs", tmp_path / "out", date="d", workers=2, progress=False)
    assert sorted(folder.rglob("*")) == before
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "nsp_outputs_d.csv", "nsp_outputs_d.parquet", "nsp_outputs_d_rejects.csv"]


HOSTILE_LINES = [
    "\ufeffcommand | action_dict |source|agent|time",                   # 1 BOM, spaced names
    'build a "big" tower|{\'a\': 1}|model|bot|1',                       # 2 a quote mid-field is text
    '"  copy that | paste it  "|"{\'b\': \'x | y\'}"|model|bot|2',        # 3 quoted: | is text
    '"say ""hi | there"""|"{""c"": 3}"|model|bot|3',                   # 4 doubled quotes
    '<script>alert(1)</script> &amp; &lt;b&gt;|=HYPERLINK("x")|model|bot|4',  # 5 markup, formula
    "",                                                                  # 6 blank: no row
    '"unclosed quote | eats|its own line only|model|bot|5',             # 7 rejected, alone
    "dance|{}|model|bot|6",                                              # 8
    "   dance   |  {}  | model|bot |6  ",                                # 9 duplicate of 8
    "dance|{}|model|bot",                                                # 10 a field short
    "NOT-UTF-8",                                                         # 11 latin-1 bytes
    '  "s|t"  |x|model|bot|9',                                           # 12 quote not first: 6 fields
    "last|{}|model|bot|8",                                               # 13 no final line end
]
KEPT_COMMANDS = ['build a "big" tower', "copy that | paste it", 'say "hi | there"',
                 "<script>alert(1)</script> &amp; &lt;b&gt;", "dance", "last"]


def _crlf_file(lines: list[str]) -> bytes:
    return b"\r\n".join(b"caf\xe9|{}|model|bot|7" if line == "NOT-UTF-8" else line.encode("utf-8")
                        for line in lines)


def test_hostile_content_is_kept_verbatim_and_bad_lines_are_rejected_with_line_numbers(tmp_path):
    """The loose file needs the line-by-line path (blank line, latin-1, a runaway quote); the
    archived one, without those three lines, is parsed whole by Arrow: same rows either way."""
    src = tmp_path / "src"
    (src / "b1" / "loose-log").mkdir(parents=True)
    (src / "b1" / "loose-log" / "nsp_outputs.csv").write_bytes(_crlf_file(HOSTILE_LINES))
    (src / "b1" / "arch").mkdir()
    whole = [line for i, line in enumerate(HOSTILE_LINES, 1) if i not in (6, 7, 11)]
    (src / "b1" / "arch" / "logs.tgz").write_bytes(
        _tar_gz({"in-archive/nsp_outputs.csv": _crlf_file(whole)}))
    summary = process_logs(src, "nsp_outputs", tmp_path / "out", date="d", workers=1, progress=False)
    assert {k: summary[k] for k in ("archives", "members_read", "rows_in", "duplicates_removed",
                                    "malformed_rows", "rows_out")} == {
        "archives": 1, "members_read": 2, "rows_in": 20, "duplicates_removed": 2,
        "malformed_rows": 6, "rows_out": 12}
    table = pd.read_parquet(summary["outputs"]["parquet"])
    assert list(table.columns) == ["command", "action_dict", "source", "agent", "time", "turk_log_id"]
    for log in ("loose-log", "in-archive"):
        rows = table[table["turk_log_id"] == log]
        assert list(rows["command"]) == KEPT_COMMANDS, log
        assert list(rows["action_dict"])[:4] == ["{'a': 1}", "{'b': 'x | y'}", '{"c": 3}',
                                                 '=HYPERLINK("x")'], log
    assert _read_table(summary["outputs"]["csv"]).equals(table)
    rejects = _read_table(summary["outputs"]["rejects"])
    loose = rejects[rejects["source"] == "b1/loose-log/nsp_outputs.csv"]
    assert list(loose["line"]) == ["7", "10", "11", "12"]
    assert list(loose["reason"]) == ["wrong_field_count", "wrong_field_count", "not_utf8",
                                     "wrong_field_count"]
    archived = rejects[rejects["source"] == "b1/arch/logs.tgz"]
    assert list(archived["line"]) == ["8", "9"]
    assert set(archived["member"]) == {"in-archive/nsp_outputs.csv"}
    assert list(archived["text"]) == ["dance|{}|model|bot", '  "s|t"  |x|model|bot|9']


def test_a_log_uploaded_twice_counts_once(tmp_path):
    csv = b"command|time\nbuild|1\ndig|2\n"
    archive = _tar_gz({"log-1/nsp_outputs.csv": csv})
    for batch in ("a", "b"):
        (tmp_path / "src" / batch).mkdir(parents=True)
        (tmp_path / "src" / batch / "logs.tar.gz").write_bytes(archive)
    (tmp_path / "src" / "a" / "log-2").mkdir()
    (tmp_path / "src" / "a" / "log-2" / "nsp_outputs.csv").write_bytes(csv)
    summary = process_logs(tmp_path / "src", "nsp_outputs", tmp_path / "out", date="d",
                           workers=2, progress=False)
    assert (summary["rows_in"], summary["duplicates_removed"], summary["rows_out"]) == (6, 2, 4)
    table = _read_table(summary["outputs"]["csv"])
    assert sorted(table["turk_log_id"]) == ["log-1", "log-1", "log-2", "log-2"]


def test_corrupt_archives_are_listed_and_the_rest_is_processed(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    good = _tar_gz({"ok/nsp_outputs.csv": b"command|time\nbuild|1\n"})
    (src / "1-good.tar.gz").write_bytes(good)
    (src / "2-truncated.tar.gz").write_bytes(good[: len(good) // 2])
    (src / "3-html.tgz").write_bytes(b"<html>503</html>")
    (src / "4-bad-crc.tar.gz").write_bytes(good[:-8] + b"\0" * 8)
    (src / "5-plain.tar").write_bytes(gzip.decompress(good))
    summary = process_logs(src, "nsp_outputs", tmp_path / "out", date="d", workers=1, progress=False)
    assert summary["bad_archives"] == ["2-truncated.tar.gz", "3-html.tgz", "4-bad-crc.tar.gz"]
    assert all(summary["bad_archive_errors"][name] for name in summary["bad_archives"])
    assert (summary["archives"], summary["members_read"], summary["rows_out"]) == (5, 2, 1)


def test_a_file_with_another_header_goes_to_the_rejects(tmp_path):
    for name, data in (("a", b"command|time\nbuild|1\n"), ("b", b"time|command\n2|dig\n3|fill\n")):
        (tmp_path / "src" / name).mkdir(parents=True)
        (tmp_path / "src" / name / "nsp_outputs.csv").write_bytes(data)
    summary = process_logs(tmp_path / "src", "nsp_outputs", tmp_path / "out", date="d",
                           workers=1, progress=False)
    assert (summary["rows_out"], summary["malformed_rows"]) == (1, 2)
    rejects = _read_table(summary["outputs"]["rejects"])
    assert list(rejects["line"]) == ["2", "3"]
    assert rejects["reason"].str.startswith("header_mismatch").all()


def test_a_folder_without_logs_is_a_clear_error(tmp_path):
    with pytest.raises(NoLogsFound, match="no archive .* and no nsp_outputs.csv"):
        process_logs(tmp_path, "nsp_outputs", tmp_path / "out", progress=False)
    with pytest.raises(FileNotFoundError, match="no such folder"):
        process_logs(tmp_path / "missing", "nsp_outputs", tmp_path / "out", progress=False)


def test_the_generator_is_seeded_and_reaches_a_requested_size(tmp_path):
    spec = sized(CorpusSpec(rows_per_log=40, seed=3), 400_000)
    first = write_corpus(tmp_path / "a", spec)
    again = write_corpus(tmp_path / "b", spec)
    assert first.compressed_bytes >= 400_000
    files = {p.relative_to(tmp_path / "a").as_posix(): p.read_bytes()
             for p in (tmp_path / "a").rglob("*") if p.is_file()}
    assert {k: len(v) for k, v in files.items()} == first.objects
    assert all((tmp_path / "b" / k).read_bytes() == v for k, v in files.items())
    assert again.summary("nsp_outputs") == first.summary("nsp_outputs")


@pytest.mark.parametrize("pieces", [False, True], ids=["whole", "in-pieces"])
def test_quoted_fields_with_line_breaks_are_read_as_droidlets_writer_writes_them(tmp_path, monkeypatch,
                                                                                 pieces):
    """Python's csv writer (droidlet's logger) quotes a field holding a line break; such a
    record is one row, numbered by its first line, and a stray quote still eats no line;
    also when a big file is cleaned in pieces (never cut inside a quoted line break)."""
    import csv as csv_module

    from iglu_lib.logs import sources

    if pieces:
        monkeypatch.setattr(sources, "HOLD_BYTES", 0)
        monkeypatch.setattr(sources, "PIECE_BYTES", 20)

    buffer = io.StringIO()
    writer = csv_module.writer(buffer, delimiter="|", lineterminator="\n")
    writer.writerows([["command", "action_dict", "time"], ["build\na tower", "{'a':\r\n 1}", "1"],
                      ["dig", "{}", "2"]])
    # then a stray opening quote (line 6) and an unquoted line break (lines 8-9): two lines each
    text = buffer.getvalue() + '"stray quote|x\nlast|{}|3\n' + 'build\na tower|oops|4\n'
    for name in ("loose", "archived"):
        (tmp_path / "src" / name).mkdir(parents=True)
    (tmp_path / "src" / "loose" / "nsp_outputs.csv").write_text(text)
    (tmp_path / "src" / "archived" / "logs.tar.gz").write_bytes(
        _tar_gz({"archived/nsp_outputs.csv": text.encode()}))
    summary = process_logs(tmp_path / "src", "nsp_outputs", tmp_path / "out", date="d",
                           workers=1, progress=False)
    table = pd.read_parquet(summary["outputs"]["parquet"])
    for log in ("loose", "archived"):
        rows = table[table["turk_log_id"] == log]
        assert list(rows["command"]) == ["build\na tower", "dig", "last", "a tower"], log
        assert list(rows["action_dict"]) == ["{'a':\n 1}", "{}", "{}", "oops"], log
    assert _read_table(summary["outputs"]["csv"]).equals(table)
    rejects = _read_table(summary["outputs"]["rejects"])
    assert list(rejects["line"]) == ["6", "8"] * 2
    assert (summary["rows_in"], summary["malformed_rows"], summary["rows_out"]) == (12, 4, 8)


def test_no_formula_reaches_the_csv_files_unescaped_and_raw_keeps_them(tmp_path):
    """Cells that start like a spreadsheet formula get a leading quote in both CSV files;
    numbers stay numbers; the Parquet file and `raw` output keep the cells as they were."""
    formulas = ["=HYPERLINK(\"http://x.test\",\"click\")", "@SUM(A1:A9)", "+cmd|' /C calc'!A0",
                "-2+3+cmd|' /C calc'!A0"]
    lines = ["command|value|time"] + [f'"{f.replace(chr(34), 2 * chr(34))}"|-3.5|{i}'
                                      for i, f in enumerate(formulas)] + ["=1+1|x"]
    (tmp_path / "src" / "log").mkdir(parents=True)
    (tmp_path / "src" / "log" / "nsp_outputs.csv").write_text("\n".join(lines) + "\n")
    escaped = process_logs(tmp_path / "src", "nsp_outputs", tmp_path / "out", date="d",
                           workers=1, progress=False)
    raw = process_logs(tmp_path / "src", "nsp_outputs", tmp_path / "raw", date="d",
                       workers=1, progress=False, raw=True)
    plain = pd.read_csv(escaped["outputs"]["csv"], sep="|", dtype=str, keep_default_na=False)
    assert list(plain["command"]) == ["'" + f for f in formulas]
    assert list(plain["value"]) == ["-3.5"] * 4
    rejected = pd.read_csv(escaped["outputs"]["rejects"], sep="|", dtype=str, keep_default_na=False)
    assert list(rejected["text"]) == ["'=1+1|x"]
    for path in (escaped["outputs"]["csv"], escaped["outputs"]["rejects"]):
        cells = [cell for row in pd.read_csv(path, sep="|", dtype=str, keep_default_na=False,
                                              header=None).itertuples(index=False) for cell in row]
        assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")
                    or (c[:1] == "-" and c != "-3.5")]
    parquet = pd.read_parquet(raw["outputs"]["parquet"])
    assert list(parquet["command"]) == formulas
    assert pd.read_parquet(escaped["outputs"]["parquet"]).equals(parquet)
    assert list(pd.read_csv(raw["outputs"]["csv"], sep="|", dtype=str,
                            keep_default_na=False)["command"]) == formulas
    assert _read_table(escaped["outputs"]["csv"]).equals(parquet)
