"""Notebook 03 runs a campaign headless with its simulated crowd and exports hashed records."""

from __future__ import annotations

import json

from iglu_lib.notebooks import run_notebook


def test_collect_notebook_runs_headless(rehearsal, unique_name, test_outputs, tmp_path):
    name = unique_name("nb")
    params_file = rehearsal.params_file(name, target_approved_hits=4)
    export_csv = tmp_path / "feedback.csv"
    summary_json = tmp_path / "summary.json"
    out = run_notebook("03_collect", "params/03_collect.yaml", output=test_outputs / "03_collect.ipynb",
                       progress=False, parameters={
                           "campaign_params": str(params_file), "platform_dir": str(rehearsal.platform_dir),
                           "crowd_size": 6, "export_csv": str(export_csv), "summary_json": str(summary_json)})
    summary = json.loads(summary_json.read_text())
    assert summary["done"] and summary["good_hits"] == 4
    text = export_csv.read_text()
    assert text.startswith("HitId,GameMinecraftId,TaskMinecraftId,AgentName,Annotation,CompletionCode")
    assert "ASIM" not in text, "exports hold no raw worker id"
    assert "good 4/4" in out.read_text() or "good_hits" in out.read_text()


def test_a_real_platform_has_no_rehearsal_crowd(tmp_path):
    import pytest

    from iglu_lib.backends import NoRehearsal
    from iglu_lib.config import load_profile

    sandbox = load_profile("sandbox", env={})
    with pytest.raises(NoRehearsal, match="profile 'sandbox' runs against real services.*set simulate_crowd: false"):
        sandbox.backend.rehearsal("set simulate_crowd: false").crowd_beside(tmp_path, size=2, mix={})


def test_reasons_figure_draws_every_reason():
    from iglu_lib.collection.live import reasons_figure

    figure = reasons_figure({"games_by_reason": {"too_few_turns": 3, "not_english": 1}})
    labels = [tick.get_text() for tick in figure.axes[0].get_yticklabels()]
    assert labels == ["not_english", "too_few_turns"]
    assert "No game" in reasons_figure({"games_by_reason": {}}).axes[0].get_title()
