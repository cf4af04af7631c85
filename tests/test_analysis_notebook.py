"""Notebook 06 runs headless, writes its artefacts, and its explorer filters HITs."""

from __future__ import annotations

import json

import pytest

from iglu_lib import paths
from iglu_lib.analysis import load_games
from iglu_lib.analysis.explorer import Filters, explorer, filtered_analysis, options
from iglu_lib.notebooks import run_notebook


def test_notebook_runs_headless_on_the_bundled_export(test_outputs):
    out_dir = "outputs/tests/06_analysis_artefacts"
    executed = run_notebook("06_analysis", "params/06_analysis.yaml",
                            parameters={"replicates": 200, "explorer_replicates": 20, "out_dir": out_dir,
                                        "code_status_filter": ["ok"], "paper_dir": f"{out_dir}/paper"},
                            output=test_outputs / "06_analysis.ipynb", progress=False)
    text = executed.read_text(encoding="utf-8")
    assert "Happy &gt; MHB &gt; Felipe" in text or "Happy > MHB > Felipe" in text
    assert "application/vnd.jupyter.widget-view+json" in text
    summary = json.loads((paths.project_root() / out_dir / "summary.json").read_text())
    assert summary["counts"]["decisive"] == 64
    page = (paths.project_root() / out_dir / "report.html").read_text(encoding="utf-8")
    assert '<p class="headline">Happy leads' in page and "Happy leads (probability of being best" in text
    assert "<th>Rank (95% range)</th>" in text, "the notebook shows the leaderboard"
    paper = paths.project_root() / out_dir / "paper"
    assert {"leaderboard.tex", "sensitivity.md", "strengths.pdf", "per_task.png"} <= {p.name for p in paper.iterdir()}


def test_explorer_filters_whole_hits_by_task_quality_and_code_status():
    games = load_games()
    offered = options(games)
    assert offered["task"][0] == "all" and "03794642-d5dc-40df-bd41-4cd898ae6b7c" in offered["task"]
    assert set(offered["worker_quality"]) == {"all", "good", "flagged"}
    ok_only = filtered_analysis(games, Filters(code_statuses=("ok",)), replicates=20)
    assert ok_only.comparisons.counts()["complete_comparisons"] == 55
    good = filtered_analysis(games, Filters(worker_quality="good"), replicates=20)
    assert good.comparisons.counts()["complete_comparisons"] == 55
    one_task = filtered_analysis(games, Filters(task="03794642-d5dc-40df-bd41-4cd898ae6b7c"), replicates=20)
    assert set(one_task.comparisons.hits["task"]) == {"03794642-d5dc-40df-bd41-4cd898ae6b7c"}
    panel = explorer(games, Filters(code_statuses=("ok",)), replicates=20)
    task_box = panel.children[0].children[0]
    task_box.value = "03794642-d5dc-40df-bd41-4cd898ae6b7c"  # observers recompute without error
    with pytest.raises(ValueError, match="task filter 'nowhere'"):
        explorer(games, Filters(task="nowhere"), replicates=20)
