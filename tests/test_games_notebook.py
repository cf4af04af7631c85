"""Notebook 05 runs headless on the local stack: simulated games are fetched, summarised,
judged, scrubbed and stored."""

from __future__ import annotations

import json

import pandas as pd

from iglu_lib import paths
from iglu_lib.notebooks import run_notebook


def test_game_data_notebook_runs_headless(local_profile, test_outputs):
    out_dir = test_outputs / "games"
    executed = run_notebook(
        "05_game_data",
        "params/05_game_data.yaml",
        parameters={"out_dir": str(out_dir.relative_to(paths.project_root())), "simulate_games": 6},
        output=test_outputs / "05_game_data.ipynb",
        progress=False,
    )
    summaries = pd.read_csv(out_dir / "summaries.csv")
    verdicts = pd.read_csv(out_dir / "verdicts.csv")
    stored = pd.read_csv(out_dir / "stored.csv")
    assert len(summaries) == len(verdicts) == len(stored) == 6
    assert summaries["reason"].isna().all() and summaries["structure_f1"].between(0, 1).all()
    assert set(verdicts["verdict"]) == {"approve", "reject"}
    assert (
        verdicts.loc[verdicts["verdict"] == "reject", "reasons"].str.contains("too_few_turns").all()
    )
    assert (
        stored["ResultGameDataPath"]
        .str.startswith(local_profile.storage.results_container + "/")
        .all()
    )
    assert (out_dir / "games.png").stat().st_size > 0
    text = executed.read_text()
    assert "jane.doe@example.com" not in text and "555-201-7788" not in text
    cells = json.loads(text)["cells"]
    assert not any(o.get("output_type") == "error" for c in cells for o in c.get("outputs", []))
