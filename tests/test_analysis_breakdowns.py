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
