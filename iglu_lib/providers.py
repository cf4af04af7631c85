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

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import import_module
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from iglu_lib.errors import IgluError

if TYPE_CHECKING:
    from iglu_lib.config import Profile

#: The provider a campaign uses when it names none.
DEFAULT_PROVIDER = "mturk"

#: Known providers: name -> "module:Class" (loaded on request; see `open_provider`).
PROVIDERS: dict[str, str] = {
    "mturk": "iglu_lib.mturk.provider:MTurkProvider",
    "prolific": "iglu_lib.prolific.provider:ProlificProvider",
}


class UnknownProvider(IgluError):
    """A campaign or command names a provider that does not exist."""


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


def provider_class(name: str) -> type[Any]:
    """The class of a provider by name, imported on request."""
    target = PROVIDERS.get(name)
    if target is None:
        raise UnknownProvider(f"unknown crowd provider '{name}' (known: {', '.join(sorted(PROVIDERS))})")
    module, _, attribute = target.partition(":")
    found: type[Any] = getattr(import_module(module), attribute)
    return found


def open_provider(name: str, profile: Profile, **options: Any) -> CrowdProvider:
    """The provider `name` over a profile's clients (`options` go to its `open`)."""
    provider: CrowdProvider = provider_class(name).open(profile, **options)
    return provider
