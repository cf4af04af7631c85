"""Join codes: the platform's two exports in, one file of task join codes out.

Export one maps task names to task ids (`{"taskIdNamesList": [{"id", "name"}]}`); export two
holds one join command per task and agent (`{"info": {..., "agents": [{"id", "name"}]},
"commands": ["/plaiground:join-task-with-agent T:C:TASK:AGENT", ...]}`). The result maps a
task name to `{"task_join_code": "/plaiground:join-task-with-agent T:C:TASK", "task_id": TASK}`;
a game's full join code is that task join code, a colon and an agent instance id.

Problems in the exports (a name given to two tasks, commands for tasks the mapping does not
know, mapped tasks without a command, malformed commands) are counted and named in the
report; only what is unambiguous reaches the join-code file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iglu_lib.errors import IgluError

if TYPE_CHECKING:
    import pandas as pd

JOIN_COMMAND = "/plaiground:join-task-with-agent"


class ExportError(IgluError, ValueError):
    """An export (or join-code file) is missing keys or holds the wrong shapes; names which."""



@dataclass
class JoinCodeReport:
    """What the exports held and what could not be used, by name."""

    tasks: int = 0
    agents: list[dict[str, str]] = field(default_factory=list)
    duplicate_names: dict[str, list[str]] = field(default_factory=dict)
    unknown_task_ids: list[str] = field(default_factory=list)
    tasks_without_command: list[str] = field(default_factory=list)
    malformed_commands: list[str] = field(default_factory=list)
    conflicting_join_codes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return self.tasks > 0

    def problems(self) -> dict[str, int]:
        """How many items of each kind of problem were found."""
        return {
            "duplicate_names": len(self.duplicate_names),
            "unknown_task_ids": len(self.unknown_task_ids),
            "tasks_without_command": len(self.tasks_without_command),
            "malformed_commands": len(self.malformed_commands),
            "conflicting_join_codes": len(self.conflicting_join_codes),
        }

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "problems": self.problems()}

    def require_usable(self, source: str = "the exports") -> None:
        """Raise an `ExportError` naming every problem found when no task is usable, so a
        notebook or script stops before writing an empty join-code file."""
        if self.usable:
            return
        found = {kind: getattr(self, kind) for kind, count in self.problems().items() if count}
        named = "; ".join(f"{kind.replace('_', ' ')}: {_examples(items)}" for kind, items in found.items())
        raise ExportError(
            f"no usable join code in {source} ({named or 'they list no task'}); "
            "give the task-id mapping and the join commands of the same tournament"
        )


def _examples(items: Mapping[str, Any] | list[str], shown: int = 3) -> str:
    """A count and the first few names of a problem's items."""
    names = list(items)
    more = f", ... ({len(names)} in all)" if len(names) > shown else ""
    return ", ".join(repr(name) for name in names[:shown]) + more


@dataclass(frozen=True)
class JoinCommand:
    """One parsed command: the task join code and the agent it pairs the task with."""

    task_join_code: str
    task_id: str
    agent_id: str


def parse_join_command(command: Any) -> JoinCommand:
    """`/plaiground:join-task-with-agent T:C:TASK:AGENT` split into its parts."""
    if not isinstance(command, str):
        raise ValueError(f"{command!r} is not a string")
    prefix, _, code = command.strip().partition(" ")
    fields = code.strip().split(":")
    if prefix != JOIN_COMMAND or len(fields) != 4 or not all(fields):
        raise ValueError(f"{command!r} is not '{JOIN_COMMAND} T:C:TASK:AGENT'")
    tournament, challenge, task_id, agent_id = fields
    return JoinCommand(f"{JOIN_COMMAND} {tournament}:{challenge}:{task_id}", task_id, agent_id)


def game_join_code(task_join_code: str, agent_instance_id: str) -> str:
    """The join code a person types to play one task with one agent instance."""
    return f"{task_join_code}:{agent_instance_id}"


def join_code_table(
    join_codes: Mapping[str, Mapping[str, str]], instances: Mapping[str, list[Mapping[str, str]]]
) -> list[dict[str, str]]:
    """One row per task, agent and instance, with the game's full join code."""
    return [
        {"task": name, "agent": agent, "agent_instance_name": instance["agent_instance_name"],
         "join_code": game_join_code(entry["task_join_code"], instance["agent_instance_id"])}
        for name, entry in join_codes.items()
        for agent, agent_instances in instances.items()
        for instance in agent_instances
    ]


def join_code_matrix(
    join_codes: Mapping[str, Mapping[str, str]], instances: Mapping[str, list[Mapping[str, str]]]
) -> pd.DataFrame:
    """Tasks x agents: each cell the join code of one game (the agent's first instance), so a
    person can see at a glance which code pairs which task with which agent."""
    import pandas as pd

    rows = join_code_table(join_codes, instances)
    table = pd.DataFrame(rows, columns=["task", "agent", "agent_instance_name", "join_code"])
    return table.pivot_table(index="task", columns="agent", values="join_code", aggfunc="first")


def build_join_codes(
    task_id_mapping: Mapping[str, Any],
    join_commands: Mapping[str, Any],
    *,
    mapping_source: str = "task-id mapping export",
    commands_source: str = "join-command export",
) -> tuple[dict[str, dict[str, str]], JoinCodeReport]:
    """The join-code file's content from the two exports, and a report of what was left out."""
    report = JoinCodeReport()
    names_by_id = _task_names(task_id_mapping, mapping_source, report)
    codes_by_task = _task_join_codes(join_commands, commands_source, report)
    report.unknown_task_ids = sorted(set(codes_by_task) - set(names_by_id))
    join_codes = {}
    for task_id, name in names_by_id.items():
        codes = codes_by_task.get(task_id)
        if not codes:
            report.tasks_without_command.append(name)
        elif len(codes) > 1:
            report.conflicting_join_codes[name] = sorted(codes)
        else:
            join_codes[name] = {"task_join_code": next(iter(codes)), "task_id": task_id}
    report.tasks = len(join_codes)
    return dict(sorted(join_codes.items())), report


def _task_names(export: Mapping[str, Any], source: str, report: JoinCodeReport) -> dict[str, str]:
    entries = export.get("taskIdNamesList") if isinstance(export, Mapping) else None
    if not isinstance(entries, list):
        raise ExportError(f"{source}: no list 'taskIdNamesList' (expected {{\"taskIdNamesList\": [{{\"id\", \"name\"}}]}})")
    ids_by_name: dict[str, set[str]] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not _text(entry.get("id")) or not _text(entry.get("name")):
            raise ExportError(f"{source}: taskIdNamesList[{index}] needs a non-empty 'id' and 'name', got {entry!r}")
        ids_by_name.setdefault(entry["name"], set()).add(entry["id"])
    report.duplicate_names = {name: sorted(ids) for name, ids in ids_by_name.items() if len(ids) > 1}
    return {next(iter(ids)): name for name, ids in ids_by_name.items() if len(ids) == 1}


def _task_join_codes(export: Mapping[str, Any], source: str, report: JoinCodeReport) -> dict[str, set[str]]:
    if not isinstance(export, Mapping) or not isinstance(export.get("commands"), list):
        raise ExportError(f"{source}: no list 'commands' (expected {{\"info\": {{...}}, \"commands\": [...]}})")
    info = export.get("info")
    if not isinstance(info, Mapping) or not isinstance(info.get("agents"), list):
        raise ExportError(f"{source}: no list 'info.agents' of {{\"id\", \"name\"}}")
    report.agents = [_agent(agent, f"{source}: info.agents[{i}]") for i, agent in enumerate(info["agents"])]
    codes: dict[str, set[str]] = {}
    for command in export["commands"]:
        try:
            parsed = parse_join_command(command)
        except ValueError:
            report.malformed_commands.append(str(command))
            continue
        codes.setdefault(parsed.task_id, set()).add(parsed.task_join_code)
    return codes


def _agent(agent: Any, where: str) -> dict[str, str]:
    if not isinstance(agent, Mapping) or not _text(agent.get("id")) or not _text(agent.get("name")):
        raise ExportError(f"{where}: needs a non-empty 'id' and 'name', got {agent!r}")
    return {"id": agent["id"], "name": agent["name"]}


def read_json_file(path: str | Path, what: str) -> Any:
    """A JSON file, or an error naming the file, line and column."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportError(f"{path}: {what} not found") from None
    except json.JSONDecodeError as err:
        raise ExportError(f"{path}: {what} is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})") from None


def join_codes_from_files(
    task_id_mapping: str | Path, join_commands: str | Path
) -> tuple[dict[str, dict[str, str]], JoinCodeReport]:
    """`build_join_codes` on the two export files, errors naming the file."""
    return build_join_codes(
        read_json_file(task_id_mapping, "task-id mapping export"),
        read_json_file(join_commands, "join-command export"),
        mapping_source=str(task_id_mapping),
        commands_source=str(join_commands),
    )


def read_join_codes(path: str | Path) -> dict[str, dict[str, str]]:
    """A join-code file, `join_code` accepted as a synonym of `task_join_code`."""
    document = read_json_file(path, "join-code file")
    if not isinstance(document, Mapping):
        raise ExportError(f"{path}: expected an object of task name -> {{task_join_code, task_id}}")
    codes = {}
    for name, entry in document.items():
        code = entry.get("task_join_code", entry.get("join_code")) if isinstance(entry, Mapping) else None
        if not _text(code) or not _text(entry.get("task_id")):
            raise ExportError(f"{path}: task {name!r} needs a non-empty 'task_join_code' (or 'join_code') and 'task_id'")
        codes[name] = {"task_join_code": code, "task_id": entry["task_id"]}
    return codes


def write_json_file(path: str | Path, value: Any) -> Path:
    """Write pretty JSON (parent folders created) through a temporary file, so a reader never
    sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)
    return path


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())
