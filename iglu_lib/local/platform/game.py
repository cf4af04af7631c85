"""One simulated game as the platform records it: events in the real schema.

The sequence follows the real platform: the game starts, both players join, the agent says
it is ready, the platform gives the architect the first turn; then the architect writes and
ends the turn with `PLAYER_COMMAND`, the agent places and removes blocks and hands the turn
back, until the structure matches the target (`PlatformTaskCompletedEvent`) or the
architect stops; the architect leaves and the game ends. Pure: the same inputs and random
generator give the same events.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from iglu_lib.local.platform.architects import ArchitectProfile
from iglu_lib.local.platform.builder import Action, plan, structure
from iglu_lib.local.platform.world import Position

PLUGIN = "MinecraftPlugin"
AGENT = "AgentService"


@dataclass(frozen=True)
class GameSetup:
    """Everything fixed before a game starts: ids, the task's worlds and its dialogue."""

    tournament_id: str
    challenge_id: str
    task_id: str
    game_id: str
    group_id: str
    architect_role_id: str
    builder_role_id: str
    agent_service_id: str
    initial: Mapping[Position, int]
    target: Mapping[Position, int]
    dialogue: tuple[str, ...] = ()


@dataclass
class _EventLog:
    """Appends events with the common fields and a clock that advances a few seconds each."""

    setup: GameSetup
    rng: random.Random
    clock: datetime
    time_scale: float = 1.0
    events: list[dict[str, Any]] = field(default_factory=list)

    def emit(
        self, event_type: str, *, source: str = PLUGIN, role: str | None = None, **fields: Any
    ) -> None:
        self.clock += timedelta(seconds=round(self.rng.uniform(0.5, 12.0), 3) * self.time_scale)
        self.events.append(
            {
                "eventType": event_type,
                **fields,
                "id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                "gameId": self.setup.game_id,
                "taskId": self.setup.task_id,
                "tournamentId": self.setup.tournament_id,
                "producedAtDatetime": self.clock.isoformat(timespec="milliseconds").replace(
                    "+00:00", "Z"
                ),
                "source": source,
                "roleId": role,
                "groupId": self.setup.group_id,
                "agentSubscriptionFilterValue": None,
            }
        )

    def turn(self, previous: str | None, following: str, reason: str = "PLAYER_COMMAND") -> None:
        self.emit(
            "PlatformPlayerTurnChangeEvent",
            role=previous,
            reason=reason,
            previousActiveRoleId=previous,
            nextActiveRoleId=following,
        )


def play_game(
    setup: GameSetup,
    architect: ArchitectProfile,
    *,
    skill: float,
    rng: random.Random,
    started_at: datetime,
    time_scale: float = 1.0,
) -> list[dict[str, Any]]:
    """The events of one game between a simulated architect and a builder of `skill`
    (`time_scale` multiplies the time between events)."""
    log = _EventLog(setup, rng, started_at, time_scale)
    architect_role, builder_role = setup.architect_role_id, setup.builder_role_id
    log.emit("PlatformGameStartEvent")
    log.emit(
        "PlatformPlayerJoinsGameEvent",
        role=architect_role,
        playerId=str(uuid.UUID(int=rng.getrandbits(128))),
    )
    log.emit("PlatformPlayerJoinsGameEvent", role=builder_role, playerId=setup.agent_service_id)
    log.emit("AgentIsReadyEvent", source=AGENT, role=builder_role)
    log.turn(None, architect_role, reason="PLATFORM_GAME_START")
    messages = architect.messages(setup.dialogue, rng)
    world = dict(setup.initial)
    for message, actions in zip(
        messages, plan(world, setup.target, skill=skill, turns=len(messages), rng=rng), strict=True
    ):
        _architect_turn(log, message)
        _builder_turn(log, world, actions)
        if structure(world) == dict(setup.target):
            log.emit("PlatformTaskCompletedEvent", completionType="PLAYER_COMMAND_SUCCESS")
            break
    log.emit("PlatformPlayerLeavesGameEvent", role=architect_role)
    log.emit("PlatformGameEndEvent")
    return log.events


def _architect_turn(log: _EventLog, message: str) -> None:
    role = log.setup.architect_role_id
    for _ in range(log.rng.randint(0, 2)):
        log.emit("PlayerMoveEvent", role=role, newLocation=_location(log.rng, flying=True))
    log.emit("PlayerChatEvent", role=role, message=message)
    log.turn(role, log.setup.builder_role_id)


def _builder_turn(log: _EventLog, world: dict[Position, int], actions: list[Action]) -> None:
    role = log.setup.builder_role_id
    for action in actions:
        location = _block_location(action.position)
        if action.material is None:
            world.pop(action.position, None)
            log.emit("BlockRemoveEvent", source=AGENT, role=role, location=location)
        else:
            world[action.position] = action.material
            log.emit(
                "BlockPlaceEvent",
                source=AGENT,
                role=role,
                location=location,
                material=action.material,
            )
    if not actions:
        log.emit(
            "PlayerChatEvent", source=AGENT, role=role, message="Could you describe where exactly?"
        )
    log.turn(role, log.setup.architect_role_id)


def _block_location(position: Position) -> dict[str, float]:
    x, y, z = position
    return {"x": float(x), "y": float(y), "z": float(z), "pitch": 0.0, "yaw": 0.0}


def _location(rng: random.Random, *, flying: bool) -> dict[str, float]:
    return {
        "x": round(rng.uniform(-6, 6), 2) + 0.5,
        "y": round(rng.uniform(1, 6 if flying else 1), 2),
        "z": round(rng.uniform(-6, 6), 2) + 0.5,
        "pitch": round(rng.uniform(-30, 60), 4),
        "yaw": round(rng.uniform(-180, 180), 4),
    }
