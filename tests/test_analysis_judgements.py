"""The reading of one game's annotation into a judgement, schema by schema: what decides whether
a game counts as chosen, tied, or unusable (and why) in every ranking."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from iglu_lib.analysis.judgements import Judgement, judge, record_position

#: Shown first (stored 0-based): where an answer's codes do not say, the game was agent 1.
GAME = {"JoinCode": "/join T:C:house:a-1", "CompletionCode": "CODE-A", "ShownPosition": "0"}


def test_nothing_annotated_is_an_empty_judgement_and_an_unknown_shape_names_its_fields():
    assert judge(None, GAME) == Judgement() and judge({}, GAME) == Judgement()
    unknown = judge({"zeta": 1, "alpha": 2}, GAME)
    assert unknown.problem == "annotation has no known verdict field (fields: alpha, zeta)"


@pytest.mark.parametrize(("annotation", "expected"), [
    ({"was_chosen_best": True, "agent_performance": "  fine "}, Judgement(True, "fine", 1)),
    ({"was_chosen_best": False, "agent_performance": 7}, Judgement(False, "", 1)),
    ({"was_chosen_best": False, "outcome": "decisive"}, Judgement(False, "", 1, outcome="decisive")),
    ({"was_chosen_best": None, "outcome": "tie_good"}, Judgement(False, "", 1, outcome="tie_good")),
    ({"was_chosen_best": None, "outcome": "tie_bad"}, Judgement(False, "", 1, outcome="tie_bad")),
])
def test_a_per_game_verdict_reads_choice_text_position_and_outcome(annotation, expected):
    assert judge(annotation, GAME) == expected


def test_a_per_game_verdict_that_is_not_a_choice_or_names_an_unknown_outcome_is_a_problem():
    assert judge({"was_chosen_best": "yes", "agent_performance": "ok"}, GAME) == Judgement(
        text="ok", problem="was_chosen_best is 'yes', not true/false")
    assert judge({"was_chosen_best": None, "outcome": "no_decision"}, GAME).problem == (
        "was_chosen_best is None, not true/false")
    odd = judge({"was_chosen_best": True, "outcome": "maybe", "agent_performance": "kept"}, GAME)
    assert odd == Judgement(text="kept", problem="outcome is 'maybe', not one of decisive, tie_good, tie_bad, "
                                                 "no_decision")
    long = judge({"was_chosen_best": True, "outcome": "m" * 60}, GAME).problem or ""
    assert long.startswith(f"outcome is '{'m' * 40}', not one of"), "a worker's value is quoted cut"


def _pairwise(best: dict, **fields) -> dict:
    return {"best_agent": best, "agent1_performance": "first", "agent2_performance": " second ", **fields}


@pytest.mark.parametrize(("fields", "position"), [
    ({"joinCode2": "/join T:C:house:a-1"}, 2),
    ({"joinCode1": "/join T:C:other:a-1", "joinCode2": "/join T:C:house:a-1:1733000000000"}, 2),  # with expiry
    ({"joinCode1": "/join T:C:house:a-10", "completionCode2": "CODE-A"}, 2),
    ({"joinCode1": "/join T:C:other:a-1", "completionCode1": "CODE-B"}, 1),  # neither: the shown position
])
def test_a_pairwise_answer_finds_this_games_position_by_its_codes(fields, position):
    chosen = judge(_pairwise({"agent1_option": True, "agent2_option": False}, **fields), GAME)
    assert chosen.position == position and chosen.chosen is (position == 1)
    assert chosen.text == ("first" if position == 1 else "second") and chosen.problem is None


def test_the_answers_codes_outrank_the_position_the_record_says_it_was_shown_at():
    shown_second = {**GAME, "ShownPosition": "1"}
    first = judge(_pairwise({"agent1_option": True, "agent2_option": False}, joinCode1=GAME["JoinCode"]), shown_second)
    assert (first.position, first.chosen, first.text) == (1, True, "first")


def test_a_pairwise_answer_without_a_position_or_a_choice_is_a_problem_and_a_tie_is_kept():
    lost = {"JoinCode": "", "CompletionCode": "", "ShownPosition": None}
    assert judge(_pairwise({"agent1_option": True}), lost).problem == (
        "neither joinCode1/2 nor completionCode1/2 of the answer is this game's")
    unclear = judge(_pairwise({"agent1_option": "on", "agent2_option": False}, joinCode1=GAME["JoinCode"]), GAME)
    assert unclear == Judgement(text="first", position=1, problem="best_agent.agent1_option is 'on', not true/false")
    tie = judge(_pairwise({"agent1_option": False, "agent2_option": False, "both_bad_option": True},
                          joinCode2=GAME["JoinCode"]), GAME)
    assert tie == Judgement(chosen=False, text="second", position=2, outcome="tie_bad")
    both_good = judge(_pairwise({"agent1_option": False, "agent2_option": False, "both_good_option": True},
                                joinCode1=GAME["JoinCode"]), GAME)
    assert both_good.outcome == "tie_good" and both_good.chosen is False
    assert judge(_pairwise("agent1", joinCode1=GAME["JoinCode"]), GAME).problem == (
        "best_agent.agent1_option is None, not true/false")
    frozen = MappingProxyType({"agent1_option": False, "agent2_option": False, "both_good_option": True})
    assert judge(_pairwise(frozen, joinCode1=GAME["JoinCode"]), GAME).outcome == "tie_good", "any mapping reads"


@pytest.mark.parametrize(("shown", "position"), [("0", 1), (" 1 ", 2), (3, 4), ("", None), (None, None),
                                                   ("-1", None), ("x", None)])
def test_the_shown_position_is_stored_from_zero_and_read_from_one(shown, position):
    assert record_position({"ShownPosition": shown}) == position
