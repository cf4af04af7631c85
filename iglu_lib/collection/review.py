"""Review by worker: a campaign's submissions grouped by the worker who made them, with each
worker's history, and the decisions a person takes about them, each with a reason.

A person's decision is written to the game records before it is acted on, as the loop's are:
an entry `{"id", "source": "manual", "action", "reason", "at", "done": false, ...}` in the
`Decisions` of the games it concerns (a HIT's games; every game of the worker for a block),
then the service is asked (with an idempotency token where the service takes one, and after
reading the assignment's state where it does not), then the entry is marked `done` and the
records changed. A crash anywhere and the same command again finishes what was started, and
never pays twice. The loop never overrides a game that carries a manual decision
(`Campaign._settle_guarded`).

Actions: `approve` and `reject` a submission the loop has not settled, `reverse` a rejection
(`ApproveAssignment` with `OverrideRejection`: the HIT is paid, its records become approved
and good, and the campaign's bonus rule pays what it would have paid), `bonus` an amount for
a submission, `soft-block` (out of this campaign) and `hard-block` (account-wide) a worker.

Workers are shown by pseudonym (the export's keyed hash); a raw id or a pseudonym is accepted.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iglu_lib.collection.judge import GOOD_VERDICTS
from iglu_lib.collection.params import CampaignParams
from iglu_lib.errors import IgluError
from iglu_lib.providers import ANY_SUBMISSION, SubmissionStatus
from iglu_lib.storage.record import MANUAL, GameRecord, RecordStatus, utc_now

if TYPE_CHECKING:
    from collections.abc import Callable

    from iglu_lib.config import Profile
    from iglu_lib.ledger.book import Kind, Ledger
    from iglu_lib.platform.client import GameSource
    from iglu_lib.providers import AccountCrowd, CampaignCrowd, CampaignSubmission
    from iglu_lib.storage import GameRecords

log = logging.getLogger(__name__)

HIT_ACTIONS = ("approve", "reject", "reverse", "bonus")
WORKER_ACTIONS = ("soft-block", "hard-block")
ACTIONS = (*HIT_ACTIONS, *WORKER_ACTIONS)
#: MTurk's RequesterFeedback holds 1024 characters; a block's reason is cut at 1000 by the loop too.
MAX_REASON_CHARS = 1000
#: The largest bonus a person may pay with one command (a typo guard, not a policy).
MAX_MANUAL_BONUS = Decimal("100.00")
#: Records not yet settled by the loop: a person may still approve or reject them.
UNSETTLED = (RecordStatus.HIT_CREATED, RecordStatus.SUBMITTED, RecordStatus.EXPIRED)


class ReviewRefused(IgluError):
    """A manual decision was refused before anything was written or sent; the message says why."""


# -- what a person reads ---------------------------------------------------------------------
@dataclass(frozen=True)
class Submission:
    """One HIT of a worker: its games' verdicts and reasons, what was paid and said, and the
    decisions a person took about it."""

    hit_id: str
    assignment_id: str
    task_name: str
    agents: tuple[str, ...]
    status: str
    verdicts: tuple[str, ...]
    reasons: tuple[str, ...]  # why games were rejected
    warnings: tuple[str, ...]  # what was noted on games that were accepted
    bonus_paid: Decimal
    messages: tuple[str, ...]
    decisions: tuple[Mapping[str, Any], ...]

    @property
    def warned(self) -> bool:
        return self.status == RecordStatus.APPROVED.value and bool(self.warnings)

    @property
    def reversed(self) -> bool:
        return any(d.get("action") == "reverse" and d.get("done") for d in self.decisions)

    def as_dict(self) -> dict[str, Any]:
        return {"hit_id": self.hit_id, "assignment_id": self.assignment_id, "task": self.task_name,
                "agents": list(self.agents), "status": self.status, "verdicts": list(self.verdicts),
                "reasons": list(self.reasons), "warnings": list(self.warnings),
                "bonus_paid": f"{self.bonus_paid:.2f}", "messages": list(self.messages),
                "decisions": [_shown_decision(d) for d in self.decisions]}


@dataclass(frozen=True)
class WorkerReview:
    """A worker's submissions in one campaign and their history. `worker_id` is the raw id
    (for acting); `shown` the pseudonym, the only name `as_dict` gives."""

    worker_id: str = field(repr=False)
    shown: str
    submissions: tuple[Submission, ...]
    blocked: str = ""  # "", "soft" or "hard"

    @property
    def counts(self) -> dict[str, Any]:
        subs = self.submissions
        return {
            "hits": len(subs),
            "approved": sum(s.status == RecordStatus.APPROVED.value for s in subs),
            "rejected": sum(s.status == RecordStatus.REJECTED.value for s in subs),
            "warned": sum(s.warned for s in subs),
            "open": sum(s.status not in (RecordStatus.APPROVED.value, RecordStatus.REJECTED.value) for s in subs),
            "reversed": sum(s.reversed for s in subs),
            "manual_decisions": len({d["id"] for s in subs for d in s.decisions}),
            "bonus_paid": f"{sum((s.bonus_paid for s in subs), Decimal('0')):.2f}",
            "blocked": self.blocked,
        }

    @property
    def reasons(self) -> dict[str, int]:
        """Why this worker's games were rejected, and how often."""
        return dict(Counter(r for s in self.submissions for r in s.reasons))

    def as_dict(self) -> dict[str, Any]:
        return {"worker": self.shown, "counts": self.counts, "reasons": self.reasons,
                "submissions": [s.as_dict() for s in self.submissions]}


def _shown_decision(decision: Mapping[str, Any]) -> dict[str, Any]:
    keep = ("id", "action", "reason", "at", "done", "amount", "source")
    return {k: decision[k] for k in keep if k in decision}


def submission_of(games: Sequence[GameRecord]) -> Submission:
    """The view of one HIT from its games' records."""
    games = sorted(games, key=lambda g: g.shown_position)
    rejecting = [r for g in games if g.verdict == "reject" for r in g.reasons]
    noted = [r for g in games if g.verdict != "reject" for r in g.reasons]
    decisions = _unique(d for g in games for d in g.manual_decisions)
    manual_bonus = sum((Decimal(str(d.get("amount", "0"))) for d in decisions
                        if d.get("action") == "bonus" and d.get("done")), Decimal("0"))
    rule_bonus = sum((Decimal(str(g.bonus["amount"])) for g in games if g.bonus.get("paid")), Decimal("0"))
    return Submission(
        hit_id=games[0].hit_id, assignment_id=games[0].assignment_id, task_name=games[0].task_name,
        agents=tuple(g.agent_name for g in games), status=games[0].status.value,
        verdicts=tuple(g.verdict or "pending" for g in games), reasons=tuple(dict.fromkeys(rejecting)),
        warnings=tuple(dict.fromkeys(noted)), bonus_paid=rule_bonus + manual_bonus,
        messages=tuple(str(m.get("kind")) for m in games[0].messages if m.get("ok")),
        decisions=tuple(d for d in decisions if d.get("hit_id") in (None, games[0].hit_id)),
    )


def _unique(decisions: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Decisions once each (a block is written to every game of the worker), by id."""
    seen: dict[str, Mapping[str, Any]] = {}
    for decision in decisions:
        seen.setdefault(str(decision.get("id")), decision)
    return list(seen.values())


def group_by_worker(records: Iterable[GameRecord], *, salt: str,
                    blocked: Mapping[str, str] | None = None) -> list[WorkerReview]:
    """Every worker of the records with their submissions (HIT by HIT, oldest first) and
    history; the most rejected first. `blocked` adds what the service knows (raw id -> kind)."""
    from iglu_lib.platform.privacy import pseudonym

    by_worker: dict[str, dict[str, list[GameRecord]]] = {}
    for record in records:
        if record.worker_id:
            by_worker.setdefault(record.worker_id, {}).setdefault(record.hit_id or record.slot_id, []).append(record)
    reviews = []
    for worker_id, hits in by_worker.items():
        ordered = sorted(hits.values(), key=lambda games: min(g.created_at for g in games))
        submissions = tuple(submission_of(games) for games in ordered)
        games = [g for hit_games in hits.values() for g in hit_games]
        reviews.append(WorkerReview(worker_id, pseudonym(worker_id, salt), submissions,
                                    _blocked(games, (blocked or {}).get(worker_id, ""))))
    return sorted(reviews, key=lambda w: (-w.counts["rejected"], -w.counts["hits"], w.shown))


def _blocked(games: Sequence[GameRecord], known: str) -> str:
    """`hard`, `soft` or "" from the service's knowledge, the decisions and the loop's messages."""
    kinds = {known} | {d["action"].split("-")[0] for g in games for d in g.manual_decisions
                       if d.get("action") in WORKER_ACTIONS and d.get("done")}
    if any(m.get("kind") == "block" for g in games for m in g.messages):
        kinds.add("soft")  # the loop told the worker they were kept out (soft, or hard for fraud)
    return "hard" if "hard" in kinds else "soft" if "soft" in kinds else ""


def frame(reviews: Sequence[WorkerReview]) -> Any:
    """One row per worker (pseudonym, counts, reasons): the table notebook 04 shows."""
    import pandas as pd

    rows = [{"worker": w.shown, **w.counts, "reasons": ", ".join(f"{k} {v}" for k, v in w.reasons.items())}
            for w in reviews]
    columns = ["worker", "hits", "approved", "rejected", "warned", "open", "reversed", "manual_decisions",
               "bonus_paid", "blocked", "reasons"]
    return pd.DataFrame(rows, columns=columns)


def review_lines(reviews: Sequence[WorkerReview], *, detail: bool = False) -> list[str]:
    """What `iglu campaign review` prints: a line per worker (and with `detail`, per HIT)."""
    if not reviews:
        return ["no worker has a judged submission in this campaign yet"]
    lines = []
    for review in reviews:
        c = review.counts
        reasons = ", ".join(f"{k} {v}" for k, v in review.reasons.items()) or "-"
        lines.append(f"{review.shown}: {c['hits']} HITs, {c['approved']} approved, {c['rejected']} rejected, "
                     f"{c['warned']} warned, {c['reversed']} reversed, bonus ${c['bonus_paid']}"
                     f"{', blocked (' + c['blocked'] + ')' if c['blocked'] else ''}; reasons: {reasons}")
        for sub in review.submissions if detail else ():
            notes = ", ".join(sub.reasons or sub.warnings) or "-"
            lines.append(f"  HIT {sub.hit_id} {sub.task_name} ({' vs '.join(sub.agents)}): {sub.status} [{notes}]")
            lines.extend(f"    {'done' if d.get('done') else 'pending'} {d['action']} at {d.get('at', '')}: "
                         f"{d.get('reason', '')}" for d in sub.decisions)
    return lines


def submissions_frame(review: WorkerReview) -> Any:
    """One row per HIT of one worker."""
    import pandas as pd

    rows = [{**s.as_dict(), "decisions": "; ".join(f"{d['action']}: {d.get('reason', '')}" for d in s.decisions)}
            for s in review.submissions]
    return pd.DataFrame(rows)


def manual_summary(records: Iterable[GameRecord]) -> dict[str, Any]:
    """What people decided in a campaign: decisions by action, reversals, pending ones, bonuses
    (what `iglu campaign status` shows)."""
    decisions = _unique(d for g in records for d in g.manual_decisions)
    done = [d for d in decisions if d.get("done")]
    bonus = sum((Decimal(str(d.get("amount", "0"))) for d in done if d.get("action") == "bonus"), Decimal("0"))
    return {"decisions": len(decisions), "by_action": dict(Counter(str(d.get("action")) for d in done)),
            "reversals": sum(d.get("action") == "reverse" for d in done),
            "pending": sum(not d.get("done") for d in decisions), "bonuses_paid": f"{bonus:.2f}"}


def workers_at_cap(records: Iterable[GameRecord], cap: int) -> int:
    """Workers whose HITs in the campaign reached its `max_hits_per_worker` (0: no cap)."""
    if not cap:
        return 0
    hits: dict[str, set[str]] = {}
    for record in records:
        if record.worker_id and record.hit_id:
            hits.setdefault(record.worker_id, set()).add(record.hit_id)
    return sum(len(found) >= cap for found in hits.values())


def cap_holders(manager: AccountCrowd, campaign: str) -> int:
    """Workers the service keeps out of the campaign at their cap (its cap qualification's
    holders); 0 when the campaign never made one. Creates nothing. MTurk's HIT manager counts them."""
    return manager.capabilities.cap_holders(campaign)


# -- what a person does ----------------------------------------------------------------------
class Review:
    """A campaign's records and services, for reading by worker and acting with a reason."""

    def __init__(self, params: CampaignParams, *, profile: Profile | None = None,
                 manager: CampaignCrowd | None = None, records: GameRecords | None = None,
                 game_client: GameSource | None = None, allow_spending: bool = False) -> None:
        from iglu_lib.collection.rewards import BonusRule
        from iglu_lib.config import load_profile
        from iglu_lib.storage import GameRecords

        self.params = params
        self.profile = profile or load_profile(params.profile)
        if manager is None:  # the campaign's crowd: a person's review reads what it shows
            from iglu_lib.providers import CrowdOptions, open_campaign_crowd

            manager = open_campaign_crowd(params.provider, self.profile, CrowdOptions(
                params.campaign, kind=params.hit_type, allow_spending=allow_spending, page_url=params.study_url,
                estimated_minutes=params.study_minutes))
        self.manager: CampaignCrowd = manager
        self.records = records or GameRecords.open(self.profile, params.campaign)
        self._games: GameSource | None = game_client
        self.bonus_rule = BonusRule.from_params(params.bonus, params.campaign)
        self._ledger: Ledger | None = None

    @property
    def ledger(self) -> Ledger:
        """The campaign's ledger, the one way a person's decision reaches the service."""
        if self._ledger is None:
            from iglu_lib.ledger.book import Ledger

            self._ledger = Ledger.open(self.profile, self.params.campaign, self.manager, source=MANUAL)
        return self._ledger

    @property
    def fraud_reasons(self) -> tuple[str, ...]:
        """The campaign's fraud reasons (`sanctions.hard_block_reasons`), as the loop judges them."""
        from iglu_lib.collection.sanctions import Sanctions

        return Sanctions.from_params(self.params.sanctions, self.params.messages, self.params.campaign).hard_block_reasons

    @classmethod
    def from_file(cls, path: str | Path, **options: Any) -> Review:
        return cls(CampaignParams.from_file(path), **options)

    # -- reading --------------------------------------------------------------------------
    def all_records(self) -> list[GameRecord]:
        """The campaign's records, with the worker and assignment of submissions the loop has not
        judged yet (parked as `needs_review`, or waiting) read from the service."""
        import dataclasses

        from iglu_lib.providers import CrowdError

        records = self.records.all()
        found: dict[str, Any] = {}
        for record in records:
            unjudged = record.status in (RecordStatus.HIT_CREATED, RecordStatus.SUBMITTED) and not record.worker_id
            if unjudged and record.hit_id and record.hit_id not in found:
                try:
                    submitted = self.manager.assignments(record.hit_id, (SubmissionStatus.SUBMITTED,), agents=self.params.k)
                except CrowdError as err:  # a HIT the service no longer has: nothing to decide on
                    log.info("HIT %s: assignments not listed (%s)", record.hit_id, err)
                    submitted = []
                found[record.hit_id] = submitted[0] if submitted else None
        return [dataclasses.replace(r, worker_id=found[r.hit_id].worker_id, assignment_id=found[r.hit_id].assignment_id)
                if found.get(r.hit_id) is not None else r for r in records]

    def workers(self, worker: str | None = None) -> list[WorkerReview]:
        """Every worker of the campaign (or the one named, raw id or pseudonym)."""
        records = self.all_records()
        wanted = self.resolve(worker, records) if worker else None
        reviews = group_by_worker(records, salt=self.profile.backend.worker_id_salt())
        return [r for r in reviews if wanted is None or r.worker_id == wanted]

    def resolve(self, given: str, records: Sequence[GameRecord] | None = None) -> str:
        """The raw id of a worker of this campaign named by raw id or pseudonym."""
        from iglu_lib.workers.identity import resolve_worker

        if not isinstance(given, str) or not given.strip():
            raise ReviewRefused("name the worker (--worker): a raw worker id or a pseudonym (worker-...)")
        known = {r.worker_id for r in (self.all_records() if records is None else records) if r.worker_id}
        where = f"the game records of campaign {self.params.campaign!r}"
        worker = resolve_worker(given, salt=self.profile.backend.worker_id_salt, sources=[(where, lambda: known)])
        if worker.worker_id not in known:
            raise ReviewRefused(f"worker {given.strip()[:80]} has no submission in campaign "
                                f"{self.params.campaign!r}; `iglu campaign review --params ...` lists its workers")
        return worker.worker_id

    # -- acting ---------------------------------------------------------------------------
    def act(self, worker: str, action: str, reason: str, *, hit: str | None = None,
            amount: str | None = None, force: bool = False) -> dict[str, Any]:
        """Take one decision about a worker (see the module's docstring); returns what was done.
        Repeating a decision that is done changes nothing (`already: true`). `force` reverses a
        rejection for fraud (refused otherwise)."""
        if action not in ACTIONS:
            raise ReviewRefused(f"unknown action {str(action)[:40]!r}; use one of {', '.join(ACTIONS)}")
        reason = _reason(reason, action)
        value = _amount(amount) if action == "bonus" else None
        if action != "bonus" and amount is not None:
            raise ReviewRefused("--amount goes with --action bonus only")
        if force and action != "reverse":
            raise ReviewRefused("--force goes with --action reverse only")
        records = self.all_records()
        worker_id = self.resolve(worker, records)
        mine = [r for r in records if r.worker_id == worker_id]
        if action in WORKER_ACTIONS:
            result = self._block(worker_id, action, reason, mine)
        else:
            games = _hit_games(mine, hit, action, worker)
            _refuse_if_other_pending(games, action)
            result = (self._reverse(worker_id, games, reason, force) if action == "reverse"
                      else getattr(self, f"_{action}")(worker_id, games, reason, value))
        from iglu_lib.platform.privacy import pseudonym

        shown = pseudonym(worker_id, self.profile.backend.worker_id_salt())
        log.info("campaign %s: %s of %s (%s)%s", self.params.campaign, action, shown, reason,
                 " already done" if result.get("already") else "")
        return {"worker": shown, "action": action, "reason": reason, **result}

    def _approve(self, worker_id: str, games: list[GameRecord], reason: str, _: Decimal | None) -> dict[str, Any]:
        return self._settle(worker_id, games, reason, "approve")

    def _reject(self, worker_id: str, games: list[GameRecord], reason: str, _: Decimal | None) -> dict[str, Any]:
        return self._settle(worker_id, games, reason, "reject")

    def _settle(self, worker_id: str, games: list[GameRecord], reason: str, action: str) -> dict[str, Any]:
        """Approve or reject a submission the loop has not settled (parked, or still waiting)."""
        entry = _existing(games, action)
        if entry is not None and entry.get("done"):
            return _done(games, entry, already=True)
        if entry is None:
            if games[0].status not in UNSETTLED:
                hint = " (use --action reverse to approve it)" if games[0].status is RecordStatus.REJECTED else ""
                raise ReviewRefused(f"HIT {games[0].hit_id} is {games[0].status.value} already: only a "
                                    f"submission the loop has not settled can be {action}d{hint}")
            assignment = self._assignment_of(games, worker_id)
            entry = _entry(action, reason, games[0].hit_id)
            games = self._write(games, entry, status=RecordStatus.SUBMITTED, assignment_id=assignment.assignment_id,
                                worker_id=worker_id)
        from iglu_lib.ledger.book import Kind

        approved = action == "approve"
        assignment_id = games[0].assignment_id

        def call() -> None:
            if approved:
                self.manager.approve(assignment_id, reason)
            else:
                self.manager.reject(assignment_id, reason)

        self._book(Kind.REWARD if approved else Kind.REJECT, worker_id, games, reason, call)
        changes = [(g, {"status": RecordStatus.APPROVED if approved else RecordStatus.REJECTED,
                        "verdict": _good_verdict(g) if approved else "reject", "is_hit_qualified": approved,
                        "decisions": _marked(g.decisions, entry["id"])}) for g in games]
        return _done(self.records.update_many(changes), entry)

    def _book(self, kind: Kind, worker_id: str, games: list[GameRecord], reason: str,
              call: Callable[[], None]) -> None:
        """Approve, reject or reverse on the service through the ledger (once, whoever repeats it)."""
        from iglu_lib.ledger.book import LedgerRefused

        assignment = self.manager.get_assignment(games[0].assignment_id, agents=self.params.k)
        try:
            self.ledger.settle(kind, assignment_id=assignment.assignment_id, worker_id=worker_id,
                               hit_id=games[0].hit_id, amount=self.profile.hit.reward, reason=reason,
                               status=lambda: str(assignment.state), call=call)
        except LedgerRefused as err:
            raise ReviewRefused(f"HIT {games[0].hit_id}: {err}; the decision stays pending in the records") from None

    def _reverse(self, worker_id: str, games: list[GameRecord], reason: str, force: bool = False) -> dict[str, Any]:
        """Approve a rejected assignment (`OverrideRejection`) and pay the bonus rule for its games
        that become good. A rejection for fraud is reversed only when forced; then the games that
        were fraud (a reused game counts in its first HIT) stay rejected, so no game counts in two
        good HITs and no game earns the rule's bonus twice."""
        from iglu_lib.ledger.book import Kind

        entry = _existing(games, "reverse")
        if entry is not None and entry.get("done"):
            return self._pay_rule_bonuses(worker_id, games, entry, already=True)
        if entry is None:
            if games[0].status is not RecordStatus.REJECTED:
                raise ReviewRefused(f"HIT {games[0].hit_id} is {games[0].status.value}, not rejected: only a "
                                    "rejected HIT can be reversed")
            if not self.manager.reverses_rejections:
                raise ReviewRefused(f"HIT {games[0].hit_id}: the campaign's crowd service (provider: "
                                    f"{self.params.provider}) never approves a rejected submission; pay the "
                                    "worker a bonus instead (--action bonus)")
            fraud = sorted({r for g in games if g.verdict == "reject" for r in g.reasons if r in self.fraud_reasons})
            if fraud and not force:
                raise ReviewRefused(f"HIT {games[0].hit_id} was rejected for fraud ({', '.join(fraud)}); a reversal "
                                    "pays the worker for it. Reverse it anyway with --force and a reason saying why")
            entry = {**_entry("reverse", reason, games[0].hit_id), **({"forced": fraud} if fraud else {})}
            bonuses = self._rule_bonuses([g for g in games if not self._stays_rejected(g)])
            games = self.records.update_many([
                (g, {"decisions": (*g.decisions, entry), **({"bonus": bonuses[g.row_key]} if g.row_key in bonuses else {})})
                for g in games])
        assignment_id = games[0].assignment_id
        self._book(Kind.REVERSAL, worker_id, games, reason,
                   lambda: self.manager.approve(assignment_id, reason, override_rejection=True))
        kept = {g.row_key for g in games if self._stays_rejected(g)}
        games = self.records.update_many([
            (g, {"status": RecordStatus.APPROVED, "is_hit_qualified": not kept,
                 **({} if g.row_key in kept else {"verdict": _good_verdict(g)}),
                 "decisions": _marked(g.decisions, entry["id"])}) for g in games])
        return self._pay_rule_bonuses(worker_id, games, entry)

    def _stays_rejected(self, game: GameRecord) -> bool:
        """A game rejected for fraud, or whose game counts in another good HIT: a reversal pays
        the worker, but the game never counts (nor earns a bonus) twice."""
        if game.verdict != "reject":
            return False
        if any(r in self.fraud_reasons for r in game.reasons):
            return True
        return bool(game.game_minecraft_id) and any(
            other.hit_id != game.hit_id and other.status is RecordStatus.APPROVED and other.verdict in GOOD_VERDICTS
            for other in self.records.by_game(game.game_minecraft_id))

    def _rule_bonuses(self, games: Sequence[GameRecord]) -> dict[str, dict[str, Any]]:
        """The campaign's bonus rule applied to a reversed HIT's games (their data fetched again:
        the records keep the verdict, not the turn counts the rule looks at)."""
        if not self.bonus_rule:
            return {}
        if self._games is None:
            from iglu_lib.platform.client import GameDataClient

            self._games = GameDataClient.open(self.profile)
        earned = {}
        for game in games:
            if not game.completion_code or game.bonus:
                continue
            data = self._games.fetch(game.completion_code, game.join_code)
            if data.ok and self.bonus_rule.earned("approve", data.summary().as_dict()):
                earned[game.row_key] = {"amount": str(self.bonus_rule.amount), "paid": False}
        return earned

    def _pay_rule_bonuses(self, worker_id: str, games: list[GameRecord], entry: Mapping[str, Any],
                          already: bool = False) -> dict[str, Any]:
        """Pay the bonuses a reversal earned through the ledger: once per game, whoever repeats it
        (and never for a game whose bonus was paid in another assignment)."""
        from iglu_lib.ledger.book import Kind, LedgerRefused

        due = [g for g in games if g.bonus and not g.bonus.get("paid") and not g.bonus.get("refused")
               and g.verdict != "reject"]
        reason = self.bonus_rule.reason if self.bonus_rule else "A bonus for your game."
        changes, paid = [], Decimal("0")
        for game in due:
            try:
                result = self.ledger.pay_bonus(Kind.RULE_BONUS, worker_id=worker_id, assignment_id=game.assignment_id,
                                               amount=game.bonus["amount"], reason=reason, hit_id=game.hit_id,
                                               part=game.game_minecraft_id or game.row_key)
            except LedgerRefused as refused:
                changes.append((game, {"bonus": {**game.bonus, "refused": str(refused)[:300]}}))
                continue
            changes.append((game, {"bonus": {**game.bonus, "paid": True}}))
            paid += Decimal(str(game.bonus["amount"])) if result.acted else 0
        if changes:
            updated = {record.row_key: record for record in self.records.update_many(changes)}
            games = [updated.get(g.row_key, g) for g in games]
        return {**_done(games, entry, already=already and not due), "bonus_paid": f"{paid:.2f}"}

    def _bonus(self, worker_id: str, games: list[GameRecord], reason: str, amount: Decimal) -> dict[str, Any]:
        """Pay an amount for a submission through the ledger: once per (assignment, amount,
        normalised reason), whether asked here, by `iglu workers bonus` or again days later."""
        from iglu_lib.ledger.book import Kind, entry_key

        if not games[0].assignment_id or games[0].status not in (RecordStatus.APPROVED, RecordStatus.REJECTED):
            raise ReviewRefused(f"HIT {games[0].hit_id} is {games[0].status.value}: pay a bonus once its "
                                "submission is settled")
        value = f"{amount:.2f}"
        token = entry_key(self.params.campaign, Kind.BONUS, games[0].assignment_id, value, reason)
        entry = next((d for g in games for d in g.manual_decisions if d.get("token") == token), None)
        if entry is not None and entry.get("done"):
            return {**_done(games, entry, already=True), "amount": value, "paid_now": False}
        if entry is None:
            entry = {**_entry("bonus", reason, games[0].hit_id), "amount": value, "token": token}
            games = self._write(games, entry)
        result = self.ledger.pay_bonus(Kind.BONUS, worker_id=worker_id, assignment_id=games[0].assignment_id,
                                       amount=value, reason=reason, hit_id=games[0].hit_id)
        games = self.records.update_many([(g, {"decisions": _marked(g.decisions, entry["id"])}) for g in games])
        return {**_done(games, entry, already=not result.acted), "amount": value, "paid_now": result.acted}

    def _block(self, worker_id: str, action: str, reason: str, games: list[GameRecord]) -> dict[str, Any]:
        """Keep a worker out of this campaign (soft) or of every HIT of the account (hard); the
        decision goes to every game of theirs in the campaign."""
        entry = _existing(games, action)
        if entry is not None and entry.get("done"):
            return {"already": True, "decision": _shown_decision(entry), "hits": len({g.hit_id for g in games})}
        if entry is None:
            entry = _entry(action, reason, None)
            games = self._write(games, entry)
        from iglu_lib.ledger.book import Kind

        def call() -> None:
            if action == "soft-block":
                self.manager.capabilities.soft_block(self.params.campaign).grant(worker_id)
            else:
                self.manager.block(worker_id, reason)

        self.ledger.block(Kind(action), worker_id=worker_id, reason=reason, call=call)
        games = self._update_by_hit([(g, {"decisions": _marked(g.decisions, entry["id"])}) for g in games])
        done = next(d for d in games[0].manual_decisions if d["id"] == entry["id"])
        return {"already": False, "decision": _shown_decision(done), "hits": len({g.hit_id for g in games})}

    # -- helpers --------------------------------------------------------------------------
    def _write(self, games: list[GameRecord], entry: dict[str, Any], **changes: Any) -> list[GameRecord]:
        """The decision (and `changes`) written to the games before anything is asked of the service."""
        return self._update_by_hit([(g, {"decisions": (*g.decisions, entry), **changes}) for g in games])

    def _update_by_hit(self, changes: list[tuple[GameRecord, dict[str, Any]]]) -> list[GameRecord]:
        """Updates in one transaction per HIT (a worker's games may be more than one holds)."""
        by_hit: dict[str, list[tuple[GameRecord, dict[str, Any]]]] = {}
        for record, fields in changes:
            by_hit.setdefault(record.hit_id or record.slot_id, []).append((record, fields))
        return [new for group in by_hit.values() for new in self.records.update_many(group)]

    def _assignment_of(self, games: list[GameRecord], worker_id: str) -> CampaignSubmission:
        """The HIT's assignment on the service, which must be this worker's."""
        found = self.manager.assignments(games[0].hit_id, ANY_SUBMISSION, agents=self.params.k)
        assignment = next((a for a in found if a.worker_id == worker_id), None)
        if assignment is None:
            raise ReviewRefused(f"HIT {games[0].hit_id} has no submitted assignment of this worker on the service; check --hit and --worker (iglu campaign review --worker W lists their HITs)")
        return assignment


def _hit_games(mine: list[GameRecord], hit: str | None, action: str, given: str) -> list[GameRecord]:
    """The games of the HIT a decision is about: the one named, or the worker's only candidate."""
    hits: dict[str, list[GameRecord]] = {}
    for record in mine:
        hits.setdefault(record.hit_id, []).append(record)
    if hit:
        if hit not in hits:
            raise ReviewRefused(f"HIT {hit[:80]} is not a HIT of worker {given.strip()[:80]} in this campaign; "
                                f"theirs: {', '.join(sorted(hits))}")
        return sorted(hits[hit], key=lambda g: g.shown_position)
    wanted = {"approve": UNSETTLED, "reject": UNSETTLED, "reverse": (RecordStatus.REJECTED,),
              "bonus": (RecordStatus.APPROVED, RecordStatus.REJECTED)}[action]
    candidates = [hit_id for hit_id, games in hits.items() if games[0].status in wanted]
    if len(candidates) != 1:
        raise ReviewRefused(f"worker {given.strip()[:80]} has {len(candidates)} HIT(s) this action could concern "
                            f"({', '.join(sorted(candidates)) or 'none'}); name one with --hit")
    return sorted(hits[candidates[0]], key=lambda g: g.shown_position)


def _reason(reason: object, action: str) -> str:
    text = str(reason or "").strip()
    if not text:
        raise ReviewRefused(f"a manual {action} needs a reason (--reason): it is recorded with the decision "
                            "and, for approvals, rejections and bonuses, the worker reads it")
    if len(text) > MAX_REASON_CHARS:
        raise ReviewRefused(f"the reason is {len(text)} characters; keep it within {MAX_REASON_CHARS}")
    return text


def _amount(amount: object) -> Decimal:
    try:
        value = Decimal(str(amount).strip())
    except (InvalidOperation, ValueError):
        value = Decimal("NaN")
    if not value.is_finite() or value <= 0 or value != value.quantize(Decimal("0.01")) or value > MAX_MANUAL_BONUS:
        raise ReviewRefused(f"a bonus needs --amount in dollars and cents, more than 0 and at most "
                            f"{MAX_MANUAL_BONUS} (got {str(amount)[:40]!r})")
    return value


def _entry(action: str, reason: str, hit_id: str | None) -> dict[str, Any]:
    entry = {"id": uuid.uuid4().hex[:12], "source": MANUAL, "action": action, "reason": reason,
             "at": utc_now(), "done": False}
    if hit_id:
        entry["hit_id"] = hit_id
    return entry


def _refuse_if_other_pending(games: Sequence[GameRecord], action: str) -> None:
    """One unfinished decision per HIT: finish it (run it again) before deciding otherwise."""
    other = next((d for g in games for d in g.manual_decisions
                  if not d.get("done") and d.get("hit_id") and d.get("action") != action), None)
    if other is not None:
        raise ReviewRefused(f"HIT {games[0].hit_id} has an unfinished manual {other['action']} "
                            f"({other.get('reason', '')!r}, {other.get('at', '')}); run it again to finish it first")


def _existing(games: Sequence[GameRecord], action: str) -> Mapping[str, Any] | None:
    """The decision of this kind already written for these games (done, or pending after a crash)."""
    found = [d for g in games for d in g.manual_decisions if d.get("action") == action]
    pending = [d for d in found if not d.get("done")]
    if pending:
        return pending[0]
    return found[0] if found else None


def _marked(decisions: Sequence[Mapping[str, Any]], entry_id: str) -> tuple[dict[str, Any], ...]:
    return tuple({**d, "done": True} if d.get("id") == entry_id else dict(d) for d in decisions)


def _good_verdict(game: GameRecord) -> str:
    if game.verdict in GOOD_VERDICTS:
        return game.verdict
    return "approve_with_warning" if game.reasons else "approve"


def _done(games: Sequence[GameRecord], entry: Mapping[str, Any], already: bool = False) -> dict[str, Any]:
    current = next((d for d in games[0].manual_decisions if d.get("id") == entry.get("id")), entry)
    return {"hit_id": games[0].hit_id, "status": games[0].status.value, "already": already,
            "decision": _shown_decision(current)}


# -- several decisions at once (notebook 04, the demo) -----------------------------------------
def apply_decisions(review: Review, decisions: Iterable[object]) -> list[dict[str, Any]]:
    """Carry out `[{worker, action, reason, hit?, amount?}]`; each result says `done` (or
    `already done`) or the refusal, so one bad decision stops none of the others."""
    results = []
    for index, decision in enumerate(decisions):
        if not isinstance(decision, Mapping):
            results.append({"decision": index, "outcome": f"refused: decision {index} is not a mapping"})
            continue
        unknown = sorted(set(decision) - {"worker", "action", "reason", "hit", "amount", "force"})
        try:
            if unknown:
                raise ReviewRefused(f"decision {index}: unknown key(s) {', '.join(unknown)}; "
                                    "known: worker, action, reason, hit, amount, force")
            result = review.act(str(decision.get("worker") or ""), str(decision.get("action")), str(decision.get("reason") or ""),
                                hit=decision.get("hit"), amount=decision.get("amount"),
                                force=decision.get("force") is True)
            outcome = "already done" if result.get("already") else "done"
            results.append({**result, "decision": _shown_decision(result.get("decision", {})), "outcome": outcome})
        except IgluError as err:
            results.append({"decision": index, "action": decision.get("action"), "outcome": f"refused: {err}"})
    return results


def reversal_candidates(records: Sequence[GameRecord], reasons: Iterable[str]) -> list[tuple[str, str]]:
    """`(worker id, HIT id)` of rejected HITs whose every rejecting reason is one of `reasons`
    (a class of rejections found unfair), those of the cells with fewest good HITs first."""
    from iglu_lib.collection.outcomes import slot_outcome
    from iglu_lib.scheduling import Outcome

    allowed = set(reasons)
    by_hit: dict[str, list[GameRecord]] = {}
    for record in records:
        by_hit.setdefault(record.hit_id or record.slot_id, []).append(record)
    good: Counter[tuple[str, str]] = Counter()
    found = []
    for hit_id, games in by_hit.items():
        cell = (games[0].task_name, " vs ".join(sorted(g.agent_name for g in games)))
        if slot_outcome(games) is Outcome.VALID:
            good[cell] += 1
        rejecting = {r for g in games if g.verdict == "reject" for r in g.reasons}
        if games[0].status is RecordStatus.REJECTED and rejecting and rejecting <= allowed and games[0].worker_id:
            found.append((cell, min(g.created_at for g in games), games[0].worker_id, hit_id))
    return [(worker, hit) for _, _, worker, hit in sorted(found, key=lambda c: (good[c[0]], c[1]))]


def reverse_rejections(review: Review, reasons: Iterable[str], reason: str, most: int = 1) -> list[dict[str, Any]]:
    """Reverse at most `most` rejections that rest only on `reasons` (see `reversal_candidates`)."""
    reasons = list(reasons)
    if not reasons:
        raise ReviewRefused("name the rejection reasons to reverse (e.g. [not_english])")
    chosen = reversal_candidates(review.records.all(), reasons)[: max(0, int(most))]
    return apply_decisions(review, [{"worker": worker, "action": "reverse", "reason": reason, "hit": hit}
                                    for worker, hit in chosen])


def carry_out(review: Review, decisions: Iterable[object], reverse: Mapping[str, Any] | None,
              record_to: Path) -> list[dict[str, Any]]:
    """Notebook 04's decisions: `decisions` as for `apply_decisions`, then the reversals of
    `reverse` (the arguments of `reverse_rejections`, or nothing); every result is written to
    `record_to` as JSON and summed up in the log."""
    results = apply_decisions(review, decisions)
    if reverse:
        results += reverse_rejections(review, **reverse)
    record_to.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    log.info("%d manual decision(s): %s", len(results),
             "; ".join(f"{r.get('action')} {r.get('outcome')}" for r in results))
    return results
