"""Headless Chromium through the onboarding gate: a worker who writes two short lines is refused,
one who writes real commands sees their unit's world and their own ids; directly on the task
server and through the local MTurk server's worker pages."""

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


def _direct_url(server_url: str, submit_to: str, worker: str, assignment: str, unit: int) -> str:
    from urllib.parse import urlencode

    query = urlencode({"unit_id": unit, "assignmentId": assignment, "hitId": f"HIT-{unit}",
                       "workerId": worker, "turkSubmitTo": submit_to})
    return f"{server_url}/task?{query}"


def test_onboarding_gate_on_the_task_server(browser, task_run, stack):
    submit_to = stack["mturk_endpoint_url"]
    page = browser.new_page()
    try:
        page.goto(_direct_url(task_run.server.url, submit_to, "W-short", "A-short", 0))
        page.fill("#onboarding-answer", SHORT)
        page.click("#onboarding-submit")
        page.wait_for_selector("#onboarding-refused")
        assert "too few commands" in page.content()
        page.goto(_direct_url(task_run.server.url, submit_to, "W-short", "A-short-2", 1))
        page.wait_for_selector("#onboarding-refused")  # refused again, no second chance

        page.goto(_direct_url(task_run.server.url, submit_to, "W-rich", "A-rich", 2))
        page.fill("#onboarding-answer", GOOD)
        page.click("#onboarding-submit")
        page.wait_for_selector("#subdomain")
        assert page.inner_text("#subdomain") == "craftassist-b01"
        assert page.inner_text("#batch") == "2026-11-b"
        assert page.inner_text("#agent-id") == "A-rich" and page.inner_text("#worker-id") == "W-rich"
        assert "craftassist-b01.craftassist.example" in page.get_attribute("#world-link", "href")
    finally:
        page.close()


def test_onboarding_gate_through_the_local_mturk_worker_pages(browser, task_run, stack, local_profile):
    mturk = stack["mturk_endpoint_url"]
    launched = task_run.launch()
    hit_id = launched[1]["hit_id"]
    page = browser.new_page()
    try:
        # A worker who writes two short lines is refused in the preview and cannot accept.
        page.goto(f"{mturk}/worker/hits/{hit_id}?workerId=WSHORT")
        frame = page.frame_locator("#hit-frame")
        frame.locator("#onboarding-answer").fill(SHORT)
        frame.locator("#onboarding-submit").click()
        frame.locator("#onboarding-refused").wait_for()
        page.click("#accept-hit")
        page.wait_for_selector("#error")
        assert "qualification" in page.inner_text("#error").lower()

        # A worker who writes real commands passes, accepts and sees their own unit and ids.
        page.goto(f"{mturk}/worker/hits/{hit_id}?workerId=WRICH")
        frame = page.frame_locator("#hit-frame")
        frame.locator("#onboarding-answer").fill(GOOD)
        frame.locator("#onboarding-submit").click()
        frame.locator("#preview-title").wait_for()
        page.click("#accept-hit")
        page.wait_for_selector("#assignment-id")
        assignment_id = page.inner_text("#assignment-id")
        frame = page.frame_locator("#hit-frame")
        assert frame.locator("#subdomain").inner_text() == "craftassist-a02"
        assert frame.locator("#batch").inner_text() == "2026-11-a"
        assert frame.locator("#agent-id").inner_text() == assignment_id
        assert frame.locator("#worker-id").inner_text() == "WRICH"
        frame.locator("#commands").fill("build a red tower")
        with page.expect_response(lambda response: "/mturk/externalSubmit" in response.url) as forwarded:
            frame.locator("#task-submit").click()
        assert forwarded.value.status < 400
    finally:
        page.close()
    status = local_profile.boto3_client("mturk").get_assignment(AssignmentId=assignment_id)["Assignment"]["AssignmentStatus"]
    assert status == "Submitted"
    assert task_run.db.submission(assignment_id)["data"]["commands"] == "build a red tower"
