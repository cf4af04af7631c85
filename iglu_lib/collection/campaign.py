"""The campaign loop: create HITs while instances are free, judge and settle submitted work,
free instances of expired HITs, until enough good HITs exist or the budget is spent.

Crash safety comes from one rule: every decision is written to the game records before it
is acted on, and every action can be recognised as done when it is met again.

- a slot is *planned* (rows written, with the HIT's `UniqueRequestToken`) before `CreateHIT`;
  a restart creates the HIT of a planned slot with the same token, which the service answers
  with the HIT made before instead of a second one;
- an assignment's verdict is written (*submitted*) before `ApproveAssignment` or
  `RejectAssignment`; a restart reads the assignment's status on the service and only acts
  if it is still `Submitted`, so no assignment is paid or rejected twice;
- a HIT leaves the reviewable listing (`Reviewing`) only after its records are final, so a
  crash in between makes the next turn settle it again, which changes nothing.

Instances return to the pool when their HIT's assignment is settled, or when the HIT is
reviewable without any submitted assignment: expired unaccepted, or accepted work that ran
out its duration (the service makes such a HIT reviewable only then).

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from iglu_lib.collection.faults import Fault, classify, is_account_problem
from iglu_lib.collection.judge import NEEDS_REVIEW, judge
from iglu_lib.collection.outcomes import OPEN_STATUSES, SlotGame, scheduled_games, slot_outcome
from iglu_lib.collection.params import CampaignParams
from iglu_lib.collection.rewards import BonusRule, bonus_token, bonuses_paid
from iglu_lib.collection.sanctions import CampaignQualification, Sanctions, rejected_reasons
from iglu_lib.collection.winddown import clear_stop_request, stop_requested
from iglu_lib.errors import CampaignStopped, IgluError
from iglu_lib.scheduling import Outcome, Scheduler, Slot, split_join_code
from iglu_lib.scheduling.model import winner_of
from iglu_lib.scheduling.stopping import check_scheduling, stop_rule_reached
from iglu_lib.storage import GameRecord, GameRecords, RecordStatus
from iglu_lib.storage.record import LOOP, utc_now

if TYPE_CHECKING:
    from iglu_lib.config import Profile

log = logging.getLogger(__name__)

#: Assignment statuses the loop reads back from the service.
SETTLED_ON_SERVICE = {"Approved": RecordStatus.APPROVED, "Rejected": RecordStatus.REJECTED}
#: HIT statuses after which no more work can arrive: the loop settles what is there.
CLOSED_HIT_STATUSES = ("Reviewable", "Reviewing", "Disposed")
#: A HIT waiting for late game data is settled at least this long before the service's
#: auto-approval would approve it unjudged.
AUTO_APPROVAL_MARGIN_SECONDS = 600
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
        manager: Any,
        records: GameRecords,
        game_client: Any,
        scheduler: Scheduler,
        clock: Callable[[], float] = time.time,
    ) -> None:
        from iglu_lib.platform.validation import Thresholds

        self.params = params
        self.profile = profile
        self.manager = manager
        self._qualifications: list[dict[str, Any]] | None = None  # resolved on the first HIT
        self.records = records
        self.games = game_client
        self.thresholds = Thresholds.from_params(params.validation)
        self.sanctions = Sanctions.from_params(params.sanctions, params.messages, params.campaign)
        self.block_qualification = CampaignQualification.soft_block(self.manager, params.campaign)
        self.cap_qualification = CampaignQualification.cap(self.manager, params.campaign)
        self.allow_qualification = CampaignQualification.allowed(self.manager, params.campaign)
        self.bonus_rule = BonusRule.from_params(params.bonus, params.campaign)
        self.bonus_paid = Decimal("0")
        self._task_qualifications: dict[str, CampaignQualification] = {}
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
        self._planned: dict[str, list[GameRecord] | None] = {}  # handed-out slots whose HIT is not made yet
        self._stop = threading.Event()

    @classmethod
    def open(
        cls,
        params: CampaignParams,
        *,
        profile: Profile | None = None,
        manager: Any = None,
        records: GameRecords | None = None,
        game_client: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> Campaign:
        """The one place a campaign is assembled: the profile of `params` (unless given), the
        HIT manager, records (the table is created if missing) and game-data client of its
        backend, and the scheduler over the join codes and instances. `start` then restores
        the scheduler from the records."""
        from iglu_lib.config import load_profile
        from iglu_lib.mturk import HitManager
        from iglu_lib.platform.client import GameDataClient

        profile = profile or load_profile(params.profile)
        manager = manager or HitManager.open(profile, hit_type=params.hit_type, campaign=params.campaign,
                                             template_folder=params.hit_template,
                                             template_variables=params.hit_variables)
        scheduler = Scheduler.from_files(
            params.path(params.join_codes), params.path(params.agent_instances), params.k, params.seed,
            strategy=check_scheduling(params.scheduling, stop_when=params.stop_when), only=params.pairs or None,
        )
        return cls(params, profile=profile, manager=manager,
                   records=records or GameRecords.open(profile, params.campaign),
                   game_client=game_client or GameDataClient.open(profile), scheduler=scheduler, clock=clock)

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> dict[str, Any]:
        """Rebuild the scheduler from the records, reconcile them with the service, and finish
        what a crash left half done."""
        from iglu_lib.mturk.templates import preview_exposes_codes, require_complete_template

        if self.params.hit_template:
            require_complete_template(self.params.hit_template, self.params.hit_type, self.params.k,
                                      self.params.page_variables)
        warning = preview_exposes_codes(getattr(self.manager, "question_mode", "html"))
        if warning:
            log.warning("campaign %s: %s", self.params.campaign, warning)
        stored = self.records.all()
        restored = self.scheduler.restore(self._slot_games(stored))
        self.paid_hits = len({g.slot_id for g in stored if g.status is RecordStatus.APPROVED})
        self.bonus_paid = bonuses_paid(stored)
        self.blocked = {block["WorkerId"] for block in self.manager.blocked_workers()}
        if self.sanctions.soft_block:
            self.blocked |= self.block_qualification.workers()
        if self.params.allow_list:
            allowed = self.allow_qualification.workers()
            for worker_id in sorted(set(self.params.allow_list) - allowed):
                self.allow_qualification.grant(worker_id)  # a pilot: only these workers see the HITs
        report = TurnReport()
        self._planned = {**self.records.slots(RecordStatus.PLANNED)}
        self._open_planned(report)
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
        """Rewards and bonuses paid, with the platform's fee."""
        return self.cost_per_hit * self.paid_hits + self.bonus_paid * self._fee_factor

    @property
    def _fee_factor(self) -> Decimal:
        return 1 + Decimal(self.params.fee_rate)

    def _most_bonus_per_hit(self) -> Decimal:
        """What the bonus rule could pay for one more HIT, fee included (0 without a rule)."""
        if not self.bonus_rule:
            return Decimal("0")
        return self.bonus_rule.amount * self.params.k * self._fee_factor

    @property
    def done(self) -> bool:
        reached = self.good_hits >= self.params.target_approved_hits or self._stop_rule() is not None
        return reached and not self.scheduler.open_slots()

    def _stop_rule(self) -> str | None:
        """The `stop_when` rule that says stop creating HITs (e.g. `ranking_confident`), or None."""
        return stop_rule_reached(self.scheduler, self.params.stop_when)

    def _end_rule(self) -> str | None:
        """What ends the loop: `target`, a `stop_when` rule, `budget` (no room for one more HIT), or None."""
        if self.good_hits >= self.params.target_approved_hits:
            return "target"
        rule = self._stop_rule()
        if rule is not None:
            return rule
        return None if self._budget_allows(len(self.scheduler.open_slots())) else "budget"

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
        return self.summary(self.turns)

    def summary(self, turns: int | None = None) -> dict[str, Any]:
        return {
            "campaign": self.params.campaign,
            "good_hits": self.good_hits,
            "target": self.params.target_approved_hits,
            "paid_hits": self.paid_hits,
            "spent": f"{self.spent:.2f}",
            "bonuses_paid": f"{self.bonus_paid:.2f}",
            "budget": self.params.budget,
            "open_hits": len(self.scheduler.open_slots()),
            "needs_review": len(self.parked),
            "blocked_workers": len(self.blocked),
            "spread": self.scheduler.spread(),
            "turns": turns,
            "done": self.done,
            "stopped_by": self.stopped_by,
            "errors": list(self.errors),
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
            self._step(self._reconcile, report)
        if self.started:
            for step in (self._review, self._create_hits):
                if self.stopping:
                    break
                self._step(step, report)
        self._count_failure(report)
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
                self._stop_for(err, step.__name__.strip("_").replace("_", " "))
            self._error(report, f"{type(err).__name__}: {err}")

    def _error(self, report: TurnReport, message: str) -> None:
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

    def _stop_for(self, err: BaseException, where: str) -> None:
        self.stopped_by = "permanent_error"
        log.error("campaign %s stops while %s: %s", self.params.campaign, where, err)
        raise CampaignStopped(
            f"campaign {self.params.campaign} stopped while {where}: {type(err).__name__}: {err}. "
            "This will not heal by waiting: fix the credentials, funds, profile or parameters it "
            "names, then run `iglu collect` again (the records let it resume)"
        ) from err

    def _review(self, report: TurnReport) -> None:
        for hit in self.manager.reviewable_hits():
            if self.stopping:
                return
            games = self.records.by_hit(hit.hit_id)
            if not games:
                continue  # not this loop's HIT, or its records are still planned (start() handles those)
            self._settle_guarded(hit.hit_id, games, report)

    def _settle_guarded(self, hit_id: str, games: list[GameRecord], report: TurnReport) -> None:
        """Settle one HIT; whatever goes wrong with it never stops the others."""
        if any(game.decided_by_person for game in games):
            self._leave_to_person(hit_id, games, report)
            return
        try:
            outcome = self._settle(hit_id, games)
        except GameDataLate as late:
            report.waiting += 1
            log.info("HIT %s: %s", hit_id, late)
            return
        except CampaignStopped:
            raise
        except Exception as err:
            if is_account_problem(err):
                self._stop_for(err, f"settling HIT {hit_id}")
            if classify(err) is Fault.TRANSIENT:
                self._error(report, f"HIT {hit_id}: {type(err).__name__}: {err}")
                return
            self._park(hit_id, err, report)
            return
        self.parked.pop(hit_id, None)
        if outcome is Outcome.EXPIRED:
            report.expired += 1
        else:
            report.settled += 1

    def _leave_to_person(self, hit_id: str, games: list[GameRecord], report: TurnReport) -> None:
        """A person decided about this HIT (`iglu campaign review`): the loop never judges, pays,
        rejects or messages it. Once the decision is done, its slot closes as the records say."""
        if any(game.status in OPEN_STATUSES for game in games):
            log.info("HIT %s waits for a person's decision to finish (`iglu campaign review`)", hit_id)
            return
        slot_id = games[0].slot_id
        try:
            was_open = self.scheduler.outcome(slot_id) is Outcome.OPEN
        except ValueError:
            return  # a slot the scheduler does not know (its task or agent left the files)
        outcome = slot_outcome(games)
        self.scheduler.close(slot_id, outcome, winner_of(games) if outcome is Outcome.VALID else None)
        if was_open:
            self.paid_hits += games[0].status is RecordStatus.APPROVED
            report.settled += 1
        self._mark_reviewing(hit_id)

    def _create_hits(self, report: TurnReport) -> None:
        self._open_planned(report)
        while not self.stopping and self._room_for_a_hit():
            slot = self.scheduler.next()
            if slot is None:
                return
            self._planned[slot.slot_id] = None  # handed out: written down next, even after a failure
            self._open_planned(report)

    def _open_planned(self, report: TurnReport) -> None:
        """Write down and create the HITs of slots the scheduler handed out (after a crash, or a
        failure while writing or creating, on a later turn: writing a slot again is idempotent)."""
        for slot_id, games in list(self._planned.items()):
            slot = self.scheduler.slot(slot_id)
            if games is None:
                games = self._planned[slot_id] = self.records.plan(slot, hit_type=self.params.hit_type)
            self._open_hit(slot, games)
            del self._planned[slot_id]
            report.created += 1

    def _room_for_a_hit(self) -> bool:
        if self._stop_rule() is not None:
            return False
        open_slots = len(self.scheduler.open_slots())
        if self.good_hits + open_slots >= self.params.target_approved_hits:
            return False
        return self._budget_allows(open_slots)

    def _budget_allows(self, open_slots: int) -> bool:
        """Whether the budget pays for one more HIT beside what was spent and what is open
        (rewards, the most the bonus rule could add, and the fee)."""
        committed = (self.spent + self.cost_per_hit * (open_slots + 1)
                     + self._most_bonus_per_hit() * (open_slots + 1))
        return committed <= Decimal(self.params.budget)

    # -- creating ---------------------------------------------------------------------------
    def _open_hit(self, slot: Slot, games: list[GameRecord]) -> None:
        """Create the HIT of a planned slot (again, after a crash: same token, same HIT)."""
        task_join_code, _ = split_join_code(slot.join_codes[0])
        variables = {
            "task_name": slot.task_name,
            "task_join_code": task_join_code,
            "agent_instance_ids": list(slot.instance_ids),
            "join_code_suffix": self._join_code_suffix(),
            **self.params.tie_variables,
        }
        if self._qualifications is None:
            from iglu_lib.mturk.qualifications import campaign_requirements

            self._qualifications = campaign_requirements(self.manager, self.params.qualification_requirements)
        extra = [*self._qualifications, *self._requirements(slot)]
        hit = self.manager.create_hit(variables, unique_request_token=games[0].unique_request_token,
                                      max_assignments=1, extra_qualification_requirements=extra)
        self.records.update_all(games, status=RecordStatus.HIT_CREATED, hit_id=hit.hit_id)

    def _requirements(self, slot: Slot) -> list[dict[str, Any]]:
        """Who may not take the HIT, enforced by the service at discovery and accept: workers
        soft-blocked from the campaign, at their cap, or who judged this task already; and in a
        pilot (`allow_list`), everyone not on the list."""
        keep_out = []
        if self.sanctions.soft_block:
            keep_out.append(self.block_qualification)
        if self.params.max_hits_per_worker:
            keep_out.append(self.cap_qualification)
        if self.params.one_judgement_per_task:
            keep_out.append(self._task_qualification(slot.task_id))
        allowed = [self.allow_qualification.required()] if self.params.allow_list else []
        return [*allowed, *(qualification.requirement() for qualification in keep_out)]

    def _task_qualification(self, task_id: str) -> CampaignQualification:
        if task_id not in self._task_qualifications:
            self._task_qualifications[task_id] = CampaignQualification.judged_task(
                self.manager, self.params.campaign, task_id)
        return self._task_qualifications[task_id]

    def _join_code_suffix(self) -> str:
        """Join codes stop working once the HIT can no longer be worked on, so an instance freed
        after its HIT expired is never joined by a late worker while it serves the next HIT."""
        if not self.params.join_code_expiry:
            return ""
        hit = self.profile.hit
        usable_for = hit.lifetime_seconds + hit.assignment_duration_seconds
        return f":{int((self.clock() + usable_for) * 1000)}"

    # -- reconciling ------------------------------------------------------------------------
    def _reconcile(self, report: TurnReport) -> None:
        """Settle open records whose HIT the service has closed (settled by auto-approval or by a
        person, reviewing, or deleted), so their instances are freed and their pay is counted."""
        from iglu_lib.mturk import MTurkError

        open_slots = self.records.slots(RecordStatus.HIT_CREATED, RecordStatus.SUBMITTED)
        for games in open_slots.values():
            hit_id = games[0].hit_id
            if self.stopping or not hit_id:
                continue
            try:
                status = self.manager.get_hit(hit_id).status
            except MTurkError as err:
                if not _hit_gone(err):
                    raise
                status = "Disposed"
            if status in CLOSED_HIT_STATUSES or games[0].status is RecordStatus.SUBMITTED:
                log.info("reconciling HIT %s (%s on the service, %s in the records)", hit_id, status,
                         games[0].status.value)
                self._settle_guarded(hit_id, games, report)
                report.reconciled += 1

    # -- settling ---------------------------------------------------------------------------
    def _settle(self, hit_id: str, games: list[GameRecord]) -> Outcome:
        """Judge, pay or reject, and close the slot of one reviewable HIT (idempotent)."""
        assignments = self._assignments(hit_id)
        if not assignments:
            games = self._expire(hit_id, games)
        else:
            assignment = assignments[0]
            games = self._judge(assignment, games)
            games = self._act(assignment, games)
        outcome = slot_outcome(games)
        self.scheduler.close(games[0].slot_id, outcome, winner_of(games) if outcome is Outcome.VALID else None)
        if assignments:
            self._mark_reviewing(hit_id)
            self._block_if_disqualified(assignments[0].worker_id)
            self._apply_caps(assignments[0].worker_id, games)
        return outcome

    def _apply_caps(self, worker_id: str, games: list[GameRecord]) -> None:
        """Keep a worker out of what they may no longer take: their cap of HITs in this campaign,
        and (with `one_judgement_per_task`) the task they just judged. The service enforces it."""
        if not worker_id:
            return
        if self.params.one_judgement_per_task:
            self._task_qualification(games[0].task_minecraft_id).grant(worker_id)
        cap = self.params.max_hits_per_worker
        if cap and len({g.hit_id for g in self.records.by_worker(worker_id)}) >= cap:
            self.cap_qualification.grant(worker_id)

    def _assignments(self, hit_id: str) -> list[Any]:
        """The HIT's submitted or settled assignments; none for a HIT the service no longer has."""
        from iglu_lib.mturk import MTurkError

        try:
            return self.manager.assignments(hit_id, ("Submitted", "Approved", "Rejected"), agents=self.params.k)
        except MTurkError as err:
            if _hit_gone(err):
                return []
            raise

    def _mark_reviewing(self, hit_id: str) -> None:
        from iglu_lib.mturk import MTurkError

        try:
            self.manager.set_reviewing(hit_id)
        except MTurkError as err:
            if not _hit_gone(err) and classify(err) is Fault.TRANSIENT:
                raise  # the HIT stays reviewable and the next turn settles it again (a no-op)

    def _expire(self, hit_id: str, games: list[GameRecord]) -> list[GameRecord]:
        if any(game.status is not RecordStatus.EXPIRED for game in games):
            games = self.records.update_all(games, status=RecordStatus.EXPIRED)
        try:
            self.manager.delete(hit_id)
        except Exception as err:  # noqa: BLE001 - a HIT already gone is what we wanted
            log.info("HIT %s not deleted (%s); its records are expired", hit_id, err)
        return games

    def _judge(self, assignment: Any, games: list[GameRecord]) -> list[GameRecord]:
        """Fetch the games behind the codes, validate, and write the verdicts (the intention)."""
        if all(g.status not in (RecordStatus.HIT_CREATED, RecordStatus.EXPIRED) for g in games):
            return games
        judgement = judge(
            assignment, games, k=self.params.k, thresholds=self.thresholds, ties=self.params.ties_offered,
            fetch=lambda codes, joins: self.games.fetch_many(
                codes, join_codes=joins, workers=self.params.fetch_workers, progress=False),
            stored_elsewhere=lambda game_ids: self._games_stored_elsewhere(game_ids, assignment.assignment_id),
        )
        self._wait_for_late_games(assignment, judgement)
        if self.bonus_rule:
            for (_, changes), judged in zip(judgement.changes, judgement.verdict.games, strict=True):
                if self.bonus_rule.earned(judged.verdict, judged.summary):
                    changes["bonus"] = {"amount": str(self.bonus_rule.amount), "paid": False}
        if judgement.truncated:
            self._keep_full_answer(assignment, judgement)
        return self.records.update_many(judgement.changes)

    def _wait_for_late_games(self, assignment: Any, judgement: Any) -> None:
        """The platform can store a game minutes after it ended: a game not found yet is looked
        for again until `game_data_grace_seconds` after the submission, but never later than
        `AUTO_APPROVAL_MARGIN_SECONDS` before the service would approve the assignment itself."""
        missing = [change for _, change in judgement.changes if "game_data_missing" in change["reasons"]]
        submitted = getattr(assignment.submit_time, "timestamp", None)
        if not missing or not callable(submitted):
            return
        auto_approval = float(self.profile.hit.auto_approval_delay_seconds or 0)
        grace = self.params.game_data_grace_seconds
        if auto_approval:
            grace = min(grace, auto_approval - AUTO_APPROVAL_MARGIN_SECONDS)
        waited = self.clock() - submitted()
        if waited < grace:
            raise GameDataLate(f"{len(missing)} game(s) not in storage yet; looking again for "
                               f"{grace - waited:.0f} s more before `game_data_missing` applies")

    def _games_stored_elsewhere(self, game_ids: Sequence[str], owner: str) -> dict[str, str]:
        """Game ids (normalised UUIDs) already in the records of another assignment."""
        seen = {}
        for game_id in set(game_ids):
            for record in self.records.by_game(game_id):
                if record.assignment_id and record.assignment_id != owner:
                    seen[game_id] = record.assignment_id
        return seen

    def _keep_full_answer(self, assignment: Any, judgement: Any) -> None:
        """Keep an answer too long for the records in the private container, and point to it."""
        path = f"answers/{self.params.campaign}/{assignment.assignment_id}.xml"
        container = self.profile.backend.blob_service().get_container_client(
            self.profile.storage.private_container)
        if not container.exists():
            container.create_container()
        container.upload_blob(path, str(assignment.raw.get("Answer") or "").encode("utf-8"), overwrite=True)
        for _, changes in judgement.changes:
            changes["annotation"] = {**changes["annotation"], "full_answer": path}

    def _act(self, assignment: Any, games: list[GameRecord]) -> list[GameRecord]:
        """Approve or reject on the service unless it is done already, then record it."""
        from iglu_lib.platform.validation import combine_game_verdicts

        if all(g.status in (RecordStatus.APPROVED, RecordStatus.REJECTED) for g in games):
            return self._pay_bonuses(assignment, games)  # a crash may have come before they were paid
        verdict = combine_game_verdicts([_game_verdict(g) for g in games])
        status = SETTLED_ON_SERVICE.get(assignment.status)  # as listed this turn: done before a crash?
        if status is None and verdict.verdict == "reject":
            self.manager.reject(assignment.assignment_id, verdict.worker_message)
            status = RecordStatus.REJECTED
        elif status is None:
            self.manager.approve(assignment.assignment_id, verdict.worker_message)
            status = RecordStatus.APPROVED
        if status is RecordStatus.APPROVED:
            self.paid_hits += 1
        games = self._pay_bonuses(assignment, self.records.update_all(games, status=status))
        kind = "rejection" if status is RecordStatus.REJECTED else "warning" if verdict.reasons else None
        if kind and assignment.worker_id:
            games = self._tell(assignment.worker_id, kind, verdict.reasons, games)
        return games

    def _pay_bonuses(self, assignment: Any, games: list[GameRecord]) -> list[GameRecord]:
        """Pay the bonuses the rule gave an approved assignment's games, once each (a token per
        game: a retry after a crash is recognised by the service and not paid again)."""
        due = [g for g in games if g.bonus and not g.bonus.get("paid") and g.status is RecordStatus.APPROVED]
        if not due or not self.bonus_rule:
            return games
        for game in due:
            self.manager.send_bonus(assignment.worker_id, assignment.assignment_id, game.bonus["amount"],
                                    self.bonus_rule.reason, bonus_token(self.params.campaign, game.row_key))
        self.bonus_paid += sum(Decimal(g.bonus["amount"]) for g in due)
        return self.records.update_many([
            (g, {"bonus": {**g.bonus, "paid": True} if g in due else g.bonus}) for g in games])

    def _tell(self, worker_id: str, kind: str, reasons: Sequence[str], games: list[GameRecord]) -> list[GameRecord]:
        """Send the worker the campaign's message of this kind, if messages are on, and record it
        with their games. At most once: a failed message is logged and recorded, not retried."""
        if not self.sanctions.send_messages:
            return games
        try:
            failures = self.manager.notify([worker_id], self.sanctions.templates["subject"],
                                           self.sanctions.message(kind, reasons))
            ok = not failures
        except Exception as err:  # noqa: BLE001 - a message never stops a settlement
            log.warning("message (%s) to a worker failed: %s", kind, err)
            ok = False
        entry = {"kind": kind, "at": utc_now(), "ok": ok}
        if not games:
            return games
        return self.records.update_all(games, messages=(*games[0].messages, entry))

    def _park(self, hit_id: str, err: BaseException, report: TurnReport) -> None:
        """Leave one HIT for a person (or a later turn): logged with its traceback, counted, and
        marked `needs_review` in its records when they are still unjudged."""
        message = f"HIT {hit_id} needs review: {type(err).__name__}: {str(err)[:300]}"
        log.warning("campaign %s: %s", self.params.campaign, message, exc_info=err)
        self.parked[hit_id] = message
        report.parked += 1
        self._error(report, message)
        try:
            games = self.records.by_hit(hit_id)
            unjudged = [g for g in games if g.status is RecordStatus.HIT_CREATED and g.verdict != NEEDS_REVIEW]
            if unjudged:
                self.records.update_all(unjudged, verdict=NEEDS_REVIEW, reasons=(NEEDS_REVIEW,))
        except Exception as mark_error:  # noqa: BLE001 - the log line above already tells a person
            log.warning("could not mark HIT %s as needs_review: %s", hit_id, mark_error)

    def _block_if_disqualified(self, worker_id: str) -> None:
        """Block a worker whose rejected games reach the threshold (never those on the list)."""
        if not worker_id or worker_id in self.blocked or worker_id in self.params.never_block:
            return
        rejected = [g for g in self.records.by_worker(worker_id) if g.verdict == "reject"]
        if len(rejected) < self.params.block_after_disqualified_games:
            return
        reasons = rejected_reasons(rejected)
        if self.sanctions.soft_block and not self.sanctions.is_fraud(reasons):
            self.block_qualification.grant(worker_id)  # out of this campaign only
            log.info("worker soft-blocked from campaign %s (%s)", self.params.campaign, ", ".join(reasons))
            action = "soft-block"
        else:
            self.manager.block(worker_id, f"{len(rejected)} games disqualified ({', '.join(sorted(reasons))})"[:1000])
            log.info("worker blocked (%s)", ", ".join(reasons))
            action = "hard-block"
        self.blocked.add(worker_id)
        games = self._record_sanction(self.records.by_hit(rejected[-1].hit_id), action, reasons)
        self._tell(worker_id, "block", reasons, games)

    def _record_sanction(self, games: list[GameRecord], action: str, reasons: Sequence[str]) -> list[GameRecord]:
        """Write the loop's block to the games that triggered it, so status and review show it."""
        entry = {"id": f"loop-{action}-{games[0].hit_id}", "source": LOOP, "action": action,
                 "reason": ", ".join(sorted(reasons)), "at": utc_now(), "done": True}
        if any(d.get("id") == entry["id"] for d in games[0].decisions):
            return games
        return self.records.update_many([(g, {"decisions": (*g.decisions, entry)}) for g in games])

    @staticmethod
    def _slot_games(records: Sequence[GameRecord]) -> list[SlotGame]:
        return scheduled_games(records)

    # -- winding down (`iglu campaign stop --expire`) -----------------------------------------
    def settle_closed(self) -> TurnReport:
        """One review and one reconcile step, creating nothing: settles what was submitted and
        expires what was never taken, for a campaign being wound down."""
        report = TurnReport()
        for step in (self._review, self._reconcile):
            self._step(step, report)
        return report


class GameDataLate(IgluError):
    """A submitted game is not in storage yet; its HIT waits (pending) for a later turn."""


def _hit_gone(err: BaseException) -> bool:
    """The service no longer has the HIT (deleted or disposed)."""
    text = str(err).lower()
    return "does not exist" in text or "not found" in text or "no hit" in text


def _game_verdict(record: GameRecord) -> Any:
    """The stored verdict of a game (a rejected game's reasons reject, others only warn)."""
    from iglu_lib.platform.validation import GameVerdict

    rejecting = record.reasons if record.verdict == "reject" else ()
    warnings = () if record.verdict == "reject" else record.reasons
    return GameVerdict(record.game_minecraft_id or None, record.verdict, rejecting, warnings)
