"""Winding a campaign down: ask a running loop to stop, expire its HITs, settle what was
submitted, and say what is left.

A stop request is a file (`outputs/campaigns/<campaign>/stop-request`) rather than a signal,
because the loop may run in a notebook, a `tmux` pane or on another login: every turn the loop
looks for the file and stops cleanly when it is there; a new `iglu collect` removes it.

`wind_down` then works on the service with the campaign's own loop, so nothing is settled by
rules other than the loop's: every open HIT is expired (no new worker can take it), the loop's
start-up and its review and reconcile steps settle what was submitted and expire what was never
taken (freeing the instances, deleting those HITs), and whatever is still held by a worker is
reported with the time its assignment runs out, after which running the command again settles it.
Settled HITs stay on the service unless asked (`delete_settled`), so that a person can still
review, reverse or pay a bonus on them.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

# where `iglu campaign stop` and older callers find them
from iglu_lib.collection.stop_request import clear_stop_request as clear_stop_request
from iglu_lib.collection.stop_request import request_stop as request_stop
from iglu_lib.collection.stop_request import stop_request_path as stop_request_path
from iglu_lib.collection.stop_request import stop_requested as stop_requested
from iglu_lib.providers import OPEN_WORK, CampaignCrowd, WorkState

if TYPE_CHECKING:
    from iglu_lib.collection.campaign import Campaign
    from iglu_lib.collection.params import CampaignParams
    from iglu_lib.config import Profile
    from iglu_lib.providers import AccountCrowd, CampaignWork

log = logging.getLogger(__name__)

#: Review and reconcile rounds `wind_down` runs at most while they still make progress.
SETTLE_ROUNDS = 5


@dataclass
class HeldHit:
    """A HIT a worker still holds: it closes when the assignment's time runs out."""

    hit_id: str
    status: str
    pending: int
    free_by: str  # ISO time (the service's clock) by which the assignment is over at the latest


@dataclass
class WindDownReport:
    """What `wind_down` did and what is left for later."""

    campaign: str
    stop_requested: bool
    expired: list[str] = field(default_factory=list)
    settled: int = 0
    expired_slots: int = 0
    reconciled: int = 0
    deleted: list[str] = field(default_factory=list)
    needs_review: list[str] = field(default_factory=list)
    held: list[HeldHit] = field(default_factory=list)
    busy_instances: list[str] = field(default_factory=list)
    hits_by_status: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        """Nothing open on the service or in the records: the campaign is wound down."""
        return not self.held and not self.busy_instances and not self.needs_review

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "finished": self.finished}


def wind_down(params: CampaignParams, *, profile: Profile | None = None, delete_settled: bool = False) -> WindDownReport:
    """Stop the campaign of `params`: request a stop, expire every open HIT, settle, report.

    Safe to run again (every step is idempotent); run it again after the time of a held HIT."""
    from iglu_lib.collection.campaign import Campaign

    report = WindDownReport(params.campaign, stop_requested=True)
    request_stop(params.campaign, "iglu campaign stop --expire")
    campaign = Campaign.open(params, profile=profile)
    campaign.manager.stop_taking_work()
    report.expired += _expire_open(campaign.manager)
    started = campaign.start()  # reconciles, and creates HITs of slots a crash left planned
    report.reconciled += started["resumed"]
    report.errors += started["errors"]
    report.expired += _expire_open(campaign.manager, (WorkState.OPEN,))  # any it just created
    for _ in range(SETTLE_ROUNDS):
        turn = campaign.settle_closed()
        report.settled += turn.settled
        report.expired_slots += turn.expired
        report.reconciled += turn.reconciled
        report.errors += turn.errors
        if not turn.progress:
            break
    if delete_settled:
        report.deleted += _delete_settled(campaign)
    _describe_leftovers(campaign, report)
    return report


def _expire_open(manager: CampaignCrowd, statuses: tuple[WorkState, ...] = OPEN_WORK) -> list[str]:
    """Expire every HIT of the campaign workers can take or hold (idempotent): a held HIT too,
    so that an assignment given back does not reopen it."""
    expired = []
    for hit in manager.hits(statuses):
        manager.expire(hit.hit_id)
        expired.append(hit.hit_id)
    if expired:
        log.info("campaign %s: expired %s open HIT(s)", manager.campaign, len(expired))
    return expired


def _delete_settled(campaign: Campaign) -> list[str]:
    """Delete the campaign's HITs whose work is all approved or rejected (their records stay)."""
    from iglu_lib.providers import CrowdError
    from iglu_lib.storage import RecordStatus

    final = (RecordStatus.APPROVED, RecordStatus.REJECTED)
    deleted = []
    for hit in campaign.manager.hits((WorkState.REVIEWABLE, WorkState.REVIEWING)):
        games = campaign.records.by_hit(hit.hit_id)
        if hit.pending or not games or any(g.status not in final for g in games):
            continue
        try:
            if hit.state is WorkState.REVIEWING:
                campaign.manager.set_reviewing(hit.hit_id, reviewing=False)
            campaign.manager.delete(hit.hit_id)
        except CrowdError as err:
            log.warning("HIT %s not deleted: %s", hit.hit_id, err)
            continue
        deleted.append(hit.hit_id)
    return deleted


def _describe_leftovers(campaign: Campaign, report: WindDownReport) -> None:
    """HITs by service status, those a worker still holds (and until when), open records."""
    from iglu_lib.collection.outcomes import OPEN_STATUSES

    hits = list(campaign.manager.hits())
    report.hits_by_status = dict(Counter(hit.status for hit in hits))
    fallback = int(campaign.profile.hit.assignment_duration_seconds or 0)
    for hit in hits:
        if hit.state in OPEN_WORK:
            report.held.append(HeldHit(hit.hit_id, hit.status, hit.pending, _free_by(hit, fallback)))
    report.needs_review = sorted(campaign.parked)
    report.busy_instances = sorted(g.agent_minecraft_id for g in campaign.records.all()
                                   if g.status in OPEN_STATUSES)


def _free_by(hit: CampaignWork, fallback_seconds: int) -> str:
    """When the last accepted assignment of an expired HIT ends at the latest: it was accepted
    before the HIT expired, and lasts at most the assignment duration. A service that reports
    the requested past moment as the expiration (before the HIT was made) gives no such bound,
    so now is used: the work was accepted before now."""
    expiration, created = (_moment(hit.expiration), _moment(hit.created))
    if expiration is None or (created is not None and expiration < created):
        expiration = datetime.now(timezone.utc)
    seconds = int(hit.assignment_seconds or fallback_seconds)
    return (expiration + timedelta(seconds=seconds)).isoformat(timespec="seconds")


def _moment(value: object) -> datetime | None:
    """An aware datetime from what boto3 returns (datetime) or epoch seconds; None otherwise."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, timezone.utc)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return None


def service_status(manager: CampaignCrowd) -> dict[str, int]:
    """The campaign's HITs on the service, counted by `HITStatus` (Disposed ones are not listed)."""
    return dict(Counter(hit.status for hit in manager.hits()))


def account_status(manager: AccountCrowd) -> dict[str, int]:
    """`service_status` of every HIT type the campaign tagged (when only its name is known)."""
    hits = manager.all_hits()
    return dict(Counter(hit.status for hit in hits if hit.annotation.campaign == manager.campaign))


def report_lines(report: WindDownReport) -> list[str]:
    """The report as a short table a person reads."""
    rows = [
        ("stop requested", "yes" if report.stop_requested else "no"),
        ("HITs expired now", str(len(report.expired))),
        ("assignments settled", str(report.settled)),
        ("HITs expired unworked (deleted)", str(report.expired_slots)),
        ("records reconciled", str(report.reconciled)),
        ("settled HITs deleted", str(len(report.deleted))),
        ("HITs on the service", ", ".join(f"{k} {v}" for k, v in sorted(report.hits_by_status.items())) or "none"),
        ("needs review", ", ".join(report.needs_review) or "none"),
        ("instances still busy", str(len(report.busy_instances))),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"campaign {report.campaign}: {'wound down' if report.finished else 'work left'}"]
    lines += [f"  {name:<{width}}  {value}" for name, value in rows]
    for held in report.held:
        lines.append(f"  held by a worker: HIT {held.hit_id} ({held.status}, {held.pending} pending) "
                     f"until {held.free_by} at the latest; run `iglu campaign stop --expire` again then")
    lines += [f"  error: {error}" for error in report.errors]
    return lines
