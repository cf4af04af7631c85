"""Put a static task on Prolific: the peer of `StaticTaskProvider` (MTurk) for droidlet crowd tasks.

A task run is one study whose places are the run's units, and whose external URL is the task
server's `/task` with Prolific's placeholders under the names the server reads (`workerId` ←
PROLIFIC_PID, `hitId` ← STUDY_ID, `assignmentId` ← SESSION_ID): the study id stands where a HIT
id stood and the session (submission) id where an assignment id stood, so the records, the
onboarding gate and the form handling of the task server are the same as on MTurk. Launching
more units of a run grows the study's places (Prolific never lowers them).

- `ProlificVerifier` confirms every request with Prolific: the session must exist, belong to
  the study and to the participant the URL names, and be in progress (or submitted, for a reload).
- `ProlificTaskApp` hands a confirmed session a free unit of the run the first time it opens the
  task (one lock, so two participants never get the same unit; a unit comes free again when its
  session is refused at onboarding, rejected, returned or timed out), and sends a participant
  whose work is recorded back to Prolific with the study's completion code.
- `OnboardingGroups` keeps the onboarding gate in two participant groups, `<name>` (passed) and
  `<name>-failed`; the study excludes the failed group (`participant_group_blocklist`), and
  membership changes reach a published study at once, so a participant who failed no longer
  sees the study (nor any later study of the task).
- `ProlificTaskProvider` launches, follows and reviews the study through the Prolific provider;
  a rejection carries a Prolific category and a message of at least 100 characters.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from iglu_lib.crowd.db import APPROVED, OPENED, RETURNED, SUBMITTED, WORKING, CrowdDB
from iglu_lib.crowd.server import Page, RequestProblem, TaskApp, WorkContext
from iglu_lib.crowd.task import CrowdTask
from iglu_lib.crowd.task_review import Reasons, TaskReview
from iglu_lib.crowd.verify import OPEN_STATES, NotVerified, Verdict, checked_id
from iglu_lib.prolific.client import ProlificError
from iglu_lib.prolific.provider import (
    NO_DATA,
    OTHER,
    ProlificProvider,
    Study,
    Submission,
    completion_url,
)

if TYPE_CHECKING:
    from decimal import Decimal

    from iglu_lib.config import Profile

LOG = logging.getLogger(__name__)
T = TypeVar("T")

#: The task server's query names for the three values Prolific fills in.
URL_NAMES = {"PROLIFIC_PID": "workerId", "STUDY_ID": "hitId", "SESSION_ID": "assignmentId"}
#: Internal names of a task's studies: `crowd_task:<task>:<run>` (reconcile by prefix).
STUDY_PREFIX = "crowd_task"
#: Assignment rows that hold their unit (a refused, rejected or returned one gives it back).
HOLDS_UNIT = (OPENED, SUBMITTED, APPROVED)
NO_DATA_REASON = ("No task data reached our task server for this submission, so there is nothing we can pay for. "
                  "If you did the task, please message us through Prolific and tell us what happened.")
WORKER_MISMATCH_REASON = ("The work our task server recorded for this submission was sent under another participant "
                          "id than yours, so it cannot be paid. Please message us if you think this is a mistake.")
UNIT_MISMATCH_REASON = ("The work recorded for this submission is for another unit of the task than the one this "
                        "study showed you, so it cannot be paid. Please message us if you think this is a mistake.")


def study_name(task_name: str, task_run_id: str) -> str:
    """The internal name of a task run's study."""
    return f"{STUDY_PREFIX}:{task_name}:{task_run_id}"


class ProlificVerifier:
    """Confirms a session with Prolific (the whole check, in progress or submitted): a `Verifier`."""

    def __init__(self, provider: ProlificProvider) -> None:
        self.provider = provider

    def verify(self, assignment_id: str, hit_id: str, worker_id: str,
               statuses: Collection[str] = OPEN_STATES) -> Verdict:
        session = checked_id(assignment_id, "SESSION_ID")
        study_id = checked_id(hit_id, "STUDY_ID")
        participant = checked_id(worker_id, "PROLIFIC_PID")
        found = self._session(session)
        if found.study_id != study_id:
            raise NotVerified("This session belongs to another study; open the task from the study you started.")
        if found.participant_id != participant:
            raise NotVerified("This session belongs to another participant; open the task from your own study.")
        if found.state not in statuses:
            raise NotVerified(f"This session is {found.state} on Prolific: it takes no more work here.", 409)
        return Verdict(session, study_id, participant, found.state)

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
    """The task server's handlers for a run's study: a unit per session, and back to Prolific when done."""

    def __init__(self, base: TaskApp, provider: ProlificProvider) -> None:
        super().__init__(base.task, base.db, base.task_run_id, rules=base.rules, submit_origins=base.submit_origins,
                         on_onboarding=base.on_onboarding, verifier=base.verifier)
        self.provider = provider
        self._units = threading.Lock()

    def context(self, params: Mapping[str, str], statuses: tuple[str, ...] = (WORKING,)) -> WorkContext:
        """The confirmed session, holding the unit it was given the first time it opened the task."""
        study_id = params.get("hitId", "").strip()
        launched = self.db.unit_for_hit(study_id) if study_id and len(study_id) <= 64 else None
        if launched is None or self.verifier is None:
            raise RequestProblem("This page belongs to a study of this task; open it from the study on Prolific.", 404)
        try:
            verdict = self.verifier.verify(params.get("assignmentId", ""), study_id, params.get("workerId", ""), statuses)
        except NotVerified as err:
            raise RequestProblem(str(err), err.status) from None
        run_id = str(launched["task_run_id"])
        with self._units:
            opened = self.db.assignment(verdict.assignment_id)
            unit_id = int(opened["unit_id"]) if opened else self._free_unit(run_id, study_id)
            refusal = self.db.claim_assignment(verdict.assignment_id, run_id, unit_id, study_id, verdict.worker_id)
        if refusal:
            raise RequestProblem(refusal, 403)
        return WorkContext(run_id, unit_id, verdict.assignment_id, study_id, verdict.worker_id, "")

    def _free_unit(self, run_id: str, study_id: str) -> int:
        """A unit of the run no session holds; sessions Prolific shows given back are released first."""
        free = self._unheld(run_id, study_id)
        if not free:
            given_back = {s.id for s in _reachable(lambda: self.provider.submissions(study_id)) if s.given_back}
            for row in self.db.assignments_of_hit(study_id):
                if row["status"] == OPENED and row["assignment_id"] in given_back:
                    self.db.set_assignment_status(row["assignment_id"], RETURNED)
            free = self._unheld(run_id, study_id)
        if not free:
            raise RequestProblem("Every unit of this task is taken; please return the study on Prolific.", 409)
        return free[0]

    def _unheld(self, run_id: str, study_id: str) -> list[int]:
        held = {int(row["unit_id"]) for row in self.db.assignments_of_hit(study_id) if row["status"] in HOLDS_UNIT}
        return [int(u["unit_id"]) for u in self.db.units(run_id) if u["hit_id"] == study_id and int(u["unit_id"]) not in held]

    def task_page(self, ctx: WorkContext) -> Page:
        page = super().task_page(ctx)
        return self._back_to_prolific(ctx.hit_id) if page.kind == "thanks" else page

    def submission(self, form: Mapping[str, str]) -> Page:
        page = super().submission(form)
        return self._back_to_prolific(form.get("hitId", "").strip()) if page.kind == "thanks" else page

    def _back_to_prolific(self, study_id: str) -> Page:
        code = _reachable(lambda: self.provider.study(study_id)).completion_code
        if code is None:
            raise ProlificError(f"study {study_id} has no completion code; participants cannot finish it")
        return Page("redirect", status=303, location=completion_url(code))


def _reachable(call: Callable[[], T]) -> T:
    """A Prolific call made while serving a participant: an outage is a page asking to reload."""
    try:
        return call()
    except ProlificError as err:
        LOG.warning("Prolific did not answer the task server: %s", err)
        raise RequestProblem("Prolific could not be reached; reload this page in a minute.", 503) from None


class ProlificTaskProvider(TaskReview):
    """Launch, follow and review the studies of a static task run through a `ProlificProvider`;
    the review is `TaskReview`'s over the Prolific provider."""

    reasons = Reasons(NO_DATA_REASON, WORKER_MISMATCH_REASON, UNIT_MISMATCH_REASON)
    refused = (ProlificError,)
    qualification: OnboardingGroups | None

    def __init__(self, provider: ProlificProvider, task: CrowdTask, db: CrowdDB,
                 estimated_minutes: int | None = None) -> None:
        self.provider = provider
        self.crowd = provider
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
        """The run's study, published, with a place for every launched unit; units not launched
        yet get places (a new study, or more places on the run's study). Returns
        `{"unit_id", "hit_id" (the study), "url"}` per unit launched now.

        Repeating a launch that stopped half-way adds no place twice: the study's places are
        set to the units recorded as launched plus the ones launched now."""
        wanted = None if unit_ids is None else set(unit_ids)
        units = self.db.units(task_run_id)
        pending = [u for u in units if not u["hit_id"] and (wanted is None or u["unit_id"] in wanted)]
        if not pending:
            return []
        url = f"{server_url.rstrip('/')}/task"
        study = self._study(task_run_id, url, len(pending))
        places = sum(1 for u in units if u["hit_id"] == study.id) + len(pending)
        study = self.provider.publish(study.id, allow_spending=allow_spending)
        if places > study.places:
            study = self.provider.grow_places(study.id, places, allow_spending=allow_spending)
        for unit in pending:
            self.db.record_hit(task_run_id, unit["unit_id"], study.id, None)
        return [{"unit_id": unit["unit_id"], "hit_id": study.id, "url": url} for unit in pending]

    def _study(self, task_run_id: str, url: str, places: int) -> Study:
        """The run's study: found by internal name, or drafted with `places` places."""
        excluded = [self.qualification.failed_name] if self.qualification is not None else []
        return self.provider.create_draft(
            study_name(self.task.name, task_run_id), title=self.task.config.title,
            description=self.task.config.description, url=url, reward=self._reward(), places=places,
            estimated_minutes=self._minutes(), url_names=URL_NAMES, excluded_groups=excluded)

    def _reward(self) -> Decimal:
        from decimal import Decimal

        return Decimal(str(self.task.config.reward))

    def _minutes(self) -> int:
        if not self.estimated_minutes:
            raise ProlificError(f"a Prolific study of task '{self.task.name}' needs its estimated minutes "
                                "(--estimated-minutes); Prolific shows it and checks the hourly reward against it")
        return self.estimated_minutes

    def studies(self, task_run_id: str) -> list[Study]:
        """The run's study on Prolific, found by internal name (what reconciliation compares)."""
        name = study_name(self.task.name, task_run_id)
        return [study for study in self.provider.studies(name) if study.internal_name == name]

    # -- follow ----------------------------------------------------------------------
    def status(self, task_run_id: str) -> list[dict[str, Any]]:
        """Each unit: the study's status, and the sessions that opened the unit by status."""
        units = self.db.units(task_run_id)
        study_ids = sorted({u["hit_id"] for u in units if u["hit_id"]})
        studies = {sid: self.provider.study(sid) for sid in study_ids}
        sessions = {s.id: s for sid in study_ids for s in self.provider.submissions(sid)}
        rows = []
        for unit in units:
            if not unit["hit_id"]:
                rows.append({"unit_id": unit["unit_id"], "hit_id": None, "hit_status": "not launched"})
                continue
            opened = [r for r in self.db.assignments_of_hit(unit["hit_id"]) if r["unit_id"] == unit["unit_id"]]
            mine = [sessions[r["assignment_id"]] for r in opened if r["assignment_id"] in sessions]
            rows.append({
                "unit_id": unit["unit_id"], "hit_id": unit["hit_id"], "hit_status": studies[unit["hit_id"]].status,
                "available": int(not any(r["status"] in HOLDS_UNIT for r in opened)),
                "pending": sum(s.in_progress for s in mine),
                "completed": sum(not s.in_progress and not s.given_back for s in mine),
                "assignments": {s.id: s.state for s in mine},
            })
        return rows

    # -- settle (`TaskReview.review`) ----------------------------------------------
    def rejection_category(self, reason: str) -> str:
        """Prolific's category: no data when nothing reached the server, otherwise other."""
        return NO_DATA if reason == NO_DATA_REASON else OTHER
