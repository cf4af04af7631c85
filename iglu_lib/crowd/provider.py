"""Put a static task on the crowd platform: one ExternalQuestion HIT per unit, over boto3.

A thin layer over the `mturk` client of the profile (the local MTurk server in the local
profile), so that it runs anywhere the client does:

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
  the SQLite records in step.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from iglu_lib.crowd.db import CrowdDB
from iglu_lib.crowd.task import CrowdTask

PASSED_SCORE = 1
FAILED_SCORE = 0
EXTERNAL_QUESTION_SCHEMA = (
    "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2006-07-14/ExternalQuestion.xsd"
)
MTURK_WORKER_SITES = ("https://www.mturk.com", "https://workersandbox.mturk.com")
NO_DATA_REASON = "No task data reached our task server for this assignment, so there is nothing to pay for."


class ProviderError(Exception):
    """The crowd platform refused a request; the message names the call and what to do."""

    user_error = True


def worker_submit_origins(profile: Any) -> list[str]:
    """Where the platform's `turkSubmitTo` may point: the local server, or MTurk's worker sites."""
    if profile.is_local:
        endpoint = profile.endpoint("mturk")
        parts = urlsplit(endpoint)
        return [f"{parts.scheme}://{parts.netloc}"]
    return list(MTURK_WORKER_SITES)


def external_question(url: str, frame_height: int = 800) -> str:
    """The ExternalQuestion XML of a task URL (escaped: `&` in the URL stays well-formed)."""
    return (
        f'<ExternalQuestion xmlns="{EXTERNAL_QUESTION_SCHEMA}">'
        f"<ExternalURL>{html.escape(url, quote=False)}</ExternalURL>"
        f"<FrameHeight>{int(frame_height)}</FrameHeight></ExternalQuestion>"
    )


def _call(client: Any, operation: str, **arguments: Any) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return getattr(client, operation)(**arguments)
    except ClientError as err:
        error = err.response.get("Error", {})
        raise ProviderError(f"{operation}: {error.get('Code', 'error')}: {error.get('Message', err)}") from None
    except BotoCoreError as err:
        raise ProviderError(f"{operation}: {err}; is the crowd platform reachable (`iglu stack status`)?") from None


class OnboardingQualification:
    """The `onboarding_qualification` on the platform: 1 passed, 0 failed, failed cannot accept."""

    def __init__(self, client: Any, name: str, db: CrowdDB | None = None) -> None:
        self.client = client
        self.name = name
        self.db = db
        self.type_id: str | None = None

    @property
    def endpoint(self) -> str:
        return str(getattr(getattr(self.client, "meta", None), "endpoint_url", ""))

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
            _call(self.client, "get_qualification_type", QualificationTypeId=type_id)
        except ProviderError:
            return None  # the platform forgot it (a fresh local stack): make it again
        return type_id

    def _create(self) -> str | None:
        try:
            created = _call(
                self.client, "create_qualification_type",
                Name=self.name,
                Description=f"Onboarding result of the task using '{self.name}': 1 passed, 0 failed.",
                QualificationTypeStatus="Active",
                AutoGranted=True,
                AutoGrantedValue=PASSED_SCORE,
            )
        except ProviderError as err:
            if "already" in str(err).lower():
                return None
            raise
        return created["QualificationType"]["QualificationTypeId"]

    def _find(self) -> str | None:
        token: str | None = None
        while True:
            try:
                page = _call(
                    self.client, "list_qualification_types",
                    Query=self.name, MustBeRequestable=False, MustBeOwnedByCaller=True, MaxResults=100,
                    **({"NextToken": token} if token else {}),
                )
            except ProviderError:
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
        _call(
            self.client, "associate_qualification_with_worker",
            QualificationTypeId=self.ensure(),
            WorkerId=worker_id,
            IntegerValue=PASSED_SCORE if passed else FAILED_SCORE,
            SendNotification=False,
        )

    def score(self, worker_id: str) -> int | None:
        """The worker's score on the platform, or None when they have none."""
        from botocore.exceptions import ClientError

        try:
            found = self.client.get_qualification_score(QualificationTypeId=self.ensure(), WorkerId=worker_id)
        except ClientError:
            return None
        return found["Qualification"].get("IntegerValue")


@dataclass(frozen=True)
class HitSettings:
    """The HIT settings a launch takes from the profile (`hit.*`)."""

    lifetime_seconds: int = 86400
    assignment_duration_seconds: int = 3600
    auto_approval_delay_seconds: int = 259200
    qualification_requirements: tuple[dict[str, Any], ...] = ()
    spend_money: bool = True

    @classmethod
    def from_profile(cls, profile: Any) -> HitSettings:
        return cls(
            lifetime_seconds=int(profile.get("hit.lifetime_seconds", 86400)),
            assignment_duration_seconds=int(profile.get("hit.assignment_duration_seconds", 3600)),
            auto_approval_delay_seconds=int(profile.get("hit.auto_approval_delay_seconds", 259200)),
            qualification_requirements=tuple(profile.get("hit.qualification_requirements") or ()),
            spend_money=profile.spend_money,
        )


class StaticTaskProvider:
    """Launch, follow and settle the HITs of a static task run."""

    def __init__(self, client: Any, task: CrowdTask, db: CrowdDB, settings: HitSettings | None = None) -> None:
        self.client = client
        self.task = task
        self.db = db
        self.settings = settings or HitSettings()
        name = task.config.onboarding_qualification
        self.qualification = OnboardingQualification(client, name, db) if task.config.has_onboarding and name else None

    @classmethod
    def from_profile(cls, profile: Any, task: CrowdTask, db: CrowdDB) -> StaticTaskProvider:
        return cls(profile.boto3_client("mturk"), task, db, HitSettings.from_profile(profile))

    # -- launch ----------------------------------------------------------------------
    def _require_spending(self, what: str, allow: bool) -> None:
        if not (self.settings.spend_money or allow):
            raise ProviderError(
                f"{what} spends money and this profile does not allow it (spend_money: false); "
                "pass --spend-money (CLI) or allow_spending=True when you mean it"
            )

    def launch(self, task_run_id: str, server_url: str, unit_ids: Iterable[int] | None = None,
               allow_spending: bool = False) -> list[dict[str, Any]]:
        """One HIT per unit not launched yet; returns `{"unit_id", "hit_id", "url"}` per HIT made."""
        wanted = None if unit_ids is None else set(unit_ids)
        pending = [
            unit for unit in self.db.units(task_run_id)
            if not unit["hit_id"] and (wanted is None or unit["unit_id"] in wanted)
        ]
        if not pending:
            return []
        self._require_spending(f"creating {len(pending)} HITs", allow_spending)
        requirements = [*self.settings.qualification_requirements]
        if self.qualification is not None:
            requirements.append(self.qualification.requirement())
        launched = []
        for unit in pending:
            url = f"{server_url.rstrip('/')}/task?unit_id={unit['unit_id']}"
            hit = self._create_hit(task_run_id, unit["unit_id"], url, requirements)
            self.db.record_hit(task_run_id, unit["unit_id"], hit["HITId"], hit.get("HITTypeId"))
            launched.append({"unit_id": unit["unit_id"], "hit_id": hit["HITId"], "url": url})
        return launched

    def _create_hit(self, task_run_id: str, unit_id: int, url: str, requirements: list[dict[str, Any]]) -> dict[str, Any]:
        config = self.task.config
        annotation = f"{task_run_id}:{unit_id}"
        token = hashlib.sha256(annotation.encode()).hexdigest()[:64]
        arguments = {
            "Title": config.title,
            "Description": config.description,
            "Keywords": ",".join(config.tags),
            "Reward": config.reward,
            "MaxAssignments": 1,
            "LifetimeInSeconds": self.settings.lifetime_seconds,
            "AssignmentDurationInSeconds": config.assignment_duration_seconds or self.settings.assignment_duration_seconds,
            "AutoApprovalDelayInSeconds": self.settings.auto_approval_delay_seconds,
            "Question": external_question(url),
            "RequesterAnnotation": annotation,
            "UniqueRequestToken": token,
            "QualificationRequirements": requirements,
        }
        try:
            return _call(self.client, "create_hit", **arguments)["HIT"]
        except ProviderError as err:
            existing = self._hit_with_annotation(annotation) if "DuplicateRequest" in str(err) else None
            if existing is None:
                raise
            return existing  # made by an earlier launch that stopped before recording it

    def _hit_with_annotation(self, annotation: str) -> dict[str, Any] | None:
        token: str | None = None
        while True:
            page = _call(self.client, "list_hits", MaxResults=100, **({"NextToken": token} if token else {}))
            for hit in page.get("HITs", []):
                if hit.get("RequesterAnnotation") == annotation:
                    return hit
            token = page.get("NextToken")
            if not token:
                return None

    # -- follow ----------------------------------------------------------------------
    def status(self, task_run_id: str) -> list[dict[str, Any]]:
        """Each launched unit: its HIT's state on the platform and its assignments."""
        rows = []
        for unit in self.db.units(task_run_id):
            if not unit["hit_id"]:
                rows.append({"unit_id": unit["unit_id"], "hit_id": None, "hit_status": "not launched"})
                continue
            hit = _call(self.client, "get_hit", HITId=unit["hit_id"])["HIT"]
            assignments = self._assignments(unit["hit_id"])
            rows.append({
                "unit_id": unit["unit_id"],
                "hit_id": unit["hit_id"],
                "hit_status": hit.get("HITStatus"),
                "available": hit.get("NumberOfAssignmentsAvailable"),
                "pending": hit.get("NumberOfAssignmentsPending"),
                "completed": hit.get("NumberOfAssignmentsCompleted"),
                "assignments": {a["AssignmentId"]: a["AssignmentStatus"] for a in assignments},
            })
        return rows

    def _assignments(self, hit_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = _call(
                self.client, "list_assignments_for_hit", HITId=hit_id, MaxResults=100,
                AssignmentStatuses=["Submitted", "Approved", "Rejected"], **({"NextToken": token} if token else {}),
            )
            found.extend(page.get("Assignments", []))
            token = page.get("NextToken")
            if not token:
                return found

    # -- settle ----------------------------------------------------------------------
    def review(self, task_run_id: str, allow_spending: bool = False) -> list[dict[str, Any]]:
        """Approve submitted work the task server recorded, reject work it never received.

        Only assignments the platform still shows as Submitted are acted on, so running the
        review again never pays or rejects twice. Onboarding results the server could not
        mirror at the time are mirrored here.
        """
        self._require_spending("approving assignments", allow_spending)
        decisions = []
        for unit in self.db.units(task_run_id):
            if not unit["hit_id"]:
                continue
            for assignment in self._assignments(unit["hit_id"]):
                if assignment["AssignmentStatus"] != "Submitted":
                    continue
                decisions.append(self._settle(assignment, unit))
        self.sync_onboarding()
        return decisions

    def _settle(self, assignment: dict[str, Any], unit: dict[str, Any]) -> dict[str, Any]:
        assignment_id = assignment["AssignmentId"]
        if self.db.assignment(assignment_id) is None:
            self.db.open_assignment(assignment_id, unit["task_run_id"], unit["unit_id"], unit["hit_id"], assignment["WorkerId"])
        if self.db.submission(assignment_id) is not None:
            _call(self.client, "approve_assignment", AssignmentId=assignment_id, RequesterFeedback="Thank you for your work.")
            decision, reason = "Approved", None
        else:
            _call(self.client, "reject_assignment", AssignmentId=assignment_id, RequesterFeedback=NO_DATA_REASON)
            decision, reason = "Rejected", NO_DATA_REASON
        self.db.set_assignment_status(assignment_id, decision, reason)
        return {"assignment_id": assignment_id, "worker_id": assignment["WorkerId"], "unit_id": unit["unit_id"],
                "decision": decision, "reason": reason}

    def sync_onboarding(self) -> int:
        """Mirror every onboarding result not yet on the platform; returns how many."""
        if self.qualification is None:
            return 0
        pending = self.db.unsynced_onboarding(self.qualification.name)
        for record in pending:
            self.qualification.record(record.worker_id, record.passed)
            self.db.mark_onboarding_synced(record.worker_id, record.qualification)
        return len(pending)
