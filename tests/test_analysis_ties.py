"""Ties ("both equally good", "both bad"): how an answer is read, what a record keeps, how the
export carries it, what the analysis counts, and how the fit uses it (half a win each, Arena's
convention, or left out with the switch)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from iglu_lib.analysis import choice
from iglu_lib.analysis.loading import prepare_games
from iglu_lib.analysis.preferences import compare
from iglu_lib.analysis.ranking import choices_of, position_bias, rank
from iglu_lib.analysis.report import analyze
from iglu_lib.collection.judge import annotation_of, hit_outcome
from iglu_lib.pages.answers import BOTH_BAD, BOTH_GOOD, read_choice
from iglu_lib.platform.feedback import read_feedback, write_feedback

TASK = "03794642-d5dc-40df-bd41-4cd898ae6b7c"


def _answers(**best):
    return {"agent1_performance": "first", "agent2_performance": "second",
            "best_agent": {"agent1_option": False, "agent2_option": False, **best}}


def _record_games(hit, first, second, answers, ties=(BOTH_GOOD, BOTH_BAD), worker=None):
    """The two games of a HIT as the campaign stores them (the annotation `judge` writes)."""
    rows = []
    for position, agent in enumerate((first, second)):
        annotation, _ = annotation_of(answers, position, 2, ties)
        rows.append({"HitId": hit, "GameMinecraftId": f"{hit}-{agent}", "TaskMinecraftId": TASK,
                     "AgentName": agent, "Annotation": json.dumps(annotation), "CompletionCode": "code",
                     "annotation_status": "valid", "annotation": annotation, "code_status": "ok",
                     "ShownPosition": str(position), "WorkerId": worker or f"w-{hit}"})
    return rows


def _games(*hits):
    return prepare_games(pd.DataFrame([row for hit in hits for row in hit]))


def _decisive(hit, first, second, winner):
    return _record_games(hit, first, second, _answers(**{f"agent{winner}_option": True}))


def _tie(hit, first, second, kind=BOTH_GOOD):
    return _record_games(hit, first, second, _answers(**{kind: True}))


# -- reading the answer ---------------------------------------------------------------------------

def test_exactly_one_offered_choice_is_a_decision_or_a_tie():
    assert read_choice({"agent1_option": True, "agent2_option": False}, 2).winner == 1
    assert read_choice({"agent1_option": False, "agent2_option": True, BOTH_GOOD: False, BOTH_BAD: False},
                       2).outcome == "decisive"
    assert read_choice(_answers(both_good_option=True)["best_agent"], 2).outcome == "tie_good"
    assert read_choice(_answers(both_bad_option=True)["best_agent"], 2).outcome == "tie_bad"


@pytest.mark.parametrize(("best", "offered", "said"), [
    ({"agent1_option": True, "agent2_option": True}, (BOTH_GOOD, BOTH_BAD), "several options"),
    ({"agent1_option": True, BOTH_BAD: True}, (BOTH_GOOD, BOTH_BAD), "several options"),
    ({BOTH_GOOD: True}, (BOTH_BAD,), "a tie this HIT's page did not offer"),
    ({BOTH_BAD: True}, (), "a tie this HIT's page did not offer"),
    ({"agent1_option": False, "agent2_option": False}, (BOTH_GOOD,), "no option"),
    ({"x" * 5000: True}, (), "an unknown option"),
    ({"agent1_option": "yes"}, (), "not true/false"),
    ("agent1_option", (), "not a set of options"),
    (None, (), "missing"),
])
def test_an_unusable_choice_is_no_decision_with_a_short_reason(best, offered, said):
    found = read_choice(best, 2, offered)
    assert found.outcome == "no_decision" and found.winner is None
    assert said in found.problem and len(found.problem) < 200


def test_ties_are_offered_only_beside_two_games():
    assert read_choice({"agent1_option": False, "agent2_option": False, "agent3_option": False,
                        BOTH_GOOD: True}, 3).outcome == "no_decision"


# -- records and the export --------------------------------------------------------------------

def test_a_record_keeps_the_outcome_and_an_old_answer_reads_as_before():
    tie, _ = annotation_of(_answers(both_bad_option=True), 0, 2)
    assert tie == {"was_chosen_best": False, "agent_performance": "first", "outcome": "tie_bad"}
    refused, _ = annotation_of(_answers(both_good_option=True), 1, 2, ties=(BOTH_BAD,))
    assert refused["outcome"] == "no_decision" and "did not offer" in refused["choice_problem"]
    old, _ = annotation_of({"best_agent": {"agent1_option": False, "agent2_option": True}}, 1, 2)
    assert old["was_chosen_best"] is True and old["outcome"] == "decisive"
    assert hit_outcome([tie, tie]) == "tie_bad"
    assert hit_outcome([{"was_chosen_best": True}, {"was_chosen_best": False}]) == "decisive"  # before ties
    assert hit_outcome([{"was_chosen_best": False}, {"was_chosen_best": False}]) == "no_decision"
    assert hit_outcome([tie, {**tie, "outcome": "tie_good"}]) == "no_decision"
    assert hit_outcome([{"agent_performance": "x"}]) is None


def test_the_export_carries_ties_and_reads_back(tmp_path):
    frame = pd.DataFrame([{k: v for k, v in row.items() if k in ("HitId", "GameMinecraftId", "TaskMinecraftId",
                                                                 "AgentName", "Annotation", "CompletionCode")}
                          for row in _tie("h1", "A", "B") + _decisive("h2", "A", "B", 2)])
    path = write_feedback(frame, tmp_path / "feedback.csv", salt="salt")
    back = read_feedback(path)
    assert [a["outcome"] for a in back["annotation"]] == ["tie_good", "tie_good", "decisive", "decisive"]
    assert back["Annotation"].tolist() == frame["Annotation"].tolist()
    counts = compare(prepare_games(back)).counts()
    assert (counts["decisive"], counts["ties"], counts["ties_both_good"]) == (1, 1, 1)


# -- counts --------------------------------------------------------------------------------------

def test_counts_name_decisive_ties_by_kind_and_no_decision():
    games = _games(_decisive("h1", "A", "B", 1), _decisive("h2", "B", "C", 2), _tie("h3", "A", "B"),
                   _tie("h4", "C", "A", BOTH_BAD), _tie("h5", "B", "C", BOTH_BAD),
                   _record_games("h6", "A", "C", _answers()),                        # nothing chosen
                   _record_games("h7", "A", "C", _answers(agent1_option=True, both_good_option=True)))
    comparisons = compare(games)
    counts = comparisons.counts()
    assert counts["complete_comparisons"] == 7
    assert (counts["decisive"], counts["ties"], counts["ties_both_good"], counts["ties_both_bad"],
            counts["no_decision"]) == (2, 3, 1, 2, 2)
    hits = comparisons.hits.set_index("HitId")
    assert hits.loc["h3", ["outcome", "tie"]].tolist() == ["tie", "both_good"] and pd.isna(hits.loc["h3", "winner"])
    assert hits.loc["h7", "outcome"] == "no_decision" and "several options" in hits.loc["h7", "reason"]
    assert hits.loc["h6", "reason"] == "no usable choice: best_agent chose no option"
    per_agent = comparisons.per_agent().set_index("agent")
    assert per_agent["ties"].to_dict() == {"A": 2, "B": 2, "C": 2}
    assert per_agent.loc["A", ["wins", "decisive"]].tolist() == [1, 1]  # win rates leave ties out
    summary = analyze(games, replicates=20).summary()
    assert summary["counts"]["ties_both_bad"] == 2 and "half a win" in summary["ranking"]["ties"]
    table = analyze(games, replicates=20).tables()["counts"].set_index("count")["value"]
    assert table["ties"] == 3 and table["ties_both_good"] == 1 and table["no_decision"] == 2


def test_games_that_disagree_on_the_outcome_are_excluded():
    rows = _tie("h1", "A", "B")
    rows[1] = {**rows[1], "annotation": {**rows[1]["annotation"], "outcome": "tie_bad"}}
    hits = compare(_games(rows)).hits
    assert hits.loc[0, "reason"] == "unusable annotation: the games disagree on the HIT's outcome"


# -- the fit -----------------------------------------------------------------------------------

def _campaign():
    return (_decisive("h1", "A", "B", 1), _decisive("h2", "B", "A", 2), _decisive("h3", "A", "B", 1),
            _decisive("h4", "B", "C", 1), _decisive("h5", "C", "B", 2), _decisive("h6", "A", "C", 2),
            _decisive("h7", "C", "A", 1))


def test_a_tie_shifts_strengths_exactly_as_half_a_win_each():
    with_ties = compare(_games(*_campaign(), _tie("t1", "A", "B"), _tie("t2", "B", "A", BOTH_BAD),
                               _tie("t3", "C", "A")))
    fitted = rank(with_ties, replicates=10).table.set_index("agent")
    agents = with_ties.agents
    wins = with_ties.win_matrix().loc[agents, agents].to_numpy(dtype=float, copy=True)
    for a, b in (("A", "B"), ("A", "B"), ("A", "C")):  # each tie: half a win each way
        i, j = agents.index(a), agents.index(b)
        wins[i, j] += 0.5
        wins[j, i] += 0.5
    by_hand = choice.fit_wins(wins, tolerance=1e-12)
    assert np.allclose(fitted.loc[agents, "strength"].to_numpy(), by_hand.strengths, atol=1e-8)
    assert choices_of(with_ties).total == 10  # one observation per HIT, ties included


def test_ties_pull_strengths_together_and_the_switch_leaves_them_out():
    without = rank(compare(_games(*_campaign())), replicates=10).table.set_index("agent")["strength"]
    ties = [_tie(f"t{n}", "A", "B", BOTH_GOOD if n % 2 else BOTH_BAD) for n in range(6)]
    counted = rank(compare(_games(*_campaign(), *ties)), replicates=10).table.set_index("agent")["strength"]
    left_out = rank(compare(_games(*_campaign(), *ties)), replicates=10, ties=False).table.set_index("agent")
    assert abs(counted["A"] - counted["B"]) < abs(without["A"] - without["B"])
    assert np.allclose(left_out["strength"].sort_index(), without.sort_index(), atol=1e-12)
    analysis = analyze(_games(*_campaign(), *ties), replicates=10, ties=False)
    assert analysis.comparisons.counts()["ties"] == 6  # still counted
    assert "left out" in analysis.summary()["ranking"]["ties"]
    assert np.allclose(analysis.ranking.table.set_index("agent")["strength"].sort_index(), without.sort_index())


def test_position_bias_counts_ties_as_half_a_win_for_each_order():
    rows = [_decisive(f"h{n}", "A" if n % 2 else "B", "B" if n % 2 else "A", 1) for n in range(8)]
    rows += [_decisive("h8", "A", "B", 2), _decisive("h9", "B", "A", 2)]
    comparisons = compare(_games(*rows))
    with_ties = compare(_games(*rows, *[_tie(f"t{n}", "A" if n % 2 else "B", "B" if n % 2 else "A")
                                        for n in range(10)]))
    plain = position_bias(comparisons, replicates=20)
    tied = position_bias(with_ties, replicates=20)
    assert (tied.known_order, tied.first_wins) == (plain.known_order, plain.first_wins)  # decisive only
    assert 0 < tied.gamma < plain.gamma  # ties say the first shown is not always preferred
    assert position_bias(with_ties, replicates=20, ties=False).gamma == pytest.approx(plain.gamma)


def test_iglu_analyze_counts_ties_and_leaves_them_out_on_request(tmp_path):
    import subprocess
    import sys

    rows = [row for hit in (*_campaign(), _tie("t1", "A", "B"), _tie("t2", "C", "B", BOTH_BAD)) for row in hit]
    export = write_feedback(pd.DataFrame(rows)[["HitId", "GameMinecraftId", "TaskMinecraftId", "AgentName",
                                                "Annotation", "CompletionCode"]], tmp_path / "in.csv", salt="s")

    def run(*extra):
        done = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "analyze", "--input", str(export),
                               "--out", str(tmp_path / "out"), "--replicates", "20", *extra],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    printed = run()
    assert "7 decisive, 2 ties: 1 both good, 1 both bad, 0 without decision" in printed
    assert "ties count as half a win each" in printed
    summary = json.loads(run("--leave-out-ties", "--json"))
    assert summary["counts"]["ties"] == 2 and "left out" in summary["ranking"]["ties"]
    assert "ties_both_good" in (tmp_path / "out" / "counts.csv").read_text()


# -- the rehearsal crowd -------------------------------------------------------------------------

def test_simulated_workers_answer_ties_only_where_the_page_offers_them():
    from iglu_lib.local.workers import SimulatedCrowd, ties_offered
    from iglu_lib.pages.templates import render_hit

    join = "/plaiground:join-task-with-agent T1:C1:TASK1"
    joins = [f"{join}:inst-a", f"{join}:inst-b"]
    crowd = SimulatedCrowd("http://127.0.0.1:9", None, [], skill_of_instance={"inst-a": 0.6, "inst-b": 0.5},
                           tie_margin=0.6, seed=1)
    page = render_hit("pairwise", {"task_name": "t", "task_join_code": join, "agent_instance_ids": ["inst-a", "inst-b"],
                                   "offer_both_bad": False})
    assert ties_offered(page) == (BOTH_GOOD,)
    offered = [crowd._answers(joins, ["c1", "c2"], ties_offered(page))["best_agent"] for _ in range(200)]
    assert all(sum(best.values()) == 1 and BOTH_BAD not in best for best in offered)
    assert 20 < sum(best[BOTH_GOOD] for best in offered) < 120
    plain = [crowd._answers(joins, ["c1", "c2"])["best_agent"] for _ in range(50)]
    assert all(set(best) == {"agent1_option", "agent2_option"} and sum(best.values()) == 1 for best in plain)
