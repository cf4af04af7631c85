"""Notebook 07 runs headless on the local stack: configure, serve, launch, simulate, watch, review."""

from __future__ import annotations

import csv
import shutil

from iglu_lib.notebooks import run_notebook
from iglu_lib.platform.privacy import pseudonym


def test_crowd_task_notebook_runs_headless(stack, local_profile, test_outputs, unique_name):
    output_dir = test_outputs / "07_crowd_task"
    shutil.rmtree(output_dir, ignore_errors=True)  # fresh records: the counts below are this run's
    out = run_notebook(
        "07_crowd_task", "params/07_crowd_task.yaml",
        parameters={"output_dir": str(output_dir), "onboarding_qualification": unique_name("nbonboarding")},
        output=test_outputs / "07_crowd_task.ipynb", progress=False,
    )
    text = out.read_text(encoding="utf-8")
    assert "onboarding failed" in text  # the short answer was refused inside the accepted HIT
    salt = local_profile.backend.worker_id_salt()
    with open(output_dir / "onboarding.csv", newline="") as handle:
        onboarding = {row["worker_id"]: row["passed"] for row in csv.DictReader(handle)}
    assert onboarding == {pseudonym("SIMWORKERRICH01", salt): "1", pseudonym("SIMWORKERSHORT02", salt): "0",
                          pseudonym("SIMWORKERRICH03", salt): "1"}
    with open(output_dir / "submissions.csv", newline="") as handle:
        submitted = sorted(row["worker_id"] for row in csv.DictReader(handle))
    assert submitted == sorted([pseudonym("SIMWORKERRICH01", salt), pseudonym("SIMWORKERRICH03", salt)])
    exported = (output_dir / "onboarding.csv").read_text() + (output_dir / "submissions.csv").read_text()
    assert "SIMWORKER" not in exported and "build a red tower next to the tree" not in exported
    assert text.count("<td>approved</td>") >= 2  # the review table: both good workers paid
