"""Settling the claims of external-mode HIT pages (`iglu_lib.pages.store`) with what MTurk lists.

MTurk names an assignment to its requester only once it is submitted, so a claim on a HIT page
stays unproven until the service lists that assignment; these functions ask it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from iglu_lib.pages.store import Claim, HitPageStore

if TYPE_CHECKING:
    from iglu_lib.mturk.manager import HitManager

LOG = logging.getLogger(__name__)


def settle_hit(manager: HitManager, store: HitPageStore, hit_id: str) -> list[Claim]:
    """Settle the HIT's claims with what the service lists as submitted (one listing, paged)."""
    submitted = {raw["AssignmentId"] for raw in manager.paginate(
        "list_assignments_for_hit", "Assignments", HITId=hit_id, AssignmentStatuses=list(WORKED_STATUSES))}
    return store.settle(hit_id, submitted)


def keep_off_flagged(manager: HitManager, store: HitPageStore, campaign: str, keep_off: Callable[[str], None]) -> list[str]:
    """Settle the campaign's HITs holding overdue claims, then `keep_off` (the campaign's soft
    block) each worker of a flagged claim, once per claim. A made-up worker id makes `keep_off`
    fail with the service's error: logged, not tried again (the pages refuse that id anyway).
    Returns the worker ids kept off."""
    from iglu_lib.mturk.manager import MTurkError

    for hit_id in store.due_hits(campaign=campaign):
        settle_hit(manager, store, hit_id)
    claims = store.flagged(campaign=campaign, not_kept_off=True)
    kept = []
    for worker_id in dict.fromkeys(claim.worker_id for claim in claims):
        try:
            keep_off(worker_id)
            kept.append(worker_id)
        except MTurkError as err:
            LOG.info("could not keep worker %s off (a made-up id?): %s", worker_id, err)
    store.mark_kept_off(claims)
    return kept


#: The statuses of an assignment that was submitted (the only ones the service ever lists).
WORKED_STATUSES = ("Submitted", "Approved", "Rejected")
