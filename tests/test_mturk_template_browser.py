"""A worker in headless Chromium does a pairwise HIT made from the shipped iglu-minecraft
template on the local MTurk server: the page shows the server, the game commands, the pay rule
and the consent; the worker fills both completion codes and submits; the answers reach the
server under the field names the campaign loop reads."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from iglu_lib.local.mturk.control_client import LocalMTurkControl
from iglu_lib.mturk import HitManager
from iglu_lib.pages.answers import code_field

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
JOIN = "/plaiground:join-task-with-agent T1:C1:TASK1"
SET = {"minecraft_server": "mc.example.org:25565", "contact": "Jane Doe, study@example.org"}




def test_worker_does_a_hit_of_the_example_template(page, stack, local_profile, unique_name, fresh_code):
    url = stack["mturk_endpoint_url"]
    manager = HitManager.open(local_profile, hit_type="pairwise", campaign=unique_name("tplbrowser"),
                         template_folder="params/templates/iglu-minecraft", template_variables=SET)
    suffix = ":1893456000000"
    hit = manager.create_hit({"task_name": "Blue tower", "task_join_code": JOIN,
                              "agent_instance_ids": ["inst-a", "inst-b"], "join_code_suffix": suffix},
                             unique_request_token=uuid.uuid4().hex)
    worker = "WTEMPLATE" + unique_name().upper()
    LocalMTurkControl(url).set_worker(worker)
    page.goto(f"{url}/worker/hits/{hit.hit_id}?workerId={worker}")
    page.click("#accept-hit")
    page.wait_for_url("**/worker/assignments/**")
    frame = page.frame_locator("#hit-frame")
    assert frame.locator("#minecraft-server").inner_text() == "mc.example.org:25565"
    text = frame.locator("body").inner_text()
    for needed in ("/end-turn", "/finish-game", "at least 3 turns", "Consent", "Jane Doe"):
        assert needed in text, needed
    join1, join2 = f"{JOIN}:inst-a{suffix}", f"{JOIN}:inst-b{suffix}"
    assert frame.locator("#join-code-1").inner_text() == join1
    assert frame.locator("#join-code-2").inner_text() == join2

    code1, code2 = fresh_code(), fresh_code()
    submit = frame.locator("#submit-button")
    frame.locator(f"[name={code_field(0, 2)}]").fill(code1)
    assert submit.is_disabled()
    frame.locator(f"[name={code_field(1, 2)}]").fill(code1)
    frame.locator("#completionCode2-error").filter(has_text="same code as game 1").wait_for()
    frame.locator(f"[name={code_field(1, 2)}]").fill(code2)
    frame.locator("#submit-button:enabled").wait_for()
    frame.locator("#agent1_performance").fill("built the tower")
    frame.locator("#agent2_performance").fill("ignored me")
    frame.locator("#best-agent-2").check()
    submit.click()
    frame.get_by_text("Your work was submitted").wait_for()

    [assignment] = manager.submitted_assignments(hit.hit_id)
    assert assignment.answers.ok, assignment.answers.problems
    assert assignment.answers.fields == {
        "joinCode1": join1, "joinCode2": join2,
        code_field(0, 2): code1, code_field(1, 2): code2,
        "agent1_performance": "built the tower", "agent2_performance": "ignored me",
        "best_agent": {"agent1_option": False, "agent2_option": True,  # the ties are offered by default
                       "both_good_option": False, "both_bad_option": False},
    }
