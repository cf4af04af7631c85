"""Worker quality counts every reason of a game, also when a game has several."""

from __future__ import annotations

import json

import pandas as pd

from iglu_lib.analysis.breakdowns import worker_quality


def test_games_with_several_reasons_are_counted_per_worker():
    games = pd.DataFrame({
        "worker": ["w1", "w1", "w2"],
        "HitId": ["h1", "h1", "h2"],
        "annotation_status": ["valid"] * 3,
        "worker_quality": ["flagged", "flagged", "ok"],
        "code_status": ["ok", "ok", "ok"],
        "Verdict": ["reject", "reject", "approve"],
        "Reasons": [json.dumps(["too_few_turns", "instruction_too_short"]), json.dumps(["too_few_turns"]), "[]"],
    })
    table = worker_quality(games).set_index("worker")
    assert table.loc["w1", "reason_too_few_turns"] == 2
    assert table.loc["w1", "reason_instruction_too_short"] == 1
    assert table.loc["w2", "reason_too_few_turns"] == 0


def test_per_task_plot_is_labelled_with_task_names_where_the_records_name_them():
    from iglu_lib.analysis.breakdowns import task_label, task_names
    from iglu_lib.analysis.plots import win_rates_per_task

    games = pd.DataFrame({"TaskMinecraftId": ["0a1b2c3d-1111", "0a1b2c3d-1111", "9f8e7d6c-2222", "NA"],
                          "TaskName": ["c92/step-22", "c92/step-22", "NA", "NA"]})
    names = task_names(games)
    assert names == {"0a1b2c3d-1111": "c92/step-22"}
    assert task_label("9f8e7d6c-2222", names) == "9f8e7d6c" and task_label("unknown", names) == "unknown"
    assert task_names(games.drop(columns="TaskName")) == {}
    from iglu_lib.analysis.breakdowns import with_task_names

    table = with_task_names(pd.DataFrame({"task": ["0a1b2c3d-1111", "9f8e7d6c-2222"], "wins": [1, 2]}), names)
    assert list(table.columns) == ["task", "task_name", "wins"]
    assert list(table["task_name"]) == ["c92/step-22", "9f8e7d6c"]
    per_task = pd.DataFrame({"task": ["0a1b2c3d-1111", "9f8e7d6c-2222"], "agent": ["MHB", "MHB"],
                             "win_rate": [0.5, 1.0], "win_rate_low": [0.1, 0.4], "win_rate_high": [0.9, 1.0]})
    axes = win_rates_per_task(per_task, names).axes[0]
    assert [t.get_text() for t in axes.get_xticklabels()] == ["9f8e7d6c", "c92/step-22"], "sorted by label"
