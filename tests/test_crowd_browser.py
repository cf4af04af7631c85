"""Headless Chromium through the onboarding gate, inside an accepted assignment: a worker who
writes two short lines is refused (and then not shown the task's HITs), one who writes real
commands sees their unit's world and their own ids; directly on the task server and through the
local MTurk server's worker pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from iglu_lib.crowd.session import open_task_run

pytestmark = pytest.mark.browser

EXAMPLE = Path(__file__).resolve().parents[1] / "crowd_tasks" / "craftassist"
SHORT = "go\nhi"
GOOD = "build a red tower next to the tree\nmove the blue block two steps left\ndestroy the green wall"


@pytest.fixture
def task_run(local_profile, unique_name, tmp_path):
    run = open_task_run(EXAMPLE, "craftassist", local_profile, tmp_path / "crowd.sqlite",
                        qualification_name=unique_name("onboarding"))
    run.serve()
    yield run
    run.stop()


def _accept(mturk: str, hit_id: str, worker: str) -> str:
    import requests

    requests.post(f"{mturk}/_local/workers", json={"worker_id": worker}, timeout=30)
    response = requests.post(f"{mturk}/_local/hits/{hit_id}/accept", json={"worker_id": worker}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["assignment_id"]


def _direct_url(server_url: str, submit_to: str, worker: str, assignment: str, hit_id: str) -> str:
    from urllib.parse import urlencode

    query = urlencode({"assignmentId": assignment, "hitId": hit_id, "workerId": worker, "turkSubmitTo": submit_to})
    return f"{server_url}/task?{query}"


def test_onboarding_gate_on_the_task_server(browser, task_run, stack, unique_name):
    mturk = stack["mturk_endpoint_url"]
    hits = task_run.launch()
    short, rich = unique_name("WSHORT").upper(), unique_name("WRICH").upper()
    page = browser.new_page()
    try:
        assignment = _accept(mturk, hits[0]["hit_id"], short)
        page.goto(_direct_url(task_run.server.url, mturk, short, assignment, hits[0]["hit_id"]))
        page.fill("#onboarding-answer", SHORT)
        page.click("#onboarding-submit")
        page.wait_for_selector("#onboarding-refused")
        assert "too few commands" in page.content()
        page.goto(_direct_url(task_run.server.url, mturk, short, assignment, hits[0]["hit_id"]))
        page.wait_for_selector("#onboarding-refused")  # refused again, no second chance

        assignment = _accept(mturk, hits[2]["hit_id"], rich)
        page.goto(_direct_url(task_run.server.url, mturk, rich, assignment, hits[2]["hit_id"]))
        page.fill("#onboarding-answer", GOOD)
        page.click("#onboarding-submit")
        page.wait_for_selector("#subdomain")
        assert page.inner_text("#subdomain") == "craftassist-b01"
        assert page.inner_text("#batch") == "2026-11-b"
        assert page.inner_text("#agent-id") == assignment and page.inner_text("#worker-id") == rich
        assert "craftassist-b01.craftassist.example" in page.get_attribute("#world-link", "href")
    finally:
        page.close()


def test_onboarding_gate_through_the_local_mturk_worker_pages(browser, task_run, stack, local_profile, unique_name):
    mturk = stack["mturk_endpoint_url"]
    launched = task_run.launch()
    hit_id = launched[1]["hit_id"]
    short, rich = unique_name("WSHORT").upper(), unique_name("WRICH").upper()
    page = browser.new_page()
    try:
        # A worker who writes two short lines accepts, is refused inside the HIT, and after
        # returning it the task's HITs are no longer shown to them.
        page.goto(f"{mturk}/worker/hits/{hit_id}?workerId={short}")
        page.frame_locator("#hit-frame").locator("#preview-title").wait_for()
        page.click("#accept-hit")
        page.wait_for_selector("#assignment-id")
        frame = page.frame_locator("#hit-frame")
        frame.locator("#onboarding-answer").fill(SHORT)
        frame.locator("#onboarding-submit").click()
        frame.locator("#onboarding-refused").wait_for()
        page.click("#return-hit")
        page.goto(f"{mturk}/worker/hits/{hit_id}?workerId={short}")
        page.wait_for_selector("#refusal")
        assert page.locator("#hit-frame").count() == 0

        # A worker who writes real commands accepts, passes and sees their own unit and ids.
        page.goto(f"{mturk}/worker/hits/{hit_id}?workerId={rich}")
        page.frame_locator("#hit-frame").locator("#preview-title").wait_for()
        page.click("#accept-hit")
        page.wait_for_selector("#assignment-id")
        assignment_id = page.inner_text("#assignment-id")
        frame = page.frame_locator("#hit-frame")
        frame.locator("#onboarding-answer").fill(GOOD)
        frame.locator("#onboarding-submit").click()
        assert frame.locator("#subdomain").inner_text() == "craftassist-a02"
        assert frame.locator("#batch").inner_text() == "2026-11-a"
        assert frame.locator("#agent-id").inner_text() == assignment_id
        assert frame.locator("#worker-id").inner_text() == rich
        frame.locator("#commands").fill("build a red tower")
        with page.expect_response(lambda response: "/mturk/externalSubmit" in response.url) as forwarded:
            frame.locator("#task-submit").click()
        assert forwarded.value.status < 400
    finally:
        page.close()
    status = local_profile.backend.mturk_client().get_assignment(AssignmentId=assignment_id)["Assignment"]["AssignmentStatus"]
    assert status == "Submitted"
    assert task_run.db.submission(assignment_id)["data"]["commands"] == "build a red tower"
