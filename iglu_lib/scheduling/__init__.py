"""Balanced or adaptive choice of task x agent combination x instances for each HIT.

`Scheduler` hands out `Slot`s and keeps every agent instance in at most one open HIT;
strategies (`STRATEGIES`) decide the combination, task and shown order. Only the standard
library is used, so importing this package is cheap.
"""

from iglu_lib.scheduling.model import (
    Choice,
    Combination,
    Inventory,
    Outcome,
    SchedulingError,
    Slot,
    TaskCode,
    full_join_code,
    slot_outcome,
    split_join_code,
    winner_of,
)
from iglu_lib.scheduling.pool import InstancePool
from iglu_lib.scheduling.scheduler import RestoreReport, ScheduledGame, Scheduler, StrategyFactory
from iglu_lib.scheduling.strategy import (
    STRATEGIES,
    AdaptiveStrategy,
    BalancedStrategy,
    ScanningStrategy,
    Strategy,
    make_strategy,
)

__all__ = [
    "STRATEGIES",
    "AdaptiveStrategy",
    "BalancedStrategy",
    "Choice",
    "Combination",
    "InstancePool",
    "Inventory",
    "Outcome",
    "RestoreReport",
    "ScanningStrategy",
    "ScheduledGame",
    "Scheduler",
    "SchedulingError",
    "Slot",
    "Strategy",
    "StrategyFactory",
    "TaskCode",
    "full_join_code",
    "make_strategy",
    "slot_outcome",
    "split_join_code",
    "winner_of",
]
