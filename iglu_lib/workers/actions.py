"""Message or pay one worker by hand, named by raw id or pseudonym.

Both check what they can before any request: the service's limits of a message, a bonus's
amount, reason and spending permission. A bonus goes through the ledger of the
assignment's campaign (`iglu_lib.ledger`): the same bonus (assignment, amount, reason) is paid
once, whether asked again at once, days later, or through `iglu campaign review`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from iglu_lib.errors import IgluError
from iglu_lib.workers.identity import ResolvedWorker, WorkerNotResolved, resolve_worker, sources_for

if TYPE_CHECKING:
    from iglu_lib.config import Profile
    from iglu_lib.mturk.manager import HitManager

#: The service's limits of one NotifyWorkers call.
SUBJECT_MAX = 200
MESSAGE_MAX = 4096
WORKERS_MAX = 100
#: A bonus's reason is shown to the worker; longer than a message makes no sense.
REASON_MAX = 4096
#: The service's limit of a UniqueRequestToken.
TOKEN_MAX = 64
#: An amount as the service's BonusAmount pattern has it, with a sane number of dollars.
AMOUNT_MAX_DIGITS = 6
AMOUNT = re.compile(rf"[0-9]{{1,{AMOUNT_MAX_DIGITS}}}(\.[0-9]{{0,2}})?")

log = logging.getLogger(__name__)


class WorkerActionRefused(IgluError):
    """The action was refused before anything was sent; the message says why."""


def _manager(profile: Profile, manager: HitManager | None, allow_spending: bool = False) -> HitManager:
    if manager is not None:
        return manager
    from iglu_lib.mturk.manager import HitManager

    return HitManager.open(profile, allow_spending=allow_spending)


def _bounded(name: str, text: str, most: int) -> str:
    if not text or not text.strip():
        raise WorkerActionRefused(f"the {name} is empty; write what the worker should read")
    if len(text) > most:
        raise WorkerActionRefused(f"the {name} is {len(text)} characters; MTurk takes at most {most}")
    return text


def notify(
    profile: Profile,
    workers: Sequence[str],
    subject: str,
    message: str,
    *,
    campaign: str | None = None,
    manager: HitManager | None = None,
) -> dict[str, Any]:
    """Send one message to each worker named; `{"sent": [...], "failed": [{"worker", "code",
    "reason"}]}`, workers named as they were given."""
    _bounded("subject", subject, SUBJECT_MAX)
    _bounded("message", message, MESSAGE_MAX)
    if not workers:
        raise WorkerActionRefused("name at least one worker (--worker)")
    if len(workers) > WORKERS_MAX:
        raise WorkerActionRefused(f"{len(workers)} workers named; one message goes to at most {WORKERS_MAX}")
    manager = _manager(profile, manager)
    sources = sources_for(profile, manager, campaign)
    resolved: dict[str, ResolvedWorker] = {}
    for given in workers:
        worker = resolve_worker(given, salt=profile.backend.worker_id_salt, sources=sources)
        resolved.setdefault(worker.worker_id, worker)
    failures = manager.notify(list(resolved), subject, message)
    failed = [_failure(failure, resolved) for failure in failures]
    failed_ids = {failure.get("WorkerId") for failure in failures}
    sent = [worker.shown for worker_id, worker in resolved.items() if worker_id not in failed_ids]
    log.info("message %r sent to %d worker(s), refused for %d", subject, len(sent), len(failed))
    return {"sent": sent, "failed": failed}


def _failure(failure: dict[str, Any], resolved: dict[str, ResolvedWorker]) -> dict[str, str]:
    """The service's failure with the raw worker id replaced by the name the worker was given."""
    worker_id = failure.get("WorkerId", "")
    shown = resolved[worker_id].shown if worker_id in resolved else worker_id
    reason = str(failure.get("NotifyWorkersFailureMessage", "")).replace(worker_id, shown) if worker_id else ""
    return {"worker": shown, "code": str(failure.get("NotifyWorkersFailureCode", "")), "reason": reason}


def bonus(
    profile: Profile,
    worker: str,
    assignment_id: str,
    amount: str,
    reason: str,
    *,
    token: str | None = None,
    allow_spending: bool = False,
    manager: HitManager | None = None,
) -> dict[str, Any]:
    """Pay a bonus for an assignment to the worker named, once: through the ledger of the
    assignment's campaign (read from its HIT), under the same key as `iglu campaign review
    --action bonus`, so the same bonus (assignment, amount, reason up to spaces and case) asked
    here and there, now or days later, is paid once. `token` only names the service request.

    The worker named must be the assignment's (checked on the service, raw id or pseudonym).
    A profile that does not spend money refuses before any request unless `allow_spending`.
    """
    from iglu_lib.ledger.book import Kind, Ledger

    _require_spending(profile, allow_spending)
    value = _amount(amount)
    _bounded("reason", reason, REASON_MAX)
    if token is not None and not 1 <= len(token.strip()) <= TOKEN_MAX:
        raise WorkerActionRefused(f"the token must have 1 to {TOKEN_MAX} characters")
    manager = _manager(profile, manager, allow_spending)
    resolved, hit_id = _worker_of_assignment(profile, manager, worker, assignment_id)
    ledger = Ledger.open(profile, campaign_of(manager, hit_id), manager, source="workers")
    result = ledger.pay_bonus(Kind.BONUS, worker_id=resolved.worker_id, assignment_id=assignment_id, amount=value,
                              reason=reason, hit_id=hit_id, token=token.strip() if token else None,
                              allow_spending=allow_spending)
    log.info("bonus %s for assignment %s: %s", value, assignment_id, "paid" if result.acted else "already paid")
    return {"worker": resolved.shown, "assignment_id": assignment_id, "amount": value, "token": result.entry.token,
            "campaign": ledger.campaign, "paid_now": result.acted}


def campaign_of(manager: HitManager, hit_id: str) -> str:
    """The campaign whose ledger books a bonus or a decision about one assignment: the one the
    HIT's annotation names, or the ledger's `unfiled` partition for a HIT the workbench did not
    make (or none, for a worker's block)."""
    from iglu_lib.ledger.book import UNFILED

    try:
        campaign = manager.get_hit(hit_id).annotation.campaign if hit_id else None
    except Exception as err:  # noqa: BLE001 - a HIT deleted since still had its bonus booked
        log.info("HIT %s not read (%s); the bonus is booked as unfiled", hit_id, err)
        campaign = None
    return str(campaign) if campaign else UNFILED


def _require_spending(profile: Profile, allow_spending: bool) -> None:
    from iglu_lib.mturk.manager import SpendingRefused

    if not (profile.spend_money or allow_spending):
        raise SpendingRefused(
            f"SendBonus spends real money and profile '{profile.name}' has spend_money: false; "
            "pass --allow-spending to do it on purpose"
        )


def _amount(amount: str) -> str:
    """The amount as the service writes it ("0.50"): digits, and at most two decimals."""
    text = str(amount).strip()
    if not AMOUNT.fullmatch(text) or not Decimal(text) > 0:
        raise WorkerActionRefused(
            f"the amount {text[:40]!r} is not a positive amount of dollars and cents such as 0.50 "
            f"(at most {AMOUNT_MAX_DIGITS} digits before the point)"
        )
    return f"{Decimal(text):.2f}"


def _worker_of_assignment(profile: Profile, manager: HitManager, given: str, assignment_id: str) -> tuple[ResolvedWorker, str]:
    """The assignment's worker, if it is the one named (by raw id or pseudonym), and its HIT."""
    assignment = manager.get_assignment(assignment_id)
    actual = assignment.worker_id
    refusal = WorkerNotResolved(
        f"assignment {assignment_id} was not done by {given.strip()[:80]}; check the worker and the assignment"
    )
    try:
        resolved = resolve_worker(given, salt=profile.backend.worker_id_salt,
                                  sources=[(f"assignment {assignment_id}", lambda: [actual])])
    except WorkerNotResolved:
        raise refusal from None
    if resolved.worker_id != actual:  # a raw id is taken as given: compare it here
        raise refusal
    return resolved, str(assignment.hit_id or "")
