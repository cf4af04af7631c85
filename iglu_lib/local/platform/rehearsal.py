"""A few simulated games on the local stack, for notebooks, the demo and benchmarks.

Uploads the real platform task shipped as package data (`iglu_lib/local/data/greenlands`)
and the encoded single-turn sample tasks, registers agents, and plays games with a mix of
simulated architects, returning each game's completion code with the join code it was
played from.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from iglu_lib.local.platform.simulator import PlatformSimulator

#: The real platform task, package data (read at run time, so not from the tests folder).
GREENLANDS_TASK = (
    Path(__file__).resolve().parents[1] / "data" / "greenlands" / "tasks" / "03794642-d5dc-40df-bd41-4cd898ae6b7c"
)
ARCHITECT_ROLE = "914a403c-d103-405f-a1d2-10fba7ee0a28"
BUILDER_ROLE = "77d0e089-6302-496b-9844-9f3e37961464"


def rehearsal_tasks(sample_tasks: int = 4) -> dict[str, Any]:
    """The real greenlands task and the first sample tasks, encoded."""
    from iglu_lib.encoding.encoder import encode_task
    from iglu_lib.tasks import load_sample

    tasks: dict[str, Any] = {}
    tasks["greenlands"] = {
        "name": "greenlands",
        "initialGameState": json.loads(
            (GREENLANDS_TASK / "initialGameState.json").read_text(encoding="utf-8")
        ),
        "targetGameChanges": json.loads(
            (GREENLANDS_TASK / "targetGameChanges.json").read_text(encoding="utf-8")
        ),
    }
    for number, task in enumerate(load_sample()[:sample_tasks]):
        name = f"sample-{number:02d}"
        tasks[name] = encode_task(
            task, name=name, architect_role_id=ARCHITECT_ROLE, builder_role_id=BUILDER_ROLE
        )
    return tasks


def simulate_games(
    simulator: PlatformSimulator,
    *,
    games: int = 6,
    architects: Sequence[str] = ("diligent", "lazy"),
    agents: Mapping[str, float] | None = None,
    sample_tasks: int = 4,
    seed: int = 0,
) -> list[tuple[str, str]]:
    """Play `games` games on `simulator`, cycling over tasks, agents and architects; `(code,
    join code)` each. Reached through `profile.backend.rehearsal().simulate_games(...)`."""
    task_ids = list(simulator.upload_tasks(rehearsal_tasks(sample_tasks)).values())
    skills = dict(agents or {"Steady": 0.9, "Shaky": 0.4})
    instances = [simulator.register_agent(name, 1, skill)[0] for name, skill in skills.items()]
    played = []
    for number in range(games):
        task_id = task_ids[number % len(task_ids)]
        instance = instances[number % len(instances)]["agent_instance_id"]
        join = simulator.join_code(task_id, instance)
        architect = architects[number % len(architects)]
        played.append((simulator.play(join, architect, seed=seed + number), join))
    return played
