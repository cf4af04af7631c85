"""Strategies decide which combination, task and shown order the next HIT gets.

The scheduler owns the mechanics (instances, slot ids, outcomes, restore); a strategy owns
only the choice, behind the `Strategy` protocol, so an adaptive strategy (combinations by
uncertainty) can replace the balanced one without touching the scheduler.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Mapping
from typing import Protocol

from iglu_lib.scheduling.counts import CountHeap, MinTracker
from iglu_lib.scheduling.model import Choice, Combination, Inventory
from iglu_lib.scheduling.pool import InstancePool


class Strategy(Protocol):
    """What the scheduler asks of a strategy."""

    def choose(self, pool: InstancePool) -> Choice | None:
        """The next choice whose agents all have a free instance, or None to wait."""

    def count(self, choice: Choice) -> None:
        """A slot with this choice is open or valid: it counts for balance."""

    def uncount(self, choice: Choice) -> None:
        """A counted slot was rejected or expired: schedule its combination and task again."""

    def on_freed(self, agent: str) -> None:
        """An instance of `agent` became free."""


class TieBreaks:
    """Seeded tie-breaking shared by every strategy, so equal counts resolve the same way.

    Tasks are visited in one seeded order, each combination starting at its own offset, so
    that early in a campaign different combinations play different tasks; shown orders are
    rotated per combination so no agent is always shown first.
    """

    def __init__(self, inventory: Inventory, combinations: list[Combination], seed: int) -> None:
        rng = random.Random(seed)
        tasks = list(inventory.tasks)
        rng.shuffle(tasks)
        self.task_rank = {task: i for i, task in enumerate(tasks)}
        shuffled = list(combinations)
        rng.shuffle(shuffled)
        self.combination_rank = {combo: i for i, combo in enumerate(shuffled)}
        self._n_tasks = len(tasks)
        self._n_combinations = len(combinations)

    def task_tie(self, combination: Combination, task: str) -> int:
        offset = self.combination_rank[combination] * self._n_tasks // self._n_combinations
        return (self.task_rank[task] + offset) % self._n_tasks

    def orders(self, combination: Combination) -> list[tuple[int, tuple[str, ...]]]:
        """`(tie, order)` for every shown order of the combination."""
        orders = list(itertools.permutations(combination))
        shift = self.combination_rank[combination]
        return [((i + shift) % len(orders), order) for i, order in enumerate(orders)]


class BalancedStrategy:
    """Fewest games first over all combinations; within a combination every task before any
    repeats; shown orders used equally often (each within one).

    `max_lead` bounds how far any combination may get ahead of the least-scheduled one: with
    the default 1 a combination is chosen only while it has the fewest games, so the spread
    never exceeds one even when releases arrive in any order (instances of agents whose
    combinations are ahead then wait). A larger value keeps instances busier at the cost of
    balance.

    Combinations sit in a heap by `(games, tie)`; one whose agents lack a free instance is
    parked under the first such agent and pushed back when that agent frees an instance, so
    a decision costs O(log n) amortised instead of a scan of every combination.
    """

    def __init__(self, inventory: Inventory, combinations: list[Combination], seed: int,
                 *, max_lead: int = 1) -> None:
        if max_lead < 1:
            raise ValueError(f"max_lead must be at least 1, not {max_lead}")
        self._inventory = inventory
        self._ties = TieBreaks(inventory, combinations, seed)
        self._max_lead = max_lead
        self._games = MinTracker(combinations)
        self._heap = [(0, self._ties.combination_rank[c], c) for c in combinations]
        heapq.heapify(self._heap)
        self._parked: dict[str, list[Combination]] = {}
        self._is_parked: set[Combination] = set()
        self._tasks: dict[Combination, CountHeap] = {}
        self._orders: dict[Combination, CountHeap] = {}

    def choose(self, pool: InstancePool) -> Choice | None:
        combination = self._next_combination(pool)
        if combination is None:
            return None
        return Choice(combination, self._task_heap(combination).peek(), self._order_heap(combination).peek())

    def count(self, choice: Choice) -> None:
        self._add(choice, +1)

    def uncount(self, choice: Choice) -> None:
        self._add(choice, -1)

    def on_freed(self, agent: str) -> None:
        for combination in self._parked.pop(agent, ()):
            self._is_parked.discard(combination)
            self._push(combination)

    # -- internals ----------------------------------------------------------------------
    def _next_combination(self, pool: InstancePool) -> Combination | None:
        heap, games = self._heap, self._games.counts
        ceiling = self._games.minimum + self._max_lead
        while heap:
            count, _, combination = heap[0]
            if combination in self._is_parked or count != games[combination]:
                heapq.heappop(heap)
                continue
            if count >= ceiling:
                return None
            short = pool.first_short(combination)
            if short is None:
                return combination
            heapq.heappop(heap)
            self._parked.setdefault(short, []).append(combination)
            self._is_parked.add(combination)
        return None

    def _add(self, choice: Choice, delta: int) -> None:
        self._games.add(choice.combination, delta)
        if choice.combination not in self._is_parked:
            self._push(choice.combination)
        self._task_heap(choice.combination).add(choice.task, delta)
        self._order_heap(choice.combination).add(choice.order, delta)

    def _push(self, combination: Combination) -> None:
        entry = (self._games.counts[combination], self._ties.combination_rank[combination], combination)
        heapq.heappush(self._heap, entry)

    def _task_heap(self, combination: Combination) -> CountHeap:
        heap = self._tasks.get(combination)
        if heap is None:
            ties = ((self._ties.task_tie(combination, task), task) for task in self._inventory.tasks)
            heap = self._tasks[combination] = CountHeap(ties)
        return heap

    def _order_heap(self, combination: Combination) -> CountHeap:
        heap = self._orders.get(combination)
        if heap is None:
            heap = self._orders[combination] = CountHeap(self._ties.orders(combination))
        return heap


class ScanningStrategy:
    """The same rules as `BalancedStrategy`, decided by scanning every combination, task and
    order. Obviously correct and O(combinations + tasks) per decision: the oracle of the
    property tests and the baseline of the `scheduler_decisions` benchmark."""

    def __init__(self, inventory: Inventory, combinations: list[Combination], seed: int,
                 *, max_lead: int = 1) -> None:
        self._inventory = inventory
        self._ties = TieBreaks(inventory, combinations, seed)
        self._max_lead = max_lead
        self._games = dict.fromkeys(combinations, 0)
        self._cells: dict[tuple[Combination, str], int] = {}
        self._orders: dict[tuple[Combination, tuple[str, ...]], int] = {}

    def choose(self, pool: InstancePool) -> Choice | None:
        ceiling = min(self._games.values()) + self._max_lead
        ready = [c for c, n in self._games.items() if n < ceiling and pool.first_short(c) is None]
        if not ready:
            return None
        combination = min(ready, key=lambda c: (self._games[c], self._ties.combination_rank[c]))
        task = min(self._inventory.tasks, key=lambda t: (self._cells.get((combination, t), 0),
                                                          self._ties.task_tie(combination, t)))
        order = min(self._ties.orders(combination),
                    key=lambda tie_order: (self._orders.get((combination, tie_order[1]), 0), tie_order[0]))[1]
        return Choice(combination, task, order)

    def count(self, choice: Choice) -> None:
        self._add(choice, +1)

    def uncount(self, choice: Choice) -> None:
        self._add(choice, -1)

    def on_freed(self, agent: str) -> None:
        """Nothing to do: every decision looks at every combination anyway."""

    def _add(self, choice: Choice, delta: int) -> None:
        self._games[choice.combination] += delta
        cell = (choice.combination, choice.task)
        self._cells[cell] = self._cells.get(cell, 0) + delta
        order = (choice.combination, choice.order)
        self._orders[order] = self._orders.get(order, 0) + delta


#: Strategies by the name a parameter file uses (`strategy: balanced`).
STRATEGIES: Mapping[str, type] = {"balanced": BalancedStrategy, "scanning": ScanningStrategy}
