"""The task server against the real local stack: identity from the service, onboarding under the
real worker, one submission per assignment, bounded bodies, no rows for made-up ids, and the
attacks of issue 12 point 2 refused or left unpaid."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from iglu_lib.crowd.provider import UNIT_MISMATCH_REASON, WORKER_MISMATCH_REASON
from iglu_lib.crowd.session import open_task_run
from iglu_lib.local.crowd_workers import SimulatedWorkers

EXAMPLE = Path(__file__).resolve().parents[1] / "crowd_tasks" / "craftassist"
GOOD = "build a red tower\nmove the blue block left\ndestroy the green wall"
PREVIEW = "ASSIGNMENT_ID_NOT_AVAILABLE"


@pytest.fixture
def mturk(stack) -> str:
    return stack["mturk_endpoint_url"]


@pytest.fixture
def run(local_profile, unique_name, tmp_path, mturk):
    """The example task, its own qualification and records, served and launched (3 HITs)."""
    task_run = open_task_run(EXAMPLE, "craftassist", local_profile, tmp_path / "crowd.sqlite",
                             qualification_name=unique_name("onboarding"))
    task_run.serve()
    task_run.hits = task_run.launch()
    yield task_run
    task_run.stop()


def accept(mturk: str, hit_id: str, worker: str) -> str:
    """The worker accepts the HIT on the local MTurk server; the assignment id."""
    SimulatedWorkers(mturk).register(worker)
    response = requests.post(f"{mturk}/_local/hits/{hit_id}/accept", json={"worker_id": worker}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["assignment_id"]


def params(run, unit: int, assignment: str, worker: str, mturk: str) -> dict[str, str]:
    return {"unit_id": str(unit), "assignmentId": assignment, "hitId": run.hits[unit]["hit_id"],
            "workerId": worker, "turkSubmitTo": mturk}


def onboard(run, query: dict[str, str], answer: str = GOOD) -> requests.Response:
    requests.get(f"{run.server.url}/task", params=query, timeout=30)
    return requests.post(f"{run.server.url}/onboarding", data={**query, "answer": answer}, timeout=30)


def test_preview_shows_the_task_and_writes_nothing(run):
    page = requests.get(f"{run.server.url}/task", params={"unit_id": 0, "assignmentId": PREVIEW,
                                                           "workerId": "W-anyone", "hitId": run.hits[0]["hit_id"]}, timeout=30)
    assert page.status_code == 200 and page.headers["X-Crowd-Page"] == "preview" and 'id="preview-title"' in page.text
    assert run.db.counts()["assignments"] == 0 and run.db.counts()["workers"] == 0 and run.db.counts()["onboarding"] == 0


def test_accepted_worker_passes_onboarding_and_sees_their_unit(run, mturk, unique_name):
    worker = unique_name("W").upper()
    assignment = accept(mturk, run.hits[2]["hit_id"], worker)
    query = {**params(run, 2, assignment, worker, mturk), "unit_id": "0"}  # the URL says unit 0; the HIT is unit 2's
    first = requests.get(f"{run.server.url}/task", params=query, timeout=30)
    assert first.headers["X-Crowd-Page"] == "onboarding"
    answered = requests.post(f"{run.server.url}/onboarding", data={**query, "answer": GOOD}, timeout=30)
    assert answered.headers["X-Crowd-Page"] == "task", answered.text
    assert '<strong id="subdomain">craftassist-b01</strong>' in answered.text  # unit 2, from the HIT
    assert f'<span id="worker-id">{worker}</span>' in answered.text
    record = run.db.onboarding(worker, run.provider.qualification.name)
    assert record.passed and record.synced_to_platform
    assert run.provider.qualification.score(worker) == 1 and not run.provider.qualification.has_failed(worker)


def test_an_invented_worker_id_is_refused_and_never_paid(run, mturk, unique_name):
    failed, invented = unique_name("WFAIL").upper(), unique_name("WINVENTED").upper()
    # The attack of issue 12: a worker holds two accepted HITs, fails the onboarding in one ...
    own = accept(mturk, run.hits[0]["hit_id"], failed)
    held = accept(mturk, run.hits[2]["hit_id"], failed)
    refused = onboard(run, params(run, 0, own, failed, mturk), "go\nhi")
    assert refused.status_code == 403 and refused.headers["X-Crowd-Page"] == "refused"
    requests.post(f"{mturk}/_local/assignments/{own}/return", json={}, timeout=30)
    blocked = requests.post(f"{mturk}/_local/hits/{run.hits[1]['hit_id']}/accept", json={"worker_id": failed}, timeout=30)
    assert blocked.status_code == 403  # no further HIT of the task for them

    # ... and opens the other under an invented worker id. While an assignment is in progress the
    # service cannot name its worker, so the first claim of the slot is what the server has; the
    # invented id passes onboarding and submits, and review, asking the service, does not pay.
    query = params(run, 2, held, invented, mturk)
    assert onboard(run, query).headers["X-Crowd-Page"] == "task"
    sent = requests.post(f"{run.server.url}/submit", data={**query, "commands": "build"}, timeout=30)
    assert sent.headers["X-Crowd-Page"] == "forward"
    requests.post(f"{mturk}/mturk/externalSubmit", data={"assignmentId": held, "commands": "build"}, timeout=30)
    again = requests.get(f"{run.server.url}/task", params=query, timeout=30)  # submitted: the service names the worker
    assert again.status_code == 403 and "another worker" in again.text
    decisions = {d["assignment_id"]: d for d in run.provider.review(run.run_id())}
    assert decisions[held]["decision"] == "rejected" and decisions[held]["reason"] == WORKER_MISMATCH_REASON
    client = run.profile.backend.mturk_client()
    assert client.get_assignment(AssignmentId=held)["Assignment"]["AssignmentStatus"] == "Rejected"

    # An honest worker's slot, once opened, keeps its worker: another id for it is refused.
    honest = unique_name("WHONEST").upper()
    theirs = accept(mturk, run.hits[1]["hit_id"], honest)
    assert requests.get(f"{run.server.url}/task", params=params(run, 1, theirs, honest, mturk), timeout=30).status_code == 200
    swapped = requests.get(f"{run.server.url}/task", params=params(run, 1, theirs, invented, mturk), timeout=30)
    assert swapped.status_code == 403 and "another worker" in swapped.text


def test_a_failed_worker_is_not_shown_the_task_hits(run, mturk, unique_name):
    worker = unique_name("WBAD").upper()
    own = accept(mturk, run.hits[0]["hit_id"], worker)
    assert onboard(run, params(run, 0, own, worker, mturk), "go\nhi").status_code == 403
    assert run.provider.qualification.has_failed(worker) and run.provider.qualification.score(worker) == 0
    requests.post(f"{mturk}/_local/assignments/{own}/return", json={}, timeout=30)
    listed = requests.get(f"{mturk}/_local/workers/{worker}/hits", timeout=30).json()["hits"]
    ours = {hit["hit_id"] for hit in run.hits}
    assert not ours & {hit["hit_id"] for hit in listed}  # not discovered
    preview = requests.get(f"{mturk}/worker/hits/{run.hits[1]['hit_id']}", params={"workerId": worker}, timeout=30)
    assert 'id="refusal"' in preview.text and 'id="hit-frame"' not in preview.text  # not previewed
    refused = requests.post(f"{mturk}/_local/hits/{run.hits[1]['hit_id']}/accept", json={"worker_id": worker}, timeout=30)
    assert refused.status_code == 403 and refused.json()["error"] == "QualificationRequirementNotMet"
    requirement = run.profile.backend.mturk_client().get_hit(HITId=run.hits[1]["hit_id"])["HIT"]["QualificationRequirements"][-1]
    assert requirement == {"QualificationTypeId": run.provider.qualification.ensure_failed(),
                           "Comparator": "DoesNotExist", "ActionsGuarded": "DiscoverPreviewAndAccept"}


def test_a_form_for_another_unit_is_refused(run, mturk, unique_name):
    worker = unique_name("WUNIT").upper()
    assignment = accept(mturk, run.hits[0]["hit_id"], worker)
    query = params(run, 0, assignment, worker, mturk)
    onboard(run, query)
    sent = requests.post(f"{run.server.url}/submit", data={**query, "unit_id": "2", "commands": "x"}, timeout=30)
    assert sent.status_code == 409 and "unit" in sent.text
    assert run.db.submission(assignment) is None


def test_one_submission_per_assignment_a_second_is_409_and_not_forwarded(run, mturk, unique_name):
    worker = unique_name("WTWICE").upper()
    assignment = accept(mturk, run.hits[0]["hit_id"], worker)
    query = params(run, 0, assignment, worker, mturk)
    onboard(run, query)
    first = requests.post(f"{run.server.url}/submit", data={**query, "commands": "first"}, timeout=30)
    assert first.headers["X-Crowd-Page"] == "forward" and f'action="{mturk}/mturk/externalSubmit"' in first.text
    second = requests.post(f"{run.server.url}/submit", data={**query, "commands": "second"}, timeout=30)
    assert second.status_code == 409 and "externalSubmit" not in second.text
    requests.post(f"{mturk}/mturk/externalSubmit", data={"assignmentId": assignment, "commands": "first"}, timeout=30)
    third = requests.post(f"{run.server.url}/submit", data={**query, "commands": "third"}, timeout=30)
    assert third.status_code == 409 and "externalSubmit" not in third.text
    assert run.db.submission(assignment)["data"]["commands"] == "first"
    answer = run.profile.backend.mturk_client().get_assignment(AssignmentId=assignment)["Assignment"]["Answer"]
    assert "first" in answer and "second" not in answer and "third" not in answer
    decisions = run.provider.review(run.run_id())
    assert [(d["assignment_id"], d["decision"]) for d in decisions] == [(assignment, "approved")]


def test_a_20_mb_body_is_refused_with_413(run, mturk, unique_name):
    worker = unique_name("WBIG").upper()
    assignment = accept(mturk, run.hits[0]["hit_id"], worker)
    query = params(run, 0, assignment, worker, mturk)
    onboard(run, query)
    huge = requests.post(f"{run.server.url}/submit", data={**query, "commands": "x" * (20 * 1024 * 1024)}, timeout=120)
    assert huge.status_code == 413
    assert run.db.submission(assignment) is None
    answer = requests.post(f"{run.server.url}/onboarding", data={**query, "answer": "y" * (70 * 1024)}, timeout=60)
    assert answer.status_code == 413


def test_made_up_assignment_ids_create_no_rows(run, mturk, unique_name):
    before = run.db.counts()
    for i in range(200):
        unit = i % 3
        made_up = f"MADEUP{i:04d}{unique_name().upper()}"
        response = requests.get(f"{run.server.url}/task", params=params(run, unit, made_up, f"W{i}", mturk), timeout=30)
        assert response.status_code == 403, response.text
    assert run.db.counts() == before
    # An accepted slot is bound to the first assignment that opens it; made-up ids find it taken.
    worker = unique_name("WREAL").upper()
    real = accept(mturk, run.hits[0]["hit_id"], worker)
    assert requests.get(f"{run.server.url}/task", params=params(run, 0, real, worker, mturk), timeout=30).status_code == 200
    for i in range(20):
        taken = requests.get(f"{run.server.url}/task", params=params(run, 0, f"MADEUP{i}X", worker, mturk), timeout=30)
        assert taken.status_code == 403
    assert run.db.counts()["assignments"] == before["assignments"] + 1
    hostile = requests.get(f"{run.server.url}/task", params=params(run, 0, "A'; DROP TABLE x;--", "W<script>", mturk), timeout=30)
    assert hostile.status_code == 400 and "<script>" not in hostile.text
    unknown_hit = requests.get(f"{run.server.url}/task", params={**params(run, 0, real, worker, mturk), "hitId": "NOTOURS"}, timeout=30)
    assert unknown_hit.status_code == 404


def test_submit_origin_outside_the_platform_is_refused(run, mturk, unique_name):
    worker = unique_name("WORIGIN").upper()
    assignment = accept(mturk, run.hits[0]["hit_id"], worker)
    elsewhere = {**params(run, 0, assignment, worker, mturk), "turkSubmitTo": "https://evil.example"}
    assert requests.get(f"{run.server.url}/task", params=elsewhere, timeout=30).status_code == 400


def test_review_does_not_pay_work_recorded_for_another_unit(run, mturk, unique_name):
    import sqlite3

    worker = unique_name("WREVIEW").upper()
    assignment = accept(mturk, run.hits[1]["hit_id"], worker)
    query = params(run, 1, assignment, worker, mturk)
    onboard(run, query)
    requests.post(f"{run.server.url}/submit", data={**query, "commands": "x"}, timeout=30)
    requests.post(f"{mturk}/mturk/externalSubmit", data={"assignmentId": assignment, "commands": "x"}, timeout=30)
    with sqlite3.connect(run.db.path) as connection:  # records written by an older, trusting server
        connection.execute("UPDATE submissions SET unit_id = 2 WHERE assignment_id = ?", (assignment,))
    connection.close()
    decision = run.provider.review(run.run_id())[0]
    assert decision["decision"] == "rejected" and decision["reason"] == UNIT_MISMATCH_REASON


def test_extra_source_files_are_served_and_nothing_outside(run):
    css = requests.get(f"{run.server.url}/craftassist.css", timeout=30)
    assert css.status_code == 200 and ".instance" in css.text
    for path in ("/../conf/craftassist.yaml", "/%2e%2e/data.csv", "/nope.css"):
        assert requests.get(run.server.url + path, timeout=30).status_code == 404


def _serve(tmp_path: Path, unique_name, ignore_sigint: bool) -> subprocess.Popen:
    task_dir = Path(shutil.copytree(EXAMPLE, tmp_path / "task"))
    conf = task_dir / "conf" / "craftassist.yaml"
    conf.write_text(conf.read_text().replace("craftassist_onboarding_v1", unique_name("servequal")))

    def ignore() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    return subprocess.Popen(
        [sys.executable, "-m", "iglu_lib.cli", "crowd", "serve", str(task_dir), "--conf", "craftassist",
         "--db", str(tmp_path / "serve.sqlite")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ},
        preexec_fn=ignore if ignore_sigint else None,  # noqa: PLW1509 - the point of the test
    )


def _wait_until_serving(process: subprocess.Popen) -> str:
    lines = [process.stdout.readline(), process.stdout.readline()]
    assert lines[1].startswith("task server at "), lines
    url = lines[1].strip().removeprefix("task server at ")
    assert requests.get(f"{url}/healthz", timeout=30).json()["units"] == 3
    return url


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_stops_cleanly_even_when_the_parent_ignored_sigint(local_profile, tmp_path, unique_name, sig):
    process = _serve(tmp_path, unique_name, ignore_sigint=True)
    try:
        url = _wait_until_serving(process)
        started = time.monotonic()
        process.send_signal(sig)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert time.monotonic() - started < 10 and "task server stopped" in out and "Traceback" not in err
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/healthz", timeout=5)


def test_a_returned_hit_is_freed_for_the_next_worker_when_previewed(run, mturk, unique_name):
    first, second = unique_name("WFIRST").upper(), unique_name("WSECOND").upper()
    held = accept(mturk, run.hits[0]["hit_id"], first)
    assert requests.get(f"{run.server.url}/task", params=params(run, 0, held, first, mturk), timeout=30).status_code == 200
    requests.post(f"{mturk}/_local/assignments/{held}/return", json={}, timeout=30)
    taken = accept(mturk, run.hits[0]["hit_id"], second)
    # Straight in without a preview, the slot still looks held by the returned assignment ...
    assert requests.get(f"{run.server.url}/task", params=params(run, 0, taken, second, mturk), timeout=30).status_code == 403
    # ... a preview while nobody holds the HIT frees it (here: the second worker returns and comes back).
    requests.post(f"{mturk}/_local/assignments/{taken}/return", json={}, timeout=30)
    assert requests.get(f"{run.server.url}/task", params=params(run, 0, PREVIEW, second, mturk), timeout=30).status_code == 200
    again = accept(mturk, run.hits[0]["hit_id"], second)
    opened = requests.get(f"{run.server.url}/task", params=params(run, 0, again, second, mturk), timeout=30)
    assert opened.status_code == 200 and opened.headers["X-Crowd-Page"] == "onboarding"
    assert run.db.assignment(held)["status"] == "returned"
