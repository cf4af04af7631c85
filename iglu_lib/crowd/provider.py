"""Put a static task on the crowd platform: one ExternalQuestion HIT per unit, over `HitManager`.

The MTurk plumbing (retried calls, idempotent HIT creation tagged with `RequesterAnnotation`,
assignment listing, approve/reject and the spending guard) is the project's `HitManager`;
this module adds only what the crowd task needs on top of it:

- `OnboardingQualification` mirrors the task server's onboarding results as Mephisto does:
  the `onboarding_qualification` type records 1 (passed) or 0 (failed), and a worker who failed
  is granted `<name>-failed`, which every HIT requires not to exist on
  DiscoverPreviewAndAccept, so a failed worker is not even shown the task's HITs. A new
  worker accepts a HIT and does the onboarding inside it, under the worker id the service
  confirms (`iglu_lib.crowd.verify`), never one typed into the URL.
- `StaticTaskProvider` launches, follows and settles the HITs of one task run and keeps
  the SQLite records in step. Title, description, reward and keywords come from the task
  config, not the profile, so they are passed to `create_hit` as overrides.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from iglu_lib.crowd.db import CrowdDB
from iglu_lib.crowd.onboarding import mirror_onboarding
from iglu_lib.crowd.task import CrowdTask
from iglu_lib.mturk.manager import Assignment, HitManager, MTurkError
from iglu_lib.mturk.qualifications import grant
from iglu_lib.mturk.qualifications import score as qualification_score
from iglu_lib.mturk.questions import external_question

if TYPE_CHECKING:
    from iglu_lib.config import Profile

LOG = logging.getLogger(__name__)

#: The `RequesterAnnotation` HIT type of crowd-task HITs (the campaign is the task's name).
HIT_TYPE = "crowd_task"
PASSED_SCORE = 1
FAILED_SCORE = 0
#: Height of the task page's frame on the worker's HIT page.
FRAME_HEIGHT = 800
NO_DATA_REASON = "No task data reached our task server for this assignment, so there is nothing to pay for."
WORKER_MISMATCH_REASON = (
    "The work our task server recorded for this assignment was sent under another worker id than yours, "
    "so it cannot be paid."
)
UNIT_MISMATCH_REASON = "The work recorded for this assignment is for another unit than its HIT's, so it cannot be paid."
ASSIGNMENT_STATES = ("Submitted", "Approved", "Rejected")


class ProviderError(MTurkError):
    """The crowd platform cannot do what the task needs; the message says what to do."""


def crowd_task_manager(profile: Profile, task: CrowdTask) -> HitManager:
    """The `HitManager` of a task's HITs: type `crowd_task`, the task's name as campaign."""
    return HitManager.open(profile, hit_type=HIT_TYPE, campaign=task.name)


def failed_qualification_name(name: str) -> str:
    """Mephisto's name for the qualification of workers who failed an onboarding."""
    return f"{name}-failed"


class OnboardingQualification:
    """The onboarding result on the platform, as Mephisto keeps it.

    `name` records the result (1 passed, 0 failed); `<name>-failed` is granted to a worker who
    failed, and every HIT of the task requires it not to exist on DiscoverPreviewAndAccept, so
    the task's HITs are not even listed for them, nor can they preview or accept one.
    """

    def __init__(self, manager: HitManager, name: str, db: CrowdDB | None = None) -> None:
        self.manager = manager
        self.name = name
        self.failed_name = failed_qualification_name(name)
        self.db = db
        self.type_id: str | None = None
        self.failed_type_id: str | None = None

    @property
    def endpoint(self) -> str:
        """The platform's address: a type id remembered for one platform is not asked of another."""
        return str(getattr(getattr(self.manager.client, "meta", None), "endpoint_url", ""))

    def ensure(self) -> str:
        """The result type's id: remembered, created, or found by name (in that order)."""
        if not self.type_id:
            self.type_id = self._ensure(self.name, f"Onboarding result of the task using '{self.name}': 1 passed, 0 failed.")
        return self.type_id

    def ensure_failed(self) -> str:
        """The `-failed` type's id (granted only to workers who failed the onboarding)."""
        if not self.failed_type_id:
            self.failed_type_id = self._ensure(
                self.failed_name, f"Failed the onboarding of the task using '{self.name}'; its HITs are not shown.")
        return self.failed_type_id

    def _ensure(self, name: str, description: str) -> str:
        type_id = self._remembered(name) or self._create(name, description) or self._find(name)
        if type_id is None:
            raise ProviderError(
                f"qualification type '{name}' exists on the platform but could not be listed; "
                "rename mephisto.blueprint.onboarding_qualification or give the records file that created it (--db)"
            )
        if self.db is not None:
            self.db.remember_qualification_type(name, self.endpoint, type_id)
        return type_id

    def _remembered(self, name: str) -> str | None:
        type_id = self.db.qualification_type_id(name, self.endpoint) if self.db is not None else None
        if type_id is None:
            return None
        try:
            self.manager.call("get_qualification_type", QualificationTypeId=type_id)
        except MTurkError:
            return None  # the platform forgot it (a fresh local stack): make it again
        return type_id

    def _create(self, name: str, description: str) -> str | None:
        try:
            created = self.manager.call(
                "create_qualification_type", Name=name, Description=description, QualificationTypeStatus="Active",
            )
        except MTurkError as err:
            if "already" in str(err).lower():
                return None
            raise
        return created["QualificationType"]["QualificationTypeId"]

    def _find(self, name: str) -> str | None:
        token: str | None = None
        while True:
            try:
                page = self.manager.call(
                    "list_qualification_types",
                    Query=name, MustBeRequestable=False, MustBeOwnedByCaller=True, MaxResults=100,
                    **({"NextToken": token} if token else {}),
                )
            except MTurkError:
                return None
            for qualification in page.get("QualificationTypes", []):
                if qualification.get("Name") == name:
                    return qualification["QualificationTypeId"]
            token = page.get("NextToken")
            if not token:
                return None

    def requirement(self) -> dict[str, Any]:
        """What every HIT of the task requires: no failed onboarding, to be listed, previewed or accepted."""
        return {
            "QualificationTypeId": self.ensure_failed(),
            "Comparator": "DoesNotExist",
            "ActionsGuarded": "DiscoverPreviewAndAccept",
        }

    def record(self, worker_id: str, passed: bool) -> None:
        """Mirror one worker's result (the task server's `on_onboarding` hook)."""
        if not passed:
            grant(self.manager, self.ensure_failed(), worker_id, 1)
        grant(self.manager, self.ensure(), worker_id, PASSED_SCORE if passed else FAILED_SCORE)

    def score(self, worker_id: str) -> int | None:
        """The worker's result on the platform, or None when they have none."""
        return qualification_score(self.manager, self.ensure(), worker_id)

    def has_failed(self, worker_id: str) -> bool:
        return qualification_score(self.manager, self.ensure_failed(), worker_id) is not None


class StaticTaskProvider:
    """Launch, follow and settle the HITs of a static task run through a `HitManager`."""

    def __init__(self, manager: HitManager, task: CrowdTask, db: CrowdDB) -> None:
        self.manager = manager
        self.task = task
        self.db = db
        name = task.config.onboarding_qualification
        self.qualification = OnboardingQualification(manager, name, db) if task.config.has_onboarding and name else None

    @classmethod
    def from_profile(cls, profile: Profile, task: CrowdTask, db: CrowdDB) -> StaticTaskProvider:
        return cls(crowd_task_manager(profile, task), task, db)

    # -- launch ----------------------------------------------------------------------
    def launch(self, task_run_id: str, server_url: str, unit_ids: Iterable[int] | None = None,
               allow_spending: bool = False) -> list[dict[str, Any]]:
        """One HIT per unit not launched yet; returns `{"unit_id", "hit_id", "url"}` per HIT made.

        A profile with `spend_money: false` refuses the first HIT (`SpendingRefused`) unless
        `allow_spending` is given, so a refused launch makes none.
        """
        wanted = None if unit_ids is None else set(unit_ids)
        pending = [
            unit for unit in self.db.units(task_run_id)
            if not unit["hit_id"] and (wanted is None or unit["unit_id"] in wanted)
        ]
        if not pending:
            return []
        settings = self._hit_settings()
        launched = []
        for unit in pending:
            url = f"{server_url.rstrip('/')}/task?unit_id={unit['unit_id']}"
            token = hashlib.sha256(f"{task_run_id}:{unit['unit_id']}".encode()).hexdigest()
            hit = self.manager.create_hit(question=external_question(url, FRAME_HEIGHT), unique_request_token=token,
                                          allow_spending=allow_spending, **settings)
            self.db.record_hit(task_run_id, unit["unit_id"], hit.hit_id, hit.hit_type_id or None)
            launched.append({"unit_id": unit["unit_id"], "hit_id": hit.hit_id, "url": url})
        return launched

    def _hit_settings(self) -> dict[str, Any]:
        """`create_hit` overrides: the task config's title, reward, ... and the onboarding requirement."""
        config = self.task.config
        settings: dict[str, Any] = {
            "title": config.title,
            "description": config.description,
            "reward": config.reward,
            "keywords": tuple(config.tags),
            "max_assignments": 1,
        }
        if config.assignment_duration_seconds:
            settings["assignment_duration_seconds"] = config.assignment_duration_seconds
        if self.qualification is not None:
            settings["extra_qualification_requirements"] = [self.qualification.requirement()]
        return settings

    # -- follow ----------------------------------------------------------------------
    def status(self, task_run_id: str) -> list[dict[str, Any]]:
        """Each launched unit: its HIT's state on the platform and its assignments."""
        rows = []
        for unit in self.db.units(task_run_id):
            if not unit["hit_id"]:
                rows.append({"unit_id": unit["unit_id"], "hit_id": None, "hit_status": "not launched"})
                continue
            hit = self.manager.get_hit(unit["hit_id"])
            assignments = self.manager.assignments(unit["hit_id"], ASSIGNMENT_STATES)
            rows.append({
                "unit_id": unit["unit_id"],
                "hit_id": unit["hit_id"],
                "hit_status": hit.status,
                "available": hit.available,
                "pending": hit.pending,
                "completed": hit.completed,
                "assignments": {a.assignment_id: a.status for a in assignments},
            })
        return rows

    # -- settle ----------------------------------------------------------------------
    def review(self, task_run_id: str, allow_spending: bool = False) -> list[dict[str, Any]]:
        """Approve submitted work the task server recorded, reject work it never received.

        Work is paid only when the worker the service names for the assignment is the worker
        whose work was recorded, for the unit of the assignment's HIT (`_problem`); otherwise it
        is rejected with the reason, so no identity typed into a URL is ever paid.

        Only assignments the platform still shows as Submitted are acted on, so running the
        review again never pays or rejects twice. Approvals go first: a profile that does not
        spend money refuses the first one (`SpendingRefused`) before any work is settled.
        Onboarding results the server could not mirror at the time are mirrored here.
        """
        submitted = [
            (assignment, unit)
            for unit in self.db.units(task_run_id) if unit["hit_id"]
            for assignment in self.manager.assignments(unit["hit_id"], ("Submitted",))
        ]
        for assignment, unit in submitted:  # rows made from what the service reports
            if self.db.assignment(assignment.assignment_id) is None:
                self.db.open_assignment(assignment.assignment_id, unit["task_run_id"], unit["unit_id"],
                                        unit["hit_id"], assignment.worker_id)
        verdicts = [(assignment, unit, self._problem(assignment, unit)) for assignment, unit in submitted]
        decisions = [self._approve(a, u, allow_spending) for a, u, problem in verdicts if problem is None]
        decisions += [self._reject(a, u, problem) for a, u, problem in verdicts if problem is not None]
        self.sync_onboarding()
        return decisions

    def _approve(self, assignment: Assignment, unit: dict[str, Any], allow_spending: bool) -> dict[str, Any]:
        self.manager.approve(assignment.assignment_id, "Thank you for your work.", allow_spending=allow_spending)
        return self._decided(assignment, unit, "Approved", None)

    def _problem(self, assignment: Assignment, unit: dict[str, Any]) -> str | None:
        """Why a submitted assignment is not paid, or None: the recorded work must be this
        assignment's, sent by the worker the service names, for the unit of its HIT."""
        stored = self.db.submission(assignment.assignment_id)
        if stored is None:
            return NO_DATA_REASON
        if stored["worker_id"] != assignment.worker_id:
            return WORKER_MISMATCH_REASON
        if int(stored["unit_id"]) != int(unit["unit_id"]):
            return UNIT_MISMATCH_REASON
        return None

    def _reject(self, assignment: Assignment, unit: dict[str, Any], reason: str) -> dict[str, Any]:
        self.manager.reject(assignment.assignment_id, reason)
        return self._decided(assignment, unit, "Rejected", reason)

    def _decided(self, assignment: Assignment, unit: dict[str, Any], decision: str, reason: str | None) -> dict[str, Any]:
        self.db.set_assignment_status(assignment.assignment_id, decision, reason)
        return {"assignment_id": assignment.assignment_id, "worker_id": assignment.worker_id,
                "unit_id": unit["unit_id"], "decision": decision, "reason": reason}

    def sync_onboarding(self) -> int:
        """Mirror every onboarding result not yet on the crowd service; returns how many were."""
        if self.qualification is None:
            return 0
        return mirror_onboarding(self.db, self.qualification, (MTurkError,))
