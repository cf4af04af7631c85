"""One task run wired together: task folder, records, task server and provider.

The CLI and notebook 07 both need the same wiring (the provider's qualification as the
server's onboarding hook, the platform's worker site as the only place a submission is
forwarded to); this module does it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iglu_lib.crowd.db import APPROVED, REJECTED, SUBMITTED, CrowdDB, TaskRunError, default_db_path
from iglu_lib.crowd.onboarding import OnboardingRules
from iglu_lib.crowd.provider import StaticTaskProvider
from iglu_lib.crowd.server import CampaignPages, TaskServer
from iglu_lib.crowd.task import CrowdTask, load_task
from iglu_lib.crowd.task_review import TaskProvider
from iglu_lib.crowd.verify import Verifier

if TYPE_CHECKING:
    import pandas as pd

    from iglu_lib.config import Profile

#: The crowds a task run can be put on (`--provider`).
TASK_PROVIDERS = ("mturk", "prolific")


def campaign_pages(profile: Profile, store_path: str | Path | None = None, **guards: Any) -> CampaignPages:
    """The `/hit` pages of the profile's external-mode campaign HITs (`hit.external_store`),
    checked with the profile's crowd platform; on the local profile the pages load the local
    MTurk server's crowd-form script instead of the CDN's. `guards`: `states` and `limiter` of
    `CampaignPages` (tests pass their own limits)."""
    from iglu_lib.mturk.manager import HitManager
    from iglu_lib.mturk.provider import MTurkProvider
    from iglu_lib.pages.store import HitPageStore
    from iglu_lib.pages.store import store_path as profile_store_path

    store = HitPageStore(store_path or profile_store_path(profile.hit))
    manager = HitManager.open(profile, hit_type="hit-pages", campaign="hit-pages")
    backend = profile.backend
    return CampaignPages(store, MTurkProvider(manager), submit_origins=backend.worker_submit_origins(),
                         crowd_script=backend.crowd_script_url(), **guards)


@dataclass
class TaskRun:
    """A loaded task with its records and provider; `server` once `serve` was called."""

    task: CrowdTask
    db: CrowdDB
    provider: TaskProvider
    profile: Profile
    server: TaskServer | None = None

    def make_server(self, *, host: str = "127.0.0.1", port: int = 0, rules: OnboardingRules | None = None,
                    task_run_id: str | None = None) -> TaskServer:
        """A task server (not started) whose onboarding results go to the platform."""
        qualification = self.provider.qualification
        if qualification is not None:
            qualification.ensure()
            qualification.ensure_failed()
        self.server = TaskServer(
            self.task, self.db, host=host, port=port, task_run_id=task_run_id, rules=rules,
            submit_origins=self.profile.backend.worker_submit_origins(),
            on_onboarding=qualification.record if qualification is not None else None,
            verifier=self._verifier(),
            campaign_pages=campaign_pages(self.profile),
        )
        if self.server.app is not None:  # e.g. a unit per session, and back to Prolific once done
            self.server.app = self.provider.task_app(self.server.app)
        return self.server

    def _verifier(self) -> Verifier:
        return self.provider.verifier()

    def serve(self, **options: Any) -> TaskServer:
        """Start a task server in a background thread (tests, notebooks)."""
        return self.make_server(**options).start()

    def run_id(self, task_run_id: str | None = None) -> str:
        if task_run_id:
            return task_run_id
        if self.server is not None and self.server.task_run_id:
            return self.server.task_run_id
        return self.db.task_run(task_name=self.task.name)["task_run_id"]

    def launch(self, task_run_id: str | None = None, public_url: str | None = None,
               allow_spending: bool = False) -> list[dict[str, Any]]:
        """One HIT per unit of the run, pointing at `public_url` or the run's server."""
        run = self.db.task_run(self.run_id(task_run_id))
        url = public_url or run["server_url"]
        if not url:
            raise TaskRunError(f"task run {run['task_run_id']} has no server address; pass a public URL")
        if self.profile.backend.requires_https and not url.startswith("https://"):
            raise TaskRunError(
                f"MTurk shows ExternalQuestion pages only over HTTPS, not {url}; serve the task behind "
                "HTTPS and pass that address as the public URL (--public-url)"
            )
        return self.provider.launch(run["task_run_id"], url, allow_spending=allow_spending)

    def review(self, task_run_id: str | None = None, allow_spending: bool = False) -> list[dict[str, Any]]:
        return self.provider.review(self.run_id(task_run_id), allow_spending=allow_spending)

    def status_frame(self, task_run_id: str | None = None) -> pd.DataFrame:
        """`provider.status` as a DataFrame, assignments counted by state."""
        import pandas as pd

        rows = []
        for row in self.provider.status(self.run_id(task_run_id)):
            states = list(row.pop("assignments", {}).values())
            rows.append({**row, **{state: states.count(state) for state in (SUBMITTED, APPROVED, REJECTED)}})
        return pd.DataFrame(rows)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def open_task_run(task_dir: str | Path, conf_name: str, profile: Profile, db_path: str | Path | None = None,
                  qualification_name: str | None = None, provider: str = "mturk",
                  estimated_minutes: int | None = None) -> TaskRun:
    """Load the task folder and connect its records and the profile's crowd platform.

    `qualification_name` replaces the task's `onboarding_qualification`, to start a campaign
    whose workers are judged afresh. `provider` is `mturk` (HITs) or `prolific` (studies, which
    need the task's `estimated_minutes`).
    """
    task = load_task(task_dir, conf_name)
    if qualification_name:
        task = task.with_qualification(qualification_name)
    db = CrowdDB(db_path or default_db_path(task.name))
    if provider not in TASK_PROVIDERS:
        raise TaskRunError(f"unknown crowd provider '{provider}' (known: {', '.join(TASK_PROVIDERS)})")
    if provider == "prolific":
        from iglu_lib.crowd.prolific_provider import ProlificTaskProvider

        return TaskRun(task=task, db=db, provider=ProlificTaskProvider.from_profile(profile, task, db, estimated_minutes),
                       profile=profile)
    return TaskRun(task=task, db=db, provider=StaticTaskProvider.from_profile(profile, task, db), profile=profile)
