"""The parameter reference is written from the models, so it must be the models' own words:
the committed docs/parameters.md equals what `iglu params reference` writes now."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_committed_reference_is_what_the_models_generate():
    from iglu_lib.param_reference import reference

    committed = (ROOT / "docs" / "parameters.md").read_text(encoding="utf-8")
    assert committed == reference(), "docs/parameters.md is out of date: run `iglu params reference`"


def test_the_reference_names_every_key_and_its_limits():
    from iglu_lib.collection.params import CampaignParams
    from iglu_lib.notebook_params import MODELS
    from iglu_lib.param_reference import reference

    page = reference()
    for key in CampaignParams.__pydantic_fields__:
        assert f"| `{key}` |" in page
    for name, model in MODELS.items():
        assert f"### {name}" in page and all(f"| `{key}` |" in page for key in model.model_fields)
    assert "| `target_approved_hits` | a whole number from 1 to 100000 | `10` |" in page
    assert "| `hit.reward` | dollars from" in page and "| `bonus.amount` |" in page


def test_iglu_params_reference_check_says_when_the_page_is_stale(tmp_path):
    stale = tmp_path / "parameters.md"
    stale.write_text("# old\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = [sys.executable, "-m", "iglu_lib.cli", "params", "reference"]
    done = subprocess.run([*run, "--check", "-o", str(stale)], capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 1 and "out of date" in done.stdout
    subprocess.run([*run, "-o", str(stale)], check=True, capture_output=True, env=env, cwd=ROOT)
    done = subprocess.run([*run, "--check", "-o", str(stale)], capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stdout
