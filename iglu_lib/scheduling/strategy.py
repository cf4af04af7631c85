"""Strategies decide which combination, task and shown order the next HIT gets.

The scheduler owns the mechanics (instances, slot ids, outcomes, restore); a strategy owns
only the choice, behind the `Strategy` protocol. `balanced` spreads HITs evenly;
`adaptive` picks the combination that most narrows the ranking's unsettled intervals (it
also has `observe`, which the scheduler calls with the preference of every valid slot).
"""

from __future__ import annotations

import functools
import heapq
import itertools
import random
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from iglu_lib.scheduling.counts import CountHeap, MinTracker
from iglu_lib.scheduling.model import Choice, Combination, Inventory, SchedulingError
from iglu_lib.scheduling.pool import InstancePool


class Strategy(Protocol):
    """What the scheduler asks of a strategy."""

    def choose(self, pool: InstancePool) -> Choice | None:
        """The next choice whose agents all have a free instance, or None to wait."""

    def count(self, choice: Choice) -> None:
        """A slot with this choice is open or valid: it counts for balance."""

    def uncount(self, choice: Choice) -> None:
        """A counted slot was rejected or expired: schedule its combination and task again."""

    def on_freed(self, agent: str, pool: InstancePool) -> None:
        """An instance of `agent` became free."""


class TieBreaks:
    """Seeded tie-breaking shared by every strategy, so equal counts resolve the same way.

    Ties are integers `0 .. n-1`. Tasks are visited in one seeded order, each combination
    starting at its own offset, so that early in a campaign different combinations play
    different tasks; shown orders are rotated per combination so no agent is always first.
    """

    def __init__(self, inventory: Inventory, combinations: list[Combination], seed: int) -> None:
        rng = random.Random(seed)
        self.tasks = list(inventory.tasks)
        rng.shuffle(self.tasks)
        self._task_rank = {task: i for i, task in enumerate(self.tasks)}
        shuffled = list(combinations)
        rng.shuffle(shuffled)
        self.combination_rank = {combo: i for i, combo in enumerate(shuffled)}
        self._n_combinations = len(combinations)

    def _offset(self, combination: Combination) -> int:
        return self.combination_rank[combination] * len(self.tasks) // self._n_combinations

    def task_tie(self, combination: Combination, task: str) -> int:
        return (self._task_rank[task] + self._offset(combination)) % len(self.tasks)

    def task_at(self, combination: Combination) -> Callable[[int], str]:
        """The task with a given tie in this combination."""
        tasks, offset, n = self.tasks, self._offset(combination), len(self.tasks)
        return lambda tie: tasks[(tie - offset) % n]

    def orders(self, combination: Combination) -> list[tuple[str, ...]]:
        """Every shown order of the combination, indexed by its tie."""
        orders = list(itertools.permutations(combination))
        shift = self.combination_rank[combination] % len(orders)
        return orders[shift:] + orders[:shift]


class BalancedStrategy:
    """Fewest games first over all combinations; within a combination every task before any
    repeats; shown orders used equally often (each within one).

    `max_lead` bounds how far any combination may get ahead of the least-scheduled one: with
    the default 1 a combination is chosen only while it has the fewest games, so the spread
    never exceeds one even when releases arrive in any order (instances of agents whose
    combinations are ahead then wait). A larger value keeps instances busier at the cost of
    balance.

    Combinations sit in a heap by `(games, tie)`; one whose agents lack a free instance is
    parked under the first such agent and looked at again only when that agent frees an
    instance, so a decision costs O(log n) amortised instead of a scan of every combination.
    """

    def __init__(
        self, inventory: Inventory, combinations: list[Combination], seed: int, *, max_lead: int = 1
    ) -> None:
        if max_lead < 1:
            raise SchedulingError(f"max_lead must be at least 1, not {max_lead}")
        self._ties = TieBreaks(inventory, combinations, seed)
        self._max_lead = max_lead
        self._games = MinTracker(combinations)
        self._heap = [(0, self._ties.combination_rank[c], c) for c in combinations]
        heapq.heapify(self._heap)
        self._parked: dict[str, list[Combination]] = {}
        self._is_parked: set[Combination] = set()
        self._tasks: dict[Combination, CountHeap[str]] = {}
        self._orders: dict[Combination, CountHeap[tuple[str, ...]]] = {}
        self._order_ties: dict[Combination, dict[tuple[str, ...], int]] = {}

    def choose(self, pool: InstancePool) -> Choice | None:
        combination = self._next_combination(pool)
        if combination is None:
            return None
        return Choice(
            combination, self._task_heap(combination).peek(), self._order_heap(combination).peek()
        )

    def count(self, choice: Choice) -> None:
        self._add(choice, +1)

    def uncount(self, choice: Choice) -> None:
        self._add(choice, -1)

    def on_freed(self, agent: str, pool: InstancePool) -> None:
        for combination in self._parked.pop(agent, ()):
            short = pool.first_short(combination)  # pragma: no mutate: a combination pushed back while still short is parked again when it reaches the top: the same decisions
            if short is None:
                self._is_parked.discard(combination)
                self._push(combination)
            else:
                self._parked.setdefault(short, []).append(combination)

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
            self._is_parked.add(combination)  # pragma: no mutate: parking only saves looking again: an unmarked combination is pushed, found short and parked again
        return None

    def _add(self, choice: Choice, delta: int) -> None:
        combination = choice.combination
        self._games.add(combination, delta)
        if combination not in self._is_parked:
            self._push(combination)
        self._task_heap(combination).add(
            choice.task, self._ties.task_tie(combination, choice.task), delta
        )
        self._order_heap(combination).add(
            choice.order, self._order_ties[combination][choice.order], delta
        )

    def _push(self, combination: Combination) -> None:
        entry = (
            self._games.counts[combination],
            self._ties.combination_rank[combination],
            combination,
        )
        heapq.heappush(self._heap, entry)

    def _task_heap(self, combination: Combination) -> CountHeap[str]:
        heap = self._tasks.get(combination)
        if heap is None:
            heap = self._tasks[combination] = CountHeap(
                len(self._ties.tasks), self._ties.task_at(combination)
            )
        return heap

    def _order_heap(self, combination: Combination) -> CountHeap[tuple[str, ...]]:
        heap = self._orders.get(combination)
        if heap is None:
            orders = self._ties.orders(combination)
            self._order_ties[combination] = {order: tie for tie, order in enumerate(orders)}
            heap = self._orders[combination] = CountHeap(len(orders), orders.__getitem__)
        return heap


class ScanningStrategy:
    """The same rules as `BalancedStrategy`, decided by scanning every combination, task and
    order. Obviously correct and O(combinations + tasks) per decision: the oracle of the
    property tests and the baseline of the `scheduler_decisions` benchmark."""

    def __init__(
        self, inventory: Inventory, combinations: list[Combination], seed: int, *, max_lead: int = 1
    ) -> None:
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
        task = min(
            self._ties.tasks,
            key=lambda t: (
                self._cells.get((combination, t), 0),
                self._ties.task_tie(combination, t),
            ),
        )
        orders = self._ties.orders(combination)
        order = min(orders, key=lambda o: (self._orders.get((combination, o), 0), orders.index(o)))
        return Choice(combination, task, order)

    def count(self, choice: Choice) -> None:
        self._add(choice, +1)

    def uncount(self, choice: Choice) -> None:
        self._add(choice, -1)

    def on_freed(self, agent: str, pool: InstancePool) -> None:
        """Nothing to do: every decision looks at every combination anyway."""

    def _add(self, choice: Choice, delta: int) -> None:
        self._games[choice.combination] += delta
        cell = (choice.combination, choice.task)
        self._cells[cell] = self._cells.get(cell, 0) + delta
        order = (choice.combination, choice.order)
        self._orders[order] = self._orders.get(order, 0) + delta


class AdaptiveStrategy(BalancedStrategy):
    """The combination whose next comparison most narrows the still-unsettled intervals between
    agents adjacent in the current order; tasks and shown orders as in `BalancedStrategy`.

    After every valid slot the strategy refits the choice model (`iglu_lib.analysis.choice`,
    the one the ranking uses) to the preferences seen so far. For each ready combination it
    computes, exactly, how much one more HIT of it would shrink the variance of each adjacent
    difference (adding its Fisher information to the posterior precision), and scores
    `sum_a w_a * (var_a - var'_a) / var_a`, with `w_a = Phi(focus * (z_crit - z_a))`: close
    to 1 for a pair whose difference is not yet settled at `level` (the stopping rule's
    Bonferroni z), close to 0 for one well past it (`focus` sets how sharply). HITs still
    open count as if their information had arrived, so parallel HITs spread over the
    uncertain pairs.

    Adaptive allocation biases the estimates of distant pairs in finite samples (a gap that
    looks large by chance is sampled less, so the overestimate stays, and distant differences
    add up neighbour gaps): with floor 0.1, 95% intervals of the most distant pairs covered
    their truth only about 80% of the time in simulation. The floor's direct comparisons
    anchor them: the defaults (floor 0.3, focus 2) keep the coverage over all pairs at 0.96
    in `make bench` while still saving over 40% of the HITs.

    `floor` keeps every combination at no less than that share of the balanced count (and
    at least one game each), so no pair is starved and a wrong early order gets corrected.
    Decisions depend only on counts and preferences (aggregated, in sorted order), with the
    seeded tie-breaks of the balanced strategy, so a restore from the records decides the
    same as the run that wrote them.

    Evidence from many workers (`scheduling.evidence`): until preferences from `min_workers`
    distinct workers have arrived the strategy schedules as `BalancedStrategy` (one worker's
    taste never steers the campaign), and a worker with more than `max_judgements_per_worker`
    preferences weighs only that many in the fit (each weighted K / n). Both default to no
    restriction (simulations have no workers); a campaign passes its `evidence` rules.
    """

    def __init__(
        self,
        inventory: Inventory,
        combinations: list[Combination],
        seed: int,
        *,
        floor: float = 0.3,
        level: float = 0.95,
        prior_sd: float | None = None,
        focus: float = 2.0,
        min_workers: int = 0,
        max_judgements_per_worker: int | None = None,
    ) -> None:
        if not 0.0 <= floor <= 1.0:
            raise SchedulingError(f"adaptive floor must lie between 0 and 1, not {floor}")
        if not 0.0 < level < 1.0:
            raise SchedulingError(f"adaptive level must lie strictly between 0 and 1, not {level}")
        if not focus > 0:
            raise SchedulingError(f"adaptive focus must be positive, not {focus}")
        super().__init__(inventory, combinations, seed)
        self._combinations = list(combinations)
        self._index = {agent: i for i, agent in enumerate(inventory.agents)}
        self._floor, self._level, self._prior_sd, self._focus = floor, level, prior_sd, focus
        self._min_workers, self._cap = min_workers, max_judgements_per_worker
        # preferences `((agent indices in shown order), winner position) -> count`, per worker
        # (None: judgements whose worker is unknown, each counted as a worker of its own)
        self._by_worker: dict[str | None, dict[tuple[tuple[int, ...], int], int]] = {}
        self._closed: dict[Combination, int] = dict.fromkeys(combinations, 0)
        self._fitted: Any = None
        self._stale = True  # pragma: no mutate: the first fit happens anyway (nothing fitted yet)
        self._position = {c: i for i, c in enumerate(combinations)}
        self._members: Any = None
        self._z: float | None = None

    def observe(self, choice: Choice, winner: str | None, delta: int, worker: str | None = None) -> None:
        """A valid slot's preference arrived (`delta` +1), or was taken back (-1), from `worker`."""
        self._closed[choice.combination] += delta
        if winner is not None:
            key = (tuple(self._index[a] for a in choice.order), choice.order.index(winner))
            counts = self._by_worker.setdefault(worker, {})
            counts[key] = counts.get(key, 0) + delta
            if not counts[key]:
                del counts[key]
            if not counts:
                del self._by_worker[worker]
        self._stale = True

    def workers(self) -> int:
        """Distinct workers behind the preferences (each unknown-worker preference counts as one)."""
        anonymous = sum(self._by_worker.get(None, {}).values())
        return anonymous + sum(1 for worker in self._by_worker if worker is not None)

    def weighted_counts(self) -> dict[tuple[tuple[int, ...], int], float]:
        """The preferences with each worker weighted down to `max_judgements_per_worker`."""
        weighted: dict[tuple[tuple[int, ...], int], float] = {}
        for worker, counts in self._by_worker.items():
            total = sum(counts.values())
            scale = min(1.0, self._cap / total) if worker is not None and self._cap and total else 1.0
            for key, count in counts.items():
                weighted[key] = weighted.get(key, 0.0) + count * scale
        return dict(sorted(weighted.items()))

    def current_fit(self) -> Any:
        """The choice model fitted to the preferences so far (refitted only when they change)."""
        from iglu_lib.analysis import choice as model

        if self._stale or self._fitted is None:
            import numpy as np

            start = self._fitted.strengths if self._fitted is not None else None  # pragma: no mutate: the start only speeds the fit up; the mode is the same
            options: dict[str, Any] = {} if self._prior_sd is None else {"prior_sd": self._prior_sd}
            counts = self.weighted_counts()
            if any(len(members) != 2 for members, _ in counts):
                self._fitted = model.fit(model.Choices.from_counts(counts, len(self._index)), start=start,
                                         **options)
            else:
                wins = np.zeros((len(self._index), len(self._index)))
                for (members, position), count in counts.items():
                    wins[members[position], members[1 - position]] += count
                self._fitted = model.fit_wins(wins, start=start, **options)
            self._stale = False  # pragma: no mutate: None and False read alike
        return self._fitted

    def _next_combination(self, pool: InstancePool) -> Combination | None:
        if self.workers() < self._min_workers:
            return super()._next_combination(pool)  # too few workers to steer by: balanced
        ready = [c for c in self._combinations if pool.first_short(c) is None]
        if not ready:
            return None
        games = self._games.counts
        rank = self._ties.combination_rank
        floor = max(1.0, self._floor * (sum(games.values()) + 1) / len(self._combinations))
        starved = [c for c in ready if games[c] < floor]
        if starved:
            return min(starved, key=lambda c: (games[c], rank[c]))
        scores = self._scores(ready)
        return max(ready, key=lambda c: (round(scores[c], 9), -rank[c]))

    def _scores(self, ready: list[Combination]) -> dict[Combination, float]:
        """Weighted relative variance reduction of the adjacent differences, per combination."""
        import numpy as np

        fitted = self.current_fit()
        n = fitted.n_agents
        members = self._member_array()
        pending = np.array([self._games.counts[c] - self._closed[c] for c in self._combinations], dtype=float)
        pending = np.clip(pending, 0.0, None)
        precision = fitted.precision if fitted.precision is not None else np.linalg.inv(fitted.covariance[:n, :n])
        pairs = members.shape[1] == 2
        if pairs:  # the information of one comparison is w v v^T with v = e_i - e_j
            first, second = members[:, 0], members[:, 1]
            p = 0.5 * (1.0 + np.tanh(0.5 * (fitted.strengths[first] - fitted.strengths[second])))
            w = p * (1.0 - p)
            if pending.any():
                weight = np.zeros((n, n))
                np.add.at(weight, (first, second), pending * w)
                weight += weight.T
                precision = precision - weight
                precision[np.diag_indices(n)] += weight.sum(axis=1)
        else:
            blocks = self._information(fitted, members)
            if pending.any():
                precision = precision + np.tensordot(pending, blocks, 1)
        order = np.argsort(-fitted.strengths, kind="stable")
        targets = np.zeros((n - 1, n))
        targets[np.arange(n - 1), order[:-1]] = 1.0
        targets[np.arange(n - 1), order[1:]] = -1.0
        covariance = np.linalg.inv(precision)
        projected = targets @ covariance
        variance = np.einsum("an,an->a", projected, targets)
        z = np.abs(targets @ fitted.strengths) / np.sqrt(variance)
        weights = _unsettled(self._focus * (z - self._z_crit(n)))
        chosen = [self._position[c] for c in ready]
        if pairs:  # Sherman-Morrison: no inverse per candidate
            i, j = first[chosen], second[chosen]
            spread = covariance[i, i] + covariance[j, j] - 2.0 * covariance[i, j]
            reduction = w[chosen, None] * (projected[:, i] - projected[:, j]).T ** 2 / (
                1.0 + w[chosen] * spread)[:, None]
        else:
            after = np.linalg.inv(precision[None] + blocks[chosen])
            reduction = variance[None] - np.einsum("an,cnm,am->ca", targets, after, targets)
        gains = (reduction / variance[None]) @ weights
        return dict(zip(ready, gains.tolist(), strict=True))  # pragma: no mutate: one gain per ready combination by construction

    def _z_crit(self, n: int) -> float:
        if self._z is None:
            from iglu_lib.scheduling.stopping import adjacent_z

            self._z = adjacent_z(self._level, n)
        return self._z

    def _member_array(self) -> Any:
        if self._members is None:
            import numpy as np

            self._members = np.array([[self._index[a] for a in c] for c in self._combinations])
        return self._members

    @staticmethod
    def _information(fitted: Any, members: Any) -> Any:
        """Fisher information of one more HIT of each combination: diag(p) - p p^T on its agents."""
        import numpy as np

        utility = fitted.strengths[members]
        p = np.exp(utility - utility.max(axis=1, keepdims=True))  # pragma: no mutate: the shift cancels in the normalisation below
        p /= p.sum(axis=1, keepdims=True)
        n, count, k = fitted.n_agents, len(members), members.shape[1]
        blocks = np.zeros((count, n, n))
        rows = np.arange(count)[:, None, None]
        blocks[rows, members[:, :, None], members[:, None, :]] = (
            p[:, :, None] * np.eye(k)[None] - p[:, :, None] * p[:, None, :])
        return blocks


def _unsettled(excess: Any) -> Any:
    """Phi(-excess): about 1 while a difference is far from settled, about 0 once it is."""
    from scipy.special import ndtr

    return ndtr(-excess)


#: Strategies by the name a parameter file uses (`strategy: balanced`).
STRATEGIES: Mapping[str, type] = {
    "balanced": BalancedStrategy,
    "scanning": ScanningStrategy,
    "adaptive": AdaptiveStrategy,
}


def make_strategy(name: str, **options: Any) -> Callable[..., Strategy]:
    """The strategy factory a parameter file names, with its options (`max_lead: 2`)."""
    if name not in STRATEGIES:
        raise SchedulingError(
            f"unknown scheduling strategy {name!r}; known: {', '.join(STRATEGIES)}"
        )
    return functools.partial(STRATEGIES[name], **options)
