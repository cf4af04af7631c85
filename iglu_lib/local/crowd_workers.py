"""Simulated workers for rehearsing a static task on the local MTurk server.

They live in `iglu_lib.local` because they drive the local server's control API: only tests,
the demo and notebooks in the local profile use them.

A simulated worker does over HTTP what a person does in the browser: previews the HIT (the
frame opens the task server with `assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE`), accepts the HIT
through the local server's control API, opens the task page with the parameters the platform
adds, answers the onboarding there if asked (and returns the HIT when refused), submits the
form to the task server and then to the platform's `/mturk/externalSubmit`, as the forwarding
page does in a browser. It uses only the documented HTTP contracts, so it
exercises exactly the parts a real campaign uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

if TYPE_CHECKING:
    from iglu_lib.config import Profile

PREVIEW_ASSIGNMENT = "ASSIGNMENT_ID_NOT_AVAILABLE"


@dataclass(frozen=True)
class WorkerPlan:
    """What one simulated worker writes."""

    worker_id: str
    onboarding_answer: str
    answers: Mapping[str, str]


@dataclass
class WorkerOutcome:
    """How far a simulated worker got, and why they stopped."""

    worker_id: str
    hit_id: str
    onboarding: str = "not asked"  # not asked, passed, failed
    accepted: bool = False
    assignment_id: str | None = None
    submitted: bool = False
    refusal: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _with_query(url: str, params: Mapping[str, str]) -> str:
    return url + ("&" if urlsplit(url).query else "?") + urlencode(dict(params))


def _server_and_unit(task_url: str) -> tuple[str, str]:
    """The task server's base address and the unit id of an ExternalQuestion URL."""
    parts = urlsplit(task_url)
    return f"{parts.scheme}://{parts.netloc}", parse_qs(parts.query).get("unit_id", [""])[0]


class SimulatedWorkers:
    """Workers of the local MTurk server at `mturk_url` working on a task server's HITs."""

    def __init__(self, mturk_url: str, timeout: float = 30.0) -> None:
        import requests

        self.mturk_url = mturk_url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()

    def _control(self, path: str, body: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        response = self.http.post(self.mturk_url + path, json=dict(body), timeout=self.timeout)
        return response.status_code, response.json()

    def register(self, worker_id: str, approval_rate: int = 99, approved_hits: int = 500) -> None:
        status, body = self._control("/_local/workers", {
            "worker_id": worker_id, "approval_rate": approval_rate, "approved_hits": approved_hits,
            "locale": {"Country": "US"},
        })
        if status >= 400:
            raise RuntimeError(f"the local MTurk server refused worker {worker_id}: {body}")

    def work(self, plan: WorkerPlan, hit_id: str, task_url: str) -> WorkerOutcome:
        """Preview, accept, answer the onboarding when asked, work and submit one HIT whose question is `task_url`."""
        outcome = WorkerOutcome(plan.worker_id, hit_id)
        self.register(plan.worker_id)
        preview = self.http.get(_with_query(task_url, self._params(PREVIEW_ASSIGNMENT, hit_id, plan.worker_id)),
                                timeout=self.timeout)
        if preview.headers.get("X-Crowd-Page") != "preview":
            outcome.refusal = f"preview not shown (HTTP {preview.status_code})"
            return outcome
        status, body = self._control(f"/_local/hits/{hit_id}/accept", {"worker_id": plan.worker_id})
        if status >= 400:
            outcome.refusal = body.get("error", str(status))
            return outcome
        outcome.accepted = True
        outcome.assignment_id = body["assignment_id"]
        params = self._params(outcome.assignment_id, hit_id, plan.worker_id)
        page = self.http.get(_with_query(body["question"]["url"], params), timeout=self.timeout)
        if page.headers.get("X-Crowd-Page") == "onboarding":
            page = self._onboarding(plan, task_url, params, outcome)
        if page.headers.get("X-Crowd-Page") == "refused":
            outcome.onboarding = "failed"
            outcome.refusal = "onboarding failed"
            self._control(f"/_local/assignments/{outcome.assignment_id}/return", {})  # as the page asks
            return outcome
        if page.headers.get("X-Crowd-Page") != "task":
            outcome.refusal = f"task page not shown ({page.headers.get('X-Crowd-Page')}, HTTP {page.status_code})"
            return outcome
        self._submit(task_url, params, plan.answers, outcome)
        return outcome

    def _params(self, assignment_id: str, hit_id: str, worker_id: str) -> dict[str, str]:
        return {"assignmentId": assignment_id, "hitId": hit_id, "workerId": worker_id, "turkSubmitTo": self.mturk_url}

    def _onboarding(self, plan: WorkerPlan, task_url: str, params: Mapping[str, str], outcome: WorkerOutcome) -> Any:
        """Answer the onboarding inside the accepted assignment; the page that follows."""
        base, unit_id = _server_and_unit(task_url)
        page = self.http.post(f"{base}/onboarding", data={**params, "unit_id": unit_id, "answer": plan.onboarding_answer},
                              timeout=self.timeout)
        outcome.onboarding = "failed" if page.headers.get("X-Crowd-Page") == "refused" else "passed"
        return page

    def _submit(self, task_url: str, params: Mapping[str, str], answers: Mapping[str, str], outcome: WorkerOutcome) -> None:
        base, unit_id = _server_and_unit(task_url)
        sent = self.http.post(f"{base}/submit", data={**params, "unit_id": unit_id, **answers}, timeout=self.timeout)
        if sent.headers.get("X-Crowd-Page") != "forward":
            outcome.refusal = f"submission not accepted (HTTP {sent.status_code})"
            return
        forwarded = self.http.post(
            f"{self.mturk_url}/mturk/externalSubmit", data={"assignmentId": params["assignmentId"], **answers},
            timeout=self.timeout,
        )
        outcome.submitted = forwarded.status_code < 400
        if not outcome.submitted:
            outcome.refusal = f"the platform refused the submission (HTTP {forwarded.status_code})"


def simulate(mturk_url: str, plans: list[WorkerPlan], hits: list[Mapping[str, Any]], progress: bool = True) -> list[WorkerOutcome]:
    """Each planned worker takes the next HIT in turn (`hits`: `{"hit_id", "url"}` as launched)."""
    from tqdm.auto import tqdm

    if not hits:
        raise ValueError("no HITs to work on; launch the task first")
    workers = SimulatedWorkers(mturk_url)
    return [
        workers.work(plan, hits[i % len(hits)]["hit_id"], hits[i % len(hits)]["url"])
        for i, plan in enumerate(tqdm(plans, desc="simulated workers", disable=not progress))
    ]


def plans_from_parameters(items: list[Mapping[str, Any]]) -> list[WorkerPlan]:
    """Worker plans from notebook parameters: `{worker_id, onboarding_answer, answers: {...}}`."""
    plans = []
    for index, item in enumerate(items, start=1):
        missing = [key for key in ("worker_id", "onboarding_answer") if key not in item]
        if missing:
            raise ValueError(f"simulated worker {index}: missing {', '.join(missing)}")
        plans.append(WorkerPlan(str(item["worker_id"]), str(item["onboarding_answer"]),
                                {str(k): str(v) for k, v in dict(item.get("answers") or {}).items()}))
    return plans


OUTCOME_COLUMNS = tuple(field.name for field in fields(WorkerOutcome))


def simulate_if_local(profile: Profile, hits: list[Mapping[str, Any]], workers: list[Mapping[str, Any]],
                      enabled: bool = True, progress: bool = True) -> list[WorkerOutcome]:
    """The notebook's simulated workers (`workers`: parameters as for `plans_from_parameters`)
    work `hits` on the profile's local MTurk server; no outcomes when not `enabled` or when the
    profile is not local, because a real campaign must never get simulated work."""
    if not enabled or not profile.is_local:
        return []
    endpoint = profile.endpoint("mturk")
    assert endpoint is not None  # a local profile's endpoints come from the running stack
    return simulate(endpoint, plans_from_parameters(workers), hits, progress=progress)


def outcomes_frame(outcomes: list[WorkerOutcome]) -> Any:
    """Outcomes as a DataFrame, one row per worker (the columns are there even when empty)."""
    import pandas as pd

    return pd.DataFrame([o.as_dict() for o in outcomes], columns=list(OUTCOME_COLUMNS))
