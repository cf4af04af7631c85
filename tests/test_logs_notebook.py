"""Notebook 08 runs headless on the local stack: generate, sync twice, process, table, plot."""

from __future__ import annotations

import json
import shutil

from iglu_lib.notebooks import run_notebook


def test_notebook_08_syncs_processes_and_plots(stack, unique_name, test_outputs):
    out = test_outputs / "s3_logs_08"
    shutil.rmtree(out, ignore_errors=True)  # a mirror left by an earlier run would be skipped
    executed = run_notebook(
        "08_s3_logs", "params/08_s3_logs.yaml",
        parameters={"bucket": unique_name("logs"), "output_dir": str(out), "rows_per_log": 25,
                    "date": "2026-03-04"},
        output=test_outputs / "08_s3_logs.ipynb", progress=False)
    result = json.loads((out / "summary.json").read_text())
    process, expected = result["process"], result["expected"]
    assert {key: process[key] for key in expected} == expected
    assert result["sync"]["downloaded"] == result["sync"]["listed"] > 0
    assert result["sync_again"]["skipped"] == result["sync"]["listed"]
    assert (out / "table" / "nsp_outputs_2026-03-04.parquet").is_file()
    text = executed.read_text()
    assert "image/png" in text and "turk_log_id" in text
