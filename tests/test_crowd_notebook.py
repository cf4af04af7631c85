"""Notebook 07 runs headless on the local stack: configure, serve, launch, simulate, watch, review."""

from __future__ import annotations

import csv
import shutil

from iglu_lib.notebooks import run_notebook


def test_crowd_task_notebook_runs_headless(stack, test_outputs, unique_name):
    output_dir = test_outputs / "07_crowd_task"
    shutil.rmtree(output_dir, ignore_errors=True)  # fresh records: the counts below are this run's
    out = run_notebook(
        "07_crowd_task", "params/07_crowd_task.yaml",
        parameters={"output_dir": str(output_dir), "onboarding_qualification": unique_name("nbonboarding")},
        output=test_outputs / "07_crowd_task.ipynb", progress=False,
    )
    text = out.read_text(encoding="utf-8")
    assert "QualificationRequirementNotMet" in text  # the failed worker tried to accept and was refused
    with open(output_dir / "onboarding.csv", newline="") as handle:
        onboarding = {row["worker_id"]: row["passed"] for row in csv.DictReader(handle)}
    assert onboarding == {"SIMWORKERRICH01": "1", "SIMWORKERSHORT02": "0", "SIMWORKERRICH03": "1"}
    with open(output_dir / "submissions.csv", newline="") as handle:
        submitted = sorted(row["worker_id"] for row in csv.DictReader(handle))
    assert submitted == ["SIMWORKERRICH01", "SIMWORKERRICH03"]
    assert text.count("Approved") >= 2
