"""MTurk as a `CrowdProvider` (iglu_lib.providers): an adapter over the project's `HitManager`.

A piece of work is one ExternalQuestion HIT whose places are its assignments; its key is the
HIT's `UniqueRequestToken` (so posting it again finds the HIT made before, and the manager's
`RequesterAnnotation` keeps it for `reconcile`); capabilities are qualification types (named by
id or exact name) and blocks are MTurk's worker blocks. The HIT manager does the retrying, the
spending guard and the errors (`MTurkError`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from iglu_lib.mturk.hit_pages import settle_hit
from iglu_lib.mturk.manager import Hit, HitManager, MTurkError
from iglu_lib.mturk.qualifications import grant, resolve_type
from iglu_lib.mturk.questions import FRAME_HEIGHT, external_question
from iglu_lib.mturk.work_checks import SeenAssignment, WorkHolding, seen_assignment, work_holding
from iglu_lib.providers import Bonus, Check, CrowdProvider, PostedWork, Submitted, WorkSpec

if TYPE_CHECKING:
    from iglu_lib.config import Profile
    from iglu_lib.pages.store import Claim, HitPageStore

#: MTurk's limit on `UniqueRequestToken`.
TOKEN_LIMIT = 64
#: MTurk's commission on rewards and bonuses: 20%, 40% for HITs of ten or more assignments.
FEE_RATE, LARGE_HIT_FEE_RATE, LARGE_HIT = Decimal("0.20"), Decimal("0.40"), 10
REVIEWED = ("Submitted", "Approved", "Rejected")


def _work(hit: Hit) -> PostedWork:
    return PostedWork(hit.hit_id, hit.annotation.token or "", hit.status, hit.max_assignments,
                      hit.status in ("Assignable", "Unassignable"), hit.raw)


def cost(spec: WorkSpec) -> Decimal:
    """What a HIT of `spec` costs with MTurk's commission, in dollars."""
    rate = LARGE_HIT_FEE_RATE if spec.places >= LARGE_HIT else FEE_RATE
    return (spec.reward * spec.places * (1 + rate)).quantize(Decimal("0.01"))


class MTurkProvider:
    """The crowd-provider operations over one `HitManager` (its HIT type and campaign)."""

    name = "mturk"

    def __init__(self, manager: HitManager, *, approval_feedback: str | None = None) -> None:
        self.manager = manager
        #: What an approved worker reads (MTurk's requester feedback), when given.
        self.approval_feedback = approval_feedback

    @classmethod
    def open(cls, profile: Profile, **options: Any) -> MTurkProvider:
        """Over `HitManager.open(profile, **options)` (`hit_type`, `campaign`, ...)."""
        return cls(HitManager.open(profile, **{"hit_type": "provider", **options}))

    def post_work(self, spec: WorkSpec, *, allow_spending: bool = False) -> PostedWork:
        if len(spec.key) > TOKEN_LIMIT:
            raise MTurkError(f"work key '{spec.key[:40]}...' is longer than MTurk's {TOKEN_LIMIT} characters")
        requirements = [self._requirement(name, "Exists", "Accept") for name in spec.required]
        requirements += [self._requirement(name, "DoesNotExist", "DiscoverPreviewAndAccept") for name in spec.excluded]
        hit = self.manager.create_hit(
            question=external_question(spec.url, FRAME_HEIGHT), unique_request_token=spec.key,
            allow_spending=allow_spending, title=spec.title, description=spec.description,
            reward=f"{spec.reward:.2f}", max_assignments=spec.places,
            extra_qualification_requirements=requirements,
        )
        return _work(hit)

    def _requirement(self, capability: str, comparator: str, guard: str) -> dict[str, Any]:
        return {"QualificationTypeId": resolve_type(self.manager, capability), "Comparator": comparator,
                "ActionsGuarded": guard}

    def submitted(self, work_id: str) -> list[Submitted]:
        return [Submitted(a.assignment_id, a.hit_id or work_id, a.worker_id, a.status, a.status == "Submitted", a.raw)
                for a in self.manager.assignments(work_id, REVIEWED)]

    def approve(self, submission_id: str, *, allow_spending: bool = False) -> None:
        self.manager.approve(submission_id, self.approval_feedback, allow_spending=allow_spending)

    def reject(self, submission_id: str, reason: str, category: str = "OTHER") -> None:
        """MTurk has no categories: the reason alone is what the worker reads."""
        self.manager.reject(submission_id, reason)

    def send_bonus(self, bonus: Bonus, *, allow_spending: bool = False) -> str:
        """Paid once per `bonus.token` (MTurk's `UniqueRequestToken`); returns the token."""
        self.manager.send_bonus(bonus.worker_id, bonus.submission_id, bonus.amount, bonus.reason, bonus.token,
                                allow_spending=allow_spending)
        return bonus.token

    def message(self, worker_id: str, text: str, *, work_id: str, subject: str = "About your work") -> None:
        failures = self.manager.notify([worker_id], subject, text)
        if failures:
            raise MTurkError(f"MTurk could not message {worker_id}: {failures[0].get('NotifyWorkersFailureMessage', '?')}")

    def block(self, worker_id: str, reason: str) -> None:
        self.manager.block(worker_id, reason)

    def unblock(self, worker_id: str, reason: str) -> None:
        self.manager.unblock(worker_id, reason)

    def grant(self, capability: str, worker_id: str) -> None:
        grant(self.manager, resolve_type(self.manager, capability), worker_id, 1)

    def revoke(self, capability: str, worker_id: str) -> None:
        self.manager.call("disassociate_qualification_from_worker", QualificationTypeId=resolve_type(self.manager, capability),
                          WorkerId=worker_id, Reason="revoked by the requester")

    def balance(self) -> Decimal:
        """The account's available balance in dollars."""
        return Decimal(str(self.manager.balance()))

    def preflight(self, spec: WorkSpec | None = None) -> list[Check]:
        try:
            available = Decimal(self.manager.balance())
        except MTurkError as err:
            return [Check("credentials", False, str(err))]
        checks = [Check("credentials", True, f"MTurk answers for profile '{self.manager.profile_name}'")]
        if spec is None:
            return [*checks, Check("balance", True, f"${available} available")]
        needed = cost(spec)
        return [*checks, Check("balance", needed <= available,
                               f"${available} available, the HIT needs ${needed} with MTurk's commission")]

    def reconcile(self, prefix: str) -> list[PostedWork]:
        """The manager's HITs (its type and campaign) whose key starts with `prefix`."""
        return [_work(hit) for hit in self.manager.hits() if (hit.annotation.token or "").startswith(prefix)]

    # -- what the task server and our pages ask (see `iglu_lib.mturk.work_checks`) ----------
    def seen(self, submission_id: str) -> SeenAssignment | None:
        """The assignment once submitted (its HIT, worker and state in our words), else None."""
        return seen_assignment(self.manager, submission_id)

    def holding(self, work_id: str) -> WorkHolding:
        """The HIT's accepted assignments now and how long each may be held (`GetHIT`)."""
        return work_holding(self.manager, work_id)

    def settle_claims(self, store: HitPageStore, work_id: str) -> list[Claim]:
        """Settle the HIT's external-page claims with the assignments MTurk lists as submitted."""
        return settle_hit(self.manager, store, work_id)


def _conforms(provider: MTurkProvider) -> CrowdProvider:
    """mypy checks here that the adapter implements the whole `CrowdProvider` interface."""
    return provider
