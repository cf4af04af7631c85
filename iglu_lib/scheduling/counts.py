"""Counters the balanced strategy keeps in heaps, so a decision costs O(log n).

Entries are `(count, tie, key)`; when a count changes a fresh entry is pushed and the old
one is left behind (lazy invalidation): an entry is current only while its count equals the
key's count, and stale entries are dropped when they reach the top.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterable
from typing import Any


class CountHeap:
    """Keys with counts; `peek()` is the key with the lowest `(count, tie)`."""

    def __init__(self, keys_with_ties: Iterable[tuple[Any, Hashable]]) -> None:
        self._heap = [(0, tie, key) for tie, key in keys_with_ties]
        heapq.heapify(self._heap)
        self._tie = {key: tie for _, tie, key in self._heap}
        self.counts = dict.fromkeys(self._tie, 0)

    def peek(self) -> Hashable:
        heap, counts = self._heap, self.counts
        while heap[0][0] != counts[heap[0][2]]:
            heapq.heappop(heap)
        return heap[0][2]

    def add(self, key: Hashable, delta: int) -> None:
        count = self.counts[key] + delta
        self.counts[key] = count
        heapq.heappush(self._heap, (count, self._tie[key], key))


class MinTracker:
    """The lowest count over a fixed set of keys, kept with a histogram of counts (O(1) amortised)."""

    def __init__(self, keys: Iterable[Hashable]) -> None:
        self.counts = dict.fromkeys(keys, 0)
        self._histogram = {0: len(self.counts)}
        self.minimum = 0

    def add(self, key: Hashable, delta: int) -> int:
        old = self.counts[key]
        new = old + delta
        self.counts[key] = new
        self._histogram[old] -= 1
        self._histogram[new] = self._histogram.get(new, 0) + 1
        if new < self.minimum:
            self.minimum = new
        while not self._histogram.get(self.minimum):
            self.minimum += 1
        return new
