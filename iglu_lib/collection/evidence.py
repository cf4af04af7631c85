"""The loop's side of evidence from many workers (`scheduling.evidence`): judgements beyond a
worker's cap, and how many workers a campaign's ranking rests on, read from its records.

`max_hits_per_worker` keeps a worker who did that many HITs out of the campaign, but the service
checks the qualification only when a HIT is accepted, so a worker who accepts several HITs at
once passes the cap. Such HITs are paid (the work was done, the service let them take it); by
default they do not count (`evidence.count_beyond_worker_cap: false`): they carry the warning
`beyond_worker_cap`, `IsHITQualified` is false, their slot runs again, and the analysis leaves
them out. Which of a worker's HITs are beyond the cap is decided when each is judged: the ones
judged after the worker already had `max_hits_per_worker` judged HITs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from iglu_lib.collection.judge import APPROVE, APPROVE_WITH_WARNING
from iglu_lib.collection.outcomes import slot_outcome
from iglu_lib.scheduling import Outcome
from iglu_lib.scheduling.evidence import Evidence, EvidenceRules, WorkerPreference, weigh
from iglu_lib.scheduling.model import winner_of
from iglu_lib.storage import GameRecord

#: The warning of a HIT judged after its worker had reached `max_hits_per_worker`.
BEYOND_WORKER_CAP = "beyond_worker_cap"


def beyond_worker_cap(worker_records: Iterable[GameRecord], hit_id: str, cap: int | None) -> bool:
    """Whether the worker had `cap` other judged HITs in the campaign before this one."""
    if not cap:
        return False
    return len({g.hit_id for g in worker_records if g.hit_id and g.hit_id != hit_id}) >= cap


def mark_beyond_cap(changes: Sequence[tuple[GameRecord, dict[str, Any]]]) -> None:
    """Write into a judgement's record changes that its HIT is beyond the worker's cap: warned,
    paid as judged, not qualified (it does not count toward the target or in the ranking)."""
    for _, change in changes:
        change["reasons"] = (*change["reasons"], BEYOND_WORKER_CAP)
        change["verdict"] = APPROVE_WITH_WARNING if change["verdict"] == APPROVE else change["verdict"]
        change["is_hit_qualified"] = False


def campaign_evidence(records: Sequence[GameRecord], rules: EvidenceRules | None = None) -> Evidence:
    """The evidence the stopping rule weighs, from the records: one preference per valid slot
    with a winner, with its worker."""
    slots: dict[str, list[GameRecord]] = {}
    for record in records:
        slots.setdefault(record.slot_id, []).append(record)
    preferences = []
    for slot_id in sorted(slots):
        games = sorted(slots[slot_id], key=lambda g: g.shown_position)
        winner = winner_of(games) if slot_outcome(games) is Outcome.VALID else None
        if winner is not None:
            preferences.append(WorkerPreference(tuple(g.agent_name for g in games), winner,
                                                games[0].worker_id or None))
    return weigh(preferences, rules)
