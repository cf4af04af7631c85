"""Platform exports made up from a set of task names, for rehearsals without the platform.

The ids are name-based UUIDs (`uuid5`), so the same tasks and agents always give the same
exports; the shapes are exactly those the platform hands back (see `join_codes`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from iglu_lib.encoding.join_codes import JOIN_COMMAND

NAMESPACE = uuid.UUID("6f1c55a4-4d3e-4a59-9c1e-5b0d2f8a7e21")


def rehearsal_id(*parts: str) -> str:
    """A stable UUID for a name (tournament, challenge, task or agent of a rehearsal)."""
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def make_platform_exports(
    task_names: Sequence[str], agent_names: Sequence[str], *, campaign: str = "rehearsal"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(task-id mapping export, join-command export) for these tasks and agents."""
    tournament, challenge = rehearsal_id(campaign, "tournament"), rehearsal_id(campaign, "challenge")
    tasks = [{"id": rehearsal_id(campaign, "task", name), "name": name} for name in task_names]
    agents = [{"id": rehearsal_id(campaign, "agent", name), "name": name} for name in agent_names]
    commands = [
        f"{JOIN_COMMAND} {tournament}:{challenge}:{task['id']}:{agent['id']}" for task in tasks for agent in agents
    ]
    info = {
        "tournamentId": tournament,
        "challengeId": challenge,
        "roleId": rehearsal_id(campaign, "role", "architect"),
        "taskIds": [task["id"] for task in tasks],
        "agents": agents,
    }
    return {"taskIdNamesList": tasks}, {"info": info, "commands": commands}
