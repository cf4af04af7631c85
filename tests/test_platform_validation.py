"""Assignment verdicts from game verdicts, thresholds from parameters, English detection, and
`validate_assignment` on games built here in the platform's format (codes, join codes, events)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from iglu_lib.platform.client import Game
from iglu_lib.platform.codes import JOIN_COMMAND, make_completion_code, parse_completion_code
from iglu_lib.platform.evidence import Expectation
from iglu_lib.platform.validation import (
    GameVerdict,
    Thresholds,
    combine_game_verdicts,
    is_english,
    validate_assignment,
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


def test_a_warn_only_reason_must_be_one_the_judge_gives_and_a_typo_is_named_with_its_fix():
    from pydantic import TypeAdapter, ValidationError

    from iglu_lib.platform.validation import Validation

    checked = TypeAdapter(Validation)
    assert checked.validate_python({"warn_only": ["too_few_turns", "not_english"]}) == {
        "warn_only": ("too_few_turns", "not_english")}
    with pytest.raises(ValidationError, match=r"unknown reason 'too_few_turn' \(did you mean too_few_turns\?\)"):
        checked.validate_python({"warn_only": ["not_english", "too_few_turn"]})
    with pytest.raises(ValidationError, match=r"unknown reason 'bored'\s"):
        checked.validate_python({"warn_only": ["bored"]})


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


# -- validate_assignment on games built here (no stack: the verdict is a pure function) ----------
TOURNAMENT, CHALLENGE = str(uuid.UUID(int=1)), str(uuid.UUID(int=2))
ARCHITECT, BUILDER = str(uuid.UUID(int=3)), str(uuid.UUID(int=4))
TASK, OTHER_TASK = str(uuid.UUID(int=5)), str(uuid.UUID(int=6))
AGENT, OTHER_AGENT = str(uuid.UUID(int=7)), str(uuid.UUID(int=8))
START = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
INSTRUCTIONS = ["Put four blue blocks in a row along the north edge of the floor.",
                "Now stack two red blocks on top of the blue block in the east corner.",
                "Finally remove the green block next to the letter S and you are done."]


def join_code(task: str = TASK, agent: str = AGENT) -> str:
    return f"{JOIN_COMMAND} {TOURNAMENT}:{CHALLENGE}:{task}:{agent}"


def made_game(*, turns: int = 3, messages: list[str] | None = None, task: str = TASK, agent: str = AGENT,
              data_task: str | None = None, data_agent: str | None = None, played_at: datetime = START,
              join: str | None = None, reason: str | None = None) -> Game:
    """A game as the client fetches it: a real completion code, its join code, and events in the
    platform's format (the architect's turns and chat, the agent joining as the builder)."""
    game_id = str(uuid.uuid4())
    code = make_completion_code(tournament_id=TOURNAMENT, challenge_id=CHALLENGE, task_id=task, game_id=game_id,
                                role_id=ARCHITECT, agent_service_id=agent)
    moment = iter(played_at + timedelta(seconds=10 * n) for n in range(1000))

    def event(kind: str, **fields) -> dict:
        return {"eventType": kind, "id": str(uuid.uuid4()), "gameId": game_id, "taskId": data_task or task,
                "tournamentId": TOURNAMENT, "producedAtDatetime": next(moment).isoformat(),
                "source": "MinecraftPlugin", "roleId": ARCHITECT, "groupId": f"{TOURNAMENT}:ac:{CHALLENGE}", **fields}

    events = [event("PlatformGameStartEvent"),
              event("PlatformPlayerJoinsGameEvent", roleId=BUILDER, playerId=data_agent or agent)]
    for number, text in enumerate((INSTRUCTIONS if messages is None else messages)[:max(turns, 1)]):
        events.append(event("PlayerChatEvent", message=text))
        if number < turns:
            events.append(event("PlatformPlayerTurnChangeEvent", reason="PLAYER_COMMAND",
                                previousActiveRoleId=ARCHITECT, nextActiveRoleId=BUILDER))
    events.append(event("PlatformGameEndEvent"))
    return Game(code, parse_completion_code(code), reason, None if reason else {"id": game_id, "events": events},
                join_code=join or join_code(task, agent))


def test_good_games_are_approved_with_thanks():
    verdict = validate_assignment([made_game(), made_game(agent=OTHER_AGENT)])
    assert (verdict.verdict, verdict.reasons) == ("approve", ())
    assert verdict.worker_message == "Thank you: your games were accepted."
    assert [g.summary["architect_turns"] for g in verdict.games] == [3, 3]


def test_effort_reasons_reject_or_warn():
    lazy = validate_assignment([made_game(turns=1)])
    assert (lazy.verdict, lazy.reasons) == ("reject", ("too_few_turns",))
    assert lazy.worker_message.startswith("We could not accept your work:\nYour game: ")
    terse = validate_assignment([made_game(messages=["blue row", "red on top", "done"])])
    assert (terse.verdict, terse.reasons) == ("approve_with_warning", ("instruction_too_short",))
    german = ["Baue eine Reihe aus vier blauen Blöcken entlang der nördlichen Kante des Bodens."] * 3
    assert validate_assignment([made_game(messages=german)]).reasons == ("not_english",)
    partial = validate_assignment([made_game(), made_game(turns=0, agent=OTHER_AGENT)])
    assert partial.verdict == "partial" and [g.verdict for g in partial.games] == ["approve", "reject"]
    assert partial.worker_message.splitlines()[1].startswith("Game 2: ")


def test_thresholds_given_as_parameters_change_the_verdict():
    assert validate_assignment([made_game(turns=1)], {"min_architect_turns": 1}).verdict == "approve"
    warned = validate_assignment([made_game(turns=1)], {"warn_only": ["too_few_turns", "instruction_too_short"]})
    assert (warned.verdict, warned.reasons) == ("approve_with_warning", ("too_few_turns",))
    with pytest.raises(ValueError, match="unknown validation parameter"):
        validate_assignment([made_game()], {"min_turns": 1})


def test_codes_that_do_not_belong_are_rejected_with_their_reason():
    assert validate_assignment([made_game(join=join_code(OTHER_TASK))]).reasons == ("task_mismatch",)
    assert validate_assignment([made_game(join=join_code(agent=OTHER_AGENT))]).reasons == ("agent_mismatch",)
    worker_id = made_game()
    pasted = Game("A1B2C3D4E5F6G7", None, "worker_id_pasted", join_code=worker_id.join_code)
    assert validate_assignment([pasted]).reasons == ("worker_id_pasted",)
    twice = made_game()
    assert [g.reasons for g in validate_assignment([twice, twice]).games] == [("same_code_twice",)] * 2
    reused = made_game()
    assert validate_assignment([reused], seen={reused.code: "HIT-OLD"}, owner="HIT-NEW").reasons == ("code_reused",)
    assert validate_assignment([reused], seen={reused.code: "HIT-NEW"}, owner="HIT-NEW").verdict == "approve", (
        "a restart re-checking its own stored code")
    assert validate_assignment([reused], seen={reused.game_id}).reasons == ("code_reused",), "by game id too"
    missing = made_game(reason="game_data_missing")
    assert validate_assignment([missing]).reasons == ("game_data_missing",)
    assert validate_assignment([]).verdict == "reject"


def test_the_game_data_is_the_evidence_against_the_slot():
    window = {"accepted_at": START.timestamp() - 60, "submitted_at": START.timestamp() + 3600}
    expected = [Expectation(TASK, AGENT, **window)]
    assert validate_assignment([made_game()], expected=expected).verdict == "approve"
    claimed = validate_assignment([made_game(data_task=OTHER_TASK)], expected=expected)
    assert claimed.reasons == ("game_task_mismatch",), "the code claims the task, the data shows another"
    assert validate_assignment([made_game(data_agent=OTHER_AGENT)], expected=expected).reasons == (
        "game_agent_mismatch",)
    earlier = validate_assignment([made_game(played_at=START - timedelta(days=1))], expected=expected)
    assert earlier.reasons == ("played_outside_assignment",)
    unverified = validate_assignment([made_game()], expected=[Expectation(TASK, OTHER_AGENT.replace("8", "9"))])
    assert unverified.verdict == "reject", "an agent the data contradicts is not merely unverified"
    no_agent = made_game()
    no_agent.document["events"] = [e for e in no_agent.document["events"]
                                   if e["eventType"] != "PlatformPlayerJoinsGameEvent"]
    quiet = validate_assignment([no_agent], expected=expected)
    assert (quiet.verdict, quiet.reasons) == ("approve_with_warning", ("agent_unverified",))
