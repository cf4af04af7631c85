"""Agreement, judges and the next step: Krippendorff's alpha with its interval, the per-judge test
under the fitted model, the unsettled pairs with simulated further comparisons, and the follow-up
campaign file that targets them (read by the campaign parameters, scheduled by the scheduler)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from iglu_lib.analysis import agreement
from iglu_lib.analysis.loading import default_input, load_games
from iglu_lib.analysis.next_step import next_step
from iglu_lib.analysis.preferences import compare
from iglu_lib.analysis.report import analyze
from iglu_lib.cli import main


def test_iglu_analyze_json_carries_alpha_the_judge_test_and_the_unsettled_pairs(tmp_path, capsys):
    assert main(["analyze", "--out", str(tmp_path / "a"), "--json", "--replicates", "200"]) == 0
    summary = json.loads(capsys.readouterr().out)
    alpha = summary["agreement"]
    assert alpha["alpha"] == pytest.approx(0.456, abs=0.001) and alpha["units"] == 12 and alpha["judgements"] == 27
    low, high = alpha["interval"]
    assert low < alpha["alpha"] < high and alpha["level"] == 0.95
    judges = summary["judge_test"]
    assert judges["judges_tested"] == 0 and judges["note"]  # the published export has no worker ids
    step = summary["next_step"]
    pairs = {tuple(p["pair"]): p for p in step["unsettled_pairs"]}
    assert set(pairs) == {("Happy", "MHB"), ("Happy", "Felipe"), ("MHB", "Felipe")}
    # the closer the fitted pair, the more comparisons it needs
    assert pairs[("Happy", "Felipe")]["further_decisive_comparisons"] < pairs[("Happy", "MHB")][
        "further_decisive_comparisons"] < pairs[("MHB", "Felipe")]["further_decisive_comparisons"]
    for pair in pairs.values():
        low, high = pair["quartiles"]
        assert low <= pair["further_decisive_comparisons"] <= high


def _votes(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    """Games of two-agent HITs: (hit, worker, winner, loser)."""
    games = []
    for hit, worker, winner, loser in rows:
        for agent, chosen in ((winner, True), (loser, False)):
            games.append({"HitId": hit, "GameMinecraftId": f"{hit}-{agent}", "TaskMinecraftId": f"task-{hash(hit) % 4}",
                          "AgentName": agent, "Annotation": json.dumps({"was_chosen_best": chosen}),
                          "CompletionCode": "", "WorkerId": worker, "PartitionKey": "c", "RowKey": f"{hit}-{agent}",
                          "JoinCode": ""})
    return load_games(records=pd.DataFrame(games), salt="salt")


def test_a_judge_who_votes_against_the_model_is_flagged_and_left_out_of_the_sensitivity():
    rng = np.random.default_rng(1)
    rows = []
    for hit in range(240):  # honest judges: A beats B beats C, mostly
        a, b = sorted(rng.choice(["A", "B", "C"], 2, replace=False))
        better, worse = (a, b)
        win = rng.random() < 0.8
        rows.append((f"h{hit}", f"W{hit % 8}", better if win else worse, worse if win else better))
    for hit in range(30):  # the contrarian always picks the weaker agent
        a, b = sorted(rng.choice(["A", "B", "C"], 2, replace=False))
        rows.append((f"x{hit}", "CONTRARIAN", b, a))
    analysis = analyze(_votes(rows), replicates=50)
    judges = analysis.judges
    flagged = judges.loc[judges["model_flagged"], "worker"].tolist()
    assert len(flagged) == 1 and len(judges) == 9
    contrarian = judges.set_index("worker").loc[flagged[0]]
    assert contrarian["with_favourite"] == 0 and contrarian["model_p_value"] < 1e-6
    assert contrarian["expected_with_favourite"] > 20
    assert analysis.flagged_workers() == flagged
    kept = analysis.annotator_comparisons.counts()["decisive"]
    assert kept == analysis.comparisons.counts()["decisive"] - 30
    summary = analysis.summary()
    assert summary["judge_test"]["flagged_workers"] == flagged
    assert summary["annotator_sensitivity"]["left_out_workers"] == flagged


def test_poisson_binomial_matches_the_binomial_when_all_probabilities_are_equal():
    for k in range(11):
        assert agreement.poisson_binomial_cdf(k, np.full(10, 0.7)) == pytest.approx(binom.cdf(k, 10, 0.7))


def test_alpha_is_perfect_for_agreeing_units_and_undefined_without_repeats():
    rows = [(f"h{i}", f"W{i}", "A", "B") for i in range(6)] + [(f"g{i}", f"V{i}", "B", "C") for i in range(6)]
    games = _votes(rows)
    comparisons = compare(games)
    result = agreement.krippendorff_alpha(comparisons, replicates=50)
    assert result.alpha == pytest.approx(1.0) and result.low == pytest.approx(1.0)
    single = compare(games.drop_duplicates("TaskMinecraftId").pipe(lambda g: games[games["HitId"].isin(g["HitId"])]))
    lonely = agreement.krippendorff_alpha(single, replicates=10)
    assert np.isnan(lonely.alpha) and lonely.note


def test_a_settled_order_needs_no_next_step_and_a_close_pair_needs_more():
    settled = next_step(np.array([[0, 80], [20, 0]]), ["A", "B"], simulations=30)
    assert settled.pairs == []
    close = next_step(np.array([[0, 11], [10, 0]]), ["A", "B"], simulations=30).pairs[0]
    wider = next_step(np.array([[0, 15], [6, 0]]), ["A", "B"], simulations=30).pairs[0]
    assert close.needed is None or close.needed > wider.needed  # type: ignore[operator]
    assert (wider.leader, wider.other) == ("A", "B") and wider.p_leader_wins > 0.5


def test_the_follow_up_file_is_campaign_parameters_for_the_unsettled_pairs(tmp_path, capsys):
    from iglu_lib.collection.params import CampaignParams
    from iglu_lib.scheduling import Scheduler

    follow = tmp_path / "follow-up.yaml"
    assert main(["analyze", "--out", str(tmp_path / "a"), "--follow-up", str(follow), "--replicates", "100"]) == 0
    assert f"iglu collect --params {follow}" in capsys.readouterr().out
    params = CampaignParams.from_file(follow)
    assert params.campaign == "demo-adaptive-follow-up" and params.scheduling["strategy"] == "adaptive"
    assert set(params.pairs) == {("Happy", "MHB"), ("Happy", "Felipe"), ("MHB", "Felipe")}
    assert params.target_approved_hits > 100 and not params.stop_when
    assert "Happy vs MHB:" in follow.read_text()
    join_codes = {"t": {"task_join_code": "/plaiground:join-task-with-agent T:C:t", "task_id": "t"}}
    instances = {a: [{"agent_instance_id": f"{a}1"}] for a in ("Happy", "MHB", "Felipe", "Other")}
    scheduler = Scheduler.from_content(join_codes, instances, 2, only=[["MHB", "Happy"]])
    assert scheduler.combinations == [("Happy", "MHB")]
    from iglu_lib.scheduling.model import SchedulingError

    with pytest.raises(SchedulingError, match="unknown: Nobody"):
        Scheduler.from_content(join_codes, instances, 2, only=[["Happy", "Nobody"]])
    from iglu_lib.config import ConfigError

    with pytest.raises(ConfigError, match="pairs is .*should be a list"):
        CampaignParams.from_mapping({"campaign": "c", "join_codes": "j", "agent_instances": "a", "pairs": "Happy"})


def test_the_bundled_export_as_records_runs_the_judge_test():
    raw = pd.read_csv(default_input(), dtype=str, keep_default_na=False)
    records = raw.assign(PartitionKey="campaign", RowKey=raw.index.astype(str), JoinCode="",
                         WorkerId=[f"A{i // 8:012d}XYZ" for i in range(len(raw))])
    analysis = analyze(load_games(records=records, salt="test-salt"), replicates=30)
    assert len(analysis.judges) > 5 and analysis.judges["model_p_value"].between(0, 1).all()


def test_hits_of_three_agents_get_a_page_without_a_next_step_estimate(tmp_path):
    from iglu_lib.analysis.leaderboard import write_page

    games = []
    rng = np.random.default_rng(3)
    for hit in range(30):
        chosen = ["A", "B", "C"][int(rng.choice(3, p=[0.6, 0.3, 0.1]))]
        for agent in ("A", "B", "C"):
            games.append({"HitId": f"h{hit}", "GameMinecraftId": f"h{hit}-{agent}", "TaskMinecraftId": f"t{hit % 3}",
                          "AgentName": agent, "Annotation": json.dumps({"was_chosen_best": agent == chosen}),
                          "CompletionCode": "", "WorkerId": f"W{hit % 5}", "PartitionKey": "c",
                          "RowKey": f"h{hit}-{agent}", "JoinCode": ""})
    analysis = analyze(load_games(records=pd.DataFrame(games), salt="salt"), replicates=50)
    assert analysis.next_step is None and "two-agent HITs only" in analysis.next_step_note
    assert analysis.summary()["next_step"]["unsettled_pairs"] is None
    page = write_page(analysis, tmp_path / "page.html", "three agents").read_text(encoding="utf-8")
    assert "No estimate: the estimate covers two-agent HITs only" in page and "<th>Rank (95% range)</th>" in page
