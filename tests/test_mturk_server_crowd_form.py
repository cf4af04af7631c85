"""The local crowd-form in headless Chromium: it wraps the inputs in a form, adds a Submit
button only when the page has none, leaves the page's own (disabled) button and its submit
listeners in charge, refuses to submit in preview, and posts `taskAnswers` as the real
crowd-form serialises them."""

from __future__ import annotations

import json

import pytest
from defusedxml import ElementTree

pytestmark = pytest.mark.browser

NS = {"q": "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd"}
PLAIN_FORM = """<!DOCTYPE html><html><head>
<script src="https://assets.crowd.aws/crowd-html-elements.js"></script></head><body>
<crowd-form>
  <input name="code" id="code"><textarea name="feedback" id="feedback"></textarea>
  <select name="rating" id="rating"><option value="1">1</option><option value="5">5</option></select>
  <input type="hidden" name="joinCode" value="J&lt;1&gt;">
  <input type="radio" name="best_agent" value="agent1_option" id="agent1">
  <input type="radio" name="best_agent" value="agent2_option" id="agent2">
  <input type="checkbox" name="issues" value="slow" id="slow"><input type="checkbox" name="issues" value="wrong">
</crowd-form></body></html>"""
GUARDED_FORM = """<!DOCTYPE html><html><head>
<script src="https://assets.crowd.aws/crowd-html-elements.js"></script></head><body>
<crowd-form>
  <input name="code" id="code">
  <button type="submit" id="own-submit" disabled>Send</button>
  <p id="status"></p>
</crowd-form>
<script>
  document.getElementById("code").addEventListener("input", function (event) {
    document.getElementById("own-submit").disabled = event.target.value.length < 3;
  });
  document.querySelector("crowd-form").addEventListener("submit", function (event) {
    if (document.getElementById("code").value !== "VALID") {
      event.preventDefault();
      document.getElementById("status").textContent = "invalid code";
    }
  });
</script></body></html>"""


def question(page: str) -> str:
    return (
        '<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">'
        f"<HTMLContent><![CDATA[{page}]]></HTMLContent><FrameHeight>600</FrameHeight></HTMLQuestion>"
    )


def create_hit(mturk, page):
    return mturk.create_hit(
        Title="crowd-form", Description="d", Reward="0.10", LifetimeInSeconds=3600,
        AssignmentDurationInSeconds=600, Question=question(page),
    )["HIT"]["HITId"]


def task_answers(mturk, hit_id):
    (assignment,) = mturk.list_assignments_for_hit(HITId=hit_id)["Assignments"]
    root = ElementTree.fromstring(assignment["Answer"])
    (answer,) = root.findall("q:Answer", NS)
    assert answer.find("q:QuestionIdentifier", NS).text == "taskAnswers"
    return json.loads(answer.find("q:FreeText", NS).text)


def open_work(browser, base, hit_id, worker):
    page = browser.new_page()
    page.on("dialog", lambda dialog: dialog.dismiss())
    page.goto(f"{base}/worker/hits/{hit_id}?workerId={worker}")
    return page


def test_crowd_form_adds_submit_and_serialises_like_the_real_one(browser, mturk, stack):
    base = stack["mturk_endpoint_url"]
    hit_id = create_hit(mturk, PLAIN_FORM)
    page = open_work(browser, base, hit_id, "W-crowd-1")
    try:
        preview = page.frame_locator("#hit-frame")
        preview.locator("button[data-crowd-submit]").click()  # preview: nothing is submitted
        page.click("#accept-hit")
        page.wait_for_url("**/worker/assignments/**")
        frame = page.frame_locator("#hit-frame")
        assert frame.locator("button[type=submit]").count() == 1
        frame.locator("#code").fill('ABC "quoted" <b>')
        frame.locator("#feedback").fill("line one\nline two")
        frame.locator("#rating").select_option("5")
        frame.locator("#agent2").check()
        frame.locator("#slow").check()
        frame.locator("button[data-crowd-submit]").click()
        frame.locator("#message-title").wait_for()
        assert frame.locator("#message-title").inner_text() == "Submitted"
    finally:
        page.close()
    assert task_answers(mturk, hit_id) == [{
        "code": 'ABC "quoted" <b>', "feedback": "line one\nline two", "rating": "5", "joinCode": "J<1>",
        "best_agent": {"agent1_option": False, "agent2_option": True},
        "issues": {"slow": True, "wrong": False},
    }]


def test_page_keeps_control_of_its_own_submit_button(browser, mturk, stack):
    base = stack["mturk_endpoint_url"]
    hit_id = create_hit(mturk, GUARDED_FORM)
    page = open_work(browser, base, hit_id, "W-crowd-2")
    try:
        page.click("#accept-hit")
        page.wait_for_url("**/worker/assignments/**")
        frame = page.frame_locator("#hit-frame")
        assert frame.locator("button[data-crowd-submit]").count() == 0
        assert frame.locator("#own-submit").is_disabled()
        frame.locator("#code").fill("BAD")
        assert frame.locator("#own-submit").is_enabled()
        frame.locator("#own-submit").click()
        assert frame.locator("#status").inner_text() == "invalid code"
        assert mturk.list_assignments_for_hit(HITId=hit_id)["Assignments"] == []
        frame.locator("#code").fill("VALID")
        frame.locator("#own-submit").click()
        frame.locator("#message-title").wait_for()
    finally:
        page.close()
    assert task_answers(mturk, hit_id) == [{"code": "VALID"}]
