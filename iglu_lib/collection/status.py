"""Where a campaign stands, read from its game records: games per task x combination cell,
open HITs, busy instances, what the workers chose in the good HITs (decisive, ties, no decision),
verdicts by reason, and spend."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from iglu_lib.collection.judge import CHOICE_UNUSABLE, NEEDS_REVIEW, hit_outcome
from iglu_lib.collection.outcomes import OPEN_STATUSES, slot_outcome
from iglu_lib.ledger.book import Spend
from iglu_lib.scheduling import Outcome
from iglu_lib.scheduling.evidence import EvidenceRules
from iglu_lib.storage import GameRecord, RecordStatus
from iglu_lib.storage.record import LOOP

if TYPE_CHECKING:
    from iglu_lib.providers import CampaignCrowd


def campaign_status(
    records: Sequence[GameRecord],
    *,
    cost_per_hit: Decimal | None = None,
    cells: Sequence[tuple[str, Sequence[str]]] = (),
    max_hits_per_worker: int | None = None,
    spend: Spend | None = None,
    evidence: EvidenceRules | None = None,
) -> dict[str, Any]:
    """Counts a researcher checks while a campaign runs (or after it). `cells` lists every
    (task, combination) the campaign schedules, so cells without a good HIT show as 0;
    `max_hits_per_worker` (the campaign's cap) adds how many workers reached it; `spend` (the
    ledger's) gives what was spent by kind: rewards, reversals, rule and manual bonuses, fees;
    `evidence` (the campaign's rules, default their defaults) says how many workers the ranking
    rests on."""
    slots: dict[str, list[GameRecord]] = {}
    for record in records:
        slots.setdefault(record.slot_id, []).append(record)
    outcomes = {slot_id: slot_outcome(games) for slot_id, games in slots.items()}
    good: Counter[tuple[str, str]] = Counter({(task, " vs ".join(sorted(combo))): 0 for task, combo in cells})
    for slot_id, games in slots.items():
        if outcomes[slot_id] is Outcome.VALID:
            good[(games[0].task_name, " vs ".join(sorted(g.agent_name for g in games)))] += 1
    paid = sum(1 for games in slots.values() if games[0].status is RecordStatus.APPROVED)
    rejected = sum(1 for games in slots.values() if games[0].status is RecordStatus.REJECTED)
    open_hits = sorted({g.hit_id or g.slot_id for g in records if g.status in OPEN_STATUSES})
    status: dict[str, Any] = {
        "slots": len(slots),
        "outcomes": dict(Counter(o.value for o in outcomes.values())),
        "good_hits": sum(o is Outcome.VALID for o in outcomes.values()),
        "paid_hits": paid,
        "rejected_hits": rejected,
        "open_hits": len(open_hits),
        "busy_instances": sorted(g.agent_minecraft_id for g in records if g.status in OPEN_STATUSES),
        "needs_review": sorted({g.hit_id for g in records
                                if g.status in OPEN_STATUSES and g.verdict == NEEDS_REVIEW}),
        "choices": choice_counts(games for slot_id, games in slots.items() if outcomes[slot_id] is Outcome.VALID),
        "not_counted": not_counted(games for slot_id, games in slots.items() if outcomes[slot_id] is not Outcome.VALID),
        "games_by_verdict": dict(Counter(g.verdict or "pending" for g in records)),
        "games_by_reason": dict(Counter(r for g in records for r in g.reasons)),
        "bonuses_paid": f"{sum(float(g.bonus['amount']) for g in records if g.bonus.get('paid')):.2f}",
        "messages_sent": dict(Counter(m.get("kind") for games in slots.values()
                                      for m in games[0].messages if m.get("ok"))),
        "cells": [{"task": task, "combination": combo, "good_hits": n} for (task, combo), n in sorted(good.items())],
    }
    counts = [cell["good_hits"] for cell in status["cells"]]
    status["cell_spread"] = max(counts) - min(counts) if counts else 0
    if spend is not None:
        status["spent"] = f"{spend.total:.2f}"
        status["spend"] = spend.as_dict()
        status["bonuses_paid"] = f"{spend.bonuses_total:.2f}"
    elif cost_per_hit is not None:
        status["spent"] = f"{cost_per_hit * paid:.2f}"
    from iglu_lib.collection.review import manual_summary, workers_at_cap

    status["manual"] = manual_summary(records)  # what people decided (`iglu campaign review`)
    status["sanctions_by_loop"] = sanctions_by_loop(records)
    if max_hits_per_worker:
        status["workers_at_cap"] = workers_at_cap(records, max_hits_per_worker)
    from iglu_lib.collection.evidence import campaign_evidence

    status["evidence"] = campaign_evidence(records, evidence).as_dict()
    return status


def bonuses_on_service(manager: CampaignCrowd, records: Sequence[GameRecord]) -> dict[str, Any]:
    """The bonuses the service paid for the campaign's settled HITs (`ListBonusPayments` per
    HIT), to hold against the ledger's; HITs the service no longer has are counted apart."""
    total, missing = Decimal("0.00"), 0
    for hit_id in sorted({g.hit_id for g in records if g.hit_id and g.status in
                          (RecordStatus.APPROVED, RecordStatus.REJECTED)}):
        try:
            payments = manager.bonuses_paid(hit_id=hit_id)
        except Exception:  # noqa: BLE001 - a deleted HIT's payments cannot be listed any more
            missing += 1
            continue
        total += sum((p.amount for p in payments), Decimal("0"))
    return {"paid": f"{total:.2f}", "hits_not_listed": missing}


def sanctions_by_loop(records: Sequence[GameRecord]) -> dict[str, int]:
    """Workers the loop itself blocked, by kind (`soft-block`: out of this campaign;
    `hard-block`: account-wide, for fraud)."""
    seen = {(d.get("id"), d.get("action")) for g in records for d in g.decisions if d.get("source") == LOOP}
    return dict(Counter(str(action) for _, action in seen))


def not_counted(hits: Iterable[Sequence[GameRecord]]) -> dict[str, int]:
    """Paid HITs that do not count toward the target (their slot runs again), by why: taken
    beyond the worker's cap (`beyond_worker_cap`), the choice could not be used
    (`choice_unusable`), or a game was rejected inside a paid HIT (`partial`)."""
    from iglu_lib.collection.evidence import BEYOND_WORKER_CAP

    found: Counter[str] = Counter()
    for games in hits:
        if games[0].status is not RecordStatus.APPROVED:
            continue
        reasons = {reason for game in games for reason in game.reasons}
        why = next((r for r in (BEYOND_WORKER_CAP, CHOICE_UNUSABLE) if r in reasons), "partial")
        found[why] += 1
    return dict(found)


def choice_counts(hits: Iterable[Sequence[GameRecord]]) -> dict[str, int]:
    """What the workers chose in `hits` (each a HIT's games): decisive, a tie (both good, both bad)
    or no decision; `ties` is both kinds together. Empty for one-game HITs."""
    from iglu_lib.pages.answers import DECISIVE, NO_DECISION, TIE_BAD, TIE_GOOD

    found = Counter(hit_outcome([g.annotation for g in games]) for games in hits)
    found.pop(None, None)
    if not found:
        return {}
    counts = {name: found.get(name, 0) for name in (DECISIVE, TIE_GOOD, TIE_BAD, NO_DECISION)}
    return {**counts, "ties": counts[TIE_GOOD] + counts[TIE_BAD]}


def cells_frame(status: dict[str, Any]) -> Any:
    """The good HITs per task x combination as a table (tasks as rows), for notebooks."""
    import pandas as pd

    frame = pd.DataFrame(status["cells"], columns=["task", "combination", "good_hits"])
    return frame.pivot_table(index="task", columns="combination", values="good_hits", fill_value=0, aggfunc="sum")
