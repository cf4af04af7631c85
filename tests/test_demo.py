"""`make demo` end to end: encode, simulated platform, join codes, a 60-HIT pairwise campaign
with a misbehaving crowd, analysis; the report names the campaign, the ranking and the truth."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from iglu_lib import paths


@pytest.mark.slow
def test_demo_runs_every_stage_and_reports():
    result = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "demo"], capture_output=True, text=True,
                            timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "campaign demo-pairwise: 60/60 good HITs" in result.stdout
    assert "agents ranked by the collected preferences:" in result.stdout
    assert "true order of the simulated agents:" in result.stdout
    demo = paths.outputs_dir() / "demo"
    summary = json.loads((demo / "campaign_summary.json").read_text())
    assert summary["status"]["cell_spread"] <= 1
    assert summary["blocked_workers"] >= 1 and summary["status"]["games_by_reason"], "misbehaviour was caught"
    for stage in ("00_stack", "01_encode_tasks", "01b_simulated_platform", "02_join_codes", "03_collect",
                  "05_game_data", "06_analysis"):
        assert (demo / "notebooks" / f"{stage}.ipynb").is_file()
    assert not (demo / "stack" / "state.json").exists(), "the demo stops the stack it started"
