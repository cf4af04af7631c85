"""The campaign loop: a thin turn over parts with one job each, until enough good HITs exist
or the budget is spent.

- planning (`planning.Planner`): budget, caps, opening HITs; a slot is *planned* (rows written,
  with the HIT's `UniqueRequestToken`) before `CreateHIT`;
- settling (`settling.Settler`): judging submitted work, waiting for late game data, expiring
  what closed unworked, parking what fails, reconciling open records with the service;
- consequences (`consequences.Consequences`): approve or reject, pay the bonus rule, message and
  sanction, every one through the campaign's ledger (`iglu_lib.ledger`): the intent is written
  under a stable key before the service is asked and the outcome after, and a retry reads the
  ledger and, where it shows an intent without an outcome, the service's own record (the
  assignment's status, `ListBonusPayments`), never the request token alone (MTurk forgets it
  after 24 hours).

Crash safety comes from one rule: every decision is written down (records, ledger) before it
is acted on, and every action can be recognised as done when it is met again. Spend is what the
ledger booked (rewards, fees, every bonus, reversals, by anyone) and is read again before new
HITs are made, so a person's bonus counts against the budget at once. HITs of the campaign that the
service has and the records lack (a crash between CreateHIT and the write, a table that lost
rows) are found by the adoption sweep at start and at every reconcile (`adoption`), and a
restart searches the service for a planned slot's token before creating its HIT again.

No single input stops the loop (see `faults`): a transient failure is retried next turn; an
unexpected failure while settling one HIT parks that HIT as `needs_review` (logged, counted in
the summary and in `iglu campaign status`) and the turn goes on with the others; a permanent
failure, or `max_failed_turns` failed turns in a row, stops the loop with `CampaignStopped`,
whose message says what to do. At start and every `reconcile_every_turns` turns the open
records are reconciled with the service, so a HIT settled behind the loop's back (auto-approval,
a person, a deletion) frees its instances and its pay is counted.
"""


from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from iglu_lib.collection.adoption import Adoption
from iglu_lib.collection.consequences import SETTLED_ON_SERVICE as SETTLED_ON_SERVICE
from iglu_lib.collection.consequences import Consequences
from iglu_lib.collection.faults import Fault, classify
from iglu_lib.collection.outcomes import scheduled_games
from iglu_lib.collection.outcomes import slot_outcome as slot_outcome
from iglu_lib.collection.params import CampaignParams
from iglu_lib.collection.planning import Planner, unbooked_spend
from iglu_lib.collection.rewards import BonusRule
from iglu_lib.collection.sanctions import Sanctions
from iglu_lib.collection.settling import GameDataLate as GameDataLate
from iglu_lib.collection.settling import Settler
from iglu_lib.collection.stall import StallWatch
from iglu_lib.collection.stop_request import clear_stop_request, stop_requested
from iglu_lib.errors import CampaignStopped
from iglu_lib.ledger.book import Ledger, Spend
from iglu_lib.scheduling import Scheduler
from iglu_lib.scheduling.stopping import check_scheduling, stop_rule_reached
from iglu_lib.storage import GameRecords, RecordStatus
from iglu_lib.storage.record import LOOP

if TYPE_CHECKING:
    from iglu_lib.config import Profile
    from iglu_lib.crowd.study_campaign import StudyCampaign
    from iglu_lib.platform.client import GameSource
    from iglu_lib.providers import CampaignCrowd, CrowdOptions

log = logging.getLogger(__name__)

#: How many recent errors the summary and the live view keep.
RECENT_ERRORS = 10


@dataclass
class TurnReport:
    """What one turn of the loop did, and what went wrong in it."""

    settled: int = 0
    expired: int = 0
    created: int = 0
    reconciled: int = 0
    parked: int = 0
    waiting: int = 0  # HITs whose game data is not in storage yet (within the grace period)
    errors: list[str] = field(default_factory=list)

    @property
    def progress(self) -> bool:
        return bool(self.settled or self.expired or self.created or self.reconciled)

    @property
    def failed(self) -> bool:
        return bool(self.errors) and not self.progress


class Campaign:
    """One campaign: its parameters and the services it runs on.

    `Campaign.open(params)` assembles one (profile, backend clients, records); the constructor
    only wires what it is given and does no I/O, so tests can hand in their own services."""

    def __init__(
        self,
        params: CampaignParams,
        *,
        profile: Profile,
        manager: CampaignCrowd,
        records: GameRecords,
        game_client: GameSource,
        scheduler: Scheduler,
        clock: Callable[[], float] = time.time,
        ledger: Ledger | None = None,
    ) -> None:
        from iglu_lib.platform.validation import Thresholds

        self.params = params
        self.profile = profile
        self.manager: CampaignCrowd = manager
        self.records = records
        self.games: GameSource = game_client
        self.thresholds = Thresholds.from_params(params.validation)
        self.sanctions = Sanctions.from_params(params.sanctions, params.messages, params.campaign)
        # qualification types on MTurk, participant groups on Prolific
        capabilities = manager.capabilities
        self.block_qualification = capabilities.soft_block(params.campaign)
        self.cap_qualification = capabilities.cap(params.campaign)
        self.allow_qualification = capabilities.allowed(params.campaign)
        self.bonus_rule = BonusRule.from_params(params.bonus, params.campaign)
        self.scheduler = scheduler
        self.cost_per_hit = params.cost_per_hit(self.profile.hit.reward)
        self.clock = clock
        self.paid_hits = 0
        self.blocked: set[str] = set()
        self.parked: dict[str, str] = {}  # HIT id -> why it waits for a person
        self.errors: deque[str] = deque(maxlen=RECENT_ERRORS)
        self.failed_turns = 0
        self.turns = 0
        self.started = False
        self.stopped_by: str | None = None
        self._stop = threading.Event()
        self._ledger = ledger
        self._spend = Spend()
        self._unbooked = Decimal("0")  # paid before the campaign had a ledger (see `unbooked_spend`)
        self.planner = Planner(self)  # budget, caps, opening HITs
        self.settler = Settler(self)  # judging, late game data, parking, reconciling
        self.consequences = Consequences(self)  # pay, message, sanction: through the ledger
        # issue 20: HITs on the service the records lack are adopted; a stall is named once
        self.adoption = Adoption(self)
        self.stall = StallWatch()

    @classmethod
    def open(
        cls,
        params: CampaignParams,
        *,
        profile: Profile | None = None,
        manager: CampaignCrowd | None = None,
        records: GameRecords | None = None,
        game_client: GameSource | None = None,
        clock: Callable[[], float] = time.time,
    ) -> Campaign:
        """The one place a campaign is assembled: the profile of `params` (unless given), the
        HIT manager, records (the table is created if missing) and game-data client of its
        backend, and the scheduler over the join codes and instances. `start` then restores
        the scheduler from the records."""
        from iglu_lib.config import load_profile
        from iglu_lib.platform.client import GameDataClient
        from iglu_lib.providers import open_campaign_crowd

        profile = profile or load_profile(params.profile)
        manager = manager or open_campaign_crowd(params.provider, profile, crowd_options(params))
        scheduler = Scheduler.from_files(
            params.path(params.join_codes), params.path(params.agent_instances), params.k, params.seed,
            strategy=check_scheduling(params.scheduling, stop_when=params.stop_when, evidence=params.evidence_rules),
            only=params.pairs or None,
        )
        return cls(params, profile=profile, manager=manager,
                   records=records or GameRecords.open(profile, params.campaign),
                   game_client=game_client or GameDataClient.open(profile), scheduler=scheduler, clock=clock)

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> dict[str, Any]:
        """Rebuild the scheduler from the records, reconcile them with the service, and finish
        what a crash left half done."""
        from iglu_lib.pages.templates import preview_exposes_codes, require_complete_template

        if self.params.hit_template:
            require_complete_template(self.params.hit_template, self.params.hit_type, self.params.k,
                                      self.params.page_variables)
        warning = preview_exposes_codes(self.manager.question_mode)
        if warning:
            log.warning("campaign %s: %s", self.params.campaign, warning)
        self.adoption.sweep()  # before the restore: adopted slots count, their ids are never reused
        stored = self.records.all()
        restored = self.scheduler.restore(scheduled_games(stored))
        self.paid_hits = len({g.slot_id for g in stored if g.status is RecordStatus.APPROVED})
        self._unbooked = unbooked_spend(stored, self.ledger.entries(), self.cost_per_hit, self.params.fee_rate)
        if self._unbooked:
            log.info("campaign %s: $%s paid before its ledger existed counts in the spend", self.params.campaign,
                     self._unbooked)
        self.refresh_spend()
        self.blocked = set(self.manager.blocked_ids())
        if self.sanctions.soft_block:
            self.blocked |= self.block_qualification.workers()
        if self.params.allow_list:
            allowed = self.allow_qualification.workers()
            for worker_id in sorted(set(self.params.allow_list) - allowed):
                self.allow_qualification.grant(worker_id)  # a pilot: only these workers see the HITs
        report = TurnReport()
        self.planner.planned = {**self.records.slots(RecordStatus.PLANNED)}
        self.planner.open_planned(report)
        self._reconcile(report)
        self.started = True
        log.info("campaign %s started: %s slots restored, %s resumed, %s reconciled", self.params.campaign,
                 sum(restored.outcomes.values()), report.created, report.reconciled)
        return {"restored": restored.outcomes, "skipped": restored.skipped,
                "resumed": report.created + report.reconciled, "errors": report.errors}

    def stop(self) -> None:
        """Finish the current step, then stop (what SIGINT and SIGTERM ask for)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def good_hits(self) -> int:
        open_slots = len(self.scheduler.open_slots())
        return sum(self.scheduler.combination_counts().values()) - open_slots

    @property
    def spent(self) -> Decimal:
        """What the ledger booked as paid: rewards, reversals, every bonus, and the fee on all."""
        return self._spend.total + self._unbooked

    @property
    def committed(self) -> Decimal:
        """What the budget guard counts: paid, and intended but not known to be unpaid."""
        return self._spend.committed + self._unbooked

    @property
    def bonus_paid(self) -> Decimal:
        """Bonuses booked (the rule's and people's), without the fee."""
        return self._spend.bonuses_total

    @property
    def done(self) -> bool:
        reached = self.good_hits >= self.params.target_approved_hits or self.stop_rule() is not None
        return reached and not self.scheduler.open_slots()

    def stop_rule(self) -> str | None:
        """The `stop_when` rule that says stop creating HITs (e.g. `ranking_confident`), or None."""
        return stop_rule_reached(self.scheduler, self.params.stop_when, self.params.evidence_rules)

    def _end_rule(self) -> str | None:
        """What ends the loop: `target`, a `stop_when` rule, `budget` (no room for one more HIT), or None."""
        if self.good_hits >= self.params.target_approved_hits:
            return "target"
        rule = self.stop_rule()
        if rule is not None:
            return rule
        return None if self.planner.budget_allows(len(self.scheduler.open_slots())) else "budget"

    def run(self, *, progress: bool = True, on_turn: Callable[[Campaign, TurnReport], None] | None = None,
            ) -> dict[str, Any]:
        """Turn until the target is reached (or `max_turns`, or a stop); returns the summary.

        Raises `CampaignStopped` on a permanent error or after `max_failed_turns` failed turns."""
        from tqdm.auto import tqdm

        bar = tqdm(total=self.params.target_approved_hits, desc=f"campaign {self.params.campaign}",
                   unit="HIT", disable=not progress)
        interval = self.params.poll_interval_seconds
        clear_stop_request(self.params.campaign)  # a new run forgets an old `iglu campaign stop`
        try:
            while not (self.started and self.done) and not self.stopping:
                report = self.turn()
                bar.update(min(self.good_hits, self.params.target_approved_hits) - bar.n)
                bar.set_postfix(spent=f"${self.spent:.2f}", open=len(self.scheduler.open_slots()),
                                errors=len(report.errors))
                if on_turn:
                    on_turn(self, report)
                if stop_requested(self.params.campaign):  # `iglu campaign stop`
                    self.stopped_by = "stop_request"
                    break
                if self.params.max_turns and self.turns >= self.params.max_turns:
                    self.stopped_by = "max_turns"
                    break
                quiet = not report.progress or report.errors
                interval = min(interval * 2, self.params.max_poll_interval_seconds) if quiet \
                    else self.params.poll_interval_seconds
                self._stop.wait(interval)
        finally:
            bar.close()
        self.stopped_by = self.stopped_by or (self._end_rule() if self.done else None) or "stop_request"
        try:
            self.refresh_spend()  # the last turn's payments, in the summary
        except Exception as err:  # noqa: BLE001 - the summary then shows the spend of the last turn
            log.warning("campaign %s: the ledger's spend was not read again: %s", self.params.campaign, err)
        return self.summary(self.turns)

    def summary(self, turns: int | None = None) -> dict[str, Any]:
        return {
            "campaign": self.params.campaign,
            "good_hits": self.good_hits,
            "target": self.params.target_approved_hits,
            "paid_hits": self.paid_hits,
            "spent": f"{self.spent:.2f}",
            "bonuses_paid": f"{self.bonus_paid:.2f}",
            "spend": self._spend.as_dict(),
            "budget": self.params.budget,
            "open_hits": len(self.scheduler.open_slots()),
            "needs_review": len(self.parked),
            "blocked_workers": len(self.blocked),
            "spread": self.scheduler.spread(),
            "turns": turns,
            "done": self.done,
            "stopped_by": self.stopped_by,
            "errors": list(self.errors),
            **self.adoption.summary(),
            "stalled": self.stall.reason,
        }

    # -- one turn ---------------------------------------------------------------------------
    def turn(self) -> TurnReport:
        """Start (until it succeeds), reconcile when due, settle what is reviewable, then create
        HITs while instances, target and budget allow. Transient failures are reported in the
        turn's `errors`; permanent ones raise `CampaignStopped`."""
        report = TurnReport()
        self.turns += 1
        if not self.started:
            self._step(self._start_step, report)
        elif self.params.reconcile_every_turns and self.turns % self.params.reconcile_every_turns == 0:
            self._step(self.adoption.reconcile, report)  # sweep, reconcile, counts from the records
        if self.started:
            for step in (self._review, self._keep_off_page_claimants, self._create_hits):
                if self.stopping:
                    break
                self._step(step, report)
        self._count_failure(report)
        self.stall.after_turn(self, report)
        return report

    def _start_step(self, report: TurnReport) -> None:
        result = self.start()
        report.reconciled += result["resumed"]
        report.errors.extend(result["errors"])

    def _step(self, step: Callable[[TurnReport], None], report: TurnReport) -> None:
        """Run one step; a transient failure becomes the turn's error, others stop the loop."""
        try:
            step(report)
        except CampaignStopped:
            raise
        except Exception as err:
            if classify(err) is not Fault.TRANSIENT:
                self.stop_for(err, step.__name__.strip("_").replace("_", " "))
            self.error(report, f"{type(err).__name__}: {err}")

    def error(self, report: TurnReport, message: str) -> None:
        report.errors.append(message)
        self.errors.append(message)
        log.warning("campaign %s, turn %s: %s", self.params.campaign, self.turns, message)

    def _count_failure(self, report: TurnReport) -> None:
        self.failed_turns = self.failed_turns + 1 if report.failed else 0
        if self.failed_turns >= self.params.max_failed_turns:
            self.stopped_by = "failed_turns"
            raise CampaignStopped(
                f"campaign {self.params.campaign}: {self.failed_turns} turns in a row failed (last: "
                f"{report.errors[-1]}); check that MTurk and storage answer (`iglu stack status` for "
                "the local profile, your credentials otherwise), then run `iglu collect` again: the "
                "records let it resume where it stopped"
            )

    def stop_for(self, err: BaseException, where: str) -> None:
        self.stopped_by = "permanent_error"
        log.error("campaign %s stops while %s: %s", self.params.campaign, where, err)
        raise CampaignStopped(
            f"campaign {self.params.campaign} stopped while {where}: {type(err).__name__}: {err}. "
            "This will not heal by waiting: fix the credentials, funds, profile or parameters it "
            "names, then run `iglu collect` again (the records let it resume)"
        ) from err

    # -- the parts --------------------------------------------------------------------------
    def _review(self, report: TurnReport) -> None:
        self.settler.review(report)

    def _reconcile(self, report: TurnReport) -> None:
        self.settler.reconcile(report)

    def _create_hits(self, report: TurnReport) -> None:
        self.planner.create_hits(report)

    def _keep_off_page_claimants(self, report: TurnReport) -> None:
        self.consequences.keep_off_page_claimants()

    @property
    def ledger(self) -> Ledger:
        """The campaign's ledger (opened on first use: the constructor does no I/O)."""
        if self._ledger is None:
            self._ledger = Ledger.open(self.profile, self.params.campaign, self.manager, source=LOOP)
        return self._ledger

    def refresh_spend(self) -> Spend:
        """Read what the ledger booked (the loop's payments and every person's), for the budget."""
        self._spend = self.ledger.spend(self.params.fee_rate)
        return self._spend

    # -- winding down (`iglu campaign stop --expire`) -----------------------------------------
    def settle_closed(self) -> TurnReport:
        """One review and one reconcile step, creating nothing: settles what was submitted and
        expires what was never taken, for a campaign being wound down."""
        report = TurnReport()
        for step in (self._review, self._reconcile):
            self._step(step, report)
        return report


def crowd_options(params: CampaignParams) -> CrowdOptions:
    """What the campaign's parameters tell its crowd (each takes what applies to it)."""
    from iglu_lib.providers import CrowdOptions

    return CrowdOptions(params.campaign, kind=params.hit_type, template_folder=params.hit_template,
                        template_variables=params.hit_variables, page_url=params.study_url,
                        estimated_minutes=params.study_minutes)


def open_study_campaign(params: CampaignParams, profile: Profile) -> StudyCampaign:
    """The manager of a `provider: prolific` campaign: its one study and the slots sessions claim."""
    from iglu_lib.crowd.study_campaign import StudyCampaign

    return StudyCampaign.open(profile, params.campaign, page_url=params.study_url,
                              estimated_minutes=params.study_minutes, kind=params.hit_type)
