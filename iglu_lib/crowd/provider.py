"""Put a static task on the crowd platform: one ExternalQuestion HIT per unit, over `HitManager`.

The MTurk plumbing (retried calls, idempotent HIT creation tagged with `RequesterAnnotation`,
assignment listing, approve/reject and the spending guard) is the project's `HitManager`;
this module adds only what the crowd task needs on top of it:

- `OnboardingQualification` (`iglu_lib.mturk.onboarding`) mirrors the task server's onboarding
  results as Mephisto does, in two qualification types; a failed worker is not even shown the
  task's HITs. A new worker accepts a HIT and does the onboarding inside it, under the worker
  id the service confirms (`iglu_lib.crowd.verify`), never one typed into the URL.
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
from iglu_lib.crowd.server import TaskApp
from iglu_lib.crowd.task import CrowdTask
from iglu_lib.crowd.task_review import Reasons, TaskReview
from iglu_lib.crowd.verify import AssignmentVerifier
from iglu_lib.mturk.manager import HitManager, MTurkError
from iglu_lib.mturk.onboarding import OnboardingQualification, ProviderError
from iglu_lib.mturk.provider import MTurkProvider
from iglu_lib.mturk.questions import external_question
from iglu_lib.mturk.work_checks import REVIEWED, state

if TYPE_CHECKING:
    from iglu_lib.config import Profile
    from iglu_lib.providers import Submitted

LOG = logging.getLogger(__name__)
#: Kept importable from here: the onboarding gate's MTurk side lives in `iglu_lib.mturk.onboarding`.
__all__ = ["OnboardingQualification", "ProviderError", "StaticTaskProvider", "crowd_task_manager"]

#: The `RequesterAnnotation` HIT type of crowd-task HITs (the campaign is the task's name).
HIT_TYPE = "crowd_task"
#: Height of the task page's frame on the worker's HIT page.
FRAME_HEIGHT = 800
NO_DATA_REASON = "No task data reached our task server for this assignment, so there is nothing to pay for."
WORKER_MISMATCH_REASON = (
    "The work our task server recorded for this assignment was sent under another worker id than yours, "
    "so it cannot be paid."
)
APPROVAL_FEEDBACK = "Thank you for your work."
UNIT_MISMATCH_REASON = "The work recorded for this assignment is for another unit than its HIT's, so it cannot be paid."


def crowd_task_manager(profile: Profile, task: CrowdTask) -> HitManager:
    """The `HitManager` of a task's HITs: type `crowd_task`, the task's name as campaign."""
    return HitManager.open(profile, hit_type=HIT_TYPE, campaign=task.name)


class StaticTaskProvider(TaskReview):
    """Launch, follow and settle the HITs of a static task run through a `HitManager`; the
    review is `TaskReview`'s over the MTurk provider."""

    reasons = Reasons(NO_DATA_REASON, WORKER_MISMATCH_REASON, UNIT_MISMATCH_REASON)
    refused = (MTurkError,)
    qualification: OnboardingQualification | None

    def __init__(self, manager: HitManager, task: CrowdTask, db: CrowdDB) -> None:
        self.manager = manager
        self.mturk = MTurkProvider(manager, approval_feedback=APPROVAL_FEEDBACK)
        self.crowd = self.mturk
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
            assignments = self.manager.assignments(unit["hit_id"], REVIEWED)
            rows.append({
                "unit_id": unit["unit_id"],
                "hit_id": unit["hit_id"],
                "hit_status": hit.status,
                "available": hit.available,
                "pending": hit.pending,
                "completed": hit.completed,
                "assignments": {a.assignment_id: state(a.status) for a in assignments},
            })
        return rows

    # -- settle (`TaskReview.review`) ----------------------------------------------
    def _adopt(self, task_run_id: str, waiting: list[Submitted]) -> None:
        """Rows made from what the service reports, for assignments the server never saw opened
        (their work is then missing, and they are rejected as such)."""
        units = {str(u["hit_id"]): u for u in self.db.units(task_run_id) if u["hit_id"]}
        for submission in waiting:
            unit = units.get(submission.work_id)
            if unit is not None and self.db.assignment(submission.submission_id) is None:
                self.db.open_assignment(submission.submission_id, unit["task_run_id"], unit["unit_id"],
                                        unit["hit_id"], submission.worker_id)

    def verifier(self) -> AssignmentVerifier:
        """The task server's check of each request's assignment with MTurk."""
        return AssignmentVerifier(self.mturk)

    def task_app(self, base: TaskApp) -> TaskApp:
        """The task server's handlers, as they are (a HIT's unit is known from its URL)."""
        return base
