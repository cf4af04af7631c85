"""Comparisons from HIT groups, on small frames shaped like `read_feedback`'s output."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from iglu_lib.analysis.breakdowns import game_scores
from iglu_lib.analysis.loading import AnalysisInputError, prepare_games
from iglu_lib.analysis.preferences import ComparisonRules, compare, filter_games
from iglu_lib.analysis.ranking import position_bias, rank
from iglu_lib.platform.events import summarize

FIXTURES = Path(__file__).parent / "fixtures" / "greenlands" / "game_events"
TASK = "03794642-d5dc-40df-bd41-4cd898ae6b7c"


def _game(hit, agent, annotation, code_status="ok", task=TASK, game=None, **extra):
    if annotation is None:
        cell, status, parsed = "{}", "empty", None
    elif isinstance(annotation, str):
        cell, status, parsed = annotation, "invalid", None
    else:
        cell, status, parsed = json.dumps(annotation), "valid", annotation
    return {"HitId": hit, "GameMinecraftId": game or f"{hit}-{agent}", "TaskMinecraftId": task,
            "AgentName": agent, "Annotation": cell, "CompletionCode": "code",
            "annotation_status": status, "annotation": parsed, "code_status": code_status, **extra}


def _verdict(chosen, text=""):
    return {"was_chosen_best": chosen, "agent_performance": text}


def _frame(*games):
    return prepare_games(pd.DataFrame(list(games)))


def test_each_hit_is_decisive_undecided_or_excluded_with_its_reason():
    games = _frame(
        _game("h1", "A", _verdict(True)), _game("h1", "B", _verdict(False)),
        _game("h2", "A", _verdict(False)), _game("h2", "B", _verdict(False)),
        _game("h3", "A", _verdict(True)), _game("h3", "C", _verdict(True)),
        _game("h4", "A", "{{broken"), _game("h4", "B", _verdict(True)),
        _game("h5", "A", None), _game("h5", "B", None),
        _game("h6", "A", _verdict(True)), _game("h6", "B", None),
        _game("h7", "A", _verdict(True)),
        _game("h8", "B", _verdict(True)), _game("h8", "B", _verdict(False)),
        _game("h9", "", _verdict(True)), _game("h9", "B", _verdict(False)),
        _game("h10", "A", _verdict("yes")), _game("h10", "B", _verdict(False)),
    )
    comparisons = compare(games)
    hits = comparisons.hits.set_index("HitId")
    assert hits.loc["h1", "outcome"] == "decisive" and hits.loc["h1", "winner"] == "A"
    assert hits.loc["h2", ["outcome", "reason"]].tolist() == ["no_decision", "neither chosen"]
    assert hits.loc["h3", ["outcome", "reason"]].tolist() == ["no_decision", "several chosen"]
    assert hits.loc["h4", "reason"] == "malformed annotation (not JSON)"
    assert hits.loc["h5", "reason"] == "not annotated"
    assert hits.loc["h6", "reason"] == "partly annotated"
    assert hits.loc["h7", "reason"].startswith("missing game")
    assert hits.loc["h8", "reason"] == "same agent compared with itself: B"
    assert hits.loc["h9", "reason"] == "unknown agent: a game has no agent name"
    assert hits.loc["h10", "reason"] == "unusable annotation: was_chosen_best is 'yes', not true/false"
    counts = comparisons.counts()
    assert counts["hits"] == 10 and counts["complete_comparisons"] == 3
    assert counts["decisive"] == 1 and counts["no_decision"] == 2
    assert counts["excluded_games"]["not annotated"] == 2
    assert comparisons.win_matrix().loc["A", "B"] == 1
    assert compare(games, ComparisonRules(agents=frozenset({"A", "C"}))).hits.set_index("HitId").loc[
        "h1", "reason"] == "unknown agent: B"


def test_per_agent_wins_and_the_ok_codes_only_rule():
    games = _frame(
        _game("h1", "A", _verdict(True)), _game("h1", "B", _verdict(False)),
        _game("h2", "A", _verdict(True)), _game("h2", "B", _verdict(False), code_status="worker_id_pasted"),
        _game("h3", "A", _verdict(False)), _game("h3", "B", _verdict(True)),
    )
    per_agent = compare(games).per_agent().set_index("agent")
    assert per_agent.loc["A", ["wins", "decisive"]].tolist() == [2, 3]
    assert 0 < per_agent.loc["A", "win_rate_low"] < 2 / 3 < per_agent.loc["A", "win_rate_high"] < 1
    strict = compare(games, ComparisonRules(require_ok_codes=True))
    assert strict.counts()["excluded_hits"] == {"completion code not ok: worker_id_pasted": 1}
    assert games.set_index("HitId").loc["h2", "worker_quality"].tolist() == ["flagged", "flagged"]
    assert games.set_index("HitId").loc["h1", "worker_quality"].tolist() == ["good", "good"]


def _pairwise_answer(best, join1="join-1", join2="join-2"):
    return {"joinCode1": join1, "joinCode2": join2, "completionCode1": "c1", "completionCode2": "c2",
            "agent1_performance": "first text", "agent2_performance": "second text",
            "best_agent": {"agent1_option": best == 1, "agent2_option": best == 2}}


def test_pairwise_answers_give_the_shown_order_and_position_bias():
    rows = []
    # The agent shown first wins the six HITs p0..p5 and loses p6 and p8.
    for k in range(6):
        first, second = ("X", "Y") if k % 2 else ("Y", "X")
        answer = _pairwise_answer(best=1)
        rows += [_game(f"p{k}", first, answer, JoinCode="join-1", WorkerId=f"w{k}"),
                 _game(f"p{k}", second, answer, JoinCode="join-2", WorkerId=f"w{k}")]
    answer = _pairwise_answer(best=2)
    rows += [_game("p6", "X", answer, JoinCode="join-1"), _game("p6", "Y", answer, JoinCode="join-2")]
    rows += [_game("p7", "X", answer, JoinCode="elsewhere"), _game("p7", "Y", answer, JoinCode="join-2")]
    rows += [_game("p8", "Y", answer, JoinCode="join-1"), _game("p8", "X", answer, JoinCode="join-2")]
    games = _frame(*rows)
    assert games.loc[games["HitId"] == "p0", "feedback_text"].tolist() == ["first text", "second text"]
    comparisons = compare(games)
    hits = comparisons.hits.set_index("HitId")
    assert hits.loc["p1", "first"] == "X" and hits.loc["p0", "first"] == "Y"
    assert hits.loc["p6", "winner"] == "Y"
    assert hits.loc["p7", "reason"].startswith("unusable annotation: neither joinCode1/2")
    bias = position_bias(comparisons, replicates=50, seed=1)
    assert (bias.known_order, bias.first_wins) == (8, 6)
    assert bias.low < 6 / 8 < bias.high
    assert bias.gamma > 0
    assert hits.loc["p0", "worker"] == "w0"


def test_filters_keep_whole_hits_and_an_agent_that_never_won_still_gets_a_wide_interval():
    games = _frame(
        _game("h1", "A", _verdict(True)), _game("h1", "B", _verdict(False), task="NA"),
        _game("h2", "A", _verdict(True), task="other"), _game("h2", "B", _verdict(False), task="other"),
    )
    kept = filter_games(games, tasks=[TASK])
    assert kept["HitId"].tolist() == ["h1", "h1"]
    ranking = rank(compare(games), replicates=20)
    # B never won: no maximum-likelihood answer, but the weak prior gives one, with an
    # interval so wide that A and B share the interval rank 1.
    assert ranking.problem is None and ranking.order == ["A", "B"]
    table = ranking.table.set_index("agent")
    assert (table["strength_high"] - table["strength_low"] > 3).all()
    assert table["interval_rank"].tolist() == [1, 1]


def test_summaries_are_joined_by_game_and_bad_summaries_are_refused():
    base = pd.DataFrame([_game("h1", "A", _verdict(True)), _game("h1", "B", _verdict(False))])
    summaries = pd.DataFrame({"GameMinecraftId": ["h1-A"], "turns": [3], "structure_f1": [0.5]})
    games = prepare_games(base, summaries)
    assert games["turns"].tolist()[0] == 3 and pd.isna(games["turns"].tolist()[1])
    with pytest.raises(AnalysisInputError, match="more than once"):
        prepare_games(base, pd.concat([summaries, summaries]))
    with pytest.raises(AnalysisInputError, match="lack the column"):
        prepare_games(base.drop(columns=["code_status"]))


def test_game_summaries_of_real_events_give_scores_per_agent():
    events = json.loads((FIXTURES / "GameEvents1_Complete.json").read_text())
    summary = summarize(events).as_dict()  # the games stage's per-game summary
    base = pd.DataFrame([_game("h1", "A", _verdict(True), game=summary["game_id"]),
                         _game("h1", "B", _verdict(False))])
    games = prepare_games(base, pd.DataFrame([summary]))
    scores = game_scores(games).set_index("agent")
    assert scores.loc["A", "games"] == 1 and "B" not in scores.index
    assert scores.loc["A", "blocks_placed_mean"] == 4 and scores.loc["A", "task_completed_mean"] == 1.0
