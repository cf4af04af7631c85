"""The task server on a real loopback port: preview, onboarding gate, task page, submissions."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from iglu_lib.crowd.db import CrowdDB
from iglu_lib.crowd.onboarding import OnboardingRules
from iglu_lib.crowd.server import TaskServer
from iglu_lib.crowd.task import load_task

EXAMPLE = Path(__file__).resolve().parents[1] / "crowd_tasks" / "craftassist"
PLATFORM = "http://127.0.0.1:9"  # only an origin the server may forward to; never contacted
GOOD = "build a red tower\nmove the blue block left\ndestroy the green wall"


@pytest.fixture
def served(tmp_path):
    """A running task server for the example task, and the onboarding results it reported."""
    reported: list[tuple[str, bool]] = []
    db = CrowdDB(tmp_path / "crowd.sqlite")
    server = TaskServer(load_task(EXAMPLE, "craftassist"), db, submit_origins=[PLATFORM],
                        rules=OnboardingRules(), on_onboarding=lambda w, p: reported.append((w, p)))
    with server:
        yield server, db, reported


def _params(worker: str, assignment: str, unit: int = 1, hit: str = "HIT1") -> dict[str, str]:
    return {"unit_id": str(unit), "assignmentId": assignment, "hitId": hit, "workerId": worker, "turkSubmitTo": PLATFORM}


def test_preview_shows_the_task_without_a_worker(served):
    server, db, _ = served
    page = requests.get(f"{server.url}/task", params={"unit_id": 0, "assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE"}, timeout=30)
    assert page.status_code == 200 and 'id="preview-title"' in page.text and "0.30 USD" in page.text
    assert db.counts()["assignments"] == 0


def test_new_worker_passes_onboarding_and_sees_their_unit(served):
    server, db, reported = served
    params = _params("W-good", "A-good", unit=2)
    first = requests.get(f"{server.url}/task", params=params, timeout=30)
    assert first.status_code == 200 and 'id="onboarding-form"' in first.text
    answered = requests.post(f"{server.url}/onboarding", data={**params, "answer": GOOD.replace("\n", "\r\n")}, timeout=30)
    assert answered.status_code == 200 and answered.url.startswith(f"{server.url}/task?")
    assert '<strong id="subdomain">craftassist-b01</strong>' in answered.text
    assert '<span id="batch">2026-11-b</span>' in answered.text
    assert '<span id="agent-id">A-good</span>' in answered.text and '<span id="worker-id">W-good</span>' in answered.text
    assert reported == [("W-good", True)]
    record = db.onboarding("W-good", "craftassist_onboarding_v1")
    assert record.passed and record.synced_to_platform and record.commands == 3
    again = requests.get(f"{server.url}/task", params=_params("W-good", "A-other", unit=0), timeout=30)
    assert 'id="subdomain">craftassist-a01<' in again.text  # passed before: straight to the task


def test_failed_worker_is_refused_now_and_later_and_cannot_submit(served):
    server, db, reported = served
    params = _params("W-bad", "A-bad")
    refused = requests.post(f"{server.url}/onboarding", data={**params, "answer": "go\nhi"}, timeout=30)
    assert refused.status_code == 403 and 'id="onboarding-refused"' in refused.text
    assert "too few commands" in refused.text
    retry = requests.post(f"{server.url}/onboarding", data={**params, "answer": GOOD}, timeout=30)
    assert retry.status_code == 403  # a result is final
    later = requests.get(f"{server.url}/task", params=_params("W-bad", "A-bad-2", unit=0), timeout=30)
    assert later.status_code == 403 and "craftassist-a01" not in later.text
    submit = requests.post(f"{server.url}/submit", data={**_params("W-bad", "A-bad-2", unit=0), "commands": "x"}, timeout=30)
    assert submit.status_code == 403
    assert reported == [("W-bad", False)] and db.counts()["submissions"] == 0
    assert db.onboarding("W-bad", "craftassist_onboarding_v1").reasons == ["too_few_commands", "too_short"]


def test_preview_with_a_worker_id_offers_onboarding_first(served):
    server, db, reported = served
    preview = {**_params("W-pre", "ASSIGNMENT_ID_NOT_AVAILABLE")}
    page = requests.get(f"{server.url}/task", params=preview, timeout=30)
    assert 'id="onboarding-form"' in page.text and 'value="ASSIGNMENT_ID_NOT_AVAILABLE"' in page.text
    passed = requests.post(f"{server.url}/onboarding", data={**preview, "answer": GOOD}, timeout=30)
    assert 'id="preview-title"' in passed.text and reported == [("W-pre", True)]
    assert db.counts()["assignments"] == 0


def test_submission_is_recorded_and_forwarded_to_the_platform_only(served):
    server, db, _ = served
    params = _params("W-sub", "A-sub", unit=1)
    requests.post(f"{server.url}/onboarding", data={**params, "answer": GOOD}, timeout=30)
    sent = requests.post(f"{server.url}/submit", data={**params, "commands": 'build "x" <b>', "rating": "4"}, timeout=30)
    assert sent.status_code == 200
    assert f'action="{PLATFORM}/mturk/externalSubmit"' in sent.text
    assert 'value="build &quot;x&quot; &lt;b&gt;"' in sent.text and 'name="assignmentId" value="A-sub"' in sent.text
    stored = db.submission("A-sub")
    assert stored["data"] == {"commands": 'build "x" <b>', "rating": "4"} and stored["unit_id"] == 1
    assert db.assignment("A-sub")["status"] == "Submitted"
    frame = db.frame("submissions")
    assert list(frame["rating"]) == ["4"] and list(frame["worker_id"]) == ["W-sub"]
    elsewhere = requests.get(f"{server.url}/task", params={**params, "turkSubmitTo": "https://evil.example"}, timeout=30)
    assert elsewhere.status_code == 400


def test_hostile_ids_are_escaped_and_unknown_units_refused(served):
    server, _, _ = served
    params = _params('W\'"><script>x()</script>', "A-x'; DROP TABLE assignments; --", unit=0)
    page = requests.get(f"{server.url}/task", params=params, timeout=30)
    assert "<script>x()" not in page.text and "&lt;script&gt;" in page.text
    assert served[1].assignment("A-x'; DROP TABLE assignments; --")["worker_id"] == 'W\'"><script>x()</script>'
    assert requests.get(f"{server.url}/task", params=_params("W", "A", unit=99), timeout=30).status_code == 404
    assert requests.get(f"{server.url}/task", params={"unit_id": 0, "assignmentId": "A1"}, timeout=30).status_code == 400
    unopened = requests.post(f"{server.url}/submit", data={**_params("W-none", "A-none"), "x": "1"}, timeout=30)
    assert unopened.status_code == 403


def test_extra_source_files_are_served_and_nothing_outside(served):
    server, _, _ = served
    css = requests.get(f"{server.url}/craftassist.css", timeout=30)
    assert css.status_code == 200 and ".instance" in css.text
    for path in ("/../conf/craftassist.yaml", "/%2e%2e/data.csv", "/nope.css"):
        assert requests.get(server.url + path, timeout=30).status_code == 404


def test_server_stops_and_records_its_run(tmp_path):
    db = CrowdDB(tmp_path / "c.sqlite")
    server = TaskServer(load_task(EXAMPLE, "craftassist"), db).start()
    url = server.url
    assert requests.get(f"{url}/healthz", timeout=30).json()["units"] == 3
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/healthz", timeout=5)
    run = db.task_run(task_name="craftassist-interaction")
    assert run["server_url"] == url and len(db.units(run["task_run_id"])) == 3
