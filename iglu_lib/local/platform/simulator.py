"""The Minecraft data-collection platform, simulated on the local stack's blob storage.

It does what the workbench needs from the real platform and writes what the real one
writes: task data at `<task container>/TASK/{initialGameState,targetGameChanges}.json`,
the two exports for join codes, and for each played game its events at the real game-data
path and a real completion code. Everything it knows lives in blob storage (its registry
of tasks and agents in the `platform-simulator` container), so any process with the profile
can play a join code another process handed out.

Join codes may end with `:<expiry>` (epoch milliseconds, as the HIT pages append it;
seconds are accepted); `play` refuses expired ones.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from iglu_lib.errors import IgluError
from iglu_lib.local.platform.architects import ArchitectProfile, architect_profile, dialogue_lines
from iglu_lib.local.platform.builder import structure
from iglu_lib.local.platform.codes import (
    PLATFORM_UUID,
    GameCode,
    GameJoinCode,
    UnreadableCode,
    read_join_code,
)
from iglu_lib.local.platform.game import GameSetup, play_game
from iglu_lib.local.platform.world import Position, world_blocks

if TYPE_CHECKING:
    from iglu_lib.settings import StorageSettings

#: Namespace of the simulator's deterministic ids.
NAMESPACE = uuid.UUID("6f1d3c2e-8a4b-4c6d-9e0f-1a2b3c4d5e6f")
REGISTRY_CONTAINER = "platform-simulator"
#: Games are dated from here on (plus a seed-given offset), so a seed always gives the same game.
EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


class SimulatorError(IgluError):
    """The simulated platform refuses a request; `reason` says why in one word."""


    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


def stable_id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(parts)))


def platform_id(name: str, kind: str) -> str:
    """A platform id (a UUID, as the real platform's) for a name: the name itself when it is
    one, else a stable UUID derived from it, so tests may name their tournaments."""
    if PLATFORM_UUID.fullmatch(name):
        return name.lower()
    return stable_id(kind, name) if name else stable_id(kind)


@dataclass(frozen=True)
class StoredTask:
    """What a game needs of a stored task: its worlds, its roles and its dialogue."""

    initial: Mapping[Position, int]
    target: Mapping[Position, int]
    architect_role_id: str
    builder_role_id: str
    dialogue: tuple[str, ...]

    @classmethod
    def from_parts(cls, initial: Mapping[str, Any], target: Sequence[Any]) -> StoredTask:
        """From the task's `initialGameState` and `targetGameChanges` as stored."""
        architect, builder = _roles(initial)
        return cls(
            initial=world_blocks(initial["worldState"]["blockChanges"]),
            target=structure(_target_blocks(target)),
            architect_role_id=architect,
            builder_role_id=builder,
            dialogue=tuple(dialogue_lines(initial.get("instructions") or "")),
        )


class PlatformSimulator:
    """Tasks, agents and games of one simulated tournament and challenge."""

    def __init__(
        self,
        storage: StorageSettings,
        blob_service: Any,
        *,
        tournament_id: str | None = None,
        challenge_id: str | None = None,
    ) -> None:
        self.tournament_id = platform_id(tournament_id or "", "tournament")
        self.challenge_id = challenge_id or stable_id("challenge", self.tournament_id)
        service = blob_service
        self.tasks = _ensure(service.get_container_client(storage.task_container))
        self.games = _ensure(service.get_container_client(storage.game_container))
        self.registry = _ensure(service.get_container_client(REGISTRY_CONTAINER))
        self._task_cache: dict[str, StoredTask] = {}

    # -- tasks --------------------------------------------------------------------------
    def upload_tasks(self, tasks: Mapping[str, str | Mapping[str, Any]]) -> dict[str, str]:
        """Store platform task JSONs as the platform does; returns `{name: task id}`.

        The id is derived from the tournament, name and content, so uploading the same task
        again gives the same id.
        """
        ids = {}
        for name, task_json in tasks.items():
            document = json.loads(task_json) if isinstance(task_json, str) else dict(task_json)
            _require_task_parts(name, document)
            digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
            task_id = stable_id("task", self.tournament_id, name, digest)
            self._write(
                self.tasks, f"{task_id}/initialGameState.json", document["initialGameState"]
            )
            self._write(
                self.tasks, f"{task_id}/targetGameChanges.json", document["targetGameChanges"]
            )
            architect, builder = _roles(document["initialGameState"])
            entry = {
                "id": task_id,
                "name": name,
                "architectRoleId": architect,
                "builderRoleId": builder,
            }
            self._write(self.registry, f"{self._prefix}/tasks/{task_id}.json", entry)
            ids[name] = task_id
        return ids

    def uploaded_tasks(self) -> list[dict[str, str]]:
        """The tasks of this tournament (`id`, `name`, role ids), in name order."""
        entries = [
            self._read(self.registry, blob.name)
            for blob in self.registry.list_blobs(f"{self._prefix}/tasks/")
        ]
        return sorted(entries, key=lambda e: (e["name"], e["id"]))

    # -- agents -------------------------------------------------------------------------
    def register_agent(self, name: str, instance_count: int, skill: float) -> list[dict[str, str]]:
        """Register an agent served by `instance_count` instances that build with `skill` (0..1)."""
        if not 0.0 <= float(skill) <= 1.0:
            raise SimulatorError(
                "bad_skill", f"skill of agent {name!r} must be within 0 and 1, got {skill}"
            )
        if int(instance_count) < 1:
            raise SimulatorError(
                "bad_instance_count", f"agent {name!r} needs at least one instance"
            )
        agent_id = stable_id("agent", self.tournament_id, name)
        instances = [
            {
                "agent_instance_id": stable_id("instance", agent_id, str(i)),
                "agent_instance_name": f"{name}-{i}",
            }
            for i in range(1, int(instance_count) + 1)
        ]
        entry = {"id": agent_id, "name": name, "skill": float(skill), "instances": instances}
        self._write(self.registry, f"{self._prefix}/agents/{name}.json", entry)
        for served_by in [agent_id, *(i["agent_instance_id"] for i in instances)]:
            self._write(
                self.registry,
                f"{self._prefix}/services/{served_by}.json",
                {"agent": name, "skill": float(skill)},
            )
        return instances

    def agent(self, name: str) -> dict[str, Any]:
        entry = self._read(self.registry, f"{self._prefix}/agents/{name}.json")
        if entry is None:
            raise SimulatorError(
                "unknown_agent", f"agent {name!r} is not registered; call register_agent first"
            )
        return entry

    # -- exports ------------------------------------------------------------------------
    def exports(self, agent_names: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The platform's two exports: task ids by name, and join commands for each agent."""
        tasks = self.uploaded_tasks()
        agents = [self.agent(name) for name in agent_names]
        mapping = {"taskIdNamesList": [{"id": t["id"], "name": t["name"]} for t in tasks]}
        commands = [
            GameJoinCode(self.tournament_id, self.challenge_id, t["id"], a["id"]).text()
            for t in tasks
            for a in agents
        ]
        join = {
            "info": {
                "tournamentId": self.tournament_id,
                "challengeId": self.challenge_id,
                "roleId": tasks[0]["builderRoleId"] if tasks else stable_id("role", "builder"),
                "taskIds": [t["id"] for t in tasks],
                "agents": [{"id": a["id"], "name": a["name"]} for a in agents],
            },
            "commands": commands,
        }
        return mapping, join

    def join_code(
        self, task_id: str, agent_instance_id: str, *, expires_at: float | None = None
    ) -> str:
        """The full join code of a game of this tournament (expiry in epoch seconds)."""
        return GameJoinCode(
            self.tournament_id, self.challenge_id, task_id, agent_instance_id, expires_at
        ).text()

    # -- games --------------------------------------------------------------------------
    def play(
        self,
        join_code: str,
        architect: str | ArchitectProfile = "diligent",
        seed: int | str = 0,
        *,
        now: float | None = None,
        started_at: datetime | None = None,
        seconds_per_event: float = 1.0,
    ) -> str:
        """Play one game for a full join code; returns the completion code the game shows.

        Deterministic for a join code, architect and seed (no clock is read but the
        expiry check's `now`). The game starts at `started_at` (default: a seed-given moment
        after `EPOCH`); `seconds_per_event` scales the few seconds between events, so that a
        rehearsal crowd can play a whole game inside the moments it holds an assignment.
        """
        join = self._usable_join_code(join_code, now)
        profile = architect_profile(architect)
        agent = self._read(
            self.registry,
            f"{_registry_prefix(join.tournament_id)}/services/{join.agent_instance_id}.json",
        )
        if agent is None:
            raise SimulatorError(
                "unknown_agent",
                f"no agent instance {join.agent_instance_id} in tournament {join.tournament_id}",
            )
        rng = random.Random(
            f"{join.tournament_id}:{join.challenge_id}:{join.task_id}:{join.agent_instance_id}|{profile.name}|{seed}"
        )
        task = self._task(join.task_id)
        code = _completion_code(
            join, task, game_id=str(uuid.UUID(int=rng.getrandbits(128), version=4))
        )
        offset = timedelta(seconds=rng.randrange(0, 90 * 86400))
        events = play_game(
            _setup(code, task), profile, skill=agent["skill"], rng=rng,
            started_at=started_at or EPOCH + offset, time_scale=seconds_per_event,
        )
        self._write(self.games, code.game_blob_path, {"id": code.game_id, "events": events})
        return code.encoded()

    def _usable_join_code(self, join_code: str, now: float | None) -> GameJoinCode:
        try:
            join = read_join_code(join_code)
        except UnreadableCode as err:
            raise SimulatorError("join_code_malformed", str(err)) from None
        if not join.agent_instance_id:
            raise SimulatorError(
                "join_code_malformed", f"join code {join_code!r} names no agent instance"
            )
        if join.expired(time.time() if now is None else now):
            raise SimulatorError(
                "join_code_expired", f"join code {join_code!r} expired; ask for a new HIT"
            )
        return join

    def _task(self, task_id: str) -> StoredTask:
        """A task as stored in the task container, read once per simulator."""
        if task_id not in self._task_cache:
            initial = self._read(self.tasks, f"{task_id}/initialGameState.json")
            target = self._read(self.tasks, f"{task_id}/targetGameChanges.json")
            if initial is None or target is None:
                raise SimulatorError(
                    "unknown_task",
                    f"task {task_id} has no data in the task container; upload it first",
                )
            self._task_cache[task_id] = StoredTask.from_parts(initial, target)
        return self._task_cache[task_id]

    # -- storage ------------------------------------------------------------------------
    @property
    def _prefix(self) -> str:
        return _registry_prefix(self.tournament_id)

    @staticmethod
    def _write(container: Any, path: str, value: Any) -> None:
        container.upload_blob(path, json.dumps(value, indent=1).encode("utf-8"), overwrite=True)

    @staticmethod
    def _read(container: Any, path: str) -> Any:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return json.loads(container.download_blob(path).readall())
        except ResourceNotFoundError:
            return None


def _completion_code(join: GameJoinCode, task: StoredTask, *, game_id: str) -> GameCode:
    """The code of a game played from `join`: the human plays the task's architect role."""
    return GameCode(
        tournament_id=join.tournament_id,
        challenge_id=join.challenge_id,
        task_id=join.task_id,
        game_id=game_id,
        role_id=task.architect_role_id,
        agent_service_id=join.agent_instance_id,
    )


def _setup(code: GameCode, task: StoredTask) -> GameSetup:
    return GameSetup(
        tournament_id=code.tournament_id,
        challenge_id=code.challenge_id,
        task_id=code.task_id,
        game_id=code.game_id,
        group_id=code.group_id,
        architect_role_id=task.architect_role_id,
        builder_role_id=task.builder_role_id,
        agent_service_id=code.agent_service_id,
        initial=task.initial,
        target=task.target,
        dialogue=task.dialogue,
    )


def _registry_prefix(tournament_id: str) -> str:
    return f"tournaments/{tournament_id}"


def _ensure(container: Any) -> Any:
    from azure.core.exceptions import ResourceExistsError

    try:
        container.create_container()
    except ResourceExistsError:
        pass
    return container


def _require_task_parts(name: str, document: Mapping[str, Any]) -> None:
    initial = document.get("initialGameState")
    world = initial.get("worldState") if isinstance(initial, Mapping) else None
    if not isinstance(world, Mapping) or not isinstance(world.get("blockChanges"), Mapping):
        raise SimulatorError(
            "bad_task", f"task {name!r}: initialGameState.worldState.blockChanges is missing"
        )
    if not isinstance(document.get("targetGameChanges"), list):
        raise SimulatorError(
            "bad_task", f"task {name!r}: targetGameChanges is missing or not a list"
        )


def _roles(initial: Mapping[str, Any]) -> tuple[str, str]:
    """(architect, builder) role ids: the builder is the role confined to a movement region."""
    states = initial.get("playerStates") or {}
    builders = [
        role
        for role, state in states.items()
        if isinstance(state, Mapping) and "movementRegion" in state
    ]
    architects = [role for role in states if role not in builders]
    architect = architects[0] if architects else stable_id("role", "architect")
    builder = builders[0] if builders else stable_id("role", "builder")
    return architect, builder


def _target_blocks(target_changes: Sequence[Mapping[str, Any]]) -> dict[Position, int]:
    blocks: dict[Position, int] = {}
    for change in target_changes:
        changes = change.get("worldChanges") if isinstance(change, Mapping) else None
        if isinstance(changes, Mapping) and isinstance(changes.get("blockChanges"), Mapping):
            blocks.update(world_blocks(changes["blockChanges"]))
    return blocks
