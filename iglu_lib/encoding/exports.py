"""Platform exports made up from a set of task names, for rehearsals without the platform.

The ids are name-based UUIDs (`uuid5`), so the same tasks and agents always give the same
exports; the shapes are exactly those the platform hands back (see `join_codes`).
`export_files` picks the platform's own exports when both are given and writes rehearsal
ones otherwise.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iglu_lib import paths
from iglu_lib.encoding.join_codes import JOIN_COMMAND, ExportError, write_json_file

NAMESPACE = uuid.UUID("6f1c55a4-4d3e-4a59-9c1e-5b0d2f8a7e21")


def rehearsal_id(*parts: str) -> str:
    """A stable UUID for a name (tournament, challenge, task or agent of a rehearsal)."""
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def make_platform_exports(
    task_names: Sequence[str],
    agent_names: Sequence[str],
    *,
    campaign: str = "rehearsal",
    role_id: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(task-id mapping export, join-command export) for these tasks and agents.

    `role_id` is the role the human plays (the architect role of the encoded tasks).
    """
    tournament, challenge = rehearsal_id(campaign, "tournament"), rehearsal_id(campaign, "challenge")
    tasks = [{"id": rehearsal_id(campaign, "task", name), "name": name} for name in task_names]
    agents = [{"id": rehearsal_id(campaign, "agent", name), "name": name} for name in agent_names]
    commands = [
        f"{JOIN_COMMAND} {tournament}:{challenge}:{task['id']}:{agent['id']}" for task in tasks for agent in agents
    ]
    info = {
        "tournamentId": tournament,
        "challengeId": challenge,
        "roleId": role_id or rehearsal_id(campaign, "role", "architect"),
        "taskIds": [task["id"] for task in tasks],
        "agents": agents,
    }
    return {"taskIdNamesList": tasks}, {"info": info, "commands": commands}


def read_task_names(folder: str | Path) -> list[str]:
    """The `name` of every platform task file (`*.json`) in a folder, sorted."""
    names = []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            name = json.loads(path.read_text(encoding="utf-8")).get("name")
        except (json.JSONDecodeError, AttributeError):
            raise ExportError(f"{path}: not a platform task file (no JSON object with a 'name')") from None
        if not isinstance(name, str) or not name:
            raise ExportError(f"{path}: the task has no 'name'")
        names.append(name)
    if not names:
        raise ExportError(f"{folder}: no task files (*.json); run notebook 01 or `iglu encode-tasks` first")
    return sorted(names)


@dataclass(frozen=True)
class ExportFiles:
    """The two export files to read, and how they came about (for the reader of a notebook)."""

    task_id_mapping: Path
    join_commands: Path
    note: str


def export_files(
    task_id_mapping: str | Path | None,
    join_commands: str | Path | None,
    *,
    tasks_dir: str | Path,
    agents: Sequence[str],
    exports_dir: str | Path,
    campaign: str = "rehearsal",
    role_id: str | None = None,
    root: Path | None = None,
) -> ExportFiles:
    """The platform's two exports when both are given; otherwise rehearsal exports made from
    the encoded tasks in `tasks_dir` and written to `exports_dir`.

    Relative paths are taken from `root` (default: the project root), as notebooks give them.
    Giving only one of the two exports is an error: a join-command export is only meaningful
    with the task-id mapping of the same tournament.
    """
    root = paths.project_root() if root is None else root
    if task_id_mapping and join_commands:
        return ExportFiles(root / task_id_mapping, root / join_commands, "the platform's exports")
    if task_id_mapping or join_commands:
        given, missing = (
            ("task_id_mapping", "join_commands") if task_id_mapping else ("join_commands", "task_id_mapping")
        )
        raise ExportError(
            f"{given} is set but {missing} is empty; give both exports of one tournament, "
            "or neither to make rehearsal exports from the encoded tasks"
        )
    names = read_task_names(root / tasks_dir)
    mapping, commands = make_platform_exports(names, agents, campaign=campaign, role_id=role_id)
    folder = root / exports_dir
    return ExportFiles(
        write_json_file(folder / "task_id_mapping.json", mapping),
        write_json_file(folder / "join_commands.json", commands),
        f"rehearsal exports for {len(names)} tasks and {len(agents)} agents in {folder}",
    )
