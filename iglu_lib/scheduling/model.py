"""What the scheduler schedules: the tasks and agent instances of a campaign, and the slots
(one HIT's task, agents in shown order, instances and full join codes) it hands out.

The inputs are the two files the encoding stage writes: the join-code file
`{task_name: {"task_join_code", "task_id"}}` (`join_code` is read as a synonym) and the
agent-instances file `{agent_name: [{"agent_instance_id", "agent_instance_name"}]}`.
Both are checked here once, so the scheduler itself never meets malformed input.
"""

from __future__ import annotations

import enum
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iglu_lib.errors import IgluError

#: A combination of agents in canonical order (the order of the agent-instances file).
Combination = tuple[str, ...]


class SchedulingError(IgluError, ValueError):
    """Input to the scheduler is malformed or inconsistent; the message says where and what."""



class Outcome(str, enum.Enum):
    """What became of a slot's HIT, as the scheduler needs to know it.

    Open and valid slots count for balance; a rejected or expired slot does not, so its
    combination and task are scheduled again.
    """

    OPEN = "open"
    VALID = "valid"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def counted(self) -> bool:
        return self in (Outcome.OPEN, Outcome.VALID)


def slot_outcome(outcomes: Iterable[Outcome]) -> Outcome:
    """The one rule for a slot's outcome from its games' outcomes: open while any game is
    open, expired if any expired, valid only when every game is valid, rejected else (a HIT
    with one rejected game does not count for balance, so its cell is scheduled again)."""
    seen = set(outcomes)
    if Outcome.OPEN in seen:
        return Outcome.OPEN
    if Outcome.EXPIRED in seen:
        return Outcome.EXPIRED
    if seen and seen == {Outcome.VALID}:
        return Outcome.VALID
    return Outcome.REJECTED


@dataclass(frozen=True)
class TaskCode:
    name: str
    task_join_code: str
    task_id: str


@dataclass(frozen=True)
class Choice:
    """A strategy's decision: which combination, which task, which shown order."""

    combination: Combination
    task: str
    order: tuple[str, ...]


@dataclass(frozen=True)
class Slot:
    """The next HIT: one task played with each agent, agents listed in the order shown.

    `slot_id` is the campaign-wide sequence number of the decision (zero-padded so it sorts);
    it names the HIT's intention in the game records before any HIT exists.
    """

    slot_id: str
    task_name: str
    task_id: str
    agents: tuple[str, ...]
    instance_ids: tuple[str, ...]
    join_codes: tuple[str, ...]
    combination: Combination

    def games(self) -> Iterator[tuple[int, str, str, str]]:
        """`(shown position, agent, instance id, join code)` for each game of the slot."""
        return iter(
            zip(
                range(len(self.agents)),
                self.agents,
                self.instance_ids,
                self.join_codes,
                strict=True,
            )
        )


def chosen_best(value: Any) -> bool:
    """Whether an annotation's `was_chosen_best` says yes (JSON true, or a form's "true"/"on")."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() in ("true", "on", "yes", "1")


def winner_of(games: Any) -> str | None:
    """The agent of the one game chosen best among a slot's game records, or None when no
    game or several games were chosen (no decision).

    A game counts as chosen when its `chosen` attribute is true, or its `annotation` mapping
    has `was_chosen_best` true; records without either say nothing.
    """
    chosen = []
    for game in games:
        flag = getattr(game, "chosen", None)
        if flag is None:
            annotation = getattr(game, "annotation", None)
            flag = chosen_best(annotation.get("was_chosen_best")) if isinstance(annotation, Mapping) else False
        if flag:
            chosen.append(game.agent_name)
    return chosen[0] if len(chosen) == 1 else None


def slot_id_for(sequence: int) -> str:
    return f"{sequence:08d}"


def sequence_of(slot_id: str) -> int:
    if not (len(slot_id) == 8 and slot_id.isdigit()):
        raise SchedulingError(
            f"slot id {slot_id!r} is not an 8-digit sequence number; "
            "the records were not written by this scheduler"
        )
    return int(slot_id)


def full_join_code(task_join_code: str, instance_id: str) -> str:
    """A game's join code: the task join code, a colon and the agent instance id."""
    return f"{task_join_code}:{instance_id}"


def split_join_code(join_code: str) -> tuple[str, str]:
    """`(task join code, instance id)` of a full join code."""
    task_code, sep, instance_id = str(join_code).rpartition(":")
    if not sep or not task_code or not instance_id:
        raise SchedulingError(
            f"join code {join_code!r} is not '<task join code>:<agent instance id>'"
        )
    return task_code, instance_id


@dataclass(frozen=True)
class Inventory:
    """The tasks and agent instances of a campaign, checked and indexed."""

    tasks: Mapping[str, TaskCode]
    instances: Mapping[str, tuple[str, ...]]  # agent name -> instance ids, in file order

    @classmethod
    def from_content(cls, join_codes: Any, agent_instances: Any, *, source: str = "") -> Inventory:
        where = f"{source}: " if source else ""
        return cls(
            tasks=_parse_tasks(join_codes, where),
            instances=_parse_instances(agent_instances, where),
        )

    @classmethod
    def from_files(cls, join_codes_path: Path | str, agent_instances_path: Path | str) -> Inventory:
        return cls(
            tasks=_parse_tasks(_read_json(join_codes_path), f"{join_codes_path}: "),
            instances=_parse_instances(
                _read_json(agent_instances_path), f"{agent_instances_path}: "
            ),
        )

    @property
    def agents(self) -> tuple[str, ...]:
        return tuple(self.instances)

    def combinations(self, k: int, only: Sequence[Sequence[str]] | None = None) -> list[Combination]:
        """Every set of k agents, or only the sets `only` names (a follow-up that targets the
        pairs whose order is not settled); a set that names an unknown agent, repeats one or is
        not of size k is an error, never silently dropped."""
        if not 1 <= k <= len(self.instances):
            raise SchedulingError(
                f"combination size k={k} must be between 1 and the number of agents "
                f"({len(self.instances)}: {', '.join(self.instances)})"
            )
        if not only:
            return list(itertools.combinations(self.agents, k))
        chosen: list[Combination] = []
        for agents in only:
            names = tuple(str(a) for a in agents)
            unknown = [a for a in names if a not in self.instances]
            if unknown or len(set(names)) != k or len(names) != k:
                raise SchedulingError(
                    f"pairs: {list(names)} must name {k} distinct agents of the agent instances "
                    f"({', '.join(self.instances)})" + (f"; unknown: {', '.join(unknown)}" if unknown else ""))
            combination = self.canonical(names)
            if combination not in chosen:
                chosen.append(combination)
        return sorted(chosen, key=lambda c: [self.agents.index(a) for a in c])

    def agent_of_instance(self) -> dict[str, str]:
        return {iid: agent for agent, ids in self.instances.items() for iid in ids}

    def task_by_join_code(self) -> dict[str, TaskCode]:
        return {task.task_join_code: task for task in self.tasks.values()}

    def canonical(self, agents: tuple[str, ...]) -> Combination:
        index = {agent: i for i, agent in enumerate(self.instances)}
        return tuple(sorted(agents, key=index.__getitem__))


def _read_json(path: Path | str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SchedulingError(f"{path}: file not found") from None
    except json.JSONDecodeError as err:
        raise SchedulingError(
            f"{path}: line {err.lineno}, column {err.colno}: not JSON ({err.msg})"
        ) from None


def _parse_tasks(content: Any, where: str) -> dict[str, TaskCode]:
    if not isinstance(content, Mapping) or not content:
        raise SchedulingError(
            f"{where}join codes must be a non-empty mapping "
            "{task_name: {'task_join_code', 'task_id'}}"
        )
    tasks: dict[str, TaskCode] = {}
    seen_codes: dict[str, str] = {}
    for name, entry in content.items():
        if not isinstance(entry, Mapping):
            raise SchedulingError(
                f"{where}task {name!r}: expected a mapping with 'task_join_code' and 'task_id'"
            )
        code = entry.get("task_join_code", entry.get("join_code"))
        if not isinstance(code, str) or not code.strip():
            raise SchedulingError(
                f"{where}task {name!r} has no 'task_join_code' (or 'join_code'); "
                "regenerate the join-code file"
            )
        task_id = entry.get("task_id") or code.rpartition(":")[2]
        if code in seen_codes:
            raise SchedulingError(
                f"{where}tasks {seen_codes[code]!r} and {name!r} share the join code {code!r}"
            )
        seen_codes[code] = name
        tasks[str(name)] = TaskCode(str(name), code, str(task_id))
    return tasks


def _parse_instances(content: Any, where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(content, Mapping) or not content:
        raise SchedulingError(
            f"{where}agent instances must be a non-empty mapping "
            "{agent_name: [{'agent_instance_id', 'agent_instance_name'}]}"
        )
    instances: dict[str, tuple[str, ...]] = {}
    owner: dict[str, str] = {}
    for agent, entries in content.items():
        if not isinstance(entries, list) or not entries:
            raise SchedulingError(
                f"{where}agent {agent!r} has no instances; add at least one or remove the agent"
            )
        ids = []
        for row, entry in enumerate(entries):
            iid = entry.get("agent_instance_id") if isinstance(entry, Mapping) else None
            if not isinstance(iid, str) or not iid or ":" in iid:
                raise SchedulingError(
                    f"{where}agent {agent!r}, instance {row}: 'agent_instance_id' must be a "
                    "non-empty string without ':'"
                )
            if iid in owner:
                raise SchedulingError(
                    f"{where}instance id {iid!r} is listed for both {owner[iid]!r} and "
                    f"{agent!r}; every instance must be unique"
                )
            owner[iid] = str(agent)
            ids.append(iid)
        instances[str(agent)] = tuple(ids)
    return instances
