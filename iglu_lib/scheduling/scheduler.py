"""The scheduler: which task, agents, shown order and instances the next HIT gets.

It keeps every agent instance in at most one open HIT, hands the choice of combination,
task and order to a pluggable strategy, and rebuilds itself from the game records after a
restart, so the collection loop can die at any line and carry on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from iglu_lib.errors import IgluError
from iglu_lib.scheduling.evidence import WorkerPreference
from iglu_lib.scheduling.model import (
    Choice,
    Combination,
    Inventory,
    Outcome,
    SchedulingError,
    Slot,
    full_join_code,
    sequence_of,
    slot_id_for,
    slot_outcome,
    split_join_code,
    winner_of,
)
from iglu_lib.scheduling.pool import InstancePool
from iglu_lib.scheduling.strategy import BalancedStrategy, Strategy

#: Builds a strategy: `(inventory, combinations, seed) -> Strategy`.
StrategyFactory = Callable[[Inventory, list[Combination], int], Strategy]


class ScheduledGame(Protocol):
    """What `restore` reads from a stored game record (one per game of a slot).

    A record may also carry `annotation` (a mapping with `was_chosen_best`) or `chosen`
    (a bool): the winner of a valid slot is then rebuilt too (`model.winner_of`); and
    `worker_id`, the worker who judged it (the evidence rules count workers).
    Members are read-only properties, so that a frozen dataclass satisfies the protocol.
    """

    @property
    def slot_id(self) -> str: ...

    @property
    def shown_position(self) -> int: ...

    @property
    def join_code(self) -> str: ...

    @property
    def agent_name(self) -> str: ...

    @property
    def outcome(self) -> Outcome:
        """This game's own outcome; a slot's is `model.slot_outcome` over its games."""
        ...


@dataclass
class RestoreReport:
    """What `restore` rebuilt: slots per outcome, slots skipped with the reason, and instances
    found in two open slots, moved to the later one.

    Two open slots share an instance only when the earlier one was freed (its HIT expired)
    and then reopened by a late submission: its game was played before the instance was
    handed on, so the later slot, where a worker may be playing now, keeps the instance.
    """

    outcomes: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    moved: dict[str, tuple[str, str]] = field(default_factory=dict)


class _Retired(IgluError):
    """A stored slot names a task, agent or instance no longer in the campaign's files."""


@dataclass
class _SlotState:
    slot: Slot
    choice: Choice
    outcome: Outcome
    winner: str | None = None  # the agent chosen best, for valid slots whose worker chose one
    worker: str | None = None  # who judged it (None: unknown, e.g. a simulation)


class Scheduler:
    """Hands out slots: `next()`, `release(join_code)`, `record_outcome(slot_id, outcome)`.

    `next()` reserves one free instance of each agent of the chosen combination and counts
    the slot as open. Freeing instances (`release`) and reporting what became of the HIT
    (`record_outcome`) are separate because they happen at different moments: an expired
    HIT whose assignment was accepted keeps its instances until the assignment duration has
    run out. `close(slot_id, outcome)` does both.
    """

    def __init__(
        self,
        inventory: Inventory,
        k: int,
        seed: int = 0,
        strategy: StrategyFactory = BalancedStrategy,
        only: Sequence[Sequence[str]] | None = None,
    ) -> None:
        self.inventory = inventory
        self.k = k
        self.seed = seed
        self.combinations = inventory.combinations(k, only)  # `only`: a follow-up's pairs
        self._make_strategy = strategy
        self._reset()

    @classmethod
    def from_content(
        cls,
        join_codes: object,
        agent_instances: object,
        k: int,
        seed: int = 0,
        strategy: StrategyFactory = BalancedStrategy,
        only: Sequence[Sequence[str]] | None = None,
    ) -> Scheduler:
        return cls(Inventory.from_content(join_codes, agent_instances), k, seed, strategy, only)

    @classmethod
    def from_files(
        cls,
        join_codes_path: Path | str,
        agent_instances_path: Path | str,
        k: int,
        seed: int = 0,
        strategy: StrategyFactory = BalancedStrategy,
        only: Sequence[Sequence[str]] | None = None,
    ) -> Scheduler:
        return cls(Inventory.from_files(join_codes_path, agent_instances_path), k, seed, strategy, only)

    def _reset(self) -> None:
        self._pool = InstancePool(self.inventory)
        self._strategy = self._make_strategy(self.inventory, self.combinations, self.seed)
        self._slots: dict[str, _SlotState] = {}
        self._sequence = 0

    # -- decisions ----------------------------------------------------------------------
    def next(self) -> Slot | None:
        """The next HIT's slot, or None while no allowed combination has free instances."""
        choice = self._strategy.choose(self._pool)
        if choice is None:
            return None
        slot_id = slot_id_for(self._sequence)
        task = self.inventory.tasks[choice.task]
        instance_ids = tuple(self._pool.take(agent, slot_id) for agent in choice.order)
        slot = Slot(
            slot_id=slot_id,
            task_name=task.name,
            task_id=task.task_id,
            agents=choice.order,
            instance_ids=instance_ids,
            join_codes=tuple(full_join_code(task.task_join_code, iid) for iid in instance_ids),
            combination=choice.combination,
        )
        self._strategy.count(choice)
        self._slots[slot_id] = _SlotState(slot, choice, Outcome.OPEN)
        self._sequence += 1
        return slot

    def release(self, join_code: str) -> Slot:
        """Free the instance of a game's join code; returns the slot it belonged to."""
        instance_id = split_join_code(join_code)[1]
        slot_id = self._pool.holder(instance_id)
        if slot_id is None:
            raise SchedulingError(
                f"join code {join_code!r}: its instance is not in an open HIT "
                "(released already, or never scheduled)"
            )
        slot = self._slots[slot_id].slot
        if join_code not in slot.join_codes:
            raise SchedulingError(
                f"join code {join_code!r}: instance {instance_id!r} is busy in slot "
                f"{slot_id} for another task ({slot.task_name!r})"
            )
        self._free(instance_id)
        return slot

    def record_outcome(self, slot_id: str, outcome: Outcome | str, winner: str | None = None,
                       worker: str | None = None) -> None:
        """Record what became of a slot's HIT; rejected or expired slots are scheduled again.

        `winner` is the agent the worker chose best (None: no single choice); it is kept only
        for valid slots, where an adaptive strategy and the stopping rule learn from it, with
        `worker`, who chose (the evidence rules weigh workers, not judgements).
        Recording the same outcome and winner again changes nothing.
        """
        state = self._state(slot_id)
        outcome = _parse_outcome(outcome)
        if winner is not None and winner not in state.slot.agents:
            raise SchedulingError(
                f"slot {slot_id}: winner {winner!r} is not one of its agents ({', '.join(state.slot.agents)})"
            )
        if state.outcome is Outcome.VALID:
            self._observe(state, -1)
        if state.outcome.counted and not outcome.counted:
            self._strategy.uncount(state.choice)
        elif outcome.counted and not state.outcome.counted:
            self._strategy.count(state.choice)
        state.outcome = outcome
        state.winner = winner if outcome is Outcome.VALID else None
        state.worker = worker or None
        if outcome is Outcome.VALID:
            self._observe(state, +1)

    def close(self, slot_id: str, outcome: Outcome | str, winner: str | None = None,
              worker: str | None = None) -> None:
        """Free whichever of the slot's instances it still holds, and record its outcome (and,
        for a valid slot, the agent chosen best and the worker who chose)."""
        state = self._state(slot_id)
        for instance_id in state.slot.instance_ids:
            if self._pool.owner(instance_id) and self._pool.holder(instance_id) == slot_id:
                self._free(instance_id)
        self.record_outcome(slot_id, outcome, winner, worker)

    def _observe(self, state: _SlotState, delta: int) -> None:
        """Tell a strategy that learns from preferences about a valid slot (or take it back)."""
        observe = getattr(self._strategy, "observe", None)
        if observe is not None:
            observe(state.choice, state.winner, delta, state.worker)

    def _free(self, instance_id: str) -> None:
        self._strategy.on_freed(self._pool.give_back(instance_id), self._pool)

    # -- restart ------------------------------------------------------------------------
    def restore(self, records: Iterable[ScheduledGame]) -> RestoreReport:
        """Rebuild the state from stored game records (one per game) after a restart.

        Open slots hold their instances again; open and valid slots count for balance;
        valid slots whose records say which game was chosen best get their winner back;
        the next slot id follows the highest stored one, so ids are never reused. Closed
        slots of a task or agent no longer in the files are skipped and reported; an open
        one is an error (its HIT still uses what is gone).
        """
        self._reset()
        by_slot: dict[str, list[ScheduledGame]] = {}
        for record in records:
            by_slot.setdefault(record.slot_id, []).append(record)
        report = RestoreReport()
        for slot_id in sorted(by_slot, key=sequence_of):
            games = sorted(by_slot[slot_id], key=lambda r: int(r.shown_position))
            self._restore_slot(slot_id, games, report)
        self._sequence = max((sequence_of(s) for s in by_slot), default=-1) + 1
        return report

    def _restore_slot(
        self, slot_id: str, games: list[ScheduledGame], report: RestoreReport
    ) -> None:
        outcome = slot_outcome(game.outcome for game in games)
        try:
            slot = self._slot_of_records(slot_id, games, outcome)
        except _Retired as gone:
            if outcome is Outcome.OPEN:
                raise SchedulingError(
                    f"open slot {slot_id}: {gone}; put it back in the file or close that HIT first"
                ) from None
            report.skipped[slot_id] = str(gone)
            return
        choice = Choice(slot.combination, slot.task_name, slot.agents)
        if outcome is Outcome.OPEN:
            for instance_id in slot.instance_ids:
                earlier = self._pool.take_instance(instance_id, slot_id)
                if earlier is not None:
                    report.moved[instance_id] = (earlier, slot_id)
        if outcome.counted:
            self._strategy.count(choice)
        state = _SlotState(slot, choice, outcome, winner_of(games) if outcome is Outcome.VALID else None,
                           _worker_of(games))
        if outcome is Outcome.VALID:
            self._observe(state, +1)
        self._slots[slot_id] = state
        report.outcomes[outcome.value] = report.outcomes.get(outcome.value, 0) + 1

    def _slot_of_records(self, slot_id: str, games: list[ScheduledGame], outcome: Outcome) -> Slot:
        task_by_code = self.inventory.task_by_join_code()
        tasks, agents, instance_ids = set(), [], []
        for game in games:
            where = f"game record of slot {slot_id}, position {game.shown_position}"
            task_code, instance_id = split_join_code(game.join_code)
            if task_code not in task_by_code:
                raise _Retired(f"task join code {task_code!r} is not in the join-code file")
            if game.agent_name not in self.inventory.instances:
                raise _Retired(f"agent {game.agent_name!r} is not in the agent-instances file")
            owner = self._pool.owner(instance_id)
            if owner is None and outcome is Outcome.OPEN:
                raise _Retired(f"instance {instance_id!r} is not in the agent-instances file")
            if owner not in (None, game.agent_name):
                raise SchedulingError(
                    f"{where}: AgentName {game.agent_name!r} but instance {instance_id!r} "
                    f"belongs to {owner!r}"
                )
            tasks.add(task_by_code[task_code].name)
            agents.append(game.agent_name)
            instance_ids.append(instance_id)
        if len(tasks) != 1 or len(games) != self.k or len(set(agents)) != self.k:
            raise SchedulingError(
                f"game records of slot {slot_id}: expected {self.k} games of one task with "
                f"distinct agents, found {len(games)} ({', '.join(agents)}); was the "
                "campaign run with another combination size?"
            )
        task = self.inventory.tasks[tasks.pop()]
        return Slot(
            slot_id,
            task.name,
            task.task_id,
            tuple(agents),
            tuple(instance_ids),
            tuple(g.join_code for g in games),
            self.inventory.canonical(tuple(agents)),
        )

    # -- views --------------------------------------------------------------------------
    def slot(self, slot_id: str) -> Slot:
        return self._state(slot_id).slot

    def outcome(self, slot_id: str) -> Outcome:
        return self._state(slot_id).outcome

    def preferences(self) -> list[tuple[tuple[str, ...], str]]:
        """`(agents in shown order, agent chosen best)` of every valid slot with a choice, in
        slot order: what the stopping rule and the analysis of the design learn from."""
        return [
            (s.slot.agents, s.winner)
            for _, s in sorted(self._slots.items())
            if s.outcome is Outcome.VALID and s.winner is not None
        ]

    def judgements(self) -> list[WorkerPreference]:
        """The preferences of `preferences()` with the worker who gave each (None: unknown):
        what the evidence rules weigh."""
        return [
            WorkerPreference(s.slot.agents, s.winner, s.worker)
            for _, s in sorted(self._slots.items())
            if s.outcome is Outcome.VALID and s.winner is not None
        ]

    def open_slots(self) -> list[Slot]:
        return [s.slot for s in self._slots.values() if s.outcome is Outcome.OPEN]

    def busy_instances(self) -> dict[str, str]:
        """Busy instance id -> id of the slot holding it."""
        return self._pool.busy

    def combination_counts(self) -> dict[Combination, int]:
        """Games (open or valid slots) per combination, zero included."""
        counts = dict.fromkeys(self.combinations, 0)
        counts.update(
            Counter(s.choice.combination for s in self._slots.values() if s.outcome.counted)
        )
        return counts

    def cell_counts(self) -> dict[tuple[Combination, str], int]:
        """Open or valid slots per (combination, task), zero included."""
        counts = {(c, t): 0 for c in self.combinations for t in self.inventory.tasks}
        counts.update(
            Counter(
                (s.choice.combination, s.choice.task)
                for s in self._slots.values()
                if s.outcome.counted
            )
        )
        return counts

    def order_counts(self) -> dict[tuple[str, ...], int]:
        """Open or valid slots per shown order."""
        return dict(Counter(s.choice.order for s in self._slots.values() if s.outcome.counted))

    def spread(self) -> int:
        """Games of the most scheduled combination minus those of the least scheduled one."""
        counts = self.combination_counts().values()
        return max(counts) - min(counts)

    def _state(self, slot_id: str) -> _SlotState:
        try:
            return self._slots[slot_id]
        except KeyError:
            raise SchedulingError(
                f"unknown slot id {slot_id!r}: the scheduler never handed it out"
            ) from None


def _worker_of(games: list[ScheduledGame]) -> str | None:
    """The worker who judged a stored slot (its records' `worker_id`), or None."""
    worker = getattr(games[0], "worker_id", None) if games else None
    return str(worker) if worker else None


def _parse_outcome(value: Outcome | str) -> Outcome:
    try:
        return Outcome(value)
    except ValueError:
        known = ", ".join(o.value for o in Outcome)
        raise SchedulingError(f"unknown outcome {value!r}; use one of {known}") from None
