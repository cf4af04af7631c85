"""Settling the loop's HITs: judge what was submitted (waiting for late game data), expire what
closed unworked, park what fails for a person, reconcile open records with the service; then
hand the verdict to the consequences (pay, message, sanction) and free the slot.

A HIT leaves the reviewable listing (`Reviewing`) only after its records are final, so a crash in
between makes the next turn settle it again, which changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from iglu_lib.collection.evidence import beyond_worker_cap, mark_beyond_cap
from iglu_lib.collection.faults import Fault, classify, is_account_problem
from iglu_lib.collection.judge import NEEDS_REVIEW, Judgement, judge
from iglu_lib.collection.outcomes import OPEN_STATUSES, slot_outcome
from iglu_lib.errors import CampaignStopped, IgluError
from iglu_lib.providers import ANY_SUBMISSION, CLOSED_WORK, CampaignSubmission, WorkState
from iglu_lib.scheduling import Outcome
from iglu_lib.scheduling.model import winner_of
from iglu_lib.storage import GameRecord, RecordStatus

if TYPE_CHECKING:
    from iglu_lib.collection.campaign import Campaign, TurnReport

log = logging.getLogger(__name__)

#: A HIT waiting for late game data is settled at least this long before the service's
#: auto-approval would approve it unjudged.
AUTO_APPROVAL_MARGIN_SECONDS = 600


class GameDataLate(IgluError):
    """A submitted game is not in storage yet; its HIT waits (pending) for a later turn."""


class Settler:
    """Judge and settle the HITs of one campaign."""

    def __init__(self, campaign: Campaign) -> None:
        self.campaign = campaign

    def review(self, report: TurnReport) -> None:
        c = self.campaign
        for hit in c.manager.reviewable_hits():
            if c.stopping:
                return
            games = c.records.by_hit(hit.hit_id)
            if not games:
                continue  # not this loop's HIT, or its records are still planned (start() handles those)
            self.settle_guarded(hit.hit_id, games, report)

    def reconcile(self, report: TurnReport) -> None:
        """Settle open records whose HIT the service has closed (settled by auto-approval or by a
        person, reviewing, or deleted), so their instances are freed and their pay is counted."""
        from iglu_lib.providers import CrowdError

        c = self.campaign
        for games in c.records.slots(RecordStatus.HIT_CREATED, RecordStatus.SUBMITTED).values():
            hit_id = games[0].hit_id
            if c.stopping or not hit_id:
                continue
            try:
                status = c.manager.get_hit(hit_id).state
            except CrowdError as err:
                if not hit_gone(err):
                    raise
                status = WorkState.DISPOSED
            if status in CLOSED_WORK or games[0].status is RecordStatus.SUBMITTED:
                log.info("reconciling HIT %s (%s on the service, %s in the records)", hit_id, status,
                         games[0].status.value)
                self.settle_guarded(hit_id, games, report)
                report.reconciled += 1

    def settle_guarded(self, hit_id: str, games: list[GameRecord], report: TurnReport) -> None:
        """Settle one HIT; whatever goes wrong with it never stops the others."""
        c = self.campaign
        if any(game.decided_by_person for game in games):
            self.leave_to_person(hit_id, games, report)
            return
        try:
            outcome = self.settle(hit_id, games)
        except GameDataLate as late:
            report.waiting += 1
            log.info("HIT %s: %s", hit_id, late)
            return
        except CampaignStopped:
            raise
        except Exception as err:
            if is_account_problem(err):
                c.stop_for(err, f"settling HIT {hit_id}")
            if classify(err) is Fault.TRANSIENT:
                c.error(report, f"HIT {hit_id}: {type(err).__name__}: {err}")
                return
            self.park(hit_id, err, report)
            return
        c.parked.pop(hit_id, None)
        if outcome is Outcome.EXPIRED:
            report.expired += 1
        else:
            report.settled += 1

    def leave_to_person(self, hit_id: str, games: list[GameRecord], report: TurnReport) -> None:
        """A person decided about this HIT (`iglu campaign review`): the loop never judges, pays,
        rejects or messages it. Once the decision is done, its slot closes as the records say."""
        c = self.campaign
        if any(game.status in OPEN_STATUSES for game in games):
            log.info("HIT %s waits for a person's decision to finish (`iglu campaign review`)", hit_id)
            return
        slot_id = games[0].slot_id
        try:
            was_open = c.scheduler.outcome(slot_id) is Outcome.OPEN
        except ValueError:
            return  # a slot the scheduler does not know (its task or agent left the files)
        outcome = slot_outcome(games)
        c.scheduler.close(slot_id, outcome, winner_of(games) if outcome is Outcome.VALID else None,
                          games[0].worker_id)
        if was_open:
            c.paid_hits += games[0].status is RecordStatus.APPROVED
            report.settled += 1
        self.mark_reviewing(hit_id)

    def settle(self, hit_id: str, games: list[GameRecord]) -> Outcome:
        """Judge, let the consequences follow, and close the slot of one reviewable HIT (idempotent)."""
        c = self.campaign
        assignments = self.assignments(hit_id)
        if not assignments:
            games = self.expire(hit_id, games)
        else:
            assignment = assignments[0]
            games = self.judge(assignment, games)
            games = c.consequences.act(assignment, games)
        outcome = slot_outcome(games)
        c.scheduler.close(games[0].slot_id, outcome, winner_of(games) if outcome is Outcome.VALID else None,
                          games[0].worker_id)
        if assignments:
            self.mark_reviewing(hit_id)
            c.consequences.block_if_disqualified(assignments[0].worker_id)
            c.planner.apply_caps(assignments[0].worker_id, games)
        return outcome

    def assignments(self, hit_id: str) -> list[CampaignSubmission]:
        """The HIT's submitted or settled assignments; none for a HIT the service no longer has."""
        from iglu_lib.providers import CrowdError

        c = self.campaign
        try:
            return list(c.manager.assignments(hit_id, ANY_SUBMISSION, agents=c.params.k))
        except CrowdError as err:
            if hit_gone(err):
                return []
            raise

    def mark_reviewing(self, hit_id: str) -> None:
        from iglu_lib.providers import CrowdError

        try:
            self.campaign.manager.set_reviewing(hit_id)
        except CrowdError as err:
            if not hit_gone(err) and classify(err) is Fault.TRANSIENT:
                raise  # the HIT stays reviewable and the next turn settles it again (a no-op)

    def expire(self, hit_id: str, games: list[GameRecord]) -> list[GameRecord]:
        c = self.campaign
        if any(game.status is not RecordStatus.EXPIRED for game in games):
            games = c.records.update_all(games, status=RecordStatus.EXPIRED)
        try:
            c.manager.delete(hit_id)
        except Exception as err:  # noqa: BLE001 - a HIT already gone is what we wanted
            log.info("HIT %s not deleted (%s); its records are expired", hit_id, err)
        return games

    def judge(self, assignment: CampaignSubmission, games: list[GameRecord]) -> list[GameRecord]:
        """Fetch the games behind the codes, validate, and write the verdicts (the intention)."""
        c = self.campaign
        if all(g.status not in (RecordStatus.HIT_CREATED, RecordStatus.EXPIRED) for g in games):
            return games
        judgement = judge(
            assignment, games, k=c.params.k, thresholds=c.thresholds, ties=c.params.ties_offered,
            fetch=lambda codes, joins: c.games.fetch_many(
                codes, join_codes=joins, workers=c.params.fetch_workers, progress=False),
            stored_elsewhere=lambda game_ids: self.games_stored_elsewhere(game_ids, assignment.assignment_id),
            fraud_reasons=c.sanctions.hard_block_reasons,
            count_unusable_choices=c.params.count_unusable_choices,
        )
        self.wait_for_late_games(assignment, judgement)
        cap = c.params.max_hits_per_worker
        if cap and assignment.worker_id and not c.params.evidence_rules.count_beyond_worker_cap \
                and beyond_worker_cap(c.records.by_worker(assignment.worker_id), assignment.hit_id, cap):
            mark_beyond_cap(judgement.changes)  # several HITs accepted at once: paid, not counted
        if c.bonus_rule:
            for (_, changes), judged in zip(judgement.changes, judgement.verdict.games, strict=True):
                if changes["verdict"] != "reject" and c.bonus_rule.earned(judged.verdict, judged.summary):
                    changes["bonus"] = {"amount": str(c.bonus_rule.amount), "paid": False}
        if judgement.truncated:
            self.keep_full_answer(assignment, judgement)
        return c.records.update_many(judgement.changes)

    def wait_for_late_games(self, assignment: CampaignSubmission, judgement: Judgement) -> None:
        """The platform can store a game minutes after it ended: a game not found yet is looked
        for again until `game_data_grace_seconds` after the submission, but never later than
        `AUTO_APPROVAL_MARGIN_SECONDS` before the service would approve the assignment itself."""
        c = self.campaign
        missing = [change for _, change in judgement.changes if "game_data_missing" in change["reasons"]]
        submitted = getattr(assignment.submit_time, "timestamp", None)
        if not missing or not callable(submitted):
            return
        auto_approval = float(c.profile.hit.auto_approval_delay_seconds or 0)
        grace = c.params.game_data_grace_seconds
        if auto_approval:
            grace = min(grace, auto_approval - AUTO_APPROVAL_MARGIN_SECONDS)
        waited = c.clock() - submitted()
        if waited < grace:
            raise GameDataLate(f"{len(missing)} game(s) not in storage yet; looking again for "
                               f"{grace - waited:.0f} s more before `game_data_missing` applies")

    def games_stored_elsewhere(self, game_ids: Sequence[str], owner: str) -> dict[str, str]:
        """Game ids (normalised UUIDs) already in the records of another assignment."""
        seen = {}
        for game_id in set(game_ids):
            for record in self.campaign.records.by_game(game_id):
                if record.assignment_id and record.assignment_id != owner:
                    seen[game_id] = record.assignment_id
        return seen

    def keep_full_answer(self, assignment: CampaignSubmission, judgement: Judgement) -> None:
        """Keep an answer too long for the records in the private container, and point to it."""
        c = self.campaign
        path = f"answers/{c.params.campaign}/{assignment.assignment_id}.xml"
        container = c.profile.backend.blob_service().get_container_client(c.profile.storage.private_container)
        if not container.exists():
            container.create_container()
        container.upload_blob(path, str(assignment.document).encode("utf-8"), overwrite=True)
        for _, changes in judgement.changes:
            changes["annotation"] = {**changes["annotation"], "full_answer": path}

    def park(self, hit_id: str, err: BaseException, report: TurnReport) -> None:
        """Leave one HIT for a person (or a later turn): logged with its traceback, counted, and
        marked `needs_review` in its records when they are still unjudged."""
        c = self.campaign
        message = f"HIT {hit_id} needs review: {type(err).__name__}: {str(err)[:300]}"
        log.warning("campaign %s: %s", c.params.campaign, message, exc_info=err)
        c.parked[hit_id] = message
        report.parked += 1
        c.error(report, message)
        try:
            games = c.records.by_hit(hit_id)
            unjudged = [g for g in games if g.status is RecordStatus.HIT_CREATED and g.verdict != NEEDS_REVIEW]
            if unjudged:
                c.records.update_all(unjudged, verdict=NEEDS_REVIEW, reasons=(NEEDS_REVIEW,))
        except Exception as mark_error:  # noqa: BLE001 - the log line above already tells a person
            log.warning("could not mark HIT %s as needs_review: %s", hit_id, mark_error)


def hit_gone(err: BaseException) -> bool:
    """The service no longer has the HIT (deleted or disposed)."""
    text = str(err).lower()
    return "does not exist" in text or "not found" in text or "no hit" in text
