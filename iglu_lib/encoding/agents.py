"""Agent instances: the running copies of each agent that games can be given to.

File format: `{agent_name: [{"agent_instance_id", "agent_instance_name"}, ...]}`. An instance
id is what completes a task join code into a game's join code, so it must be unique across
all agents: the collection loop hands each instance to one HIT at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from iglu_lib.encoding.join_codes import ExportError, read_json_file

AgentInstances = dict[str, list[dict[str, str]]]


class AgentInstancesError(ExportError):
    """An agent-instances file breaks a rule; names the agent and instance."""


def validate_agent_instances(document: Any, source: str = "agent instances") -> AgentInstances:
    """The instances of a parsed file, checked: names and ids non-empty, ids unique across agents."""
    if not isinstance(document, Mapping) or not document:
        raise AgentInstancesError(f"{source}: expected a non-empty object of agent name -> list of instances")
    owner_of: dict[str, str] = {}
    instances: AgentInstances = {}
    for agent, entries in document.items():
        if not isinstance(agent, str) or not agent.strip():
            raise AgentInstancesError(f"{source}: an agent has an empty name")
        if not isinstance(entries, list) or not entries:
            raise AgentInstancesError(f"{source}: agent {agent!r} needs a non-empty list of instances")
        instances[agent] = []
        for index, entry in enumerate(entries):
            where = f"{source}: agent {agent!r} instance {index}"
            instance_id, name = _instance_fields(entry, where)
            if instance_id in owner_of:
                raise AgentInstancesError(
                    f"{where}: agent_instance_id {instance_id!r} is already used by agent {owner_of[instance_id]!r}"
                )
            owner_of[instance_id] = agent
            instances[agent].append({"agent_instance_id": instance_id, "agent_instance_name": name})
    return instances


def load_agent_instances(path: str | Path) -> AgentInstances:
    """An agent-instances file, validated (errors name the file, agent and instance)."""
    return validate_agent_instances(read_json_file(path, "agent-instances file"), str(path))


def agent_instances_from_export(agents: Iterable[Mapping[str, str]]) -> AgentInstances:
    """The instances named by the join-command export (`info.agents`): each agent id there is
    an instance id the platform pairs games with, and ids sharing a name are instances of one
    agent. Add instances by hand when more run."""
    document: dict[str, list[dict[str, str]]] = {}
    for agent in agents:
        entries = document.setdefault(agent["name"], [])
        entries.append({"agent_instance_id": agent["id"], "agent_instance_name": f"{agent['name']}-{len(entries) + 1}"})
    return validate_agent_instances(document, "join-command export agents")


def instances_table(instances: AgentInstances) -> list[dict[str, str]]:
    """One row per instance, for `tabulate` or a DataFrame."""
    return [
        {"agent": agent, "agent_instance_name": entry["agent_instance_name"],
         "agent_instance_id": entry["agent_instance_id"]}
        for agent, entries in instances.items()
        for entry in entries
    ]


def _instance_fields(entry: Any, where: str) -> tuple[str, str]:
    if not isinstance(entry, Mapping):
        raise AgentInstancesError(f"{where}: expected {{\"agent_instance_id\", \"agent_instance_name\"}}, got {entry!r}")
    values = []
    for key in ("agent_instance_id", "agent_instance_name"):
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            raise AgentInstancesError(f"{where}: '{key}' is missing or empty")
        values.append(value)
    return values[0], values[1]
