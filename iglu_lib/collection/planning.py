"""Planning the loop's HITs: is there room for one more (target, stop rule, budget counted from
the ledger: rewards, fees, every bonus and reversal, and what open HITs may still cost), which
workers are kept out (soft blocks, caps, tasks judged, a pilot's allow-list), and opening HITs.

A slot is *planned* (rows written, with the HIT's `UniqueRequestToken`) before `CreateHIT`; a
restart creates the HIT of a planned slot with the same token."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

from iglu_lib.ledger.book import Entry, Kind
from iglu_lib.scheduling import Slot, split_join_code
from iglu_lib.storage import GameRecord, RecordStatus

if TYPE_CHECKING:
    from iglu_lib.collection.campaign import Campaign, TurnReport
    from iglu_lib.providers import Capability

log = logging.getLogger(__name__)


class Planner:
    """Budget, caps and HIT creation for one campaign."""

    def __init__(self, campaign: Campaign) -> None:
        self.campaign = campaign
        self._qualifications: list[dict[str, Any]] | None = None  # resolved on the first HIT
        self._task_qualifications: dict[str, Capability] = {}
        self.planned: dict[str, list[GameRecord] | None] = {}  # handed-out slots whose HIT is not made yet

    def create_hits(self, report: TurnReport) -> None:
        c = self.campaign
        self.open_planned(report)
        c.refresh_spend()  # a person's bonus or reversal since the last turn counts before the next HIT
        while not c.stopping and self.room_for_a_hit():
            slot = c.scheduler.next()
            if slot is None:
                return
            self.planned[slot.slot_id] = None  # handed out: written down next, even after a failure
            self.open_planned(report)

    def open_planned(self, report: TurnReport) -> None:
        """Write down and create the HITs of slots the scheduler handed out (after a crash, or a
        failure while writing or creating, on a later turn: writing a slot again is idempotent)."""
        c = self.campaign
        for slot_id, games in list(self.planned.items()):
            slot = c.scheduler.slot(slot_id)
            again = games is not None  # planned before a restart or a failure: its HIT may exist
            if games is None:
                games = self.planned[slot_id] = c.records.plan(slot, hit_type=c.params.hit_type)
            made = c.adoption.open_or_retire(partial(self.open_hit, slot, games, again=again), slot, games)
            del self.planned[slot_id]
            report.created += made

    def room_for_a_hit(self) -> bool:
        c = self.campaign
        if c.stop_rule() is not None:
            return False
        open_slots = len(c.scheduler.open_slots())
        if c.good_hits + open_slots >= c.params.target_approved_hits:
            return False
        return self.budget_allows(open_slots)

    def budget_allows(self, open_slots: int) -> bool:
        """Whether the budget pays for one more HIT beside what the ledger booked (or holds as
        intended) and what is open (rewards, the most the bonus rule could add, and the fee)."""
        c = self.campaign
        committed = (c.committed + c.cost_per_hit * (open_slots + 1)
                     + self.most_bonus_per_hit() * (open_slots + 1))
        return committed <= Decimal(c.params.budget)

    def most_bonus_per_hit(self) -> Decimal:
        """What the bonus rule could pay for one more HIT, fee included (0 without a rule)."""
        c = self.campaign
        if not c.bonus_rule:
            return Decimal("0")
        return c.bonus_rule.amount * c.params.k * (1 + Decimal(c.params.fee_rate))

    def open_hit(self, slot: Slot, games: list[GameRecord], *, again: bool = False) -> None:
        """Create the HIT of a planned slot; created `again` (after a crash or a failure) only
        if the service holds no HIT with the slot's token (MTurk forgets tokens after 24 h)."""
        c = self.campaign
        found = c.adoption.hit_made_before(games[0].unique_request_token) if again else None
        if found is not None:
            c.records.update_all(games, status=RecordStatus.HIT_CREATED, hit_id=found.hit_id)
            return
        task_join_code, _ = split_join_code(slot.join_codes[0])
        variables = {
            "task_name": slot.task_name,
            "task_join_code": task_join_code,
            "agent_instance_ids": list(slot.instance_ids),
            "join_code_suffix": self.join_code_suffix(),
            **c.params.tie_variables,
        }
        if self._qualifications is None:
            self._qualifications = c.manager.requirements_for(c.params.qualification_requirements)
        extra = [*self._qualifications, *self.requirements(slot)]
        hit = c.manager.create_hit(variables, unique_request_token=games[0].unique_request_token,
                                   max_assignments=1, extra_qualification_requirements=extra)
        c.records.update_all(games, status=RecordStatus.HIT_CREATED, hit_id=hit.hit_id)

    def requirements(self, slot: Slot) -> list[dict[str, Any]]:
        """Who may not take the HIT, enforced by the service at discovery and accept: workers
        soft-blocked from the campaign, at their cap, or who judged this task already; and in a
        pilot (`allow_list`), everyone not on the list."""
        c = self.campaign
        keep_out = []
        if c.sanctions.soft_block:
            keep_out.append(c.block_qualification)
        if c.params.max_hits_per_worker:
            keep_out.append(c.cap_qualification)
        if c.params.one_judgement_per_task:
            keep_out.append(self.task_qualification(slot.task_id))
        allowed = [c.allow_qualification.required()] if c.params.allow_list else []
        return [*allowed, *(qualification.requirement() for qualification in keep_out)]

    def task_qualification(self, task_id: str) -> Capability:
        c = self.campaign
        if task_id not in self._task_qualifications:
            self._task_qualifications[task_id] = c.manager.capabilities.judged_task(c.params.campaign, task_id)
        return self._task_qualifications[task_id]

    def apply_caps(self, worker_id: str, games: list[GameRecord]) -> None:
        """Keep a worker out of what they may no longer take: their cap of HITs in this campaign,
        and (with `one_judgement_per_task`) the task they just judged. The service enforces it."""
        c = self.campaign
        if not worker_id:
            return
        if c.params.one_judgement_per_task:
            self.task_qualification(games[0].task_minecraft_id).grant(worker_id)
        cap = c.params.max_hits_per_worker
        if cap and len({g.hit_id for g in c.records.by_worker(worker_id)}) >= cap:
            c.cap_qualification.grant(worker_id)

    def join_code_suffix(self) -> str:
        """Join codes stop working once the HIT can no longer be worked on, so an instance freed
        after its HIT expired is never joined by a late worker while it serves the next HIT."""
        c = self.campaign
        if not c.params.join_code_expiry:
            return ""
        hit = c.profile.hit
        usable_for = hit.lifetime_seconds + hit.assignment_duration_seconds
        return f":{int((c.clock() + usable_for) * 1000)}"


def unbooked_spend(records: Sequence[GameRecord], entries: Sequence[Entry], cost_per_hit: Decimal,
                   fee_rate: str | Decimal) -> Decimal:
    """What the records say was paid that the ledger does not hold (a campaign begun before the
    ledger existed), fee included: rewards of approved assignments without a reward or reversal
    entry, rule bonuses marked paid for games without a rule-bonus entry, and people's bonuses
    marked done whose key the ledger does not know. The budget counts it beside the ledger."""
    booked_rewards = {e.assignment_id for e in entries if e.kind in (Kind.REWARD, Kind.REVERSAL)}
    booked_games = {e.part for e in entries if e.kind is Kind.RULE_BONUS}
    keys = {e.key for e in entries}
    approved = {g.assignment_id for g in records if g.status is RecordStatus.APPROVED and g.assignment_id}
    bonuses = sum((Decimal(str(g.bonus["amount"])) for g in records if g.bonus.get("paid")
                   and (g.game_minecraft_id or g.row_key) not in booked_games), Decimal("0"))
    manual = {str(d.get("id")): Decimal(str(d.get("amount", "0"))) for g in records for d in g.manual_decisions
              if d.get("action") == "bonus" and d.get("done") and d.get("token") not in keys}
    fee = 1 + Decimal(str(fee_rate))
    return cost_per_hit * len(approved - booked_rewards) + (bonuses + sum(manual.values(), Decimal("0"))) * fee
