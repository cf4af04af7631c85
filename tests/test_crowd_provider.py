"""The provider on the local MTurk server: HITs per unit, the onboarding qualification, status
and review, from Python and from `iglu crowd launch|status|review`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
import requests

from iglu_lib.crowd.db import TaskRunError
from iglu_lib.crowd.provider import HIT_TYPE, OnboardingQualification, ProviderError
from iglu_lib.crowd.session import open_task_run
from iglu_lib.local.crowd_workers import SimulatedWorkers, WorkerPlan

EXAMPLE = Path(__file__).resolve().parents[1] / "crowd_tasks" / "craftassist"
GOOD = "build a red tower\nmove the blue block left\ndestroy the green wall"
ANSWERS = {"commands": "build a tower", "rating": "4", "feedback": "it understood"}


@pytest.fixture
def mturk_url(stack) -> str:
    if "mturk_endpoint_url" not in stack:
        pytest.fail("the local stack has no MTurk server (mturk_endpoint_url missing)")
    return stack["mturk_endpoint_url"]


@pytest.fixture
def task_run(local_profile, unique_name, tmp_path, mturk_url):
    """The example task on the local MTurk server, its own qualification and records, served."""
    run = open_task_run(EXAMPLE, "craftassist", local_profile, tmp_path / "crowd.sqlite",
                        qualification_name=unique_name("onboarding"))
    run.serve()
    yield run
    run.stop()


def test_launch_creates_one_hit_per_unit_with_the_task_settings(task_run, local_profile):
    launched = task_run.launch()
    assert [h["unit_id"] for h in launched] == [0, 1, 2]
    assert task_run.launch() == []  # idempotent: every unit already has its HIT
    client = local_profile.backend.mturk_client()
    hit = client.get_hit(HITId=launched[1]["hit_id"])["HIT"]
    config = task_run.task.config
    assert hit["Title"] == config.title and hit["Reward"] == "0.30" and hit["Keywords"] == ",".join(config.tags)
    assert hit["AssignmentDurationInSeconds"] == 1800 and hit["MaxAssignments"] == 1
    url = ElementTree.fromstring(hit["Question"]).find("{*}ExternalURL").text
    assert url == f"{task_run.server.url}/task?unit_id=1"
    requirement = hit["QualificationRequirements"][-1]
    assert requirement["Comparator"] == "DoesNotExist" and "IntegerValues" not in requirement
    assert requirement["ActionsGuarded"] == "DiscoverPreviewAndAccept"
    assert requirement["QualificationTypeId"] == task_run.provider.qualification.ensure_failed()
    units = task_run.db.units(task_run.run_id())
    assert [u["hit_id"] for u in units] == [h["hit_id"] for h in launched]
    tagged = {hit.hit_id for hit in task_run.provider.manager.hits()}  # HitManager's annotation
    assert {h["hit_id"] for h in launched} <= tagged


def test_a_launch_that_stopped_before_recording_finds_its_hit_again(task_run):
    import sqlite3

    first = task_run.provider.launch(task_run.run_id(), task_run.server.url, unit_ids=[0])
    with sqlite3.connect(task_run.db.path) as connection:  # as if the launch died before record_hit
        connection.execute("UPDATE units SET hit_id = NULL WHERE unit_id = 0")
    connection.close()
    again = task_run.provider.launch(task_run.run_id(), task_run.server.url, unit_ids=[0])
    assert again == first  # the repeated request token returned the HIT made before


def test_onboarding_result_is_mirrored_and_failed_workers_cannot_accept(task_run, mturk_url, unique_name):
    launched = task_run.launch()
    workers = SimulatedWorkers(mturk_url)
    bad = workers.work(WorkerPlan(unique_name("wbad"), "go\nhi", ANSWERS), launched[0]["hit_id"], launched[0]["url"])
    assert bad.onboarding == "failed" and bad.accepted and not bad.submitted and bad.refusal == "onboarding failed"
    qualification = task_run.provider.qualification
    assert qualification.score(bad.worker_id) == 0 and qualification.has_failed(bad.worker_id)
    refused = requests.post(f"{mturk_url}/_local/hits/{launched[1]['hit_id']}/accept", json={"worker_id": bad.worker_id}, timeout=30)
    assert refused.status_code == 403 and refused.json()["error"] == "QualificationRequirementNotMet"
    good = workers.work(WorkerPlan(unique_name("wgood"), GOOD, ANSWERS), launched[0]["hit_id"], launched[0]["url"])
    assert good.onboarding == "passed" and good.accepted and good.submitted, good
    assert qualification.score(good.worker_id) == 1
    again = workers.work(WorkerPlan(good.worker_id, "", ANSWERS), launched[1]["hit_id"], launched[1]["url"])
    assert again.onboarding == "not asked" and again.submitted  # passed before: straight to the task
    submission = task_run.db.submission(good.assignment_id)
    assert submission["data"]["commands"] == "build a tower" and submission["unit_id"] == 0


def test_status_and_review_settle_each_assignment_once(task_run, mturk_url, unique_name, local_profile):
    launched = task_run.launch()
    workers = SimulatedWorkers(mturk_url)
    good = workers.work(WorkerPlan(unique_name("w"), GOOD, ANSWERS), launched[0]["hit_id"], launched[0]["url"])
    # A worker who accepted and submitted on the platform without going through the task server:
    silent = unique_name("wsilent")
    workers.register(silent)
    qualification = task_run.provider.qualification
    qualification.record(silent, True)
    accepted = requests.post(f"{mturk_url}/_local/hits/{launched[2]['hit_id']}/accept", json={"worker_id": silent}, timeout=30).json()
    requests.post(f"{mturk_url}/_local/assignments/{accepted['assignment_id']}/submit", json={"answers": {"x": "1"}}, timeout=30)

    status = {row["unit_id"]: row for row in task_run.provider.status(task_run.run_id())}
    assert status[0]["assignments"] == {good.assignment_id: "submitted"}
    assert status[1]["available"] == 1 and status[2]["assignments"] == {accepted["assignment_id"]: "submitted"}

    decisions = {d["assignment_id"]: d for d in task_run.provider.review(task_run.run_id())}
    assert decisions[good.assignment_id]["decision"] == "approved"
    assert decisions[accepted["assignment_id"]]["decision"] == "rejected"
    assert "No task data" in decisions[accepted["assignment_id"]]["reason"]
    assert task_run.provider.review(task_run.run_id()) == []  # nothing is settled twice
    client = local_profile.backend.mturk_client()
    assert client.get_assignment(AssignmentId=good.assignment_id)["Assignment"]["AssignmentStatus"] == "Approved"
    assert task_run.db.assignment(good.assignment_id)["status"] == "approved"


def test_qualification_type_is_found_again_not_made_twice(local_profile, unique_name, tmp_path, mturk_url):
    from iglu_lib.crowd.db import CrowdDB
    from iglu_lib.mturk.manager import HitManager

    manager = HitManager.open(local_profile, hit_type=HIT_TYPE, campaign=unique_name("campaign"))
    name = unique_name("qual")
    first = OnboardingQualification(manager, name, CrowdDB(tmp_path / "q.sqlite")).ensure()
    assert OnboardingQualification(manager, name, CrowdDB(tmp_path / "q.sqlite")).ensure() == first
    other = OnboardingQualification(manager, name, CrowdDB(tmp_path / "other.sqlite"))
    try:
        again = other.ensure()  # found by listing the requester's qualification types
    except ProviderError as err:  # a platform that cannot list them: the error says what to do
        assert f"'{name}' exists on the platform" in str(err)
    else:
        assert again == first


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "iglu_lib.cli", "crowd", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ})


def test_cli_launch_status_review_over_the_local_server(local_profile, tmp_path, unique_name, mturk_url):
    task_dir = Path(shutil.copytree(EXAMPLE, tmp_path / "task"))
    conf = task_dir / "conf" / "craftassist.yaml"
    conf.write_text(conf.read_text().replace("craftassist_onboarding_v1", unique_name("cliqual")))
    db = tmp_path / "cli.sqlite"
    run = open_task_run(task_dir, "craftassist", local_profile, db)
    run.serve()
    try:
        launched = _cli("launch", str(task_dir), "--conf", "craftassist", "--db", str(db), "--json")
        assert launched.returncode == 0, launched.stderr
        hits = json.loads(launched.stdout)["launched"]
        assert len(hits) == 3 and hits[0]["url"].startswith(run.server.url)
        worker = SimulatedWorkers(mturk_url).work(WorkerPlan(unique_name("w"), GOOD, ANSWERS), hits[0]["hit_id"], hits[0]["url"])
        assert worker.submitted, worker
        status = _cli("status", str(task_dir), "--conf", "craftassist", "--db", str(db))
        assert status.returncode == 0 and hits[0]["hit_id"] in status.stdout and "Assignable" in status.stdout
        review = _cli("review", str(task_dir), "--conf", "craftassist", "--db", str(db), "--json")
        assert review.returncode == 0, review.stderr
        assert [d["decision"] for d in json.loads(review.stdout)] == ["approved"]
    finally:
        run.stop()
    missing = _cli("status", str(task_dir), "--conf", "craftassist", "--db", str(tmp_path / "none.sqlite"))
    assert missing.returncode == 2 and "no task run of" in missing.stderr and "start the task server" in missing.stderr


def test_onboarding_result_the_platform_missed_is_mirrored_at_review(task_run, mturk_url, unique_name):
    launched = task_run.launch()
    worker = unique_name("wlate").upper()
    SimulatedWorkers(mturk_url).register(worker)
    accepted = requests.post(f"{mturk_url}/_local/hits/{launched[0]['hit_id']}/accept", json={"worker_id": worker}, timeout=30).json()

    def platform_down(worker_id: str, passed: bool) -> None:
        raise ConnectionError("the crowd platform did not answer")

    task_run.server.app.on_onboarding = platform_down  # the grant fails; the worker goes on
    params = {"unit_id": "0", "assignmentId": accepted["assignment_id"], "hitId": launched[0]["hit_id"],
              "workerId": worker, "turkSubmitTo": mturk_url}
    page = requests.post(f"{task_run.server.url}/onboarding", data={**params, "answer": GOOD}, timeout=30)
    assert page.headers["X-Crowd-Page"] == "task"  # the worker is not held up by the platform
    qualification = task_run.provider.qualification
    record = task_run.db.onboarding(worker, qualification.name)
    assert record.passed and not record.synced_to_platform
    assert qualification.score(worker) is None
    task_run.provider.review(task_run.run_id())
    assert qualification.score(worker) == 1
    assert task_run.db.onboarding(worker, qualification.name).synced_to_platform


def test_spending_and_plain_http_are_refused_where_money_is_real(task_run, frugal_profile, mturk_url, unique_name):

    from iglu_lib.config import load_profile
    from iglu_lib.crowd.provider import StaticTaskProvider, crowd_task_manager
    from iglu_lib.crowd.session import TaskRun
    from iglu_lib.mturk.manager import SpendingRefused

    frugal = frugal_profile
    careful = StaticTaskProvider(crowd_task_manager(frugal, task_run.task), task_run.task, task_run.db)
    with pytest.raises(SpendingRefused, match="CreateHIT spends real money"):
        careful.launch(task_run.run_id(), task_run.server.url)
    assert all(unit["hit_id"] is None for unit in task_run.db.units(task_run.run_id()))
    launched = careful.launch(task_run.run_id(), task_run.server.url, allow_spending=True)
    assert len(launched) == 3

    worker = SimulatedWorkers(mturk_url).work(WorkerPlan(unique_name("w"), GOOD, ANSWERS),
                                               launched[0]["hit_id"], launched[0]["url"])
    assert worker.submitted, worker
    with pytest.raises(SpendingRefused, match="ApproveAssignment spends real money"):
        careful.review(task_run.run_id())
    assert careful.status(task_run.run_id())[0]["assignments"] == {worker.assignment_id: "submitted"}
    assert [d["decision"] for d in careful.review(task_run.run_id(), allow_spending=True)] == ["approved"]

    production = TaskRun(task_run.task, task_run.db, careful, load_profile("production", env={}), task_run.server)
    with pytest.raises(TaskRunError, match="only over HTTPS"):
        production.launch(public_url="http://example.org/crowd")
