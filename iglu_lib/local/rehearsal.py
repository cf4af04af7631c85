"""The platform side of a rehearsal: what a researcher does on the real platform's web pages
(upload tasks, register agents with their instances) done on the simulator, ending in the
same two export files the real platform hands out, plus the agent-instances file."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iglu_lib.config import ConfigError

if TYPE_CHECKING:
    from iglu_lib.config import Profile

EXPORT_FILES = {
    "task_id_mapping": "task_id_mapping.json",
    "join_commands": "join_commands.json",
    "agent_instances": "agent_instances.json",
    "true_skills": "true_skills.json",
}


def read_encoded_tasks(tasks_dir: Path, limit: int | None = None) -> dict[str, str]:
    """`{task name: task JSON}` of the encoded tasks in a folder, in file-name order."""
    files = sorted(Path(tasks_dir).glob("*.json"))
    if not files:
        raise ConfigError(f"{tasks_dir}: no encoded task (*.json); run notebook 01_encode_tasks first")
    tasks = {}
    for path in files[:limit]:
        text = path.read_text(encoding="utf-8")
        try:
            name = json.loads(text)["name"]
        except (ValueError, KeyError, TypeError):
            raise ConfigError(f"{path}: not a platform task JSON with a 'name'") from None
        tasks[name] = text
    return tasks


def prepare_simulated_platform(
    profile: Profile,
    tasks_dir: str | Path,
    agents: Mapping[str, Mapping[str, Any]],
    out_dir: str | Path,
    *,
    task_limit: int | None = None,
    tournament_id: str | None = None,
) -> dict[str, Path]:
    """Upload tasks and register agents (`{name: {"instances": n, "skill": 0..1}}`) on the
    simulator; write the platform's two exports, the agent instances and the true skills.
    `tournament_id` keeps these tasks apart from other rehearsals' tasks of the same names
    (the exports list every task of the tournament)."""
    simulator = profile.backend.rehearsal().platform(tournament_id=tournament_id)
    simulator.upload_tasks(read_encoded_tasks(Path(tasks_dir), task_limit))
    instances = {
        name: simulator.register_agent(name, int(spec["instances"]), float(spec["skill"]))
        for name, spec in agents.items()
    }
    mapping, commands = simulator.exports(list(agents))
    skills = {name: float(spec["skill"]) for name, spec in agents.items()}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for key, value in (("task_id_mapping", mapping), ("join_commands", commands),
                       ("agent_instances", instances), ("true_skills", skills)):
        written[key] = out / EXPORT_FILES[key]
        written[key].write_text(json.dumps(value, indent=2), encoding="utf-8")
    return written
