"""Annotator safeguards: agreement with the others' consensus, the binomial flag, and the
ranking without flagged workers beside the other sensitivity view."""

from __future__ import annotations

import random

import pandas as pd

from iglu_lib.analysis.annotators import worker_agreement
from iglu_lib.analysis.loading import default_input, load_games, prepare_games
from iglu_lib.analysis.preferences import compare
from iglu_lib.analysis.report import analyze

TASK = "03794642-d5dc-40df-bd41-4cd898ae6b7c"
ORDER = ["A", "B", "C"]  # A best


def _hit(hit: str, agents: list[str], best: str, worker: str) -> list[dict]:
    return [{"HitId": hit, "GameMinecraftId": f"{hit}-{a}", "TaskMinecraftId": TASK, "AgentName": a,
             "Annotation": "", "CompletionCode": "code", "annotation_status": "valid",
             "annotation": {"was_chosen_best": a == best, "agent_performance": ""}, "code_status": "ok",
             "shown_position": position + 1, "WorkerId": worker}
            for position, a in enumerate(agents)]


def _games(adversarial_hits: int = 15, seed: int = 0) -> pd.DataFrame:
    """Six honest workers (pick the better agent 85% of the time) and one who picks the worse."""
    rng, rows, h = random.Random(seed), [], 0
    for worker in [f"honest{i}" for i in range(6)] + ["contrarian"]:
        for _ in range(adversarial_hits if worker == "contrarian" else 15):
            pair = rng.sample(ORDER, 2)
            better, worse = sorted(pair, key=ORDER.index)
            best = worse if worker == "contrarian" else (better if rng.random() < 0.85 else worse)
            rows += _hit(f"h{h}", pair, best, worker)
            h += 1
    return prepare_games(pd.DataFrame(rows))


def test_a_worker_who_contradicts_the_crowd_is_flagged_and_honest_ones_are_not():
    table = worker_agreement(compare(_games())).set_index("worker")
    assert table.loc["contrarian", "flagged"] and table.loc["contrarian", "agreement"] < 0.2
    assert table.loc["contrarian", "p_value"] < 0.01
    honest = table.drop(index="contrarian")
    assert not honest["flagged"].any() and (honest["agreement"] > 0.6).all()
    assert (honest["consensus_rate"].between(0.6, 0.95)).all()


def test_too_few_hits_are_never_enough_to_flag():
    table = worker_agreement(compare(_games(adversarial_hits=2))).set_index("worker")
    assert table.loc["contrarian", "agreement"] == 0 and not table.loc["contrarian", "flagged"]


def test_the_ranking_without_flagged_workers_sits_beside_the_ok_codes_view():
    result = analyze(_games(), replicates=100)
    summary = result.summary()["annotator_sensitivity"]
    assert summary["flagged_workers"] == ["contrarian"]
    assert summary["counts"]["decisive"] == 90 and result.comparisons.counts()["decisive"] == 105
    assert summary["ranking"]["order"] == ORDER
    table = result.sensitivity_table()
    assert {"strength_all", "strength_ok_codes", "strength_without_flagged"} <= set(table.columns)
    assert "annotators" in result.tables()


def test_the_real_export_has_one_hit_per_worker_so_nobody_can_be_flagged():
    raw = pd.read_csv(default_input(), dtype=str, keep_default_na=False)
    records = raw.assign(PartitionKey="campaign", RowKey=raw.index.astype(str), JoinCode="",
                         WorkerId="A" + raw["HitId"])  # one worker per HIT
    result = analyze(load_games(records=records, salt="test-salt"), replicates=50)
    view = result.summary()["annotator_sensitivity"]
    assert view["flagged_workers"] == [] and view["same_order"] is True
    assert view["workers_tested"] > 0 and result.annotators["decisive"].max() == 1
    assert view["counts"]["decisive"] == 64
