"""The agent instances and who holds them: the one rule that must never break is that an
instance is in at most one open HIT, so every take and give-back goes through here."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from iglu_lib.scheduling.model import Inventory, SchedulingError


class InstancePool:
    """Free instances per agent (first freed, first reused) and the slot holding each busy one."""

    def __init__(self, inventory: Inventory) -> None:
        self._agent_of = inventory.agent_of_instance()
        self._free: dict[str, deque[str]] = {
            agent: deque(ids) for agent, ids in inventory.instances.items()
        }
        self._holder: dict[str, str] = {}

    def first_short(self, agents: Iterable[str]) -> str | None:
        """The first of `agents` without a free instance, or None when all have one."""
        for agent in agents:
            if not self._free[agent]:
                return agent
        return None

    def agent_of(self, instance_id: str) -> str:
        try:
            return self._agent_of[instance_id]
        except KeyError:
            raise SchedulingError(
                f"unknown agent instance {instance_id!r}; it is not in the agent-instances "
                "file the scheduler was built from"
            ) from None

    def owner(self, instance_id: str) -> str | None:
        """The agent of an instance, or None when the instance is unknown."""
        return self._agent_of.get(instance_id)

    def holder(self, instance_id: str) -> str | None:
        """The slot id holding the instance, or None when it is free."""
        self.agent_of(instance_id)
        return self._holder.get(instance_id)

    def take(self, agent: str, slot_id: str) -> str:
        instance_id = self._free[agent].popleft()
        self._holder[instance_id] = slot_id
        return instance_id

    def take_instance(self, instance_id: str, slot_id: str) -> str | None:
        """Hold a specific instance (when rebuilding open slots from the records); returns
        the slot that held it before, which loses it, or None when it was free."""
        held_by = self.holder(instance_id)
        if held_by is None:
            self._free[self._agent_of[instance_id]].remove(instance_id)
        self._holder[instance_id] = slot_id
        return held_by

    def give_back(self, instance_id: str) -> str:
        """Free the instance; returns its agent."""
        if self.holder(instance_id) is None:
            raise SchedulingError(
                f"instance {instance_id!r} is not in an open HIT; it was released already"
            )
        del self._holder[instance_id]
        agent = self._agent_of[instance_id]
        self._free[agent].append(instance_id)
        return agent

    @property
    def busy(self) -> dict[str, str]:
        """Busy instance id -> slot id (a copy)."""
        return dict(self._holder)
