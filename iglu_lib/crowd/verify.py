"""Who is really working: an assignment checked with the crowd platform, not taken from the URL.

MTurk adds `assignmentId`, `hitId` and `workerId` to a HIT's ExternalQuestion URL, and anyone
can type other values. The task server therefore asks the service:

- `GetAssignment`: the assignment must belong to the HIT and to the worker the request names,
  in one of the statuses the caller allows. This is the full check.
- The service answers `GetAssignment` only once an assignment is submitted (MTurk: "can be
  called with a status of Reviewable, Approved, Rejected"; the local server does the same). While
  a worker is still working, the strongest check the service offers is `GetHIT`: the HIT must be
  one of ours and hold an accepted assignment (`NumberOfAssignmentsPending`). The caller then
  binds that pending slot to the first assignment and worker that claim it (`Verdict.pending`),
  so a second, made-up assignment id for the same slot is refused and the worker id cannot
  change afterwards; `iglu crowd review` re-checks the worker with `GetAssignment` before paying.
  A claim ends when its worker is refused or submits, when its duration runs out, or when the
  HIT is previewed while the service shows nobody holding it (the worker returned it).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from iglu_lib.crowd.db import SUBMITTED, WORKING
from iglu_lib.errors import IgluError

if TYPE_CHECKING:
    from iglu_lib.mturk.work_checks import SeenAssignment, WorkHolding

LOG = logging.getLogger(__name__)

#: MTurk ids are 30-ish upper-case letters and digits; anything else is refused before any call.
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
PREVIEW_ASSIGNMENT = "ASSIGNMENT_ID_NOT_AVAILABLE"
#: What a page that takes work accepts by default: work in progress, or submitted (a reload).
OPEN_STATES = (WORKING, SUBMITTED)


class NotVerified(IgluError):
    """The assignment could not be confirmed; the message is shown to the person."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Verdict:
    """What the service confirmed: the real worker and HIT and the assignment's state (ours:
    `working`, `submitted`, ...); `pending` when it could only confirm that the HIT holds an
    accepted assignment (the caller must bind the slot to the first claim)."""

    assignment_id: str
    hit_id: str
    worker_id: str
    status: str
    pending: int = 0
    duration_seconds: int = 0

    @property
    def is_pending(self) -> bool:
        return self.status == WORKING


class Verifier(Protocol):
    """What the task server asks of a crowd service about the ids a request carries."""

    def verify(self, assignment_id: str, hit_id: str, worker_id: str,
               statuses: Collection[str] = OPEN_STATES) -> Verdict:
        """The verdict on a request's ids, or `NotVerified` saying why it is refused."""

    def nobody_holds(self, hit_id: str) -> bool:
        """True when the service shows nobody working on the HIT (claims on it can go)."""


class AssignmentChecks(Protocol):
    """What MTurk can confirm (`iglu_lib.mturk.provider.MTurkProvider`), in neutral values."""

    def seen(self, submission_id: str) -> SeenAssignment | None:
        """The assignment once submitted; None while the service does not show it."""

    def holding(self, work_id: str) -> WorkHolding:
        """The HIT's accepted assignments now, and for how long each may be held."""


def checked_id(value: str, name: str) -> str:
    """A bounded id from a request, or `NotVerified` (400) naming the parameter."""
    value = (value or "").strip()
    if not ID_PATTERN.fullmatch(value):
        raise NotVerified(f"{name} is missing or malformed; open this page from the HIT on the crowd platform.", 400)
    return value


UNREACHABLE = "The crowd platform could not be reached to check your assignment; reload in a minute."


class AssignmentVerifier:
    """Checks assignments with MTurk through `AssignmentChecks` (retried calls, neutral answers)."""

    def __init__(self, checks: AssignmentChecks) -> None:
        self.checks = checks

    def verify(self, assignment_id: str, hit_id: str, worker_id: str,
               statuses: Collection[str] = OPEN_STATES) -> Verdict:
        """The verdict on a request's ids, or `NotVerified` saying why it is refused."""
        from iglu_lib.mturk.work_checks import Unreachable

        assignment_id = checked_id(assignment_id, "assignmentId")
        hit_id = checked_id(hit_id, "hitId")
        worker_id = checked_id(worker_id, "workerId")
        try:
            found = self.checks.seen(assignment_id)
        except Unreachable as err:
            LOG.warning("could not check assignment %s with the platform: %s", assignment_id, err)
            raise NotVerified(UNREACHABLE, 503) from None
        if found is None:
            return self._pending(assignment_id, hit_id, worker_id, statuses)
        if found.work_id != hit_id:
            raise NotVerified("This assignment belongs to another HIT; open the task from the HIT you accepted.")
        if found.worker_id != worker_id:
            raise NotVerified("This assignment belongs to another worker; open the task from your own HIT page.")
        if found.state not in statuses:
            raise NotVerified(f"This assignment is {found.state}: it takes no more work here.", 409)
        return Verdict(assignment_id, hit_id, worker_id, found.state)

    def _pending(self, assignment_id: str, hit_id: str, worker_id: str, statuses: Collection[str]) -> Verdict:
        """Not shown as submitted: accepted and still in progress, or made up."""
        from iglu_lib.mturk.work_checks import Unreachable

        if WORKING not in statuses:
            raise NotVerified("The crowd platform does not know this assignment as submitted.")
        try:
            holding = self.checks.holding(hit_id)
        except Unreachable:
            raise NotVerified(UNREACHABLE, 503) from None
        if not holding.known:
            raise NotVerified("The crowd platform does not know this HIT.")
        if holding.pending < 1:
            raise NotVerified("The crowd platform shows no accepted assignment on this HIT; accept the HIT first.")
        return Verdict(assignment_id, hit_id, worker_id, WORKING, holding.pending, holding.duration_seconds)

    def nobody_holds(self, hit_id: str) -> bool:
        """True when the service shows no accepted assignment on the HIT (claims on it can go).

        Asked when a HIT with an open claim is previewed: a worker who returned the HIT leaves
        no other trace, and the next worker usually previews before accepting.
        """
        from iglu_lib.mturk.work_checks import Unreachable

        if not ID_PATTERN.fullmatch(hit_id or ""):
            return False
        try:
            holding = self.checks.holding(hit_id)
        except Unreachable:
            return False
        return holding.known and holding.pending == 0
