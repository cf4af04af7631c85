"""`iglu analyze --campaign`: a campaign's game records in Azurite (written through
`iglu_lib.storage`) are analysed with their shown order, and worker ids never reach outputs."""

from __future__ import annotations

import json

import pandas as pd

from iglu_lib.cli import main
from iglu_lib.platform.codes import make_completion_code
from iglu_lib.scheduling import Scheduler
from iglu_lib.storage import GameRecords

RAW_WORKER = "A1B2C3D4E5F6G7"


def _content():
    join_codes = {f"task-{i}": {"task_join_code": f"/plaiground:join-task-with-agent T:C:tid{i}",
                                "task_id": f"tid{i}"} for i in range(2)}
    instances = {a: [{"agent_instance_id": f"{a}{j}", "agent_instance_name": f"{a} {j}"} for j in range(5)]
                 for a in ("Alpha", "Beta")}
    return join_codes, instances


def _answer(rows, best_position: int, codes: list[str]) -> dict:
    return {"joinCode1": rows[0].join_code, "joinCode2": rows[1].join_code,
            "completionCode1": codes[0], "completionCode2": codes[1],
            "agent1_performance": f"first <b>shown</b> | {RAW_WORKER}", "agent2_performance": "second shown",
            "best_agent": {"agent1_option": best_position == 1, "agent2_option": best_position == 2}}


def _play(records: GameRecords, slot, hit: int, best_position: int, **verdict) -> None:
    rows = records.plan(slot)
    codes = [make_completion_code(tournament_id="T", challenge_id="C", task_id=slot.task_id,
                                  game_id=f"game-{hit}-{k}", role_id="architect", agent_service_id=row.agent_name)
             for k, row in enumerate(rows)]
    answer = _answer(rows, best_position, codes)
    rows = records.update_many([(r, {"status": "hit_created", "hit_id": f"HIT{hit}"}) for r in rows])
    records.update_many([
        (r, {"status": "submitted", "worker_id": RAW_WORKER, "completion_code": code,
             "game_minecraft_id": f"game-{hit}-{k}", "annotation": answer, **verdict})
        for k, (r, code) in enumerate(zip(rows, codes, strict=True))
    ])


def test_campaign_records_are_analysed_with_their_shown_order(local_profile, unique_name, tmp_path, capsys):
    campaign = unique_name("analysis")
    records = GameRecords.open(local_profile, campaign)
    scheduler = Scheduler.from_content(*_content(), 2, seed=3)
    for hit, best in enumerate([1, 1, 1, 2]):  # the agent shown first wins three of four
        verdict = {"verdict": "reject", "reasons": ["too_few_turns"]} if hit == 3 else {"verdict": "approve"}
        _play(records, scheduler.next(), hit, best, **verdict)
    records.plan(scheduler.next())  # a HIT not yet played: excluded as not annotated

    out = tmp_path / "campaign"
    assert main(["analyze", "--campaign", campaign, "--profile", "local", "--out", str(out),
                 "--json", "--replicates", "50"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["counts"]["hits"] == 5
    assert summary["counts"]["decisive"] == 4
    assert summary["counts"]["excluded_hits"] == {"not annotated": 1}
    bias = summary["position_bias"]
    assert (bias["known_order"], bias["first_shown_wins"]) == (4, 3)
    assert bias["probability_first_wins"] == 0.75
    assert all(row["interval_rank"] >= 1 for row in summary["ranking"]["agents"])
    view = summary["annotator_sensitivity"]  # one worker: no consensus of others to test against
    assert view["workers_tested"] == 0 and view["flagged_workers"] == [] and view["same_order"]
    assert (out / "annotators.csv").exists() and "strength_without_flagged" in (out / "sensitivity.csv").read_text()
    for path in out.iterdir():
        assert RAW_WORKER not in path.read_bytes().decode("utf-8", "replace"), path.name
    quality = pd.read_csv(out / "worker_quality.csv")
    worker = quality[quality["worker"].str.startswith("worker-")].iloc[0]
    assert worker["quality"] == "flagged"  # one HIT of this worker was rejected
    assert (worker["reason_too_few_turns"], worker["verdict_approve"], worker["verdict_reject"]) == (2, 6, 2)


def test_an_unknown_campaign_is_a_one_line_error(local_profile, unique_name, tmp_path, capsys):
    assert main(["analyze", "--campaign", unique_name("none"), "--out", str(tmp_path)]) == 2
    assert "has no game records" in capsys.readouterr().err


def test_notebook_reads_a_campaign_from_storage(local_profile, unique_name, test_outputs):
    from iglu_lib import paths
    from iglu_lib.notebooks import run_notebook

    campaign = unique_name("nb")
    records = GameRecords.open(local_profile, campaign)
    scheduler = Scheduler.from_content(*_content(), 2, seed=5)
    for hit, best in enumerate([1, 2, 1]):
        _play(records, scheduler.next(), hit, best)
    out_dir = "outputs/tests/06_analysis_campaign"
    run_notebook("06_analysis", "params/06_analysis.yaml",
                 parameters={"campaign": campaign, "replicates": 50, "explorer_replicates": 10, "out_dir": out_dir},
                 output=test_outputs / "06_analysis_campaign.ipynb", progress=False)
    summary = json.loads((paths.project_root() / out_dir / "summary.json").read_text())
    assert summary["counts"]["decisive"] == 3 and summary["position_bias"]["known_order"] == 3
