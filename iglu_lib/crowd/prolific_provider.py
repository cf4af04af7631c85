"""Put a static task on Prolific: the peer of `StaticTaskProvider` (MTurk) for droidlet crowd tasks.

Each unit of a task run is one study with one place, whose external URL is the task server's
`/task?unit_id=N` with Prolific's placeholders under the names the task server reads
(`workerId` ← PROLIFIC_PID, `hitId` ← STUDY_ID, `assignmentId` ← SESSION_ID), so the server,
its records and its onboarding gate work unchanged: the study id stands where a HIT id stood
and the session (submission) id where an assignment id stood. (One study per *unit*, not per
run: the server binds a request to its unit through the HIT/study id it was launched as; one
study for a whole run needs the server to hand out units when a participant starts.)

- `ProlificVerifier` confirms every request with Prolific: the session must exist, belong to
  the study and the participant the URL names, and be in progress (or submitted, for a reload).
- `OnboardingGroups` keeps the onboarding gate in two participant groups, `<name>` (passed) and
  `<name>-failed`; every study of the task excludes the failed group
  (`participant_group_blocklist`), and membership changes reach published studies at once, so a
  participant who failed no longer sees the task's other studies.
- `ProlificTaskApp` sends a participant whose work was recorded back to Prolific with the
  study's completion code (the MTurk server's form post has no Prolific equivalent).
- `ProlificTaskProvider` launches, follows and reviews the studies through the Prolific
  provider; a rejection carries a Prolific category and a message of at least 100 characters.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from iglu_lib.crowd.db import CrowdDB
from iglu_lib.crowd.server import Page, TaskApp, WorkContext
from iglu_lib.crowd.task import CrowdTask
from iglu_lib.crowd.verify import AssignmentVerifier, NotVerified, Verdict, checked_id
from iglu_lib.prolific.client import ProlificError
from iglu_lib.prolific.provider import ProlificProvider, Study, Submission, completion_url

if TYPE_CHECKING:
    from decimal import Decimal

    from iglu_lib.config import Profile

LOG = logging.getLogger(__name__)

#: The task server's query names for the three values Prolific fills in.
URL_NAMES = {"PROLIFIC_PID": "workerId", "STUDY_ID": "hitId", "SESSION_ID": "assignmentId"}
#: Internal names of a task's studies: `crowd_task:<task>:<run>:<unit>` (reconcile by prefix).
STUDY_PREFIX = "crowd_task"
#: Prolific's session statuses in the task server's words.
SERVER_STATUS = {"RESERVED": "Accepted", "ACTIVE": "Accepted", "AWAITING REVIEW": "Submitted",
                 "APPROVED": "Approved", "REJECTED": "Rejected", "RETURNED": "Returned", "TIMED-OUT": "Returned",
                 "TIME-OUT": "Returned"}
NO_DATA_REASON = ("No task data reached our task server for this submission, so there is nothing we can pay for. "
                  "If you did the task, please message us through Prolific and tell us what happened.")
WORKER_MISMATCH_REASON = ("The work our task server recorded for this submission was sent under another participant "
                          "id than yours, so it cannot be paid. Please message us if you think this is a mistake.")
UNIT_MISMATCH_REASON = ("The work recorded for this submission is for another unit of the task than the one this "
                        "study showed you, so it cannot be paid. Please message us if you think this is a mistake.")


def study_name(task_name: str, task_run_id: str, unit_id: int | None = None) -> str:
    """The internal name of a unit's study (or, without a unit, the prefix of the run's studies)."""
    run = f"{STUDY_PREFIX}:{task_name}:{task_run_id}:"
    return run if unit_id is None else f"{run}{unit_id}"


class ProlificVerifier(AssignmentVerifier):
    """Confirms a session with Prolific (the whole check, in progress or submitted)."""

    def __init__(self, provider: ProlificProvider) -> None:
        super().__init__(provider)
        self.provider = provider

    def verify(self, assignment_id: str, hit_id: str, worker_id: str,
               statuses: Collection[str] = ("Accepted", "Submitted")) -> Verdict:
        session = checked_id(assignment_id, "SESSION_ID")
        study_id = checked_id(hit_id, "STUDY_ID")
        participant = checked_id(worker_id, "PROLIFIC_PID")
        found = self._session(session)
        if found.study_id != study_id:
            raise NotVerified("This session belongs to another study; open the task from the study you started.")
        if found.participant_id != participant:
            raise NotVerified("This session belongs to another participant; open the task from your own study.")
        status = SERVER_STATUS.get(found.status, found.status)
        if status not in statuses:
            raise NotVerified(f"This session is {found.status.lower()} on Prolific: it takes no more work here.", 409)
        # Prolific confirmed this very session, so no slot has to be bound to a first claimant:
        # as many sessions may be open here as Prolific ever started on the study.
        started = len(self.provider.submissions(study_id)) if status == "Accepted" else 0
        return Verdict(session, study_id, participant, status, pending=started)

    def _session(self, session: str) -> Submission:
        try:
            return self.provider.submission(session)
        except ProlificError as err:
            if err.status is None or err.status == 429 or err.status >= 500:
                LOG.warning("could not check session %s with Prolific: %s", session, err)
                raise NotVerified("Prolific could not be reached to check your session; reload in a minute.", 503) from None
            raise NotVerified("Prolific does not know this session; open the task from the study on Prolific.") from None

    def nobody_holds(self, hit_id: str) -> bool:
        """True when no session of the study is in progress (asked only on previews)."""
        try:
            return not any(s.in_progress for s in self.provider.submissions(hit_id))
        except ProlificError:
            return False


class OnboardingGroups:
    """The onboarding result as two participant groups: `name` (passed) and `<name>-failed`."""

    def __init__(self, provider: ProlificProvider, name: str) -> None:
        self.provider = provider
        self.name = name
        self.failed_name = f"{name}-failed"

    def ensure(self) -> str:
        return self.provider.group_id(self.name)

    def ensure_failed(self) -> str:
        return self.provider.group_id(self.failed_name)

    def record(self, worker_id: str, passed: bool) -> None:
        """Mirror one participant's result (the task server's `on_onboarding` hook)."""
        self.provider.add_to_group(self.name if passed else self.failed_name, [worker_id])
        self.provider.remove_from_group(self.failed_name if passed else self.name, [worker_id])

    def passed(self, worker_id: str) -> bool:
        return worker_id in self.provider.group_members(self.name)

    def has_failed(self, worker_id: str) -> bool:
        return worker_id in self.provider.group_members(self.failed_name)


class ProlificTaskApp(TaskApp):
    """The task server's handlers, sending a participant whose work is recorded back to Prolific."""

    def __init__(self, base: TaskApp, provider: ProlificProvider) -> None:
        super().__init__(base.task, base.db, base.task_run_id, rules=base.rules, submit_origins=base.submit_origins,
                         on_onboarding=base.on_onboarding, verifier=base.verifier)
        self.provider = provider

    def task_page(self, ctx: WorkContext) -> Page:
        page = super().task_page(ctx)
        return self._back_to_prolific(ctx.hit_id) if page.kind == "thanks" else page

    def submission(self, form: Mapping[str, str]) -> Page:
        page = super().submission(form)
        return self._back_to_prolific(form.get("hitId", "").strip()) if page.kind == "thanks" else page

    def _back_to_prolific(self, study_id: str) -> Page:
        code = self.provider.study(study_id).completion_code
        if code is None:
            raise ProlificError(f"study {study_id} has no completion code; participants cannot finish it")
        return Page("redirect", status=303, location=completion_url(code))


class ProlificTaskProvider:
    """Launch, follow and review the studies of a static task run through a `ProlificProvider`."""

    def __init__(self, provider: ProlificProvider, task: CrowdTask, db: CrowdDB,
                 estimated_minutes: int | None = None) -> None:
        self.provider = provider
        self.task = task
        self.db = db
        self.estimated_minutes = estimated_minutes
        name = task.config.onboarding_qualification
        self.qualification = OnboardingGroups(provider, name) if task.config.has_onboarding and name else None

    @classmethod
    def from_profile(cls, profile: Profile, task: CrowdTask, db: CrowdDB,
                     estimated_minutes: int | None = None) -> ProlificTaskProvider:
        return cls(ProlificProvider.open(profile), task, db, estimated_minutes)

    def verifier(self) -> ProlificVerifier:
        return ProlificVerifier(self.provider)

    def task_app(self, base: TaskApp) -> ProlificTaskApp:
        return ProlificTaskApp(base, self.provider)

    # -- launch ----------------------------------------------------------------------
    def launch(self, task_run_id: str, server_url: str, unit_ids: Iterable[int] | None = None,
               allow_spending: bool = False) -> list[dict[str, Any]]:
        """One published study per unit not launched yet: `{"unit_id", "hit_id" (the study), "url"}`."""
        wanted = None if unit_ids is None else set(unit_ids)
        pending = [unit for unit in self.db.units(task_run_id)
                   if not unit["hit_id"] and (wanted is None or unit["unit_id"] in wanted)]
        if not pending:
            return []
        minutes = self._minutes()
        excluded = [self.qualification.failed_name] if self.qualification is not None else []
        launched = []
        for unit in pending:
            url = f"{server_url.rstrip('/')}/task?unit_id={unit['unit_id']}"
            study = self.provider.create_draft(
                study_name(self.task.name, task_run_id, unit["unit_id"]), title=self.task.config.title,
                description=self.task.config.description, url=url, reward=self._reward(), places=1,
                estimated_minutes=minutes, url_names=URL_NAMES, excluded_groups=excluded)
            study = self.provider.publish(study.id, allow_spending=allow_spending)
            self.db.record_hit(task_run_id, unit["unit_id"], study.id, None)
            launched.append({"unit_id": unit["unit_id"], "hit_id": study.id, "url": url})
        return launched

    def _reward(self) -> Decimal:
        from decimal import Decimal

        return Decimal(str(self.task.config.reward))

    def _minutes(self) -> int:
        if not self.estimated_minutes:
            raise ProlificError(f"a Prolific study of task '{self.task.name}' needs its estimated minutes "
                                "(--estimated-minutes); Prolific shows it and checks the hourly reward against it")
        return self.estimated_minutes

    def studies(self, task_run_id: str) -> list[Study]:
        """The run's studies on Prolific, found by internal name (what reconciliation compares)."""
        return self.provider.studies(study_name(self.task.name, task_run_id))

    # -- follow ----------------------------------------------------------------------
    def status(self, task_run_id: str) -> list[dict[str, Any]]:
        """Each unit: its study's status and places, and its sessions by status."""
        rows = []
        for unit in self.db.units(task_run_id):
            if not unit["hit_id"]:
                rows.append({"unit_id": unit["unit_id"], "hit_id": None, "hit_status": "not launched"})
                continue
            study = self.provider.study(unit["hit_id"])
            sessions = self.provider.submissions(study.id)
            rows.append({
                "unit_id": unit["unit_id"], "hit_id": study.id, "hit_status": study.status,
                "available": max(0, study.places - study.places_taken),
                "pending": sum(s.in_progress for s in sessions),
                "completed": sum(not s.in_progress and not s.given_back for s in sessions),
                "assignments": {s.id: SERVER_STATUS.get(s.status, s.status) for s in sessions},
            })
        return rows

    # -- settle ----------------------------------------------------------------------
    def review(self, task_run_id: str, allow_spending: bool = False) -> list[dict[str, Any]]:
        """Approve sessions whose work the server recorded (for this participant and unit),
        reject the others with a reason; only sessions awaiting review are acted on, so a second
        review does nothing. Onboarding results not yet mirrored are mirrored here."""
        waiting = [(session, unit) for unit in self.db.units(task_run_id) if unit["hit_id"]
                   for session in self.provider.submissions(unit["hit_id"]) if session.needs_review]
        for session, unit in waiting:
            if self.db.assignment(session.id) is None:
                self.db.open_assignment(session.id, unit["task_run_id"], unit["unit_id"], unit["hit_id"],
                                        session.participant_id)
        verdicts = [(session, unit, self._problem(session, unit)) for session, unit in waiting]
        decisions = [self._approve(s, u, allow_spending) for s, u, problem in verdicts if problem is None]
        decisions += [self._reject(s, u, problem) for s, u, problem in verdicts if problem is not None]
        self.sync_onboarding()
        return decisions

    def _problem(self, session: Submission, unit: dict[str, Any]) -> str | None:
        stored = self.db.submission(session.id)
        if stored is None:
            return NO_DATA_REASON
        if stored["worker_id"] != session.participant_id:
            return WORKER_MISMATCH_REASON
        if int(stored["unit_id"]) != int(unit["unit_id"]):
            return UNIT_MISMATCH_REASON
        return None

    def _approve(self, session: Submission, unit: dict[str, Any], allow_spending: bool) -> dict[str, Any]:
        self.provider.approve(session.id, allow_spending=allow_spending)
        return self._decided(session, unit, "Approved", None)

    def _reject(self, session: Submission, unit: dict[str, Any], reason: str) -> dict[str, Any]:
        self.provider.reject(session.id, reason, "NO_DATA" if reason == NO_DATA_REASON else "OTHER")
        return self._decided(session, unit, "Rejected", reason)

    def _decided(self, session: Submission, unit: dict[str, Any], decision: str, reason: str | None) -> dict[str, Any]:
        self.db.set_assignment_status(session.id, decision, reason)
        return {"assignment_id": session.id, "worker_id": session.participant_id, "unit_id": unit["unit_id"],
                "decision": decision, "reason": reason}

    def sync_onboarding(self) -> int:
        """Mirror every onboarding result not yet in the groups; returns how many were."""
        if self.qualification is None:
            return 0
        mirrored = 0
        for record in self.db.unsynced_onboarding(self.qualification.name):
            try:
                self.qualification.record(record.worker_id, record.passed)
            except ProlificError as err:
                LOG.warning("onboarding result of %s not mirrored to Prolific: %s", record.worker_id, err)
                continue
            self.db.mark_onboarding_synced(record.worker_id, record.qualification)
            mirrored += 1
        return mirrored
