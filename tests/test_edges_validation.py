"""The effort rules and verdicts of `platform.validation` at their edges.

Each limit that can reject or warn (and so decide pay) is tried at, just below and just above
it: the minimum of 3 architect turns, the 40-character instruction limit, the 20-character
length from which the language is checked, the English probability, the clock skew the
thresholds give the evidence. Verdicts are asserted by their reasons and the worker's message.
Pure functions: games are built here in the platform's format, no local stack.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from iglu_lib.errors import ParameterError
from iglu_lib.platform.client import Game
from iglu_lib.platform.codes import JOIN_COMMAND, make_completion_code, parse_completion_code
from iglu_lib.platform.evidence import Expectation
from iglu_lib.platform.reasons import worker_message
from iglu_lib.platform.validation import (
    GameVerdict,
    Thresholds,
    _identifier,
    combine_game_verdicts,
    is_english,
    validate_assignment,
    validate_game,
)

TOURNAMENT, CHALLENGE = str(uuid.UUID(int=101)), str(uuid.UUID(int=102))
ARCHITECT, BUILDER, ARCHITECT_PLAYER = (str(uuid.UUID(int=n)) for n in (103, 104, 109))
TASK, AGENT, OTHER_AGENT = str(uuid.UUID(int=105)), str(uuid.UUID(int=107)), str(uuid.UUID(int=108))
START = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
ENGLISH = ["Put four blue blocks in a row along the north edge of the floor.",
           "Now stack two red blocks on top of the blue block in the east corner.",
           "Finally remove the green block next to the letter S and you are done."]
#: The language is taken as English whatever it is (isolates the length limits).
ANY_LANGUAGE = {"min_english_probability": 0.0}


def made_game(*, turns: int = 3, messages: list[str] | None = None, agent: str = AGENT,
              agent_joins: bool = True, architect_joins: bool = False, played_at: datetime = START) -> Game:
    """A game as the client fetches it: a real code, its join code, events in the platform's shape."""
    game_id = str(uuid.uuid4())
    code = make_completion_code(tournament_id=TOURNAMENT, challenge_id=CHALLENGE, task_id=TASK,
                                game_id=game_id, role_id=ARCHITECT, agent_service_id=agent)
    moment = iter(played_at + timedelta(seconds=10 * n) for n in range(1000))

    def event(kind: str, **fields: Any) -> dict[str, Any]:
        return {"eventType": kind, "gameId": game_id, "taskId": TASK, "roleId": ARCHITECT,
                "producedAtDatetime": next(moment).isoformat(), **fields}

    events = [event("PlatformGameStartEvent")]
    if architect_joins:
        events.append(event("PlatformPlayerJoinsGameEvent", playerId=ARCHITECT_PLAYER))
    if agent_joins:
        events.append(event("PlatformPlayerJoinsGameEvent", roleId=BUILDER, playerId=agent))
    texts = ENGLISH if messages is None else messages
    for number in range(max(turns, len(texts))):
        if number < len(texts):
            events.append(event("PlayerChatEvent", message=texts[number]))
        if number < turns:
            events.append(event("PlatformPlayerTurnChangeEvent", reason="PLAYER_COMMAND",
                                previousActiveRoleId=ARCHITECT, nextActiveRoleId=BUILDER))
    events.append(event("PlatformGameEndEvent"))
    join = f"{JOIN_COMMAND} {TOURNAMENT}:{CHALLENGE}:{TASK}:{agent}"
    return Game(code, parse_completion_code(code), None, {"id": game_id, "events": events}, join_code=join)


def reasons_of(game: Game, params: dict[str, Any] | None = None, **kw: Any) -> tuple[str, tuple[str, ...]]:
    verdict = validate_assignment([game], params, **kw)
    return verdict.verdict, verdict.reasons


# -- minimum architect turns ------------------------------------------------------------------
@pytest.mark.parametrize(("turns", "verdict"), [
    (0, ("reject", ("too_few_turns",))), (2, ("reject", ("too_few_turns",))),
    (3, ("approve", ())), (4, ("approve", ())),
])
def test_three_architect_turns_are_needed(turns, verdict):
    assert reasons_of(made_game(turns=turns)) == verdict


def test_the_minimum_of_turns_is_a_parameter():
    assert reasons_of(made_game(turns=3), {"min_architect_turns": 4}) == ("reject", ("too_few_turns",))
    assert reasons_of(made_game(turns=4), {"min_architect_turns": 4}) == ("approve", ())


# -- instruction length -----------------------------------------------------------------------
@pytest.mark.parametrize(("chars", "verdict"), [
    (0, ("approve_with_warning", ("instruction_too_short",))),
    (39, ("approve_with_warning", ("instruction_too_short",))),
    (40, ("approve", ())), (41, ("approve", ())),
])
def test_forty_characters_of_instructions_are_expected(chars, verdict):
    assert reasons_of(made_game(messages=["b" * chars] if chars else []), ANY_LANGUAGE) == verdict


def test_instructions_are_counted_trimmed_and_joined_by_one_line_break():
    # 19 + 1 (the line break) + 20 = 40 characters; blanks and empty messages count nothing
    assert reasons_of(made_game(messages=["  " + "a" * 19 + "  ", "", "   ", "c" * 20]), ANY_LANGUAGE) == (
        "approve", ())
    assert reasons_of(made_game(messages=["a" * 19, "c" * 19]), ANY_LANGUAGE) == (
        "approve_with_warning", ("instruction_too_short",))


def test_short_instructions_reject_when_not_only_warned():
    params = {**ANY_LANGUAGE, "warn_only": []}
    assert reasons_of(made_game(messages=["b" * 39]), params) == ("reject", ("instruction_too_short",))
    assert reasons_of(made_game(messages=["b" * 39]), {**ANY_LANGUAGE, "min_instruction_chars": 39}) == (
        "approve", ())


# -- the language check and its length limit --------------------------------------------------
GERMAN_20 = "Baue eine blaue Wand"


def test_the_language_is_checked_from_twenty_characters():
    assert len(GERMAN_20) == 20 and not is_english(GERMAN_20) and not is_english(GERMAN_20[:19])
    assert reasons_of(made_game(messages=[GERMAN_20])) == ("reject", ("not_english", "instruction_too_short"))
    assert reasons_of(made_game(messages=[GERMAN_20[:19]])) == (
        "approve_with_warning", ("instruction_too_short",)), "too short to tell its language"
    assert reasons_of(made_game(messages=[GERMAN_20]), {"min_chars_for_language": 21}) == (
        "approve_with_warning", ("instruction_too_short",))
    german = ["Baue eine Reihe aus vier blauen Blöcken entlang der nördlichen Kante des Bodens."] * 3
    assert reasons_of(made_game(messages=german)) == ("reject", ("not_english",))
    assert reasons_of(made_game(messages=german), {"warn_only": ["not_english"]}) == (
        "approve_with_warning", ("not_english",))


def test_english_is_the_top_language_or_likely_enough():
    mixed = "the blocks sind blau hier"
    ranked = _identifier().rank(mixed)
    english = dict(ranked)["en"]
    assert ranked[0][0] != "en" and 0.0 < english < 0.5
    assert is_english(mixed, english) and not is_english(mixed, math.nextafter(english, 1.0))
    assert not is_english(mixed)
    assert is_english("Put blue blocks here", 0.99), "English ranked first is English however unsure"
    assert reasons_of(made_game(messages=[mixed]), {"min_english_probability": english}) == (
        "approve_with_warning", ("instruction_too_short",))
    assert reasons_of(made_game(messages=[mixed])) == ("reject", ("not_english", "instruction_too_short"))


# -- thresholds from parameters ---------------------------------------------------------------
def test_thresholds_from_parameters():
    assert Thresholds.from_params(None) == Thresholds() == Thresholds.from_params({})
    assert Thresholds() == Thresholds(3, 40, 20, 0.5, ("instruction_too_short",), 120.0)
    given = Thresholds.from_params({"warn_only": ["too_few_turns"], "min_architect_turns": 1})
    assert given.warn_only == ("too_few_turns",) and given.min_architect_turns == 1
    with pytest.raises(ParameterError) as error:
        Thresholds.from_params({"min_turns": 1, "colour": 2})
    assert str(error.value) == (
        "unknown validation parameter(s) colour, min_turns; known: clock_skew_seconds, "
        "min_architect_turns, min_chars_for_language, min_english_probability, "
        "min_instruction_chars, warn_only")


def test_the_thresholds_clock_skew_is_the_one_the_evidence_uses():
    expected = [Expectation(TASK, AGENT, START.timestamp() + 10, START.timestamp() + 3600,
                            clock_skew_seconds=1000)]
    assert reasons_of(made_game(), {"clock_skew_seconds": 10}, expected=expected) == ("approve", ())
    assert reasons_of(made_game(), {"clock_skew_seconds": 9}, expected=expected) == (
        "reject", ("played_outside_assignment",))
    late = [Expectation(TASK, AGENT, START.timestamp() - 121, None)]
    assert reasons_of(made_game(), None, expected=late) == ("approve", ()), "120 s by default"


# -- evidence through validation --------------------------------------------------------------
def test_a_game_without_the_agents_join_event_is_unverified_not_rejected():
    expected = [Expectation(TASK, AGENT)]
    quiet = made_game(agent_joins=False, architect_joins=True)
    assert reasons_of(quiet, expected=expected) == ("approve_with_warning", ("agent_unverified",)), (
        "the architect's own join names the human, never the agent")
    both = made_game(architect_joins=True)
    assert reasons_of(both, expected=expected) == ("approve", ())
    other = made_game(agent_joins=False, architect_joins=True)
    assert reasons_of(other, expected=[Expectation(TASK, ARCHITECT_PLAYER)]) == (
        "approve_with_warning", ("agent_unverified",))


def test_evidence_warnings_come_before_effort_warnings_and_rejects_skip_effort():
    expected = [Expectation(TASK, AGENT)]
    both = validate_assignment([made_game(agent_joins=False, messages=["b" * 45])], ANY_LANGUAGE, expected=expected)
    assert both.reasons == ("agent_unverified",)
    terse = validate_assignment([made_game(agent_joins=False, messages=["b" * 5])], ANY_LANGUAGE, expected=expected)
    assert terse.games[0].warnings == ("agent_unverified", "instruction_too_short")
    wrong = validate_assignment([made_game(agent=OTHER_AGENT, turns=0)], expected=expected)
    assert (wrong.verdict, wrong.reasons, wrong.games[0].summary) == ("reject", ("game_agent_mismatch",), {})


def test_missing_game_data_rejects_with_the_games_reason():
    game = made_game()
    missing = Game(game.code, game.parsed, "game_data_missing", None, join_code=game.join_code)
    assert reasons_of(missing) == ("reject", ("game_data_missing",))
    assert reasons_of(missing, expected=[Expectation(TASK, AGENT)]) == ("reject", ("game_data_missing",))


def test_codes_of_the_same_hit_are_compared_by_position():
    one, two = made_game(), made_game(agent=OTHER_AGENT)
    assert validate_assignment([one, two]).verdict == "approve"
    twice = validate_assignment([one, one, two])
    assert [g.reasons for g in twice.games] == [("same_code_twice",), ("same_code_twice",), ()]
    alone = validate_game(one, Thresholds(), hit_codes=[one.code])
    assert alone.reasons == ("same_code_twice",)
    assert validate_game(one, Thresholds()).verdict == "approve"


# -- verdicts, reasons and the worker's message -----------------------------------------------
def test_a_games_verdict_and_summary():
    verdict = validate_game(made_game(turns=4), Thresholds())
    assert (verdict.verdict, verdict.reasons, verdict.warnings) == ("approve", (), ())
    assert verdict.summary["architect_turns"] == 4 and verdict.accepted
    assert GameVerdict("g", "approve_with_warning").accepted and GameVerdict("g", "partial").accepted
    assert not GameVerdict("g", "reject").accepted


def test_the_assignment_verdict_from_its_games():
    good, warned, bad = (GameVerdict("g1", "approve"), GameVerdict("g2", "approve_with_warning", (), ("w",)),
                         GameVerdict("g3", "reject", ("too_few_turns",)))
    assert combine_game_verdicts([]).verdict == "reject"
    assert combine_game_verdicts([bad, bad]).verdict == "reject"
    assert combine_game_verdicts([good, bad]).verdict == "partial"
    assert combine_game_verdicts([warned, bad]).verdict == "partial"
    assert combine_game_verdicts([good, warned]).verdict == "approve_with_warning"
    assert combine_game_verdicts([good, good]).verdict == "approve"
    repeated = combine_game_verdicts([GameVerdict("a", "reject", ("x", "y"), ("w",)), GameVerdict("b", "reject", ("y",))])
    assert repeated.reasons == ("x", "y", "w"), "each reason once, in order"


def test_the_worker_reads_each_games_problems():
    bad = GameVerdict("g2", "reject", ("too_few_turns",))
    warned = GameVerdict("g1", "approve_with_warning", (), ("instruction_too_short",))
    assert combine_game_verdicts([GameVerdict("g", "approve")]).worker_message == (
        "Thank you: your games were accepted.")
    assert combine_game_verdicts([warned]).worker_message == (
        "Thank you: your work was accepted, but please note:\nYour game: "
        + worker_message("instruction_too_short"))
    assert combine_game_verdicts([warned, bad]).worker_message == (
        "Part of your work was accepted. Problems we found:\n"
        f"Game 1: {worker_message('instruction_too_short')}\nGame 2: {worker_message('too_few_turns')}")
    both = GameVerdict("g3", "reject", ("too_few_turns", "not_english"), ("agent_unverified",))
    assert combine_game_verdicts([both]).worker_message == "We could not accept your work:\nYour game: " + " ".join(
        worker_message(r) for r in ("too_few_turns", "not_english", "agent_unverified"))
    assert combine_game_verdicts([]).worker_message == "We could not accept your work:\nNo game was submitted."


def test_the_stored_form_of_a_verdict():
    verdict = combine_game_verdicts([GameVerdict("g1", "reject", ("too_few_turns",), ("agent_unverified",))])
    assert verdict.as_dict() == {
        "verdict": "reject", "reasons": ["too_few_turns", "agent_unverified"],
        "worker_message": verdict.worker_message,
        "games": [{"game_id": "g1", "verdict": "reject", "reasons": ["too_few_turns"],
                   "warnings": ["agent_unverified"]}],
    }


def test_thresholds_may_be_given_built_and_expectations_one_per_game():
    assert reasons_of(made_game(turns=1), Thresholds(min_architect_turns=1)) == ("approve", ())  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        validate_assignment([made_game(), made_game()], expected=[Expectation(TASK, AGENT)])


def test_each_verdict_names_its_game():
    good, code_only = made_game(), made_game()
    missing = Game(code_only.code, code_only.parsed, "game_data_missing", None, join_code=code_only.join_code)
    swapped = made_game()
    swapped.document["id"] = str(uuid.uuid4())
    lazy = made_game(turns=0)
    verdict = validate_assignment([good, missing, swapped, lazy, good],
                                  expected=[Expectation(TASK, AGENT)] * 5)
    assert [(g.game_id, g.verdict, g.reasons) for g in verdict.games] == [
        (good.game_id, "reject", ("same_code_twice",)), (missing.game_id, "reject", ("game_data_missing",)),
        (swapped.game_id, "reject", ("game_data_mismatch",)), (lazy.game_id, "reject", ("too_few_turns",)),
        (good.game_id, "reject", ("same_code_twice",))]
    assert validate_game(good, Thresholds()).game_id == good.game_id


def test_a_game_fetched_without_its_parsed_code_knows_no_architect():
    game = made_game()
    unparsed = Game(game.code, None, None, game.document, join_code=game.join_code)
    assert validate_game(unparsed, Thresholds()).reasons == ("too_few_turns",), "no architect, no turns of his"
    assert validate_game(unparsed, Thresholds(), expected=Expectation(TASK, AGENT)).reasons == (
        "game_data_mismatch",), "no game id read from the code, so the data cannot be shown to be its game"


def test_blank_messages_add_no_line_break():
    from iglu_lib.platform.validation import _effort_reasons

    limits = Thresholds(min_english_probability=0.0)
    assert _effort_reasons(3, ["a" * 19, "   ", "", None, "b" * 19], limits) == ["instruction_too_short"]  # type: ignore[list-item]
    assert _effort_reasons(3, ["a" * 19, "b" * 20], limits) == []
