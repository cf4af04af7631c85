"""Put a static task on the crowd platform: one ExternalQuestion HIT per unit, over `HitManager`.

The MTurk plumbing (retried calls, idempotent HIT creation tagged with `RequesterAnnotation`,
assignment listing, approve/reject and the spending guard) is the project's `HitManager`;
this module adds only what the crowd task needs on top of it:

- `OnboardingQualification` mirrors the task server's onboarding results: the
  `onboarding_qualification` type is created once (found again by name), a worker's score is
  1 when they passed and 0 when they failed, and every HIT requires `NotEqualTo 0` for
  `Accept`. Zero is the one value that means "failed", so the requirement keeps out exactly
  the workers who failed and lets any other score through (graded scores later need no change).
  MTurk counts a worker with no value as not meeting any comparator but `DoesNotExist`, so
  the type is auto-granted with the value 1 (a new worker receives it when they ask for the
  HIT, then does the onboarding inside it) and the task server also offers the onboarding
  on the preview when the platform passes the worker id there, as the local server does.
- `StaticTaskProvider` launches, follows and settles the HITs of one task run and keeps
  the SQLite records in step. Title, description, reward and keywords come from the task
  config, not the profile, so they are passed to `create_hit` as overrides.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from iglu_lib.crowd.db import CrowdDB
from iglu_lib.crowd.task import CrowdTask
from iglu_lib.mturk.manager import Assignment, HitManager, MTurkError
from iglu_lib.mturk.qualifications import grant
from iglu_lib.mturk.qualifications import score as qualification_score
from iglu_lib.mturk.templates import external_question

#: The `RequesterAnnotation` HIT type of crowd-task HITs (the campaign is the task's name).
HIT_TYPE = "crowd_task"
PASSED_SCORE = 1
FAILED_SCORE = 0
#: Height of the task page's frame on the worker's HIT page.
FRAME_HEIGHT = 800
MTURK_WORKER_SITES = ("https://www.mturk.com", "https://workersandbox.mturk.com")
NO_DATA_REASON = "No task data reached our task server for this assignment, so there is nothing to pay for."
ASSIGNMENT_STATES = ("Submitted", "Approved", "Rejected")


class ProviderError(MTurkError):
    """The crowd platform cannot do what the task needs; the message says what to do."""


def worker_submit_origins(profile: Any) -> list[str]:
    """Where the platform's `turkSubmitTo` may point: the local server, or MTurk's worker sites."""
    if profile.is_local:
        endpoint = profile.endpoint("mturk")
        parts = urlsplit(endpoint)
        return [f"{parts.scheme}://{parts.netloc}"]
    return list(MTURK_WORKER_SITES)


def crowd_task_manager(profile: Any, task: CrowdTask) -> HitManager:
    """The `HitManager` of a task's HITs: type `crowd_task`, the task's name as campaign."""
    return HitManager(profile, hit_type=HIT_TYPE, campaign=task.name)


class OnboardingQualification:
    """The `onboarding_qualification` on the platform: 1 passed, 0 failed, failed cannot accept."""

    def __init__(self, manager: HitManager, name: str, db: CrowdDB | None = None) -> None:
        self.manager = manager
        self.name = name
        self.db = db
        self.type_id: str | None = None

    @property
    def endpoint(self) -> str:
        """The platform's address: a type id remembered for one platform is not asked of another."""
        return str(getattr(getattr(self.manager.client, "meta", None), "endpoint_url", ""))

    def ensure(self) -> str:
        """The qualification type's id: remembered, created, or found by name (in that order)."""
        if self.type_id:
            return self.type_id
        type_id = self._remembered() or self._create() or self._find()
        if type_id is None:
            raise ProviderError(
                f"qualification type '{self.name}' exists on the platform but could not be listed; "
                "rename mephisto.blueprint.onboarding_qualification or give the records file that created it (--db)"
            )
        self.type_id = type_id
        if self.db is not None:
            self.db.remember_qualification_type(self.name, self.endpoint, type_id)
        return type_id

    def _remembered(self) -> str | None:
        type_id = self.db.qualification_type_id(self.name, self.endpoint) if self.db is not None else None
        if type_id is None:
            return None
        try:
            self.manager.call("get_qualification_type", QualificationTypeId=type_id)
        except MTurkError:
            return None  # the platform forgot it (a fresh local stack): make it again
        return type_id

    def _create(self) -> str | None:
        try:
            created = self.manager.call(
                "create_qualification_type",
                Name=self.name,
                Description=f"Onboarding result of the task using '{self.name}': 1 passed, 0 failed.",
                QualificationTypeStatus="Active",
                AutoGranted=True,
                AutoGrantedValue=PASSED_SCORE,
            )
        except MTurkError as err:
            if "already" in str(err).lower():
                return None
            raise
        return created["QualificationType"]["QualificationTypeId"]

    def _find(self) -> str | None:
        token: str | None = None
        while True:
            try:
                page = self.manager.call(
                    "list_qualification_types",
                    Query=self.name, MustBeRequestable=False, MustBeOwnedByCaller=True, MaxResults=100,
                    **({"NextToken": token} if token else {}),
                )
            except MTurkError:
                return None
            for qualification in page.get("QualificationTypes", []):
                if qualification.get("Name") == self.name:
                    return qualification["QualificationTypeId"]
            token = page.get("NextToken")
            if not token:
                return None

    def requirement(self) -> dict[str, Any]:
        """What every HIT of the task requires: not a failed onboarding, to accept."""
        return {
            "QualificationTypeId": self.ensure(),
            "Comparator": "NotEqualTo",
            "IntegerValues": [FAILED_SCORE],
            "ActionsGuarded": "Accept",
        }

    def record(self, worker_id: str, passed: bool) -> None:
        """Mirror one worker's result (the task server's `on_onboarding` hook)."""
        grant(self.manager, self.ensure(), worker_id, PASSED_SCORE if passed else FAILED_SCORE)

    def score(self, worker_id: str) -> int | None:
        """The worker's score on the platform, or None when they have none."""
        return qualification_score(self.manager, self.ensure(), worker_id)


class StaticTaskProvider:
    """Launch, follow and settle the HITs of a static task run through a `HitManager`."""

    def __init__(self, manager: HitManager, task: CrowdTask, db: CrowdDB) -> None:
        self.manager = manager
        self.task = task
        self.db = db
        name = task.config.onboarding_qualification
        self.qualification = OnboardingQualification(manager, name, db) if task.config.has_onboarding and name else None

    @classmethod
    def from_profile(cls, profile: Any, task: CrowdTask, db: CrowdDB) -> StaticTaskProvider:
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
        for assignment, unit in submitted:
            if self.db.assignment(assignment.assignment_id) is None:
                self.db.open_assignment(assignment.assignment_id, unit["task_run_id"], unit["unit_id"],
                                        unit["hit_id"], assignment.worker_id)
        paid = [pair for pair in submitted if self.db.submission(pair[0].assignment_id) is not None]
        unpaid = [pair for pair in submitted if self.db.submission(pair[0].assignment_id) is None]
        decisions = [self._approve(a, u, allow_spending) for a, u in paid]
        decisions += [self._reject(a, u) for a, u in unpaid]
        self.sync_onboarding()
        return decisions

    def _approve(self, assignment: Assignment, unit: dict[str, Any], allow_spending: bool) -> dict[str, Any]:
        self.manager.approve(assignment.assignment_id, "Thank you for your work.", allow_spending=allow_spending)
        return self._decided(assignment, unit, "Approved", None)

    def _reject(self, assignment: Assignment, unit: dict[str, Any]) -> dict[str, Any]:
        self.manager.reject(assignment.assignment_id, NO_DATA_REASON)
        return self._decided(assignment, unit, "Rejected", NO_DATA_REASON)

    def _decided(self, assignment: Assignment, unit: dict[str, Any], decision: str, reason: str | None) -> dict[str, Any]:
        self.db.set_assignment_status(assignment.assignment_id, decision, reason)
        return {"assignment_id": assignment.assignment_id, "worker_id": assignment.worker_id,
                "unit_id": unit["unit_id"], "decision": decision, "reason": reason}

    def sync_onboarding(self) -> int:
        """Mirror every onboarding result not yet on the platform; returns how many."""
        if self.qualification is None:
            return 0
        pending = self.db.unsynced_onboarding(self.qualification.name)
        for record in pending:
            self.qualification.record(record.worker_id, record.passed)
            self.db.mark_onboarding_synced(record.worker_id, record.qualification)
        return len(pending)
