"""A droidlet crowd task on Prolific, end to end on the local stack: one study per task run,
a place per unit, pointing at the task server; simulated participants (the emulator's control
API) who start the study, are given a unit, pass or fail the onboarding, submit and are sent back
to Prolific with the completion code, or return it and give their unit back; the onboarding gate
kept in participant groups (a failed participant no longer sees the study); review approving
recorded work and rejecting the rest with Prolific's rules; and `iglu crowd --provider prolific`."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from iglu_lib.crowd.prolific_provider import NO_DATA_REASON, ProlificTaskProvider, study_name
from iglu_lib.crowd.session import open_task_run
from iglu_lib.prolific.client import ProlificError

EXAMPLE = Path(__file__).resolve().parents[1] / "crowd_tasks" / "craftassist"
GOOD = "build a red tower\nmove the blue block left\ndestroy the green wall"
ANSWERS = {"commands": "build a tower", "rating": "4", "feedback": "it understood"}


class Participant:
    """A simulated Prolific participant: the emulator's control API and the task server's pages."""

    def __init__(self, prolific_url: str) -> None:
        self.prolific_url = prolific_url
        self.id = secrets.token_hex(12)
        self.session_id = ""
        self.study_id = ""

    def control(self, method: str, path: str, **body: object) -> dict:
        response = requests.request(method, f"{self.prolific_url}/_local/{path}", json=body or None, timeout=10)
        assert response.ok, response.text
        return response.json()

    def studies(self) -> set[str]:
        return {s["id"] for s in self.control("GET", f"studies?participant_id={self.id}")["results"]}

    def start(self, study_id: str) -> str:
        started = self.control("POST", f"studies/{study_id}/start", participant_id=self.id)
        self.session_id, self.study_id = started["submission_id"], study_id
        return started["url"]

    def ids(self, url: str) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}

    def work(self, study_id: str, onboarding: str | None) -> requests.Response:
        """Start the study, answer the onboarding when asked, submit the task; the last answer."""
        url = self.start(study_id)
        page = requests.get(url, timeout=30, allow_redirects=False)
        server = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}"
        ids = self.ids(url)
        if page.headers["X-Crowd-Page"] == "onboarding":
            page = requests.post(f"{server}/onboarding", data={**ids, "answer": onboarding or ""}, timeout=30,
                                 allow_redirects=False)
            if page.status_code != 303:
                return page
            page = requests.get(server + page.headers["Location"], timeout=30, allow_redirects=False)
        assert page.headers["X-Crowd-Page"] == "task", page.text
        return requests.post(f"{server}/submit", data={**ids, **ANSWERS}, timeout=30, allow_redirects=False)

    def finish(self, completion: requests.Response) -> dict:
        """Follow the redirect to Prolific's completion page: the emulator records the code."""
        assert completion.status_code == 303, completion.text
        location = completion.headers["Location"]
        assert location.startswith("https://app.prolific.com/submissions/complete?cc=")
        code = parse_qs(urlsplit(location).query)["cc"][0]
        return self.control("POST", f"submissions/{self.session_id}/complete", code=code)


@pytest.fixture
def prolific_url(local_profile) -> str:
    return local_profile.backend.prolific_base_url()


@pytest.fixture
def task_run(local_profile, unique_name, tmp_path):
    """The example task on the stack's Prolific emulator, its own onboarding groups and records, served."""
    run = open_task_run(EXAMPLE, "craftassist", local_profile, tmp_path / "crowd.sqlite",
                        qualification_name=unique_name("onboarding"), provider="prolific", estimated_minutes=2)
    run.serve()
    yield run
    run.stop()


def test_launch_makes_one_published_study_for_the_run_with_a_place_per_unit(task_run):
    launched = task_run.provider.launch(task_run.run_id(), task_run.server.url, unit_ids=[0, 1])
    study_id = launched[0]["hit_id"]
    assert [(h["unit_id"], h["hit_id"]) for h in launched] == [(0, study_id), (1, study_id)]
    provider = task_run.provider
    assert isinstance(provider, ProlificTaskProvider)
    [study] = provider.studies(task_run.run_id())
    assert study.id == study_id and study.status == "ACTIVE" and study.places == 2 and str(study.reward) == "0.30"
    assert study.internal_name == study_name("craftassist-interaction", task_run.run_id())
    assert study.raw["external_study_url"] == (f"{task_run.server.url}/task?workerId={{{{%PROLIFIC_PID%}}}}"
                                               "&hitId={{%STUDY_ID%}}&assignmentId={{%SESSION_ID%}}")
    failed_group = provider.qualification.ensure_failed()
    assert {"filter_id": "participant_group_blocklist", "selected_values": [
        provider.provider.group_id("iglu-blocked"), failed_group]} in study.raw["filters"]
    rest = task_run.launch()  # the last unit: the same study grows a place
    assert [(h["unit_id"], h["hit_id"]) for h in rest] == [(2, study_id)]
    assert provider.provider.study(study_id).places == 3
    assert task_run.launch() == []  # every unit has its place


def test_onboarding_gate_through_groups_and_back_to_prolific_with_the_code(task_run, prolific_url):
    [study_id] = {h["hit_id"] for h in task_run.launch()}
    groups = task_run.provider.qualification
    bad = Participant(prolific_url)
    assert study_id in bad.studies()
    refused = bad.work(study_id, "go\nhi")
    assert refused.status_code == 403 and refused.headers["X-Crowd-Page"] == "refused"
    assert groups.has_failed(bad.id) and not groups.passed(bad.id)
    bad.control("POST", f"submissions/{bad.session_id}/return")
    assert study_id not in bad.studies()  # the failed group is the study's blocklist

    good = Participant(prolific_url)
    done = good.finish(good.work(study_id, GOOD))
    assert done["status"] == "AWAITING REVIEW" and groups.passed(good.id)
    recorded = task_run.db.submission(good.session_id)
    assert recorded["data"]["commands"] == "build a tower" and recorded["unit_id"] == 0  # the refused one gave it back

    forged = requests.get(f"{task_run.server.url}/task", params={
        "workerId": secrets.token_hex(12), "hitId": study_id, "assignmentId": good.session_id}, timeout=30)
    assert forged.status_code == 403 and "another participant" in forged.text


def test_units_go_to_one_session_each_and_come_back_when_a_session_is_returned(task_run, prolific_url):
    [study_id] = {h["hit_id"] for h in task_run.launch()}
    workers = [Participant(prolific_url) for _ in range(3)]
    for worker in workers:
        url = worker.start(study_id)
        page = requests.get(url, timeout=30)
        assert page.headers["X-Crowd-Page"] == "onboarding"
    units = {task_run.db.assignment(w.session_id)["unit_id"] for w in workers}
    assert units == {0, 1, 2}
    late = Participant(prolific_url)
    assert study_id not in late.studies()  # every place is taken on Prolific too
    workers[1].control("POST", f"submissions/{workers[1].session_id}/time-out")
    done = late.finish(late.work(study_id, GOOD))
    assert done["status"] == "AWAITING REVIEW"
    assert task_run.db.submission(late.session_id)["unit_id"] == task_run.db.assignment(workers[1].session_id)["unit_id"]
    assert task_run.db.assignment(workers[1].session_id)["status"] == "returned"


def test_review_approves_recorded_work_and_rejects_the_rest_once(task_run, prolific_url, local_profile):
    [study_id] = {h["hit_id"] for h in task_run.launch()}
    good = Participant(prolific_url)
    good.finish(good.work(study_id, GOOD))
    silent = Participant(prolific_url)  # finished on Prolific without our task server seeing any work
    silent.start(study_id)
    code = task_run.provider.provider.study(study_id).completion_code
    silent.control("POST", f"submissions/{silent.session_id}/complete", code=code)

    status = {row["unit_id"]: row for row in task_run.provider.status(task_run.run_id())}
    assert status[0]["assignments"] == {good.session_id: "submitted"} and status[0]["available"] == 0
    assert status[1]["available"] == 1 and status[1]["assignments"] == {}
    decisions = {d["assignment_id"]: d for d in task_run.review()}
    assert decisions[good.session_id]["decision"] == "approved"
    assert decisions[silent.session_id] == {"assignment_id": silent.session_id, "worker_id": silent.id, "unit_id": None,
                                             "decision": "rejected", "reason": NO_DATA_REASON}
    assert task_run.review() == []  # nothing is settled twice
    prolific = task_run.provider.provider
    assert prolific.submission(good.session_id).status == "APPROVED"
    rejected = prolific.submission(silent.session_id)
    assert rejected.status == "REJECTED" and len(NO_DATA_REASON) >= 100
    assert task_run.db.assignment(good.session_id)["status"] == "approved"
    totals = task_run.status_frame()[["submitted", "approved", "rejected"]].sum().to_dict()
    assert totals == {"submitted": 0, "approved": 1, "rejected": 0}  # the silent session opened no unit


def test_onboarding_result_prolific_missed_is_mirrored_at_review(task_run, prolific_url):
    [study_id] = {h["hit_id"] for h in task_run.launch()}

    def prolific_down(worker_id: str, passed: bool) -> None:
        raise ConnectionError("Prolific did not answer")

    task_run.server.app.on_onboarding = prolific_down
    late = Participant(prolific_url)
    late.finish(late.work(study_id, GOOD))
    groups = task_run.provider.qualification
    assert not groups.passed(late.id)
    task_run.review()
    assert groups.passed(late.id) and task_run.db.onboarding(late.id, groups.name).synced_to_platform


def test_a_study_needs_its_estimated_minutes_and_a_fair_hourly_reward(local_profile, tmp_path, unique_name):
    run = open_task_run(EXAMPLE, "craftassist", local_profile, tmp_path / "m.sqlite", provider="prolific")
    run_id = run.db.create_task_run(run.task.name, "conf", [{"unit_id": 0, "row_number": 1, "values": {}}])
    with pytest.raises(ProlificError, match="needs its estimated minutes \\(--estimated-minutes\\)"):
        run.provider.launch(run_id, "http://127.0.0.1:9")
    slow = open_task_run(EXAMPLE, "craftassist", local_profile, tmp_path / "m.sqlite", provider="prolific",
                         estimated_minutes=30)
    with pytest.raises(ProlificError, match=r"reward \$0.30 for 30 minutes is \$0.60 an hour, below Prolific's minimum"):
        slow.provider.launch(run_id, "http://127.0.0.1:9")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "iglu_lib.cli", "crowd", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ})


def test_cli_launch_status_review_with_provider_prolific(local_profile, tmp_path, unique_name, prolific_url):
    task_dir = Path(shutil.copytree(EXAMPLE, tmp_path / "task"))
    conf = task_dir / "conf" / "craftassist.yaml"
    conf.write_text(conf.read_text().replace("craftassist_onboarding_v1", unique_name("cliqual")))
    db = tmp_path / "cli.sqlite"
    run = open_task_run(task_dir, "craftassist", local_profile, db, provider="prolific", estimated_minutes=2)
    run.serve()
    common = (str(task_dir), "--conf", "craftassist", "--db", str(db), "--provider", "prolific")
    try:
        launched = _cli("launch", *common, "--estimated-minutes", "2", "--json")
        assert launched.returncode == 0, launched.stderr
        studies = json.loads(launched.stdout)["launched"]
        assert len(studies) == 3 and studies[0]["url"] == f"{run.server.url}/task"
        worker = Participant(prolific_url)
        worker.finish(worker.work(studies[0]["hit_id"], GOOD))
        status = _cli("status", *common)
        assert status.returncode == 0 and studies[0]["hit_id"] in status.stdout and "ACTIVE" in status.stdout
        review = _cli("review", *common, "--json")
        assert review.returncode == 0, review.stderr
        assert [d["decision"] for d in json.loads(review.stdout)] == ["approved"]
    finally:
        run.stop()
    unknown = _cli("status", str(task_dir), "--conf", "craftassist", "--db", str(db), "--provider", "upwork")
    assert unknown.returncode == 2 and "invalid choice: 'upwork'" in unknown.stderr


def test_a_prolific_outage_after_the_work_is_recorded_asks_to_reload_and_loses_nothing(task_run, prolific_url,
                                                                                     monkeypatch):
    [study_id] = {h["hit_id"] for h in task_run.launch()}
    worker = Participant(prolific_url)
    url = worker.start(study_id)
    server = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}"
    ids = worker.ids(url)
    requests.post(f"{server}/onboarding", data={**ids, "answer": GOOD}, timeout=30)
    app = task_run.server.app

    def down(study: str):
        raise ProlificError("Prolific read study failed: cannot reach it")

    monkeypatch.setattr(app.provider, "study", down)
    sent = requests.post(f"{server}/submit", data={**ids, **ANSWERS}, timeout=30, allow_redirects=False)
    assert sent.status_code == 503 and "reload this page" in sent.text
    assert task_run.db.submission(worker.session_id) is not None  # the work is kept
    monkeypatch.undo()
    reload = requests.get(url, timeout=30, allow_redirects=False)
    assert worker.finish(reload)["status"] == "AWAITING REVIEW"  # the reload sends them back with the code
