"""The crowd notebook's logic: onboarding verdicts and their figure, and simulated workers that
work only on the local profile and only when asked (on the real local MTurk server)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from iglu_lib.backends import NoRehearsal
from iglu_lib.config import load_profile
from iglu_lib.crowd.export import onboarding_verdicts
from iglu_lib.crowd.plots import onboarding_figure
from iglu_lib.crowd.session import open_task_run
from iglu_lib.local.crowd_workers import OUTCOME_COLUMNS, outcomes_frame

EXAMPLE = Path(__file__).resolve().parents[1] / "crowd_tasks" / "craftassist"
WORKERS = [
    {"worker_id": "NBLOGICGOOD01", "onboarding_answer": "build a red tower\nmove the blue block left\ndestroy the wall",
     "answers": {"commands": "build a tower", "rating": "4", "feedback": "fine"}},
    {"worker_id": "NBLOGICSHORT02", "onboarding_answer": "go\nhi", "answers": {"commands": "go"}},
]


def test_onboarding_verdicts_count_workers_who_passed_and_failed():
    frame = pd.DataFrame({"worker_id": ["a", "b", "c"], "passed": [1, 0, 1]})
    assert onboarding_verdicts(frame).to_dict() == {"passed": 2, "failed": 1}


def test_onboarding_figure_draws_one_bar_per_verdict_and_nothing_without_workers():
    figure = onboarding_figure(pd.DataFrame({"worker_id": ["a", "b", "c"], "passed": [0, 1, 0]}))
    axes = figure.axes[0]
    assert axes.get_title() == "Onboarding results" and axes.get_ylabel() == "workers"
    bars = {tick.get_text(): patch.get_height() for tick, patch in zip(axes.get_xticklabels(), axes.patches, strict=True)}
    assert bars == {"failed": 2, "passed": 1}
    assert onboarding_figure(pd.DataFrame({"worker_id": [], "passed": []})) is None


def test_no_simulated_work_on_a_real_profile(local_profile):
    hits = [{"hit_id": "never-used", "url": "http://127.0.0.1:9/task?unit_id=0"}]
    sandbox = load_profile("sandbox", env={})
    with pytest.raises(NoRehearsal, match="profile 'sandbox' runs against real services"):
        sandbox.backend.rehearsal().simulate_workers(hits, WORKERS)
    assert list(outcomes_frame([]).columns) == list(OUTCOME_COLUMNS)


def test_simulated_workers_work_the_launched_hits_on_the_local_profile(stack, local_profile, unique_name, tmp_path):
    if "mturk_endpoint_url" not in stack:
        pytest.fail("the local stack has no MTurk server (mturk_endpoint_url missing)")
    run = open_task_run(EXAMPLE, "craftassist", local_profile, tmp_path / "crowd.sqlite",
                        qualification_name=unique_name("onboarding"))
    run.serve()
    try:
        workers = [{**w, "worker_id": unique_name(w["worker_id"].lower()).upper()} for w in WORKERS]
        outcomes = local_profile.backend.rehearsal().simulate_workers(run.launch(), workers, progress=False)
    finally:
        run.stop()
    table = outcomes_frame(outcomes).set_index("worker_id")
    good, short = (w["worker_id"] for w in workers)
    assert table.loc[good, "onboarding"] == "passed" and bool(table.loc[good, "submitted"])
    assert table.loc[short, "onboarding"] == "failed" and not table.loc[short, "submitted"]
    assert table.loc[short, "refusal"] == "onboarding failed"  # refused inside the HIT it accepted
