"""A worker in headless Chromium does a pairwise HIT on the local MTurk server: the preview
shows no codes, accepting shows both join codes, bad completion codes keep submit disabled
with an error beside the field, two valid codes enable it, and what the worker typed comes
back through boto3 and the HIT manager."""

from __future__ import annotations

import uuid

import pytest

from iglu_lib.local.mturk.control_client import LocalMTurkControl
from iglu_lib.mturk import HitManager

pytestmark = pytest.mark.browser

JOIN = "/plaiground:join-task-with-agent T1:C1:TASK1"




def test_worker_does_a_pairwise_hit_in_chromium(page, stack, local_profile, unique_name, fresh_code):
    url = stack["mturk_endpoint_url"]
    manager = HitManager.open(local_profile, hit_type="pairwise", campaign=unique_name("browser"))
    hit = manager.create_hit(
        {"task_name": 'Blue tower <i>"quoted"</i>', "task_join_code": JOIN,
         "agent_instance_ids": ["inst-a", "inst-b"]},
        unique_request_token=uuid.uuid4().hex,
    )
    worker = "WBROWSER" + unique_name().upper()
    LocalMTurkControl(url).set_worker(worker)
    join1, join2 = f"{JOIN}:inst-a", f"{JOIN}:inst-b"

    # Preview: the task is described, no join code is shown, nothing can be submitted.
    page.goto(f"{url}/worker/hits/{hit.hit_id}?workerId={worker}")
    frame = page.frame_locator("#hit-frame")
    frame.locator("#preview-note").wait_for(state="visible")
    assert frame.locator(".task-name").inner_text() == 'Blue tower <i>"quoted"</i>'
    frame_text = frame.locator("body").inner_text()
    assert "inst-a" not in frame_text and "inst-b" not in frame_text
    assert frame.locator("#submit-button").count() == 0 and frame.locator("input.completion-code").count() == 0

    # Accept: both join codes are visible on the work page.
    page.click("#accept-hit")
    page.wait_for_url("**/worker/assignments/**")
    frame = page.frame_locator("#hit-frame")
    assert frame.locator("#join-code-1").inner_text() == join1
    assert frame.locator("#join-code-2").inner_text() == join2
    assert frame.locator("body").evaluate("() => typeof DecompressionStream") == "function"
    submit = frame.locator("#submit-button")
    assert submit.is_disabled()

    code1, code2 = fresh_code(), fresh_code()
    bad_codes = {
        "AB12CD34EF56GH": "not a completion code",
        join1: "join command",
        code1[:60]: "cut off",
        fresh_code(kind="hc"): "without the AI assistant",
        fresh_code(game_id="short"): "wrong length",
    }
    frame.locator("#completionCode2").fill(code2)
    for bad, message in bad_codes.items():
        frame.locator("#completionCode1").fill(bad)
        error = frame.locator("#completionCode1-error")
        error.filter(has_text=message).wait_for()
        assert submit.is_disabled(), bad

    # The same code twice is refused beside the second field.
    frame.locator("#completionCode1").fill(code2)
    frame.locator("#completionCode2-error").filter(has_text="same code as game 1").wait_for()
    assert submit.is_disabled()

    # Two valid, different codes enable submit; the worker answers and submits.
    frame.locator("#completionCode1").fill(f"  {code1}\n")
    frame.locator("#submit-button:enabled").wait_for()
    assert frame.locator("#completionCode1-error").inner_text() == ""
    assert frame.locator("#completionCode2-error").inner_text() == ""
    frame.locator("#agent1_performance").fill("It built the tower <quickly> & well")
    frame.locator("#agent2_performance").fill("It ignored me")
    frame.locator("#best-agent-1").check()
    submit.click()
    frame.get_by_text("Your work was submitted").wait_for()

    raw = local_profile.backend.mturk_client().list_assignments_for_hit(HITId=hit.hit_id)["Assignments"]
    assert len(raw) == 1 and raw[0]["WorkerId"] == worker and raw[0]["AssignmentStatus"] == "Submitted"
    [assignment] = manager.submitted_assignments(hit.hit_id)
    assert assignment.answers.ok, assignment.answers.problems
    assert assignment.answers.fields == {
        "joinCode1": join1,
        "joinCode2": join2,
        "completionCode1": f"  {code1}",  # a text input drops the line break, keeps the spaces
        "completionCode2": code2,
        "agent1_performance": "It built the tower <quickly> & well",
        "agent2_performance": "It ignored me",
        "best_agent": {"agent1_option": True, "agent2_option": False,  # the ties are offered by default
                       "both_good_option": False, "both_bad_option": False},
    }


def test_single_agent_page_submits_code_and_ratings(page, stack, local_profile, unique_name, fresh_code):
    url = stack["mturk_endpoint_url"]
    manager = HitManager.open(local_profile, hit_type="single", campaign=unique_name("browser"))
    hit = manager.create_hit({"task_name": "Red wall", "task_join_code": JOIN, "agent_instance_ids": ["solo"],
                              "join_code_suffix": ":1893456000000"})
    worker = "WSINGLE" + unique_name().upper()
    LocalMTurkControl(url).set_worker(worker)
    page.goto(f"{url}/worker/hits/{hit.hit_id}?workerId={worker}")
    page.click("#accept-hit")
    page.wait_for_url("**/worker/assignments/**")
    frame = page.frame_locator("#hit-frame")
    assert frame.locator("#join-code-1").inner_text() == f"{JOIN}:solo:1893456000000"
    code = fresh_code(legacy=True)
    frame.locator("#completionCode").fill(code[:-8])
    frame.locator("#completionCode-error").filter(has_text="copy").wait_for()
    frame.locator("#completionCode").fill(code)
    frame.locator("#submit-button:enabled").wait_for()
    frame.locator("#agent_performance").fill("fine")
    frame.locator("#build_rating").select_option("4")
    frame.locator("#understanding_rating").select_option("2")
    frame.locator("#submit-button").click()
    frame.get_by_text("Your work was submitted").wait_for()
    [assignment] = manager.submitted_assignments(hit.hit_id, agents=1)
    assert assignment.answers.ok, assignment.answers.problems
    assert assignment.answers.fields == {
        "joinCode": f"{JOIN}:solo:1893456000000", "completionCode": code, "agent_performance": "fine",
        "build_rating": "4", "understanding_rating": "2",
    }
