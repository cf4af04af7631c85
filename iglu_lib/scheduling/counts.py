"""Counters the balanced strategy keeps in heaps, so a decision costs O(log n).

Entries are `(count, tie, key)`; when a count changes a fresh entry is pushed and the old
one is left behind (lazy invalidation): an entry is current only while its count equals the
key's count, and stale entries are dropped when they reach the top.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class CountHeap(Generic[K]):
    """Keys with counts; `peek()` is the key with the lowest `(count, tie)`.

    Ties are the integers `0 .. n-1` and `key_at(tie)` names the key with that tie. Keys
    that were never counted are not stored: a cursor walks them in tie order (their entry
    `(0, tie)` is implicit), so building the heap of a combination's 1,000 tasks costs
    nothing and only the tasks actually scheduled take memory.
    """

    def __init__(self, n: int, key_at: Callable[[int], K]) -> None:
        self._n = n
        self._key_at = key_at
        self.counts: dict[K, int] = {}
        self._heap: list[tuple[int, int, K]] = []
        self._cursor = 0

    def peek(self) -> K:
        counts, heap = self.counts, self._heap
        while self._cursor < self._n and counts.get(self._key_at(self._cursor), 0):
            self._cursor += 1
        while heap and heap[0][0] != counts[heap[0][2]]:
            heapq.heappop(heap)
        if self._cursor < self._n and (not heap or (0, self._cursor) < heap[0][:2]):
            return self._key_at(self._cursor)
        return heap[0][2]

    def add(self, key: K, tie: int, delta: int) -> None:
        count = self.counts.get(key, 0) + delta
        self.counts[key] = count
        heapq.heappush(self._heap, (count, tie, key))


class MinTracker:
    """The lowest count over a fixed set of keys, kept with a histogram (O(1) amortised)."""

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
