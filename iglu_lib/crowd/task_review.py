"""Reviewing a droidlet crowd task's work, the same on every crowd, over `CrowdProvider`.

Both crowd-task providers (`StaticTaskProvider`: HITs on MTurk, `ProlificTaskProvider`: a study
on Prolific) settle work the same way, so it is written once here in the provider interface's
nouns (`iglu_lib.providers`): every submission the crowd shows awaiting review is approved when
the task server recorded its work, sent by the worker the crowd names, for the unit the
submission opened; otherwise it is rejected with a reason the worker reads. Only submissions
still awaiting review are acted on, so a second review pays or rejects nothing twice; approvals
go first, so a profile that does not spend money refuses the first one before any work is
settled. Onboarding results the task server could not mirror at the time are mirrored here.

What differs by crowd is given by the subclass: the reasons' wording (Prolific asks for at
least 100 characters), the rejection category, the errors a refused mirror raises, and rows
for submissions the task server never saw opened (`_adopt`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from iglu_lib.crowd.db import APPROVED, REJECTED, CrowdDB
from iglu_lib.crowd.onboarding import OnboardingGate, mirror_onboarding

if TYPE_CHECKING:
    from collections.abc import Iterable

    from iglu_lib.crowd.server import TaskApp
    from iglu_lib.crowd.verify import Verifier
    from iglu_lib.providers import CrowdProvider, Submitted


@dataclass(frozen=True)
class Reasons:
    """What a worker reads when their submission is rejected, by cause."""

    no_data: str
    worker_mismatch: str
    unit_mismatch: str


class TaskProvider(Protocol):
    """What a task run (`iglu_lib.crowd.session.TaskRun`) asks of a crowd-task provider, so a
    run is wired the same whichever crowd it is on."""

    @property
    def qualification(self) -> OnboardingGate | None:
        """The task's onboarding gate on the crowd, when the task has onboarding."""

    def verifier(self) -> Verifier:
        """The task server's check of each request's ids with the crowd."""

    def task_app(self, base: TaskApp) -> TaskApp:
        """The task server's handlers on this crowd (`base`, or a subclass around it)."""

    def launch(self, task_run_id: str, server_url: str, unit_ids: Iterable[int] | None = None,
               allow_spending: bool = False) -> list[dict[str, Any]]:
        """Put the run's units not launched yet on the crowd."""

    def status(self, task_run_id: str) -> list[dict[str, Any]]:
        """Each unit's work on the crowd, submissions by state (our words)."""

    def review(self, task_run_id: str, allow_spending: bool = False) -> list[dict[str, Any]]:
        """Approve or reject every submission awaiting review."""


class TaskReview:
    """The review of a task run's work over `crowd` (see the module docstring)."""

    crowd: CrowdProvider
    db: CrowdDB
    qualification: OnboardingGate | None
    reasons: Reasons
    #: Errors of a crowd refusing to mirror one onboarding result (left for the next review).
    refused: tuple[type[Exception], ...] = ()

    def work_ids(self, task_run_id: str) -> list[str]:
        """The run's pieces of work on the crowd (HITs, the study), in the order of their units."""
        return list(dict.fromkeys(str(u["hit_id"]) for u in self.db.units(task_run_id) if u["hit_id"]))

    def review(self, task_run_id: str, allow_spending: bool = False) -> list[dict[str, Any]]:
        """Approve submissions whose work was recorded, reject the others with a reason; returns
        `{"assignment_id", "worker_id", "unit_id", "decision", "reason"}` per submission settled."""
        waiting = [s for work_id in self.work_ids(task_run_id) for s in self.crowd.submitted(work_id) if s.needs_review]
        self._adopt(task_run_id, waiting)
        verdicts = [(submission, self._problem(submission)) for submission in waiting]
        decisions = [self._approve(s, allow_spending) for s, problem in verdicts if problem is None]
        decisions += [self._reject(s, problem) for s, problem in verdicts if problem is not None]
        self.sync_onboarding()
        return decisions

    def _adopt(self, task_run_id: str, waiting: list[Submitted]) -> None:
        """Rows for submissions the task server never saw opened (none by default)."""

    def _problem(self, submission: Submitted) -> str | None:
        """Why a submission is not paid, or None: the recorded work must be this submission's,
        sent by the worker the crowd names, for the unit the submission opened."""
        stored = self.db.submission(submission.submission_id)
        opened = self.db.assignment(submission.submission_id)
        if stored is None or opened is None:
            return self.reasons.no_data
        if stored["worker_id"] != submission.worker_id:
            return self.reasons.worker_mismatch
        if int(stored["unit_id"]) != int(opened["unit_id"]):
            return self.reasons.unit_mismatch
        return None

    def rejection_category(self, reason: str) -> str:
        """The crowd's category of a rejection for `reason` (MTurk has none)."""
        return ""

    def _approve(self, submission: Submitted, allow_spending: bool) -> dict[str, Any]:
        self.crowd.approve(submission.submission_id, allow_spending=allow_spending)
        return self._decided(submission, APPROVED, None)

    def _reject(self, submission: Submitted, reason: str) -> dict[str, Any]:
        self.crowd.reject(submission.submission_id, reason, self.rejection_category(reason))
        return self._decided(submission, REJECTED, reason)

    def _decided(self, submission: Submitted, decision: str, reason: str | None) -> dict[str, Any]:
        """Record the decision on the submission's row (one that never opened the task has none)."""
        self.db.set_assignment_status(submission.submission_id, decision, reason)
        opened = self.db.assignment(submission.submission_id)
        return {"assignment_id": submission.submission_id, "worker_id": submission.worker_id,
                "unit_id": opened["unit_id"] if opened else None, "decision": decision, "reason": reason}

    def sync_onboarding(self) -> int:
        """Mirror every onboarding result not yet on the crowd service; returns how many were."""
        if self.qualification is None:
            return 0
        return mirror_onboarding(self.db, self.qualification, self.refused)
