"""The simulator's games without storage: event order, determinism, and skill."""

from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest

from iglu_lib.local.platform.architects import ARCHITECTS, architect_profile, dialogue_lines
from iglu_lib.local.platform.builder import needed_actions, plan, structure
from iglu_lib.local.platform.game import GameSetup, play_game
from iglu_lib.platform.events import event_problems, summarize

START = {(x, 0, z): 71 for x in range(-5, 6) for z in range(-5, 6)} | {
    (0, 1, 0): 178,
    (4, 1, 4): 181,
}
TARGET = {(0, 1, 0): 178, (0, 2, 0): 178, (1, 1, 0): 180, (2, 1, 0): 171}


def setup(game_id: str = "game") -> GameSetup:
    return GameSetup(
        "T",
        "C",
        "TASK",
        game_id,
        "T:ac:C",
        "architect",
        "builder",
        "agent",
        START,
        TARGET,
        (
            "Build a blue tower of two blocks in the middle.",
            "Then add green and yellow to its east.",
        ),
    )


def play(skill: float, seed: int, architect: str = "diligent") -> list[dict]:
    return play_game(
        setup(),
        ARCHITECTS[architect],
        skill=skill,
        rng=random.Random(seed),
        started_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
    )


def test_a_game_has_the_platforms_event_order_and_valid_events():
    events = play(1.0, 0)
    kinds = [e["eventType"] for e in events]
    assert kinds[:5] == [
        "PlatformGameStartEvent",
        "PlatformPlayerJoinsGameEvent",
        "PlatformPlayerJoinsGameEvent",
        "AgentIsReadyEvent",
        "PlatformPlayerTurnChangeEvent",
    ]
    assert (
        events[4]["reason"] == "PLATFORM_GAME_START"
        and events[4]["nextActiveRoleId"] == "architect"
    )
    assert kinds[-3:] == [
        "PlatformTaskCompletedEvent",
        "PlatformPlayerLeavesGameEvent",
        "PlatformGameEndEvent",
    ]
    assert not any(event_problems(e) for e in events)
    stamps = [e["producedAtDatetime"] for e in events]
    assert stamps == sorted(stamps) and len(set(e["id"] for e in events)) == len(events)
    summary = summarize(events, architect_role_id="architect")
    assert summary.architect_turns >= ARCHITECTS["diligent"].min_turns
    assert summary.turns_by_role["builder"] == summary.architect_turns
    assert set(summary.architect_messages) <= set(setup().dialogue)
    assert summary.blocks_removed == 1 and summary.blocks_placed == 3


def test_games_are_deterministic_for_a_seed():
    assert play(0.6, 3) == play(0.6, 3)
    assert play(0.6, 3) != play(0.6, 4)


@pytest.mark.parametrize("skill", [0.0, 0.25, 0.5, 0.75, 1.0])
def test_the_chance_of_building_the_target_follows_the_skill(skill):
    completed = sum(
        any(e["eventType"] == "PlatformTaskCompletedEvent" for e in play(skill, seed))
        for seed in range(200)
    )
    assert abs(completed / 200 - skill) <= 0.1


def apply(world: dict, turns: list) -> dict:
    result = dict(world)
    for action in (a for turn in turns for a in turn):
        if action.material is None:
            result.pop(action.position, None)
        else:
            result[action.position] = action.material
    return result


def test_the_builder_finishes_on_the_last_turn_or_not_at_all():
    world = dict(START)
    assert {a.position for a in needed_actions(world, TARGET)} == {
        (4, 1, 4),
        (0, 2, 0),
        (1, 1, 0),
        (2, 1, 0),
    }
    finished = 0
    for seed in range(200):  # a skilled builder that fails often keeps every change and adds a mistake
        turns = plan(world, TARGET, skill=0.5 if seed % 2 else 0.9, turns=4, rng=random.Random(seed))
        assert len(turns) == 4
        for done in range(1, 4):  # never built before the last turn: the game would end there
            assert structure(apply(world, turns[:done])) != TARGET, (seed, done)
        finished += structure(apply(world, turns)) == TARGET
    assert 0 < finished < 200


def test_architect_profiles_and_dialogue():
    assert dialogue_lines("<Architect> build\r it\n<Builder> where?\n<Architect> there") == [
        "build\r it",
        "there",
    ]
    lazy = play(1.0, 1, "lazy")
    assert summarize(lazy, architect_role_id="architect").architect_turns == 1
    with pytest.raises(ValueError, match="unknown architect profile 'sleepy'"):
        architect_profile("sleepy")
