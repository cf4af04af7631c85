"""Crowd providers as peers: what every crowd service offers the workbench, typed.

MTurk (`iglu_lib.mturk.provider.MTurkProvider`) and Prolific
(`iglu_lib.prolific.provider.ProlificProvider`) each implement `CrowdProvider` in their own
package, with their own wire strings; callers (the campaign loop, the crowd tasks, notebooks)
speak only these nouns: a piece of *work* (a HIT, a study) with *places* (assignments, study
places), *submissions* (assignments, Prolific submissions), *capabilities* (qualification
types, participant groups) and *blocks*.

Money: `send_bonus` pays. Neither service protects every path against a second payment
(Prolific's bonus pay is documented as not idempotent), so a caller that must pay exactly once
records its intent in the ledger before calling and marks it paid after; a provider never
decides that a bonus was paid before.

This module sits below both provider packages (import contracts in pyproject.toml): it imports
neither, and `open_provider` loads the one a campaign names by its dotted path, when asked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from importlib import import_module
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from iglu_lib.errors import IgluError

if TYPE_CHECKING:
    from iglu_lib.config import Profile
    from iglu_lib.settings import HitSettings

#: The provider a campaign uses when it names none.
DEFAULT_PROVIDER = "mturk"

#: Known providers: name -> "module:Class" (loaded on request; see `open_provider`).
PROVIDERS: dict[str, str] = {
    "mturk": "iglu_lib.mturk.provider:MTurkProvider",
    "prolific": "iglu_lib.prolific.provider:ProlificProvider",
}


#: The campaign loop's crowd of each provider (`CampaignCrowd`): name -> "module:Class", loaded on
#: request like `PROVIDERS`; each class opens with `for_campaign(profile, CrowdOptions)`.
CAMPAIGN_CROWDS: dict[str, str] = {
    "mturk": "iglu_lib.mturk.manager:HitManager",
    "prolific": "iglu_lib.crowd.study_campaign:StudyCampaign",
}


class UnknownProvider(IgluError):
    """A campaign or command names a provider that does not exist."""


class CrowdError(IgluError):
    """A crowd service refused or failed a call. A provider's error derives from it and says how
    the campaign loop takes it (`collection.faults`): `transient` (throttled, the service's own
    fault, unreachable: the next turn tries again), `permanent` (waiting will not heal it), and
    `about_account` (credentials, rights, funds: the campaign stops, not just one HIT's settling).
    Neither by default: an unexpected failure, parked for a person."""

    @property
    def transient(self) -> bool:
        return False

    @property
    def permanent(self) -> bool:
        return False

    @property
    def about_account(self) -> bool:
        return False


class TokenRefused(CrowdError):
    """The service refused a request token that made work before, yet lists no work made with it
    (the work was deleted): the token cannot post work again, so its slot is retired."""


class WorkState(StrEnum):
    """Where a piece of work (a HIT, a study slot) stands, in our words: each provider maps its
    own statuses to these at its boundary, so the loop decides on them and on nothing else."""

    OPEN = "open"  # workers can still take it
    HELD = "held"  # every place is taken, the work is under way
    REVIEWABLE = "reviewable"  # what was submitted waits for approve or reject
    REVIEWING = "reviewing"  # a reviewer (the loop) has taken it off the reviewable list
    DISPOSED = "disposed"  # gone: expired unworked, deleted, closed


#: Work that workers can take or are working on: what winding down expires.
OPEN_WORK = (WorkState.OPEN, WorkState.HELD)
#: Work after which no more submissions arrive: the loop settles what is there.
CLOSED_WORK = (WorkState.REVIEWABLE, WorkState.REVIEWING, WorkState.DISPOSED)


class SubmissionStatus(StrEnum):
    """Where one worker's submission stands. The values are the lower case of the words MTurk
    uses, so a status read back from older ledgers and logs compares alike case-insensitively."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


#: Every status a submitted piece of work can have: settled or still waiting.
ANY_SUBMISSION = (SubmissionStatus.SUBMITTED, SubmissionStatus.APPROVED, SubmissionStatus.REJECTED)


@dataclass(frozen=True)
class PaidBonus:
    """A bonus the service shows as paid (or begun) for one submission: what the ledger holds
    its own entries against, so that a crash between paying and booking never pays twice."""

    amount: Decimal
    reason: str


@dataclass(frozen=True)
class WorkSpec:
    """A piece of work to post: one HIT with `places` assignments, or one study with `places` places.

    `key` names it for good: posting the same key again finds the work made before (MTurk's
    request token, Prolific's internal name), and `reconcile(prefix)` finds every key starting
    with a campaign's prefix. `url` is our page; the provider adds its own parameters.
    `required` and `excluded` name capabilities (qualification type names or ids on MTurk,
    participant group names on Prolific) a worker must hold, or must not hold, to see the work.
    """

    key: str
    title: str
    description: str
    url: str
    reward: Decimal
    places: int = 1
    estimated_minutes: int = 10
    required: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()


@dataclass(frozen=True)
class PostedWork:
    """Work as the provider reports it; `status` is the provider's own word, for people."""

    work_id: str
    key: str
    status: str
    places: int
    open: bool
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Submitted:
    """One worker's submission of a piece of work; `needs_review` when it awaits approve/reject."""

    submission_id: str
    work_id: str
    worker_id: str
    status: str
    needs_review: bool
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Bonus:
    """A bonus to pay: `token` is the caller's (the ledger's) id of this one payment."""

    worker_id: str
    submission_id: str
    work_id: str
    amount: Decimal
    reason: str
    token: str


@dataclass(frozen=True)
class Check:
    """One preflight line: what was checked, whether it holds, and what to do when not."""

    name: str
    ok: bool
    detail: str


@runtime_checkable
class CrowdProvider(Protocol):
    """The operations both crowds offer; each provider's errors are `IgluError`s."""

    name: str

    def post_work(self, spec: WorkSpec, *, allow_spending: bool = False) -> PostedWork:
        """Post (or find again, by `spec.key`) and open the work."""

    def submitted(self, work_id: str) -> list[Submitted]:
        """Every submission of the work (reviewed ones included)."""

    def approve(self, submission_id: str, *, allow_spending: bool = False) -> None:
        """Approve and pay the reward (repeating it does nothing more)."""

    def reject(self, submission_id: str, reason: str, category: str = "OTHER") -> None:
        """Reject with a reason the worker reads (`category`: Prolific's rejection category)."""

    def send_bonus(self, bonus: Bonus, *, allow_spending: bool = False) -> str:
        """Pay a bonus; returns the provider's id of the payment. The ledger guards repeats."""

    def message(self, worker_id: str, text: str, *, work_id: str, subject: str = "About your work") -> None:
        """Send a worker a message about a piece of work."""

    def block(self, worker_id: str, reason: str) -> None:
        """Keep a worker from every future piece of work."""

    def unblock(self, worker_id: str, reason: str) -> None:
        """Undo `block`."""

    def grant(self, capability: str, worker_id: str) -> None:
        """Give a worker a capability (a qualification, a participant group membership)."""

    def revoke(self, capability: str, worker_id: str) -> None:
        """Take a capability away."""

    def preflight(self, spec: WorkSpec | None = None) -> list[Check]:
        """Credentials, account, balance (for `spec`, when given) and settings, checked without spending."""

    def reconcile(self, prefix: str) -> list[PostedWork]:
        """Every piece of work whose key starts with `prefix` (a campaign's), as the service shows it."""

    def balance(self) -> Decimal:
        """The account's available balance in dollars (preflight holds it against the budget)."""


class Capability(Protocol):
    """One of a campaign's own capabilities on its crowd (a qualification type on MTurk, a
    participant group on Prolific): work can require its absence (`requirement`) or holding it
    (`required`), and the loop grants it to workers."""

    def requirement(self) -> dict[str, Any]: ...

    def required(self) -> dict[str, Any]: ...

    def grant(self, worker_id: str) -> None: ...

    def workers(self) -> set[str]: ...


class Capabilities(Protocol):
    """A crowd's makers of a campaign's capabilities: who is kept out of it (soft-blocked, at
    their cap, already judged a task) and who is let in (a pilot's allow-list)."""

    def soft_block(self, campaign: str) -> Capability: ...

    def cap(self, campaign: str) -> Capability: ...

    def allowed(self, campaign: str) -> Capability: ...

    def judged_task(self, campaign: str, task_id: str) -> Capability: ...


class WorkTag(Protocol):
    """What the loop reads of the tag a piece of work carries: the request token that made it,
    and the campaign it belongs to (None when the tag does not say)."""

    @property
    def token(self) -> str | None: ...

    @property
    def campaign(self) -> str | None: ...


class CampaignWork(Protocol):
    """A slot's piece of work as the campaign loop sees it: an MTurk HIT (`mturk.manager.Hit`)
    or a study slot (`crowd.study_campaign.SlotWork`). The loop decides on `state`; `status` is
    the provider's own word, for people (reports, logs)."""

    @property
    def hit_id(self) -> str: ...

    @property
    def state(self) -> WorkState | None: ...

    @property
    def status(self) -> str: ...

    @property
    def annotation(self) -> WorkTag: ...

    @property
    def pending(self) -> int:
        """Submissions a worker holds and has not submitted (the wind-down says until when)."""

    @property
    def expiration(self) -> datetime | None: ...

    @property
    def created(self) -> datetime | float | None:
        """When the work was made (a datetime, or epoch seconds), when the service says."""

    @property
    def assignment_seconds(self) -> int | None:
        """How long a worker may hold the work, when the service says."""


class SubmittedAnswers(Protocol):
    """A submission's answers as our pages' parser read them (`pages.answers.ParsedAnswers`):
    the fields by name, and the problems found (none: `ok`)."""

    @property
    def fields(self) -> dict[str, Any]: ...

    @property
    def problems(self) -> tuple[str, ...]: ...

    @property
    def ok(self) -> bool: ...


class CampaignSubmission(Protocol):
    """One worker's submission of a slot's work, as the loop judges it: who, when, the answers
    read from our page, and `document`, the answer as the page sent it (kept whole when it is
    too long for the records)."""

    @property
    def assignment_id(self) -> str: ...

    @property
    def hit_id(self) -> str: ...

    @property
    def worker_id(self) -> str: ...

    @property
    def state(self) -> SubmissionStatus: ...

    @property
    def status(self) -> str:
        """The status as people read it: the service's own word where it has one."""

    @property
    def accept_time(self) -> datetime | None: ...

    @property
    def submit_time(self) -> datetime | None: ...

    @property
    def answers(self) -> SubmittedAnswers: ...

    @property
    def document(self) -> str: ...


class CampaignCrowd(Protocol):
    """What the campaign loop asks of its crowd, shared by `mturk.manager.HitManager` (MTurk) and
    `crowd.study_campaign.StudyCampaign` (Prolific): post a slot's work, find it again, list what
    was submitted, approve or reject, pay a bonus once (the ledger guards it), message and block.
    Statuses are ours (`WorkState`, `SubmissionStatus`); each side maps its service's words."""

    campaign: str

    @property
    def question_mode(self) -> str: ...

    @property
    def reverses_rejections(self) -> bool:
        """Whether a rejected submission can be approved after all (MTurk yes, Prolific no)."""

    @property
    def capabilities(self) -> Capabilities: ...

    def requirements_for(self, specs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The campaign's `qualification_requirements` as this crowd's requirements on its work."""

    def create_hit(self, variables: Mapping[str, Any], *, unique_request_token: str,
                   **options: Any) -> CampaignWork: ...

    def hit_with_token(self, token: str) -> CampaignWork | None: ...

    def get_hit(self, hit_id: str) -> CampaignWork: ...

    def hits(self, statuses: Sequence[str] | None = None) -> Iterable[CampaignWork]: ...

    def page_text(self, hit: CampaignWork) -> str:
        """The join codes the work's page shows, as text: how work whose records were lost is
        matched to its slot again (empty when the crowd cannot tell)."""

    def stop_taking_work(self) -> None:
        """`iglu campaign stop --expire`, before the open work is expired: the crowd takes no new
        workers (Prolific: the study paused and stopped, its open slots closed)."""

    def reviewable_hits(self) -> Sequence[CampaignWork]: ...

    def set_reviewing(self, hit_id: str, reviewing: bool = ...) -> None:
        """Mark the work as under review (or, `reviewing=False`, back to awaiting review)."""

    def expire(self, hit_id: str) -> None: ...

    def delete(self, hit_id: str) -> None: ...

    def assignments(self, hit_id: str, statuses: Sequence[str] = ..., agents: int = ...
                    ) -> Sequence[CampaignSubmission]: ...

    def get_assignment(self, assignment_id: str, agents: int = ...) -> CampaignSubmission:
        """One submission by its id (a person's review and its ledger read its state)."""

    def approve(self, assignment_id: str, feedback: str, /, *, override_rejection: bool = ...) -> None:
        """Approve; `override_rejection` reverses a rejection where the service can (MTurk)."""

    def reject(self, assignment_id: str, feedback: str, /, reasons: Sequence[str] = ...) -> None:
        """Reject with the verdict's message; `reasons` (ours) pick Prolific's rejection category."""

    def send_bonus(self, worker_id: str, assignment_id: str, amount: str, reason: str, token: str, /, *,
                   allow_spending: bool = False) -> bool: ...

    def bonuses_paid(self, *, hit_id: str | None = None, assignment_id: str | None = None) -> list[PaidBonus]:
        """Bonuses paid for one piece of work's submissions or for one submission (give one)."""

    def notify(self, worker_ids: Sequence[str], subject: str, text: str, /) -> Sequence[Any]: ...

    def block(self, worker_id: str, reason: str) -> None: ...

    def blocked_ids(self) -> set[str]: ...

    def keep_off_unsubmitted(self, campaign: str, keep_off: Callable[[str], None]) -> list[str]:
        """Call `keep_off` (the campaign's soft block) for each worker who saw the codes on our
        page and never submitted; returns their ids. Only MTurk needs it: Prolific ends such a
        session itself (returned or timed out)."""

    def balance(self) -> str | Decimal: ...


class PaySettings(Protocol):
    """The part of a crowd's work settings a review books: the reward one submission earns."""

    @property
    def reward(self) -> Decimal | str: ...


class ReviewedCrowd(CampaignCrowd, Protocol):
    """What notebook 04's review of single submissions (`mturk.review.record_decisions`) asks of
    either crowd: the reward its work pays, and a piece of work's submissions awaiting a decision."""

    @property
    def settings(self) -> PaySettings: ...

    def submitted_assignments(self, hit_id: str, agents: int = ...) -> Sequence[CampaignSubmission]: ...


class CountedCapabilities(Capabilities, Protocol):
    """Capabilities whose holders the service can count (MTurk's qualification types)."""

    def cap_holders(self, campaign: str) -> int:
        """Workers kept out of the campaign at their cap; 0 when it never made one."""


class AccountCrowd(CampaignCrowd, Protocol):
    """What `iglu campaign status` and `preflight` read only of MTurk's HIT manager: every piece
    of work of the account whatever its type, who holds a campaign's cap, the HIT settings and
    page the work is posted with, and the qualification types the profile requires."""

    @property
    def capabilities(self) -> CountedCapabilities: ...

    @property
    def settings(self) -> HitSettings: ...

    def all_hits(self) -> Sequence[CampaignWork]:
        """Every piece of work of the account, whatever its type or campaign tag."""

    def answer_fields(self, agents: int = ...) -> tuple[str, ...]: ...

    def external_base_url(self) -> str: ...

    def qualification_problems(self) -> tuple[list[str], list[str], list[str]]:
        """The required qualification types, the custom ones, and the problems of custom ones."""


@dataclass(frozen=True)
class CrowdOptions:
    """What a campaign tells its crowd when opening it; each crowd takes what applies to it.

    `kind` is the page template (`single`, `pairwise`, `multi`); `template_folder` and
    `template_variables` a researcher's own pages (MTurk's HIT pages); `page_url` and
    `estimated_minutes` the study's page and length (Prolific); `allow_spending` lets a person's
    command pay in a profile that does not spend by default."""

    campaign: str
    kind: str = "pairwise"
    template_folder: str | None = None
    template_variables: Mapping[str, Any] = field(default_factory=dict)
    page_url: str | None = None
    estimated_minutes: int = 3
    allow_spending: bool = False


def open_campaign_crowd(name: str, profile: Profile, options: CrowdOptions) -> CampaignCrowd:
    """The campaign loop's crowd of provider `name` (see `CAMPAIGN_CROWDS`), imported on request."""
    crowd: CampaignCrowd = _registered(CAMPAIGN_CROWDS, name).for_campaign(profile, options)
    return crowd


def open_reviewed_crowd(name: str, profile: Profile, options: CrowdOptions) -> ReviewedCrowd:
    """The campaign crowd of provider `name`, as notebook 04's review of single submissions uses it."""
    crowd: ReviewedCrowd = _registered(CAMPAIGN_CROWDS, name).for_campaign(profile, options)
    return crowd


def open_account_crowd(profile: Profile, options: CrowdOptions) -> AccountCrowd:
    """MTurk's campaign crowd as an `AccountCrowd`, for the status lines only it can give."""
    crowd: AccountCrowd = _registered(CAMPAIGN_CROWDS, "mturk").for_campaign(profile, options)
    return crowd


def provider_class(name: str) -> type[Any]:
    """The class of a provider by name, imported on request."""
    return _registered(PROVIDERS, name)


def _registered(registry: Mapping[str, str], name: str) -> type[Any]:
    """The class a registry names `module:Class` for provider `name`, imported on request; an
    unknown name is refused with the names known."""
    target = registry.get(name)
    if target is None:
        raise UnknownProvider(f"unknown crowd provider '{name}' (known: {', '.join(sorted(registry))})")
    module, _, attribute = target.partition(":")
    found: type[Any] = getattr(import_module(module), attribute)
    return found


def open_provider(name: str, profile: Profile, **options: Any) -> CrowdProvider:
    """The provider `name` over a profile's clients (`options` go to its `open`)."""
    provider: CrowdProvider = provider_class(name).open(profile, **options)
    return provider
