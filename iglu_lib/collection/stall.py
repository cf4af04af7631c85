"""Why a campaign makes no progress, said once.

A loop that polls quietly for hundreds of turns looks the same as one that is stuck. After
`STALL_TURNS` turns in a row without anything settled, expired, created or reconciled (and the
campaign not done), the loop logs one warning naming why and what to do: the budget leaves no
room, no agent instance is free, every open HIT waits for workers, submissions wait for their
game data or for a person, or the loop's counts disagree with the records. It says nothing
more until progress resumes, so a later stall is reported again, once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from iglu_lib.collection.adoption import good_in_records

if TYPE_CHECKING:
    from iglu_lib.collection.campaign import Campaign, TurnReport

log = logging.getLogger(__name__)

#: Turns in a row without progress before the loop says why (at the default poll backoff, a few minutes).
STALL_TURNS = 20


class StallWatch:
    """Counts quiet turns and names the stall once (`reason` holds it until progress resumes)."""

    def __init__(self, turns: int = STALL_TURNS) -> None:
        self.turns = turns
        self.quiet = 0
        self.reason: str | None = None

    def after_turn(self, campaign: Campaign, report: TurnReport) -> str | None:
        """Count one turn; returns the reason the first time a stall reaches `turns` turns."""
        if report.progress or campaign.done:
            self.quiet, self.reason = 0, None
            return None
        self.quiet += 1
        if self.quiet < self.turns or self.reason is not None:
            return None
        self.reason = why_stalled(campaign, report)
        log.warning("campaign %s: no progress for %s turns: %s", campaign.params.campaign, self.quiet, self.reason)
        return self.reason


def why_stalled(campaign: Campaign, report: TurnReport) -> str:
    """Every reason the campaign cannot move now, each with what to do, in one line."""
    reasons = []
    records_good = _records_good(campaign)
    if records_good is not None and records_good != campaign.good_hits:
        reasons.append(f"the loop counts {campaign.good_hits} good HITs but the records hold {records_good} "
                       "(rows lost?); the next reconcile adopts the campaign's HITs on the service, or "
                       "restart `iglu collect` to rebuild from the records")
    if report.errors:
        reasons.append(f"every turn fails (last: {report.errors[-1][:160]}); check the services answer")
    if campaign.parked:
        reasons.append(f"{len(campaign.parked)} HIT(s) wait for a person: decide them with `iglu campaign review`")
    if report.waiting:
        reasons.append(f"{report.waiting} submitted HIT(s) wait for their game data in storage; they settle "
                       "when it arrives or `game_data_grace_seconds` ends")
    reasons.extend(_planning_reasons(campaign))
    return "; ".join(reasons) or "nothing is open and nothing can be created; check the parameters and the records"


def _planning_reasons(campaign: Campaign) -> list[str]:
    """Why no HIT is created: budget, target, or no free instances; and what open HITs wait for."""
    open_slots = len(campaign.scheduler.open_slots())
    reasons = []
    end = campaign._end_rule()
    if end == "budget":
        reasons.append(f"the budget (${campaign.params.budget}) leaves no room for another HIT (spent "
                       f"${campaign.spent:.2f}, a HIT costs ${campaign.cost_per_hit:.2f} plus any bonus); "
                       "raise `budget`, or stop with `iglu campaign stop`")
    elif campaign.planner.room_for_a_hit():
        busy = len(campaign.scheduler.busy_instances())
        total = sum(len(ids) for ids in campaign.scheduler.inventory.instances.values())
        reasons.append(f"no free agent instances for another HIT ({busy} of {total} are in open HITs, or no "
                       "allowed combination has one free); add instances to the agent-instances file or wait")
    elif end is None:
        reasons.append(f"the target ({campaign.params.target_approved_hits}) is covered by good and open HITs")
    if open_slots:
        reasons.append(f"{open_slots} open HIT(s) wait for workers to accept and submit; if none come, check "
                       "that workers can see them (qualifications, allow_list, reward) or let them expire")
    return reasons


def _records_good(campaign: Campaign) -> int | None:
    """Good HITs as the records count them (None when the records cannot be read now)."""
    try:
        stored = campaign.records.all()
    except Exception as err:  # noqa: BLE001 - a diagnosis must not fail the turn
        log.info("records not readable while diagnosing a stall: %s", err)
        return None
    return good_in_records(stored)
