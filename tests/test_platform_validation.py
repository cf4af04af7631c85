"""Assignment verdicts from game verdicts, thresholds from parameters, English detection."""

from __future__ import annotations

import pytest

from iglu_lib.platform.validation import (
    GameVerdict,
    Thresholds,
    combine_game_verdicts,
    is_english,
)


def test_assignment_verdicts_combine_the_games():
    good = GameVerdict("g1", "approve")
    warned = GameVerdict("g2", "approve_with_warning", (), ["instruction_too_short"])
    bad = GameVerdict("g3", "reject", ["too_few_turns"])
    assert combine_game_verdicts([good, good]).verdict == "approve"
    assert combine_game_verdicts([good, warned]).verdict == "approve_with_warning"
    partial = combine_game_verdicts([good, bad])
    assert partial.verdict == "partial" and partial.reasons == ("too_few_turns",)
    assert partial.worker_message.splitlines()[1].startswith("Game 2: You gave the builder too few")
    rejected = combine_game_verdicts([bad, GameVerdict("g4", "reject", ("not_english",))])
    assert rejected.verdict == "reject" and rejected.reasons == ("too_few_turns", "not_english")
    assert combine_game_verdicts([]).verdict == "reject"
    assert combine_game_verdicts([warned]).as_dict()["games"][0]["warnings"] == [
        "instruction_too_short"
    ]


def test_thresholds_come_from_parameters():
    limits = Thresholds.from_params({"min_architect_turns": 5, "warn_only": ["not_english"]})
    assert limits.min_architect_turns == 5 and limits.warn_only == ("not_english",)
    assert Thresholds.from_params(None) == Thresholds()
    with pytest.raises(ValueError, match="unknown validation parameter"):
        Thresholds.from_params({"min_turn": 1})


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("Put a row of four blue blocks along the north edge, then stack two red ones.", True),
        (
            "Facing South, move into the 6th column and 3rd row. Build 4 blue blocks side by side.",
            True,
        ),
        ("Bitte baue eine Reihe aus vier blauen Blöcken entlang der nördlichen Kante.", False),
        ("Construye una fila de cuatro bloques azules a lo largo del borde norte.", False),
    ],
)
def test_english_is_detected(text, english):
    assert is_english(text) is english
