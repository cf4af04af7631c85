"""Both HIT question modes in headless Chromium on the local MTurk server's worker pages.

`external`: the preview frame's HTML holds no join code at all; after accepting, the task server
sees the HIT accepted and the codes are shown; the page submits to the platform as an
HTMLQuestion does. A stranger who requests the page first with a made-up assignment id neither
shuts the worker out nor sees the worker's codes, and after a return the next worker's frame
shows codes at once. `html`: still works, and its preview frame does carry the codes (hidden by
a script only), which is why `iglu collect` warns about it."""

from __future__ import annotations

import uuid

import pytest

from iglu_lib.crowd.server import TaskServer
from iglu_lib.crowd.session import campaign_pages
from iglu_lib.local.mturk.control_client import LocalMTurkControl
from iglu_lib.mturk import HitManager
from iglu_lib.pages.store import SUBMITTED
from tests.test_mturk_external_pages import frame_url, shown_join_codes, stranger_get

pytestmark = pytest.mark.browser

JOIN = "/plaiground:join-task-with-agent T1:C1:TASK1"
VARIABLES = {"task_name": "Blue tower", "task_join_code": JOIN, "agent_instance_ids": ["inst-a", "inst-b"]}
CODES = (JOIN, "inst-a", "inst-b")
#: The campaign's HITs carry an expiry (`join_code_expiry`), which each claim cuts to its own.
EXPIRING = {**VARIABLES, "agent_instance_ids": ["inst-secret-a", "inst-secret-b"], "join_code_suffix": ":1893456000000"}


@pytest.fixture
def pages_server(local_profile, tmp_path):
    """A task server serving the HIT pages of the local profile in external mode."""
    profile = local_profile.with_hit(question_mode="external", external_store=str(tmp_path / "hit_pages.sqlite"))
    server = TaskServer(None, None, campaign_pages=campaign_pages(profile)).start()
    yield server
    server.stop()


@pytest.fixture
def external_profile(local_profile, tmp_path, pages_server):
    """The local profile in external mode, its HIT pages served by `pages_server`."""
    return local_profile.with_hit(question_mode="external", external_store=str(tmp_path / "hit_pages.sqlite"),
                                  external_url=pages_server.url)


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


def fill_and_submit(frame, fresh_code) -> None:
    frame.locator("#completionCode1").fill(fresh_code())
    frame.locator("#completionCode2").fill(fresh_code())
    frame.locator("#agent1_performance").fill("good")
    frame.locator("#agent2_performance").fill("bad")
    frame.locator("#best-agent-1").check()
    frame.locator("#submit-button:enabled").wait_for()
    frame.locator("#submit-button").click()
    frame.get_by_text("Your work was submitted").wait_for()


def test_a_racing_stranger_does_not_shut_the_worker_out(page, stack, external_profile, unique_name, fresh_code):
    """The worker accepts; before the frame loads, a stranger who previewed requests the page with
    a made-up assignment id. The stranger gets only codes of his own claim; the worker's frame
    shows its own codes, and the submission carries them."""
    mturk = stack["mturk_endpoint_url"]
    manager = HitManager.open(external_profile, hit_type="pairwise", campaign=unique_name("race"))
    hit = manager.create_hit(EXPIRING, unique_request_token=uuid.uuid4().hex)
    worker = "WRACE" + unique_name().upper()
    control = LocalMTurkControl(mturk)
    control.set_worker(worker)
    assignment = control.accept(hit.hit_id, worker)["assignment_id"]
    status, stranger_page = stranger_get(frame_url(manager, hit), {"assignmentId": "3" + uuid.uuid4().hex[:29].upper(),
                                                     "hitId": hit.hit_id, "workerId": "ASTRANGER0042",
                                                     "turkSubmitTo": mturk})
    assert status == 200 and len(shown_join_codes(stranger_page)) == 2

    page.goto(f"{mturk}/worker/assignments/{assignment}?workerId={worker}")
    frame = page.frame_locator("#hit-frame")
    first, second = frame.locator("#join-code-1").inner_text(), frame.locator("#join-code-2").inner_text()
    assert first.startswith(f"{JOIN}:inst-secret-a:") and second.startswith(f"{JOIN}:inst-secret-b:")
    assert {first, second}.isdisjoint(shown_join_codes(stranger_page))
    fill_and_submit(frame, fresh_code)
    [submitted] = manager.submitted_assignments(hit.hit_id)
    assert submitted.worker_id == worker and submitted.answers.fields["joinCode1"] == first
    assert manager.page_store.claim_of(assignment).outcome == SUBMITTED


def test_after_a_return_the_next_worker_sees_codes_at_once(page, stack, external_profile, unique_name):
    """Worker A previews, accepts, sees the codes and returns the HIT; worker B accepts it
    straight away without a preview (MTurk's "Accept & Work"), and B's frame shows codes at once
    (B's own: another expiry)."""
    mturk = stack["mturk_endpoint_url"]
    manager = HitManager.open(external_profile, hit_type="pairwise", campaign=unique_name("return"))
    hit = manager.create_hit(EXPIRING, unique_request_token=uuid.uuid4().hex)
    control = LocalMTurkControl(mturk)
    first, second = "WRETA" + unique_name().upper(), "WRETB" + unique_name().upper()
    control.set_worker(first)
    control.set_worker(second)

    page.goto(f"{mturk}/worker/hits/{hit.hit_id}?workerId={first}")
    page.click("#accept-hit")
    page.wait_for_url("**/worker/assignments/**")
    shown_a = page.frame_locator("#hit-frame").locator("#join-code-1").inner_text()
    page.click("#return-hit")
    page.wait_for_url("**/worker?**")

    accept = page.request.post(f"{mturk}/worker/hits/{hit.hit_id}/accept", form={"workerId": second}, max_redirects=0)
    assert accept.status == 303
    page.goto(mturk + accept.headers["location"] if accept.headers["location"].startswith("/") else accept.headers["location"])
    frame = page.frame_locator("#hit-frame")
    shown_b = frame.locator("#join-code-1").inner_text()
    assert frame.locator("#not-verified").count() == 0
    assert shown_a.startswith(f"{JOIN}:inst-secret-a:") and shown_b.startswith(f"{JOIN}:inst-secret-a:")
    assert shown_a != shown_b


def test_a_frame_refused_a_moment_too_early_reloads_itself_into_codes(page, stack, external_profile, unique_name,
                                                                       pages_server):
    """A stranger asked just before the worker accepted, so the server still holds the service's
    "nobody working" answer when the worker's frame loads: the frame says so and reloads itself
    until the fresh answer lets the codes through; the worker does nothing."""
    mturk = stack["mturk_endpoint_url"]
    manager = HitManager.open(external_profile, hit_type="pairwise", campaign=unique_name("early"))
    hit = manager.create_hit(EXPIRING, unique_request_token=uuid.uuid4().hex)
    pages_server.campaign_pages.states.recheck_seconds = 8  # the "nobody" answer outlives the frame's first load
    worker = "WEARLY" + unique_name().upper()
    LocalMTurkControl(mturk).set_worker(worker)
    statuses = []
    page.on("response", lambda response: statuses.append(response.status) if "/hit?page=" in response.url else None)
    page.goto(f"{mturk}/worker/hits/{hit.hit_id}?workerId={worker}")
    status, _ = stranger_get(frame_url(manager, hit), {"assignmentId": "3" + uuid.uuid4().hex[:29].upper(),
                                                       "hitId": hit.hit_id, "workerId": "ASTRANGER0043",
                                                       "turkSubmitTo": mturk})
    assert status == 409
    page.click("#accept-hit")
    page.wait_for_url("**/worker/assignments/**")
    frame = page.frame_locator("#hit-frame")
    assert frame.locator("#join-code-1").inner_text().startswith(f"{JOIN}:inst-secret-a:")
    assert statuses[0] == 200 and 409 in statuses[1:] and statuses[-1] == 200, statuses  # preview, refused, codes
