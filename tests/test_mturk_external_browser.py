"""Both HIT question modes in headless Chromium on the local MTurk server's worker pages.

`external`: the preview frame's HTML holds no join code at all; after accepting, the task server
confirms the assignment and the codes are shown; the page submits to the platform as an
HTMLQuestion does. `html`: still works, and its preview frame does carry the codes (hidden by a
script only), which is why `iglu collect` warns about it."""

from __future__ import annotations

import uuid

import pytest

from iglu_lib.crowd.server import TaskServer
from iglu_lib.crowd.session import campaign_pages
from iglu_lib.local.mturk.control_client import LocalMTurkControl
from iglu_lib.mturk import HitManager

pytestmark = pytest.mark.browser

JOIN = "/plaiground:join-task-with-agent T1:C1:TASK1"
VARIABLES = {"task_name": "Blue tower", "task_join_code": JOIN, "agent_instance_ids": ["inst-a", "inst-b"]}
CODES = (JOIN, "inst-a", "inst-b")




@pytest.fixture
def external_profile(local_profile, tmp_path):
    """The local profile in external mode, with a task server serving the HIT pages."""
    store = str(tmp_path / "hit_pages.sqlite")
    profile = local_profile.with_hit(question_mode="external", external_store=store)
    server = TaskServer(None, None, campaign_pages=campaign_pages(profile)).start()
    yield profile.with_hit(external_url=server.url)
    server.stop()


def frame_html(page) -> str:
    return page.frame_locator("#hit-frame").locator("html").evaluate("element => element.outerHTML")


def test_external_mode_preview_holds_no_code_and_accepting_shows_them(page, stack, external_profile, unique_name, fresh_code):
    mturk = stack["mturk_endpoint_url"]
    manager = HitManager.open(external_profile, hit_type="pairwise", campaign=unique_name("external"))
    hit = manager.create_hit(VARIABLES, unique_request_token=uuid.uuid4().hex)
    worker = "WEXTERNAL" + unique_name().upper()
    LocalMTurkControl(mturk).set_worker(worker)

    page.goto(f"{mturk}/worker/hits/{hit.hit_id}?workerId={worker}")
    frame = page.frame_locator("#hit-frame")
    frame.locator("#preview-note").wait_for(state="visible")
    assert "/hit?page=" in page.get_attribute("#hit-frame", "src")
    assert frame.locator(".task-name").inner_text() == "Blue tower"
    preview = frame_html(page)
    assert [code for code in CODES if code in preview] == []  # not hidden: absent
    assert frame.locator("input.completion-code").count() == 0

    page.click("#accept-hit")
    page.wait_for_url("**/worker/assignments/**")
    frame = page.frame_locator("#hit-frame")
    assert frame.locator("#join-code-1").inner_text() == f"{JOIN}:inst-a"
    assert frame.locator("#join-code-2").inner_text() == f"{JOIN}:inst-b"
    frame.locator("#completionCode1").fill(fresh_code())
    frame.locator("#completionCode2").fill(fresh_code())
    frame.locator("#agent1_performance").fill("good")
    frame.locator("#agent2_performance").fill("bad")
    frame.locator("#best-agent-1").check()
    frame.locator("#submit-button:enabled").wait_for()
    frame.locator("#submit-button").click()
    frame.get_by_text("Your work was submitted").wait_for()
    [assignment] = manager.submitted_assignments(hit.hit_id)
    assert assignment.worker_id == worker and assignment.answers.ok, assignment.answers.problems
    assert assignment.answers.fields["joinCode2"] == f"{JOIN}:inst-b"


def test_html_mode_still_works_and_its_preview_carries_the_codes(page, stack, local_profile, unique_name):
    mturk = stack["mturk_endpoint_url"]
    manager = HitManager.open(local_profile, hit_type="pairwise", campaign=unique_name("html"))
    assert manager.question_mode == "html"
    hit = manager.create_hit(VARIABLES, unique_request_token=uuid.uuid4().hex)
    worker = "WHTML" + unique_name().upper()
    LocalMTurkControl(mturk).set_worker(worker)

    page.goto(f"{mturk}/worker/hits/{hit.hit_id}?workerId={worker}")
    frame = page.frame_locator("#hit-frame")
    frame.locator("#preview-note").wait_for(state="visible")
    assert "inst-a" not in frame.locator("body").inner_text()  # hidden on screen...
    source = page.request.get(mturk + page.get_attribute("#hit-frame", "src")).text()
    assert f"{JOIN}:inst-a" in source  # ...but in the HTML any previewer receives

    page.click("#accept-hit")
    page.wait_for_url("**/worker/assignments/**")
    frame = page.frame_locator("#hit-frame")
    assert frame.locator("#join-code-1").inner_text() == f"{JOIN}:inst-a"
    assert frame.locator("#join-code-2").inner_text() == f"{JOIN}:inst-b"
