"""What notebook 08 calls: folders of a run, the check of counts against the generated truth,
the run's summary file, the tables it shows, the plots, and the local-only generation."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

from iglu_lib import paths
from iglu_lib.backends import NoRehearsal
from iglu_lib.config import load_profile
from iglu_lib.local.droidlet_logs import (
    CorpusSpec,
    truth_table,
    write_corpus,
)
from iglu_lib.logs import plots
from iglu_lib.logs.process import process_logs
from iglu_lib.logs.report import (
    COUNTS,
    CountsMismatch,
    bad_archives_table,
    compare_counts,
    expected_counts,
    read_rejects,
    read_table,
    run_folders,
    save_run,
)

matplotlib.use("Agg")

SPEC = CorpusSpec(batches=2, logs_per_batch=3, rows_per_log=30, seed=11)


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    truth = write_corpus(folder / "bucket", SPEC)  # keys start with the prefix, turk_logs/
    summary = process_logs(folder / "bucket" / "turk_logs", "nsp_outputs", folder / "table", date="2026-05-06",
                           workers=1, progress=False)
    return truth, summary


def test_relative_output_dir_is_under_the_project_root_absolute_stays(tmp_path):
    relative = run_folders("outputs/s3_logs")
    assert relative.root == paths.project_root() / "outputs" / "s3_logs"
    assert relative.mirror == relative.root / "mirror"
    assert relative.table == relative.root / "table"
    assert run_folders(tmp_path).summary == tmp_path / "summary.json"


def test_counts_that_match_give_a_table_of_expected_and_found(processed):
    truth, summary = processed
    expected = expected_counts(truth, "nsp_outputs", "turk_logs/")
    table = compare_counts(summary, expected)
    assert list(table.index) == list(COUNTS)
    assert list(table.columns) == ["expected", "found"]
    assert table.loc["rows_out", "found"] == summary["rows_out"] > 0
    assert (table["expected"] == table["found"]).all()


def test_without_expected_counts_only_found_is_shown(processed):
    _, summary = processed
    table = compare_counts(summary)
    assert list(table.columns) == ["found"]
    assert table["found"].to_dict() == {key: summary[key] for key in COUNTS}


def test_a_mismatch_names_each_count_that_differs(processed):
    truth, summary = processed
    expected = expected_counts(truth, "nsp_outputs", "turk_logs/")
    wrong = {**expected, "rows_out": expected["rows_out"] + 1, "malformed_rows": 0}
    with pytest.raises(CountsMismatch) as error:
        compare_counts(summary, wrong)
    message = str(error.value)
    assert f"rows_out: expected {expected['rows_out'] + 1}, found {summary['rows_out']}" in message
    assert f"malformed_rows: expected 0, found {summary['malformed_rows']}" in message
    assert "rows_in" not in message


def test_a_different_set_of_unreadable_archives_is_a_mismatch(processed):
    truth, summary = processed
    expected = expected_counts(truth, "nsp_outputs", "turk_logs/")
    assert expected["bad_archives"] == summary["bad_archives"] != []
    with pytest.raises(CountsMismatch, match="bad_archives"):
        compare_counts(summary, {**expected, "bad_archives": expected["bad_archives"][1:]})


def test_expected_bad_archives_are_named_as_the_sync_names_them(processed):
    truth, _ = processed
    keys = truth.summary("nsp_outputs")["bad_archives"]
    names = expected_counts(truth, "nsp_outputs", "turk_logs/batch")["bad_archives"]
    assert names == sorted(key.removeprefix("turk_logs/") for key in keys)


def test_the_run_summary_and_the_tables_read_back(processed, tmp_path):
    _, summary = processed
    path = save_run(tmp_path / "deep" / "summary.json", process=summary, expected=None)
    assert json.loads(path.read_text()) == {"process": summary, "expected": None}
    assert len(read_table(summary)) == summary["rows_out"]
    assert len(read_rejects(summary)) == summary["malformed_rows"]
    bad = bad_archives_table(summary)
    assert list(bad["unreadable archive"]) == summary["bad_archives"]


def test_overview_plots_rows_per_log_and_first_words():
    table = pd.DataFrame({"command": ["Build a house", "build a tower", "dance", "  "],
                          "turk_log_id": ["a", "a", "b", "b"]})
    figure = plots.table_overview(table)
    left, right = figure.axes
    assert left.get_title() == "rows per log" and sum(p.get_height() for p in left.patches) == 2
    words = {tick.get_text(): patch.get_width()
             for tick, patch in zip(right.get_yticklabels(), right.patches, strict=True)}
    assert words == {"build": 2, "dance": 1}


def test_generation_refuses_any_profile_but_local():
    remote = load_profile("production", env={})
    with pytest.raises(NoRehearsal, match="profile 'production' runs against real services"):
        remote.backend.rehearsal().fill_bucket("bucket")


def test_generation_fills_a_local_bucket_under_the_prefix(local_profile, unique_name):
    bucket = unique_name("gen")
    truth = local_profile.backend.rehearsal().fill_bucket(bucket, prefix="runs/", batches=1, logs_per_batch=2,
                                                         rows_per_log=10, seed=3)
    listed = local_profile.backend.s3_client().list_objects_v2(Bucket=bucket)["Contents"]
    assert {item["Key"]: item["Size"] for item in listed} == truth.objects
    assert all(key.startswith("runs/") for key in truth.objects)
    table = truth_table(truth)
    assert list(table.columns) == list(truth.kinds) and "bad_archives" not in table.index
    assert Path(next(iter(truth.objects))).parts[0] == "runs"
