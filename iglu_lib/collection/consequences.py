"""The loop's consequences of a judged HIT: approve or reject it, pay the bonus rule, tell the
worker, block a worker whose rejected games reach the threshold. Every one of them goes through
the campaign's ledger (intent, service call, outcome), so a restart, a day later or at once,
never pays, rejects, blocks or messages twice."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from iglu_lib.collection.sanctions import rejected_reasons
from iglu_lib.ledger.book import Kind, LedgerRefused
from iglu_lib.providers import CampaignSubmission, SubmissionStatus
from iglu_lib.storage import GameRecord, RecordStatus
from iglu_lib.storage.record import LOOP, utc_now

if TYPE_CHECKING:
    from iglu_lib.collection.campaign import Campaign
    from iglu_lib.platform.validation import GameVerdict

log = logging.getLogger(__name__)

#: Assignment statuses the loop reads back from the service.
SETTLED_ON_SERVICE = {SubmissionStatus.APPROVED: RecordStatus.APPROVED, SubmissionStatus.REJECTED: RecordStatus.REJECTED}
FINAL = (RecordStatus.APPROVED, RecordStatus.REJECTED)


class Consequences:
    """Pay, message and sanction for one campaign, through its ledger."""

    def __init__(self, campaign: Campaign) -> None:
        self.campaign = campaign

    def act(self, assignment: CampaignSubmission, games: list[GameRecord]) -> list[GameRecord]:
        """Approve or reject on the service unless the ledger or the service shows it done, then
        record it, pay the bonus rule and tell the worker."""
        from iglu_lib.platform.validation import combine_game_verdicts

        c = self.campaign
        if all(g.status in FINAL for g in games):
            return self.pay_bonuses(assignment, games)  # a crash may have come before they were paid
        verdict = combine_game_verdicts([game_verdict(g) for g in games])
        status = SETTLED_ON_SERVICE.get(assignment.state) or (
            RecordStatus.REJECTED if verdict.verdict == "reject" else RecordStatus.APPROVED)
        rejecting = status is RecordStatus.REJECTED
        assignment_id = assignment.assignment_id

        def call() -> None:
            if rejecting:  # the reasons pick Prolific's rejection category; MTurk takes none
                c.manager.reject(assignment_id, verdict.worker_message, verdict.reasons)
            else:
                c.manager.approve(assignment_id, verdict.worker_message)

        c.ledger.settle(Kind.REJECT if rejecting else Kind.REWARD, assignment_id=assignment_id,
                        worker_id=assignment.worker_id, hit_id=games[0].hit_id, amount=c.profile.hit.reward,
                        reason=verdict.worker_message, status=lambda: str(assignment.state), call=call)
        if not rejecting:
            c.paid_hits += 1
        games = self.pay_bonuses(assignment, c.records.update_all(games, status=status))
        kind = "rejection" if rejecting else "warning" if verdict.reasons else None
        if kind and assignment.worker_id:
            games = self.tell(assignment.worker_id, kind, verdict.reasons, games, about=assignment_id)
        return games

    def pay_bonuses(self, assignment: CampaignSubmission, games: list[GameRecord]) -> list[GameRecord]:
        """Pay the bonuses the rule gave an approved assignment's games, once per game (the
        ledger's key holds the game: a game reused in another HIT never earns it twice)."""
        c = self.campaign
        due = [g for g in games if g.bonus and not g.bonus.get("paid") and not g.bonus.get("refused")
               and g.status is RecordStatus.APPROVED]
        if not due or not c.bonus_rule:
            return games
        changes = {}
        for game in due:
            try:
                c.ledger.pay_bonus(Kind.RULE_BONUS, worker_id=assignment.worker_id,
                                   assignment_id=assignment.assignment_id, amount=game.bonus["amount"],
                                   reason=c.bonus_rule.reason, hit_id=game.hit_id,
                                   part=game.game_minecraft_id or game.row_key)
                changes[game.row_key] = {**game.bonus, "paid": True}
            except LedgerRefused as refused:
                log.warning("campaign %s: %s", c.params.campaign, refused)
                changes[game.row_key] = {**game.bonus, "refused": str(refused)[:300]}
        return c.records.update_many([(g, {"bonus": changes.get(g.row_key, g.bonus)}) for g in games])

    def tell(self, worker_id: str, kind: str, reasons: Sequence[str], games: list[GameRecord],
             about: str = "") -> list[GameRecord]:
        """Send the worker the campaign's message of this kind, if messages are on, once (the
        ledger), and record it with their games. A failed message is logged, not retried."""
        c = self.campaign
        if not c.sanctions.send_messages or not games:
            return games
        text = c.sanctions.message(kind, reasons)

        def send() -> bool:
            try:
                return not c.manager.notify([worker_id], c.sanctions.templates["subject"], text)
            except Exception as err:  # noqa: BLE001 - a message never stops a settlement
                log.warning("message (%s) to a worker failed: %s", kind, err)
                return False

        result = c.ledger.message(kind, worker_id=worker_id, about=about or worker_id, text=text, send=send,
                                  hit_id=games[0].hit_id)
        if any(m.get("kind") == kind for m in games[0].messages):
            return games
        entry = {"kind": kind, "at": utc_now(), "ok": result.entry.ok}
        return c.records.update_all(games, messages=(*games[0].messages, entry))

    def block_if_disqualified(self, worker_id: str) -> None:
        """Block a worker whose rejected games reach the threshold (never those on the list)."""
        c = self.campaign
        if not worker_id or worker_id in c.blocked or worker_id in c.params.never_block:
            return
        rejected = [g for g in c.records.by_worker(worker_id) if g.verdict == "reject"]
        if len(rejected) < c.params.block_after_disqualified_games:
            return
        reasons = rejected_reasons(rejected)
        soft = c.sanctions.soft_block and not c.sanctions.is_fraud(reasons)
        why = f"{len(rejected)} games disqualified ({', '.join(sorted(reasons))})"[:1000]
        games = c.records.by_hit(rejected[-1].hit_id)

        def call() -> None:
            if soft:
                c.block_qualification.grant(worker_id)  # out of this campaign only
            else:
                c.manager.block(worker_id, why)

        c.ledger.block(Kind.SOFT_BLOCK if soft else Kind.HARD_BLOCK, worker_id=worker_id, reason=why,
                       call=call, hit_id=games[0].hit_id)
        action = "soft-block" if soft else "hard-block"
        log.info("worker %s (%s)", "soft-blocked from campaign " + c.params.campaign if soft else "blocked",
                 ", ".join(reasons))
        c.blocked.add(worker_id)
        games = self._record_sanction(games, action, reasons)
        self.tell(worker_id, "block", reasons, games)

    def keep_off_page_claimants(self) -> None:
        """`external` mode: soft-block (through the ledger) workers whose HIT-page claims never
        became a submission: strangers who raced an accepted worker, workers who returned after
        seeing the codes."""
        c = self.campaign
        if not c.sanctions.soft_block:
            return

        def block(worker_id: str) -> None:
            if worker_id in c.params.never_block:
                return
            c.ledger.block(Kind.SOFT_BLOCK, worker_id=worker_id, reason="HIT-page claim never submitted",
                           call=lambda: c.block_qualification.grant(worker_id))
            c.blocked.add(worker_id)

        kept_off = c.manager.keep_off_unsubmitted(c.params.campaign, block)
        if kept_off:
            log.info("campaign %s: %d workers soft-blocked, their HIT-page claims never submitted",
                     c.params.campaign, len(kept_off))

    def _record_sanction(self, games: list[GameRecord], action: str, reasons: Sequence[str]) -> list[GameRecord]:
        """Write the loop's block to the games that triggered it, so status and review show it."""
        entry = {"id": f"loop-{action}-{games[0].hit_id}", "source": LOOP, "action": action,
                 "reason": ", ".join(sorted(reasons)), "at": utc_now(), "done": True}
        if any(d.get("id") == entry["id"] for d in games[0].decisions):
            return games
        return self.campaign.records.update_many([(g, {"decisions": (*g.decisions, entry)}) for g in games])


def game_verdict(record: GameRecord) -> GameVerdict:
    """The stored verdict of a game (a rejected game's reasons reject, others only warn)."""
    from iglu_lib.platform.validation import GameVerdict

    rejecting = record.reasons if record.verdict == "reject" else ()
    warnings = () if record.verdict == "reject" else record.reasons
    return GameVerdict(record.game_minecraft_id or None, record.verdict, rejecting, warnings)
