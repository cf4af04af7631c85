"""What the scheduler makes of stored games: the mapping from a game record's status (and
its own verdict) to a scheduling `Outcome`.

Storage keeps statuses only and scheduling owns the rule over outcomes
(`scheduling.slot_outcome`); this module, which may import both, joins them, so a restart
restores the scheduler from the records with the same rule the loop settles slots by.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from iglu_lib.scheduling import Outcome
from iglu_lib.scheduling import slot_outcome as outcome_of_slot
from iglu_lib.storage import GameRecord, RecordStatus
from iglu_lib.storage.views import REJECTED_VERDICT

#: Statuses of records whose slot is still in the loop's hands.
OPEN_STATUSES = (RecordStatus.PLANNED, RecordStatus.HIT_CREATED, RecordStatus.SUBMITTED)

_BY_STATUS = {
    RecordStatus.PLANNED: Outcome.OPEN,
    RecordStatus.HIT_CREATED: Outcome.OPEN,
    RecordStatus.SUBMITTED: Outcome.OPEN,
    RecordStatus.APPROVED: Outcome.VALID,
    RecordStatus.REJECTED: Outcome.REJECTED,
    RecordStatus.EXPIRED: Outcome.EXPIRED,
}


def game_outcome(record: GameRecord) -> Outcome:
    """One game's outcome: its status's, except that a paid game does not count (`rejected`
    for the scheduler: its slot runs again) when it was rejected on its own inside a paid
    (`partial`) HIT, or when its HIT was judged not to qualify (`is_hit_qualified` false: an
    unusable choice, see `judge.hit_qualifies`). Records without the flag count as before."""
    outcome = _BY_STATUS[record.status]
    if outcome is Outcome.VALID and (record.verdict == REJECTED_VERDICT or record.is_hit_qualified is False):
        return Outcome.REJECTED
    return outcome


def slot_outcome(games: Iterable[GameRecord]) -> Outcome:
    """What the scheduler makes of a slot: open until settled, valid only if every game was good."""
    return outcome_of_slot(game_outcome(game) for game in games)


@dataclass(frozen=True)
class SlotGame:
    """A stored game as the scheduler's `restore` reads it, with its own outcome."""

    slot_id: str
    shown_position: int
    join_code: str
    agent_name: str
    outcome: Outcome
    annotation: Mapping[str, Any] = field(default_factory=dict)  # was_chosen_best: the winner, restored
    worker_id: str = ""  # who judged it: the evidence rules count workers


def scheduled_games(records: Sequence[GameRecord]) -> list[SlotGame]:
    """The records as `Scheduler.restore` reads them (one per game)."""
    return [
        SlotGame(r.slot_id, r.shown_position, r.join_code, r.agent_name, game_outcome(r), r.annotation,
                 r.worker_id or "")
        for r in records
    ]
