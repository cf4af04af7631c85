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
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from iglu_lib.collection.params import CampaignParams
from iglu_lib.scheduling import Outcome, Scheduler, Slot, split_join_code
from iglu_lib.scheduling.stopping import check_scheduling, stop_rule_reached
from iglu_lib.storage import GameRecord, GameRecords, RecordStatus

#: Statuses of records whose slot is still in the loop's hands.
OPEN_STATUSES = (RecordStatus.PLANNED, RecordStatus.HIT_CREATED, RecordStatus.SUBMITTED)
#: Assignment statuses the loop reads back from the service.
SETTLED_ON_SERVICE = {"Approved": RecordStatus.APPROVED, "Rejected": RecordStatus.REJECTED}
#: Verdicts whose HIT counts as a good one (a `partial` HIT is paid but its slot runs again).
GOOD_VERDICTS = ("approve", "approve_with_warning")


@dataclass
class TurnReport:
    """What one turn of the loop did."""

    settled: int = 0
    expired: int = 0
    created: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def progress(self) -> bool:
        return bool(self.settled or self.expired or self.created)


@dataclass(frozen=True)
class SlotGame:
    """A stored game as the scheduler's `restore` reads it, with its slot's outcome."""

    slot_id: str
    shown_position: int
    join_code: str
    agent_name: str
    outcome: Outcome


def slot_outcome(games: Sequence[GameRecord]) -> Outcome:
    """What the scheduler makes of a slot: open until settled, valid only if every game was good."""
    statuses = {game.status for game in games}
    if statuses & set(OPEN_STATUSES):
        return Outcome.OPEN
    if RecordStatus.EXPIRED in statuses:
        return Outcome.EXPIRED
    if statuses == {RecordStatus.APPROVED} and all(game.verdict != "reject" for game in games):
        return Outcome.VALID
    return Outcome.REJECTED


def transient_errors() -> tuple[type[Exception], ...]:
    """Errors a turn survives: the service or storage failed after its retries, or a record
    changed under us; the next turn tries again, and the records make that safe."""
    from iglu_lib.mturk import MTurkError
    from iglu_lib.platform.client import GameDataError
    from iglu_lib.storage import RecordConflict

    return (MTurkError, RecordConflict, GameDataError)


def code_field(position: int, k: int) -> str:
    """The answer field holding the completion code of the game shown at `position`."""
    return "completionCode" if k == 1 else f"completionCode{position + 1}"


def annotation_of(answers: dict[str, Any], position: int, k: int) -> dict[str, Any]:
    """A game's annotation as published: whether it was chosen best, and what was said of it."""
    if k == 1:
        keep = ("agent_performance", "build_rating", "understanding_rating")
        return {name: answers[name] for name in keep if name in answers}
    best = answers.get("best_agent")
    chosen = best.get(f"agent{position + 1}_option") if isinstance(best, dict) else None
    return {"was_chosen_best": chosen, "agent_performance": answers.get(f"agent{position + 1}_performance", "")}


class Campaign:
    """One campaign: its parameters and the services it runs on."""

    def __init__(
        self,
        params: CampaignParams,
        *,
        profile: Any = None,
        manager: Any = None,
        records: GameRecords | None = None,
        game_client: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        from iglu_lib.config import load_profile
        from iglu_lib.mturk import HitManager
        from iglu_lib.platform.client import GameDataClient
        from iglu_lib.platform.validation import Thresholds

        self.params = params
        self.profile = profile or load_profile(params.profile)
        self.manager = manager or HitManager(self.profile, hit_type=params.hit_type, campaign=params.campaign)
        self.records = records or GameRecords.open(self.profile, params.campaign)
        self.games = game_client or GameDataClient(self.profile)
        self.thresholds = Thresholds.from_params(params.validation)
        self.scheduler = Scheduler.from_files(
            params.path(params.join_codes), params.path(params.agent_instances), params.k, params.seed,
            strategy=check_scheduling(params.scheduling, stop_when=params.stop_when),
        )
        self.cost_per_hit = params.cost_per_hit(self.profile.get("hit.reward"))
        self.clock = clock
        self.paid_hits = 0
        self.blocked: set[str] = set()
        self._stop = threading.Event()

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> dict[str, Any]:
        """Rebuild the scheduler from the records and finish what a crash left half done."""
        stored = self.records.all()
        restored = self.scheduler.restore(self._slot_games(stored))
        self.paid_hits = len({g.slot_id for g in stored if g.status is RecordStatus.APPROVED})
        self.blocked = {block["WorkerId"] for block in self.manager.blocked_workers()}
        resumed = 0
        for slot_id, games in self.records.slots(RecordStatus.PLANNED).items():
            self._open_hit(self.scheduler.slot(slot_id), games)
            resumed += 1
        for games in self.records.slots(RecordStatus.SUBMITTED).values():
            self._settle(games[0].hit_id, games)
            resumed += 1
        return {"restored": restored.outcomes, "skipped": restored.skipped, "resumed": resumed}

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
        return self.cost_per_hit * self.paid_hits

    @property
    def done(self) -> bool:
        reached = self.good_hits >= self.params.target_approved_hits or self._stop_rule() is not None
        return reached and not self.scheduler.open_slots()

    def _stop_rule(self) -> str | None:
        """The `stop_when` rule that says stop creating HITs (e.g. `ranking_confident`), or None."""
        return stop_rule_reached(self.scheduler, self.params.stop_when)

    def stopped_by(self) -> str | None:
        """What ends the loop: `target`, a `stop_when` rule, `budget` (no room for one more HIT), or None."""
        if self.good_hits >= self.params.target_approved_hits:
            return "target"
        rule = self._stop_rule()
        if rule is not None:
            return rule
        committed = self.cost_per_hit * (self.paid_hits + len(self.scheduler.open_slots()) + 1)
        return "budget" if committed > Decimal(self.params.budget) else None

    def run(self, *, progress: bool = True, on_turn: Callable[[Campaign, TurnReport], None] | None = None,
            ) -> dict[str, Any]:
        """Turn until the target is reached (or `max_turns`, or a stop); returns the summary."""
        from tqdm.auto import tqdm

        self.start()
        bar = tqdm(total=self.params.target_approved_hits, desc=f"campaign {self.params.campaign}",
                   unit="HIT", disable=not progress)
        interval, turns = self.params.poll_interval_seconds, 0
        while not self.done and not self.stopping:
            report = self.turn()
            turns += 1
            bar.update(min(self.good_hits, bar.total) - bar.n)
            bar.set_postfix(spent=f"${self.spent:.2f}", open=len(self.scheduler.open_slots()))
            if on_turn:
                on_turn(self, report)
            if self.params.max_turns and turns >= self.params.max_turns:
                break
            quiet = not report.progress or report.errors
            interval = min(interval * 2, self.params.max_poll_interval_seconds) if quiet \
                else self.params.poll_interval_seconds
            self._stop.wait(interval)
        bar.close()
        return self.summary(turns)

    def summary(self, turns: int | None = None) -> dict[str, Any]:
        return {
            "campaign": self.params.campaign,
            "good_hits": self.good_hits,
            "target": self.params.target_approved_hits,
            "paid_hits": self.paid_hits,
            "spent": f"{self.spent:.2f}",
            "budget": self.params.budget,
            "open_hits": len(self.scheduler.open_slots()),
            "blocked_workers": len(self.blocked),
            "spread": self.scheduler.spread(),
            "turns": turns,
            "done": self.done,
            "stopped_by": self.stopped_by(),
        }

    # -- one turn ---------------------------------------------------------------------------
    def turn(self) -> TurnReport:
        """Settle what is reviewable, then create HITs while instances, target and budget allow."""
        report = TurnReport()
        for step in (self._review, self._create_hits):
            if self.stopping:
                break
            try:
                step(report)
            except transient_errors() as err:
                report.errors.append(f"{type(err).__name__}: {err}")
        return report

    def _review(self, report: TurnReport) -> None:
        for hit in self.manager.reviewable_hits():
            if self.stopping:
                return
            games = self.records.by_hit(hit.hit_id)
            if not games:
                continue  # not this loop's HIT, or its records are still planned (start() handles those)
            if self._settle(hit.hit_id, games) is Outcome.EXPIRED:
                report.expired += 1
            else:
                report.settled += 1

    def _create_hits(self, report: TurnReport) -> None:
        while not self.stopping and self._room_for_a_hit():
            slot = self.scheduler.next()
            if slot is None:
                return
            games = self.records.plan(slot, hit_type=self.params.hit_type)
            self._open_hit(slot, games)
            report.created += 1

    def _room_for_a_hit(self) -> bool:
        if self._stop_rule() is not None:
            return False
        open_slots = len(self.scheduler.open_slots())
        if self.good_hits + open_slots >= self.params.target_approved_hits:
            return False
        committed = self.cost_per_hit * (self.paid_hits + open_slots + 1)
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
        }
        hit = self.manager.create_hit(variables, unique_request_token=games[0].unique_request_token,
                                      max_assignments=1)
        self.records.update_all(games, status=RecordStatus.HIT_CREATED, hit_id=hit.hit_id)

    def _join_code_suffix(self) -> str:
        """Join codes stop working once the HIT can no longer be worked on, so an instance freed
        after its HIT expired is never joined by a late worker while it serves the next HIT."""
        if not self.params.join_code_expiry:
            return ""
        hit = self.profile.get("hit")
        usable_for = int(hit["lifetime_seconds"]) + int(hit["assignment_duration_seconds"])
        return f":{int((self.clock() + usable_for) * 1000)}"

    # -- settling ---------------------------------------------------------------------------
    def _settle(self, hit_id: str, games: list[GameRecord]) -> Outcome:
        """Judge, pay or reject, and close the slot of one reviewable HIT (idempotent)."""
        assignments = self.manager.assignments(hit_id, ("Submitted", "Approved", "Rejected"), agents=self.params.k)
        if not assignments:
            games = self._expire(hit_id, games)
        else:
            assignment = assignments[0]
            games = self._judge(assignment, games)
            games = self._act(assignment, games)
        outcome = slot_outcome(games)
        self.scheduler.close(games[0].slot_id, outcome)
        if assignments:
            self.manager.set_reviewing(hit_id)
            self._block_if_disqualified(assignments[0].worker_id)
        return outcome

    def _expire(self, hit_id: str, games: list[GameRecord]) -> list[GameRecord]:
        if any(game.status is not RecordStatus.EXPIRED for game in games):
            games = self.records.update_all(games, status=RecordStatus.EXPIRED)
        try:
            self.manager.delete(hit_id)
        except transient_errors():
            pass  # a HIT already deleted is what we wanted; another turn would not do better
        return games

    def _judge(self, assignment: Any, games: list[GameRecord]) -> list[GameRecord]:
        """Fetch the games behind the codes, validate, and write the verdicts (the intention)."""
        from iglu_lib.platform.validation import validate_assignment

        if all(g.status is not RecordStatus.HIT_CREATED for g in games):
            return games
        k = self.params.k
        answers = assignment.answers.fields
        codes = [str(answers.get(code_field(g.shown_position, k)) or "") for g in games]
        fetched = self.games.fetch_many(codes, join_codes=[g.join_code for g in games],
                                        workers=self.params.fetch_workers, progress=False)
        seen = self._codes_stored_elsewhere(codes)
        verdict = validate_assignment(fetched, self.thresholds, seen=seen, owner=assignment.assignment_id)
        changes = []
        for game, code, data, judged in zip(games, codes, fetched, verdict.games, strict=True):
            changes.append((game, {
                "status": RecordStatus.SUBMITTED,
                "assignment_id": assignment.assignment_id,
                "worker_id": assignment.worker_id,
                "completion_code": code,
                "game_minecraft_id": data.game_id or "",
                "annotation": annotation_of(answers, game.shown_position, k),
                "verdict": judged.verdict,
                "reasons": (*judged.reasons, *judged.warnings),
                "is_hit_qualified": verdict.verdict in GOOD_VERDICTS,
            }))
        return self.records.update_many(changes)

    def _codes_stored_elsewhere(self, codes: Sequence[str]) -> dict[str, str]:
        """Codes already in the records, with the assignment that submitted each."""
        seen = {}
        for code in {c for c in codes if c}:
            for record in self.records.by_completion_code(code):
                if record.assignment_id:
                    seen[code] = record.assignment_id
        return seen

    def _act(self, assignment: Any, games: list[GameRecord]) -> list[GameRecord]:
        """Approve or reject on the service unless it is done already, then record it."""
        from iglu_lib.platform.validation import combine_game_verdicts

        if all(g.status in (RecordStatus.APPROVED, RecordStatus.REJECTED) for g in games):
            return games
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
        return self.records.update_all(games, status=status)

    def _block_if_disqualified(self, worker_id: str) -> None:
        """Block a worker whose rejected games reach the threshold (never those on the list)."""
        if not worker_id or worker_id in self.blocked or worker_id in self.params.never_block:
            return
        rejected = [g for g in self.records.by_worker(worker_id) if g.verdict == "reject"]
        if len(rejected) < self.params.block_after_disqualified_games:
            return
        reasons = sorted({reason for game in rejected for reason in game.reasons})
        self.manager.block(worker_id, f"{len(rejected)} games disqualified ({', '.join(reasons)})")
        self.blocked.add(worker_id)

    @staticmethod
    def _slot_games(records: Sequence[GameRecord]) -> list[SlotGame]:
        by_slot: dict[str, list[GameRecord]] = {}
        for record in records:
            by_slot.setdefault(record.slot_id, []).append(record)
        return [
            SlotGame(g.slot_id, g.shown_position, g.join_code, g.agent_name, slot_outcome(games))
            for games in by_slot.values() for g in games
        ]


def _game_verdict(record: GameRecord) -> Any:
    """The stored verdict of a game (a rejected game's reasons reject, others only warn)."""
    from iglu_lib.platform.validation import GameVerdict

    rejecting = record.reasons if record.verdict == "reject" else ()
    warnings = () if record.verdict == "reject" else record.reasons
    return GameVerdict(record.game_minecraft_id or None, record.verdict, rejecting, warnings)

