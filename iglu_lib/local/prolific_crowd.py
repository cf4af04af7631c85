"""A simulated crowd of Prolific participants for rehearsals of `provider: prolific` campaigns.

Each participant does what a person on Prolific does, through the emulator's control API and
the study page of `iglu crowd serve` only (no workbench client code: the page is read with the
crowd's own eyes, as on MTurk): find a study they may take, start it (the emulator fills the
study URL), open our page, play the games it shows through the platform simulator, post the
answers to the page's form, follow the redirect to Prolific's completion URL and hand the code
to the emulator. Behaviours are the MTurk crowd's (`workers.BEHAVIOURS`: honest, lazy, code
twists, hostile forgeries) plus what only happens on Prolific:

- `returns`: opens the page, then returns the study (the slot must come back);
- `times_out`: opens the page and never finishes (the emulator's time-out gives the place back);
- `skips_page`: completes on Prolific with a code of its own without ever using our page.
"""

from __future__ import annotations

import json
import random
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

from iglu_lib.errors import IgluError
from iglu_lib.local.workers import (
    BEHAVIOURS,
    Behaviour,
    SimulatedCrowd,
    WorkerState,
    join_codes_of,
    ties_offered,
)

#: How often, and how far apart, a participant reloads a page that has no game free yet before returning.
NO_SLOT_RELOADS = 80
NO_SLOT_PAUSE_SECONDS = 0.25
#: Behaviours only a Prolific participant has (see the module's docstring).
PROLIFIC_ONLY = ("returns", "times_out", "skips_page")


class ProlificRefused(IgluError):
    """The emulator refused a participant's action."""


class ProlificControl:
    """The emulator's control API (`/_local/`), as a participant's browser and Prolific's site use it."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        import requests

        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = requests.Session()

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        response = self._http.request(method, self.base_url + path, json=body, timeout=self.timeout)
        if response.status_code >= 400:
            raise ProlificRefused(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json()

    def studies(self, participant_id: str) -> list[dict[str, Any]]:
        return list(self._call("GET", f"/_local/studies?participant_id={participant_id}")["results"])

    def start(self, study_id: str, participant_id: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/_local/studies/{study_id}/start", {"participant_id": participant_id}))

    def give_back(self, submission_id: str) -> None:
        self._call("POST", f"/_local/submissions/{submission_id}/return")

    def time_out(self, submission_id: str) -> None:
        self._call("POST", f"/_local/submissions/{submission_id}/time-out")

    def complete(self, submission_id: str, code: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/_local/submissions/{submission_id}/complete", {"code": code}))

    def now(self) -> float:
        return float(self._call("GET", "/_local/clock")["now"])

    def bonus_payments(self, study_id: str) -> list[dict[str, Any]]:
        return list(self._call("GET", f"/_local/bonus-payments?study_id={study_id}")["results"])


def participant_crowd(size: int, mix: Mapping[str, float], seed: int = 0) -> list[WorkerState]:
    """`size` participants (24 hex characters, as Prolific's ids) mixed as `mix`, the rest diligent."""
    known = set(BEHAVIOURS) | set(PROLIFIC_ONLY)
    unknown = sorted(set(mix) - known)
    if unknown:
        raise IgluError(f"unknown participant behaviour(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    behaviours = [name for name, share in mix.items() for _ in range(round(share * size))]
    behaviours = (behaviours + ["diligent"] * size)[:size]
    random.Random(seed).shuffle(behaviours)
    prefix = f"{seed:04x}"[-4:]
    return [WorkerState(f"{prefix}{secrets.token_hex(10)}", b) for b in behaviours]


class SimulatedProlificCrowd(SimulatedCrowd):
    """Participants on the Prolific emulator; they judge as `SimulatedCrowd`'s workers do."""

    def __init__(self, prolific_url: str, simulator: Any, workers: Sequence[WorkerState], *,
                 skill_of_instance: Mapping[str, float], studies: Sequence[str] = (), **options: Any) -> None:
        import requests

        self.prolific = ProlificControl(prolific_url)
        self.browser = requests.Session()
        #: Only these studies' internal names are taken (empty: any), so crowds of two tests never mix.
        self.studies = tuple(studies)
        self.taken: list[dict[str, Any]] = []  # what each participant did, for tests
        self._found_nothing = False  # the last participant found no study with a free place
        super().__init__(prolific_url, simulator, workers, skill_of_instance=skill_of_instance, **options)

    def _register(self, workers: Sequence[WorkerState]) -> None:
        """Participants need no registration (the MTurk crowd sets each worker's figures)."""

    def now(self) -> float:
        """The page's clock (it times a session from its claim to its answers), not the emulator's,
        which tests may have moved forward."""
        return time.time()

    def step(self) -> int:
        """Participants who have not taken part yet look for a study, in random order, until one
        finds no free place: the others would find none either (bar those a group keeps out), so
        a crowd of hundreds waiting for the next slot asks Prolific once per step, not once each."""
        submitted = 0
        waiting = [w for w in self.workers if not w.hits_done]
        for worker in self.rng.sample(waiting, len(waiting)):
            if self._stop.is_set():
                break
            self._found_nothing = False
            if self._work_one(worker):
                submitted += 1
            elif self._found_nothing:
                break
        return submitted

    def _work_one(self, worker: WorkerState) -> bool:
        if worker.hits_done:
            return False  # one submission per participant and study: Prolific's rule
        studies = [s for s in self.prolific.studies(worker.worker_id)
                   if not self.studies or s.get("internal_name") in self.studies]
        if not studies:
            self._found_nothing = True
            return False
        study = self.rng.choice(studies)
        try:
            started = self.prolific.start(study["id"], worker.worker_id)
        except ProlificRefused:
            return False  # the last place went to someone else
        worker.hits_done += 1
        return self._session(worker, study["id"], started["submission_id"], started["url"])

    def _session(self, worker: WorkerState, study_id: str, session: str, url: str) -> bool:
        record = {"participant": worker.worker_id, "behaviour": worker.behaviour, "session": session, "study": study_id}
        self.taken.append(record)
        if worker.behaviour == "skips_page":
            self.prolific.complete(session, "NOTOURS")
            record["outcome"] = "completed without the page"
            return True
        page = self.browser.get(url, timeout=30)
        for _ in range(NO_SLOT_RELOADS):  # no game free yet: the page reloads by itself, as a person waits
            if page.status_code != 503 or self._stop.is_set():
                break
            time.sleep(NO_SLOT_PAUSE_SECONDS)
            page = self.browser.get(url, timeout=30)
        if page.status_code != 200:
            self.prolific.give_back(session)  # no game free: return, as the page asks
            record["outcome"] = f"returned ({page.status_code})"
            record["page"] = page.headers.get("X-Crowd-Page", "") + ": " + page.text[-300:]
            return False
        if worker.behaviour in ("returns", "times_out"):
            (self.prolific.give_back if worker.behaviour == "returns" else self.prolific.time_out)(session)
            record["outcome"] = worker.behaviour
            return False
        behaviour = BEHAVIOURS[worker.behaviour]
        join_codes = join_codes_of(page.text)
        try:
            code = self._answer(worker, behaviour, join_codes, page.text, url, session)
        except Exception:
            self.prolific.give_back(session)  # could not play or answer: give the place back
            record["outcome"] = "returned (failed)"
            raise
        self.prolific.complete(session, code)
        record["outcome"] = "submitted"
        return True

    def _answer(self, worker: WorkerState, behaviour: Behaviour, join_codes: list[str], page: str, url: str,
                session: str) -> str:
        """Play, post the answers to the page's form and read the completion code off the redirect."""
        honest = self._play(worker, behaviour, join_codes)
        codes = behaviour.twist(worker, list(honest), join_codes)
        worker.past_codes.extend(honest)
        answers = behaviour.answers(self._answers(join_codes, codes, ties_offered(page)))
        submit_to = parse_qs(urlsplit(url).query)["turkSubmitTo"][0].rstrip("/") + "/mturk/externalSubmit"
        sent = self.browser.post(submit_to, data={"assignmentId": session, "taskAnswers": json.dumps([answers])},
                                 allow_redirects=False, timeout=30)
        if sent.status_code != 302:
            raise ProlificRefused(f"the study page refused the answers: {sent.status_code} {sent.text[:200]}")
        return parse_qs(urlsplit(sent.headers["Location"]).query)["cc"][0]


def prolific_rehearsal_crowd(prolific_url: str, platform: Any, platform_dir: str, *, size: int,
                             mix: Mapping[str, float], studies: Sequence[str] = (), seed: int = 0,
                             first_shown_bias: float = 0.3, tie_margin: float = 0.0,
                             start: bool = True) -> SimulatedProlificCrowd:
    """The Prolific crowd of a rehearsal, from the files the simulated platform step wrote."""
    from pathlib import Path

    from iglu_lib.local.rehearsal import EXPORT_FILES

    folder = Path(platform_dir)
    instances = json.loads((folder / EXPORT_FILES["agent_instances"]).read_text(encoding="utf-8"))
    skills = json.loads((folder / EXPORT_FILES["true_skills"]).read_text(encoding="utf-8"))
    skill_of_instance = {entry["agent_instance_id"]: float(skills[agent])
                         for agent, entries in instances.items() for entry in entries}
    crowd = SimulatedProlificCrowd(prolific_url, platform, participant_crowd(size, mix, seed),
                                   skill_of_instance=skill_of_instance, studies=studies, seed=seed,
                                   first_shown_bias=first_shown_bias, tie_margin=tie_margin)
    if start:
        crowd.start()
    return crowd
