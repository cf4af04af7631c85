"""Fault injection: a configured fraction of requester requests fail as the service can fail.

Reliability tests set it through `POST /_local/faults`; the draws come from a seeded random
generator so a run's faults are reproducible.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence

from iglu_lib.local.mturk.errors import ServiceError, ServiceFault, Throttled

KINDS = {"throttle": Throttled, "server_error": ServiceFault}


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fraction = 0.0
        self._kinds: tuple[str, ...] = tuple(KINDS)
        self._random = random.Random(0)

    def configure(self, fraction: float, seed: int | None, kinds: Sequence[str]) -> None:
        unknown = set(kinds) - KINDS.keys()
        if not 0 <= fraction <= 1 or unknown or not kinds:
            raise ValueError(
                f"fraction must be within 0..1 and kinds a non-empty subset of {sorted(KINDS)}"
            )
        with self._lock:
            self._fraction = fraction
            self._kinds = tuple(kinds)
            self._random = random.Random(seed)

    def draw(self) -> ServiceError | None:
        """The error this request gets, or None to answer it normally."""
        with self._lock:
            if self._fraction <= 0 or self._random.random() >= self._fraction:
                return None
            return KINDS[self._random.choice(self._kinds)]()


class RequestStats:
    """How many requester requests each operation received (faulted ones included)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def count(self, operation: str) -> None:
        with self._lock:
            self._counts[operation] = self._counts.get(operation, 0) + 1

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {"total": sum(self._counts.values()), "by_operation": dict(self._counts)}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
