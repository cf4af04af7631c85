"""HITs adopted, never duplicated: the campaign's HITs on the service and its records agree.

The records are written before every service call, but the table can still lose rows the
service acknowledged (a crashed or wiped table service), and a crash between `CreateHIT` and
the records' write leaves a HIT the records call `planned`. MTurk recognises a repeated
`UniqueRequestToken` for only 24 hours, so after a longer pause the token alone would make a
second HIT for the slot. Adoption therefore never trusts the token alone:

- *before a planned slot's HIT is created again* (after a restart, or a failed create) the
  campaign's HITs on the service are searched for the slot's token, which the manager writes
  into each HIT's `RequesterAnnotation`; a HIT found is adopted instead of creating another;
- *a sweep* (at start, before the scheduler is rebuilt, and at every reconcile) lists the
  campaign's HITs on the service and takes in every one the records do not hold: a HIT whose
  slot is still `planned` gets its HIT id; a HIT whose rows were lost gets its slot's rows again
  (the slot rebuilt from the scheduler, or from the join codes its page shows), and the normal
  reconcile then judges its submitted work, or records what the service already settled; a HIT
  that cannot be adopted (a second HIT of a slot, a page naming no known task or instance) is
  expired so no worker takes it.

Each adopted or expired HIT is logged as a warning, kept in the loop's summary, and written to
a journal in the profile's private container (not in the records table: the table is what a
crash loses), which `iglu campaign status` and notebook 03's live view show. After a sweep
the loop's counts are taken from the records again, so its summary never silently disagrees
with them.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from iglu_lib.collection.faults import Fault, classify
from iglu_lib.collection.outcomes import scheduled_games
from iglu_lib.providers import OPEN_WORK, SubmissionStatus
from iglu_lib.scheduling import Slot
from iglu_lib.scheduling.model import Inventory, full_join_code
from iglu_lib.storage import GameRecord, RecordStatus
from iglu_lib.storage.record import request_token, utc_now

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

    from iglu_lib.collection.campaign import Campaign, TurnReport
    from iglu_lib.collection.params import CampaignParams
    from iglu_lib.config import Profile
    from iglu_lib.providers import AccountCrowd, CampaignWork

log = logging.getLogger(__name__)

ADOPTED = "adopted"
EXPIRED = "expired"
#: The journal of a campaign's adopted and expired HITs in the profile's private container.
JOURNAL_PATH = "adoption/{campaign}.json"
#: The prefix of the loop's request tokens (`storage.record.request_token`).
TOKEN_PREFIX = "iglu-"


class Journal:
    """Adopted and expired HITs of one campaign, `{hit id: {action, slot_id, why, at}}`, in one
    JSON blob. Only the loop writes it; it is read whole, and rewritten whole on each entry."""

    def __init__(self, container: ContainerClient, campaign: str) -> None:
        self.container = container
        self.path = JOURNAL_PATH.format(campaign=campaign)
        self._entries: dict[str, dict[str, str]] | None = None

    @classmethod
    def open(cls, profile: Profile, campaign: str) -> Journal:
        service = profile.backend.blob_service()
        return cls(service.get_container_client(profile.storage.private_container), campaign)

    def entries(self) -> dict[str, dict[str, str]]:
        if self._entries is None:
            self._entries = self._read()
        return self._entries

    def _read(self) -> dict[str, dict[str, str]]:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            value = json.loads(self.container.download_blob(self.path).readall())
        except ResourceNotFoundError:
            return {}
        return dict(value) if isinstance(value, dict) else {}

    def add(self, hit_id: str, action: str, slot_id: str, why: str) -> None:
        entries = self.entries()
        entries[hit_id] = {"action": action, "slot_id": slot_id, "why": why, "at": utc_now()}
        if not self.container.exists():
            self.container.create_container()
        self.container.upload_blob(self.path, json.dumps(entries, indent=1).encode("utf-8"), overwrite=True)

    def hits(self, action: str) -> list[str]:
        return sorted(hit_id for hit_id, entry in self.entries().items() if entry.get("action") == action)


def journal_status(journal: Journal) -> dict[str, Any]:
    """What `iglu campaign status` and the live view show: counts and ids of the HITs taken in
    from the service (`adopted`) and of those expired because they could not be."""
    adopted, expired = journal.hits(ADOPTED), journal.hits(EXPIRED)
    return {"adopted": len(adopted), "expired": len(expired), "adopted_hits": adopted, "expired_hits": expired}


def read_status(profile: Profile, campaign: str) -> dict[str, Any]:
    """`journal_status` of a campaign, or why it could not be read (status never fails on it)."""
    try:
        return journal_status(Journal.open(profile, campaign))
    except Exception as err:  # noqa: BLE001 - the records' status is still worth printing
        return {"error": f"{type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}"}


def slot_of_token(campaign: str, token: str | None) -> str | None:
    """The slot id a request token was made for, if the loop made it for this campaign."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    slot_id = token[len(TOKEN_PREFIX):].partition("-")[0]
    return slot_id if request_token(campaign, slot_id) == token else None


def slot_from_page(inventory: Inventory, slot_id: str, page: str, k: int) -> Slot | None:
    """The slot whose join codes `page` shows (in shown order), or None unless the page shows
    exactly `k` codes of one known task with instances of `k` distinct known agents. A code may
    carry a suffix (`join_code_expiry`), so codes are found as text, not parsed."""
    tasks = [task for task in inventory.tasks.values() if f"{task.task_join_code}:" in page]
    if len(tasks) != 1:
        return None
    task = tasks[0]
    owner = inventory.agent_of_instance()
    shown: list[tuple[int, str]] = []
    for instance_id in owner:
        found = re.search(re.escape(f"{task.task_join_code}:{instance_id}") + r"(?![\w-])", page)
        if found:
            shown.append((found.start(), instance_id))
    instances = tuple(instance_id for _, instance_id in sorted(shown))
    agents = tuple(owner[instance_id] for instance_id in instances)
    if len(instances) != k or len(set(agents)) != k:
        return None
    return Slot(slot_id, task.name, task.task_id, agents, instances,
                tuple(full_join_code(task.task_join_code, i) for i in instances), inventory.canonical(agents))


class Adoption:
    """The campaign's search for HITs its records do not hold (see the module's docstring)."""

    def __init__(self, campaign: Campaign, journal: Journal | None = None) -> None:
        self.campaign = campaign
        self._journal = journal
        self.adopted: dict[str, str] = {}  # HIT id -> why, this run
        self.expired: dict[str, str] = {}
        self._listing: tuple[int, dict[str, CampaignWork]] | None = None  # (turn, token -> HIT) of the last sweep
        self._resync_due = False
        self._disagreed: tuple[int, int] | None = None  # good HITs (loop, records) last warned about

    @property
    def journal(self) -> Journal:
        if self._journal is None:
            self._journal = Journal.open(self.campaign.profile, self.campaign.params.campaign)
        return self._journal

    # -- before a planned slot's HIT is created again ---------------------------------------
    def hit_made_before(self, token: str) -> CampaignWork | None:
        """The HIT the campaign already made with `token`, searched on the service (or in this
        turn's sweep), so a slot whose create is repeated after 24 hours gets no second HIT."""
        if self._listing is not None and self._listing[0] == self.campaign.turns:
            hit = self._listing[1].get(token)
        else:
            hit = self.campaign.manager.hit_with_token(token)
        if hit is not None:
            log.warning("campaign %s: HIT %s was made before for this slot (token %s); adopted, not created again",
                        self.campaign.params.campaign, hit.hit_id, token)
            self._name(hit.hit_id, ADOPTED, slot_of_token(self.campaign.params.campaign, token) or "",
                       "created before a crash or a failed records write; found by its request token")
        return hit

    def open_or_retire(self, open_hit: Callable[[], None], slot: Slot, games: Sequence[GameRecord]) -> int:
        """Open a slot's HIT (1), or retire the slot (0) when the service refuses its token and
        lists no HIT with it: an earlier slot of that id lost its rows and its HIT was deleted,
        so the id was handed out again. The slot is closed as expired; the next has a new id."""
        from iglu_lib.providers import TokenRefused
        from iglu_lib.scheduling import Outcome

        try:
            open_hit()
        except TokenRefused as err:
            self.campaign.records.update_all(games, status=RecordStatus.EXPIRED)
            self.campaign.scheduler.close(slot.slot_id, Outcome.EXPIRED)
            log.warning("campaign %s: slot %s retired unopened, its id was used before: %s",
                        self.campaign.params.campaign, slot.slot_id, err)
            return 0
        return 1

    # -- the sweep --------------------------------------------------------------------------
    def reconcile(self, report: TurnReport) -> None:
        """The loop's reconcile step: sweep, reconcile the open records, then count from the records."""
        self.sweep(report)
        self.campaign._reconcile(report)
        self.agree()

    def sweep(self, report: TurnReport | None = None) -> int:
        """Take in every HIT of the campaign on the service that the records do not hold;
        returns how many were adopted or expired. One HIT's failure never stops the others."""
        campaign = self.campaign
        stored = campaign.records.all()
        recorded = {g.hit_id for g in stored if g.hit_id}
        slots: dict[str, list[GameRecord]] = {}
        for game in stored:
            slots.setdefault(game.slot_id, []).append(game)
        hits = list(campaign.manager.hits())
        self._listing = (campaign.turns, {h.annotation.token: h for h in hits if h.annotation.token})
        skip = recorded | set(self.journal.hits(EXPIRED))
        taken = 0
        for hit in hits:
            if hit.hit_id in skip or campaign.stopping:
                continue
            try:
                taken += self._take(hit, slots)
            except Exception as err:
                if classify(err) is Fault.TRANSIENT:
                    raise
                log.warning("campaign %s: HIT %s has no records and could not be adopted: %s: %s",
                            campaign.params.campaign, hit.hit_id, type(err).__name__, err, exc_info=err)
                if report is not None:
                    campaign.error(report, f"HIT {hit.hit_id} not adopted: {type(err).__name__}: {err}")
        if report is not None:
            report.reconciled += taken
        if self._resync_due:
            self._resync()
        return taken

    def _take(self, hit: CampaignWork, slots: Mapping[str, list[GameRecord]]) -> int:
        campaign = self.campaign
        slot_id = slot_of_token(campaign.params.campaign, hit.annotation.token)
        if slot_id is None:
            return self._expire(hit, "", "its annotation carries no request token of this campaign's slots")
        if slot_id in campaign.planner.planned:
            return 0  # the loop itself is creating this slot's HIT this turn: it searches first
        games = slots.get(slot_id)
        if games and all(g.status is RecordStatus.PLANNED and not g.hit_id for g in games):
            return self._adopt(hit, games, "created before a crash; its records were still planned")
        if games:
            return self._expire(hit, slot_id, f"a second HIT of slot {slot_id}, whose records hold HIT "
                                              f"{games[0].hit_id or '(none)'}")
        slot = self._slot(hit, slot_id)
        if slot is None:
            return self._expire(hit, slot_id, "its page shows no join codes of this campaign's tasks and instances")
        planned = campaign.records.plan(slot, hit_type=campaign.params.hit_type)
        return self._adopt(hit, planned, "its records were lost (e.g. the table service lost rows)")

    def _slot(self, hit: CampaignWork, slot_id: str) -> Slot | None:
        """The slot of a HIT without records: the scheduler's, if it handed the slot out in this
        run, else rebuilt from the join codes the HIT's page shows (the scheduler then learns it)."""
        campaign = self.campaign
        try:
            return campaign.scheduler.slot(slot_id)
        except ValueError:
            pass
        slot = slot_from_page(campaign.scheduler.inventory, slot_id, campaign.manager.page_text(hit), campaign.params.k)
        if slot is not None and campaign.started:
            self._resync_due = True
        return slot

    def _adopt(self, hit: CampaignWork, games: Sequence[GameRecord], why: str) -> int:
        self.campaign.records.update_all(games, status=RecordStatus.HIT_CREATED, hit_id=hit.hit_id)
        log.warning("campaign %s: adopted HIT %s (%s on the service) into slot %s: %s; its work is "
                    "judged as usual", self.campaign.params.campaign, hit.hit_id, hit.status, games[0].slot_id, why)
        self._name(hit.hit_id, ADOPTED, games[0].slot_id, why)
        return 1

    def _expire(self, hit: CampaignWork, slot_id: str, why: str) -> int:
        """Expire a HIT that cannot be adopted, so no worker takes it; work already submitted
        to it is named for a person (it has no records to be judged by)."""
        from iglu_lib.providers import CrowdError

        manager = self.campaign.manager
        if hit.state in OPEN_WORK:
            try:
                manager.expire(hit.hit_id)
            except CrowdError as err:
                if classify(err) is Fault.TRANSIENT:
                    raise
                log.info("HIT %s not expired: %s", hit.hit_id, err)
        submitted = manager.assignments(hit.hit_id, (SubmissionStatus.SUBMITTED,), agents=self.campaign.params.k)
        if submitted:
            why += (f"; {len(submitted)} submitted assignment(s) wait for a person "
                    "(approve or reject them on the service)")
        log.warning("campaign %s: expired HIT %s, which has no records: %s",
                    self.campaign.params.campaign, hit.hit_id, why)
        self._name(hit.hit_id, EXPIRED, slot_id, why)
        return 1

    def _name(self, hit_id: str, action: str, slot_id: str, why: str) -> None:
        (self.adopted if action == ADOPTED else self.expired)[hit_id] = why
        self.journal.add(hit_id, action, slot_id, why)

    # -- the loop's counts agree with the records -------------------------------------------
    def _resync(self) -> None:
        """Rebuild the scheduler from the records, as at start, once the records hold slots it
        never handed out in this run; deferred while a slot is handed out but not yet written."""
        campaign = self.campaign
        if any(games is None for games in campaign.planner.planned.values()):
            return
        campaign.scheduler.restore(scheduled_games(campaign.records.all()))
        self._resync_due = False
        log.info("campaign %s: scheduler rebuilt from the records after adopting HITs", campaign.params.campaign)

    def agree(self) -> None:
        """Take the loop's paid HITs and bonuses from the records when they differ (rows lost
        and adopted back, a HIT settled twice in memory), saying so once in the log."""
        campaign = self.campaign
        stored = campaign.records.all()
        paid = len({g.slot_id for g in stored if g.status is RecordStatus.APPROVED})
        if paid != campaign.paid_hits:
            log.warning("campaign %s: the loop counted %s paid HITs, the records %s; counting from the records",
                        campaign.params.campaign, campaign.paid_hits, paid)
            campaign.paid_hits = paid
        campaign.refresh_spend()  # money is what the ledger booked, whoever paid it
        good = good_in_records(stored)
        if good != campaign.good_hits and (campaign.good_hits, good) != self._disagreed:
            self._disagreed = (campaign.good_hits, good)
            log.warning("campaign %s: the loop counted %s good HITs, the records %s (rows lost with their HITs "
                        "gone from the service?); rebuilding the scheduler from the records",
                        campaign.params.campaign, campaign.good_hits, good)
            self._resync_due = True
            self._resync()

    def summary(self) -> dict[str, list[str]]:
        return {"adopted_hits": sorted(self.adopted), "expired_unrecorded_hits": sorted(self.expired)}


def unaccounted_hits(profile: Profile, params: CampaignParams | None, campaign: str) -> list[str] | str:
    """The campaign's HITs on the service that are neither in its records nor in the adoption
    journal (what the next sweep would take in), or why they could not be listed."""
    from iglu_lib.providers import CrowdOptions, open_account_crowd
    from iglu_lib.storage import GameRecords

    try:
        options = CrowdOptions(campaign, kind=params.hit_type) if params is not None else CrowdOptions(campaign)
        manager = open_account_crowd(profile, options)  # the any-type listing is MTurk's
        hits = list(manager.hits()) if params is not None else [
            hit for hit in _any_type_hits(manager) if hit.annotation.campaign == campaign]
        known = {g.hit_id for g in GameRecords.open(profile, campaign).all()}
        known |= set(Journal.open(profile, campaign).entries())
    except Exception as err:  # noqa: BLE001 - the records' status is still worth printing
        return f"could not list: {type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}"
    return sorted(hit.hit_id for hit in hits if hit.hit_id not in known)


def _any_type_hits(manager: AccountCrowd) -> Sequence[CampaignWork]:
    """Every HIT of the account, whatever its type tag (MTurk's HIT manager lists them)."""
    return manager.all_hits()


def good_in_records(stored: Sequence[GameRecord]) -> int:
    """Good HITs as the records count them: slots whose games are all valid."""
    from iglu_lib.collection.outcomes import slot_outcome
    from iglu_lib.scheduling import Outcome

    slots: dict[str, list[GameRecord]] = {}
    for game in stored:
        slots.setdefault(game.slot_id, []).append(game)
    return sum(slot_outcome(games) is Outcome.VALID for games in slots.values())
