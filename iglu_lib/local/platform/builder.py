"""A simulated builder agent: what it places and removes, turn by turn, given its skill.

A game succeeds with probability `skill`: the agent then makes every change the target
needs. Otherwise it makes about `skill` of them and at least one mistake (a block where the
target has none), so the structure never matches and the structure score follows the skill.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from iglu_lib.local.platform.world import WOOLS, WORLD_X, WORLD_Y, WORLD_Z, Position


@dataclass(frozen=True)
class Action:
    """One block change: `material` None removes the block at `position`."""

    position: Position
    material: int | None


def structure(world: Mapping[Position, int]) -> dict[Position, int]:
    """The blocks of the build zone above the floor (what the target describes)."""
    return {
        p: m for p, m in world.items() if p[0] in WORLD_X and p[1] in WORLD_Y and p[2] in WORLD_Z
    }


def needed_actions(world: Mapping[Position, int], target: Mapping[Position, int]) -> list[Action]:
    """The removals and placements that turn the zone of `world` into `target`."""
    current = structure(world)
    removals = [Action(p, None) for p in sorted(current) if p not in target]
    placements = [Action(p, m) for p, m in sorted(target.items()) if current.get(p) != m]
    return removals + placements


def plan(
    world: Mapping[Position, int],
    target: Mapping[Position, int],
    *,
    skill: float,
    turns: int,
    rng: random.Random,
) -> list[list[Action]]:
    """The agent's actions for each of the architect's `turns`."""
    needed = needed_actions(world, target)
    if rng.random() < skill:
        actions = needed
    else:
        kept = [a for a in needed if rng.random() < skill]
        mistakes = [_mistake(target, rng) for _ in range(rng.randint(1, 2))]
        # before the last kept change: were every change kept, the mistakes placed after it would
        # leave the structure matching for a moment, and the game would end there as a success
        actions = kept[:-1] + mistakes + kept[-1:]
    return _spread(actions, max(1, turns), rng)


def _mistake(target: Mapping[Position, int], rng: random.Random) -> Action:
    while True:
        position = (rng.choice(WORLD_X), rng.choice(range(1, 4)), rng.choice(WORLD_Z))
        if position not in target:
            return Action(position, rng.choice(WOOLS))


def _spread(actions: list[Action], turns: int, rng: random.Random) -> list[list[Action]]:
    """Split the actions, in order, over the turns at random cut points, keeping the last
    action for the last turn: the architect instructs until the structure is done."""
    cuts = sorted(rng.randint(0, max(0, len(actions) - 1)) for _ in range(turns - 1))
    bounds = [0, *cuts, len(actions)]
    return [actions[bounds[i] : bounds[i + 1]] for i in range(turns)]
