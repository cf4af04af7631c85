"""Everything one server instance holds: its store, service model, faults and request counts.

Kept on the Flask app (`app.extensions["mturk"]`) rather than in module globals, so two
servers in one process (as in tests) never share state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from flask import current_app

from iglu_lib.local.mturk import clock, lifecycle
from iglu_lib.local.mturk.faults import FaultInjector, RequestStats
from iglu_lib.local.mturk.operations import Context
from iglu_lib.local.mturk.shapes import ServiceModel
from iglu_lib.local.mturk.store import Store

T = TypeVar("T")


@dataclass
class ServerState:
    store: Store
    model: ServiceModel = field(default_factory=ServiceModel)
    faults: FaultInjector = field(default_factory=FaultInjector)
    stats: RequestStats = field(default_factory=RequestStats)

    @classmethod
    def open(cls, data_dir: Path) -> ServerState:
        return cls(store=Store(data_dir))

    @contextmanager
    def session(self) -> Iterator[Context]:
        """One transaction at the clock's current time, with due transitions applied first."""
        with self.store.transaction() as db:
            now = clock.now(db)
            lifecycle.sweep(db, now)
            yield Context(db=db, now=now)

    def run(self, action: Callable[[Context], T]) -> T:
        with self.session() as ctx:
            return action(ctx)


def state() -> ServerState:
    return current_app.extensions["mturk"]
