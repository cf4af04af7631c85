"""The worker pages of the local MTurk server, fetched with `requests`: list, preview, accept,
work, the question frame, `/mturk/externalSubmit`, and escaping of hostile values."""

from __future__ import annotations

import html
import re
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from markupsafe import escape

from iglu_lib.local.mturk.control_client import LocalMTurkControl

HOSTILE = '<script>alert("x")</script> & \'quoted\''
CROWD_PAGE = """<!DOCTYPE html><html><head>
<script src="https://assets.crowd.aws/crowd-html-elements.js"></script></head>
<body><crowd-form><input name="answer"></crowd-form></body></html>"""
HTML_QUESTION = f"""<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">
<HTMLContent><![CDATA[{CROWD_PAGE}]]></HTMLContent><FrameHeight>600</FrameHeight></HTMLQuestion>"""
EXTERNAL_QUESTION = """<ExternalQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2006-07-14/ExternalQuestion.xsd">
<ExternalURL>https://example.org/task?lang=en</ExternalURL><FrameHeight>400</FrameHeight></ExternalQuestion>"""


@pytest.fixture
def base(stack):
    return stack["mturk_endpoint_url"]


def create_hit(mturk, question=HTML_QUESTION, **extra):
    return mturk.create_hit(
        Title=extra.pop("Title", "Page HIT"), Description="d", Reward="0.50", LifetimeInSeconds=3600,
        AssignmentDurationInSeconds=600, Question=question, **extra,
    )["HIT"]["HITId"]


def frame_src(page: str) -> str:
    (tag,) = re.findall(r'<iframe id="hit-frame"[^>]*>', page)
    return html.unescape(re.search(r'src="([^"]*)"', tag).group(1))


def accept(base, hit_id, worker_id):
    response = requests.post(f"{base}/worker/hits/{hit_id}/accept", data={"workerId": worker_id}, allow_redirects=False, timeout=30)
    assert response.status_code == 303
    return response.headers["Location"]


def test_list_links_to_previews_and_escapes_requester_text(base, mturk):
    worker = "W-page-" + secrets.token_hex(3)
    hit_id = create_hit(mturk, Title=HOSTILE, RequesterAnnotation=HOSTILE)
    page = requests.get(f"{base}/worker", params={"workerId": worker}, timeout=30).text
    assert f"/worker/hits/{hit_id}?workerId={worker}" in page
    assert HOSTILE not in page and str(escape(HOSTILE)) in page
    assert "No HITs" not in page
    assert 'name="workerId"' in requests.get(f"{base}/worker", timeout=30).text


def test_preview_accept_work_and_submit_through_the_frame(base, mturk):
    worker = "W-page-" + secrets.token_hex(3)
    hit_id = create_hit(mturk, Title=HOSTILE)
    preview = requests.get(f"{base}/worker/hits/{hit_id}", params={"workerId": worker}, timeout=30)
    assert preview.status_code == 200 and 'id="accept-hit"' in preview.text
    assert f'action="/worker/hits/{hit_id}/accept"' in preview.text
    assert HOSTILE not in preview.text
    src = frame_src(preview.text)
    query = parse_qs(urlsplit(src).query)
    assert urlsplit(src).path == f"/worker/hits/{hit_id}/frame"
    assert query == {"assignmentId": ["ASSIGNMENT_ID_NOT_AVAILABLE"], "hitId": [hit_id], "workerId": [worker], "turkSubmitTo": [base]}

    location = accept(base, hit_id, worker)
    assert urlsplit(location).path.startswith("/worker/assignments/")
    assert parse_qs(urlsplit(location).query) == {"workerId": [worker]}
    assignment_id = urlsplit(location).path.rsplit("/", 1)[-1]
    work = requests.get(base + location, timeout=30)
    assert 'id="accept-hit"' not in work.text
    query = parse_qs(urlsplit(frame_src(work.text)).query)
    assert query["assignmentId"] == [assignment_id] and query["turkSubmitTo"] == [base]

    frame = requests.get(base + frame_src(work.text), timeout=30)
    assert frame.status_code == 200 and frame.headers["Content-Type"].startswith("text/html")
    assert '<script src="/_local/static/crowd-html-elements.js"></script>' in frame.text
    assert "assets.crowd.aws" not in frame.text and "<crowd-form>" in frame.text
    script = requests.get(base + "/_local/static/crowd-html-elements.js", timeout=30)
    assert script.status_code == 200 and "externalSubmit" in script.text

    answers = '[{"answer": "</FreeText><b>&amp;</b>"}]'
    submitted = requests.post(f"{base}/mturk/externalSubmit", data={"assignmentId": assignment_id, "taskAnswers": answers}, timeout=30)
    assert submitted.status_code == 200 and "submitted" in submitted.text.lower()
    (assignment,) = mturk.list_assignments_for_hit(HITId=hit_id)["Assignments"]
    assert assignment["Answer"].count("<Answer>") == 1
    assert "<QuestionIdentifier>taskAnswers</QuestionIdentifier>" in assignment["Answer"]
    assert html.escape(answers, quote=False) in assignment["Answer"]
    again = requests.post(f"{base}/mturk/externalSubmit", data={"assignmentId": assignment_id, "taskAnswers": "[]"}, timeout=30)
    assert again.status_code == 409
    closed = requests.get(base + location, timeout=30)
    assert "Submitted" in closed.text and 'id="hit-frame"' not in closed.text


def test_external_question_frame_is_its_url_with_the_four_parameters(base, mturk):
    worker = "W-ext-" + secrets.token_hex(3)
    hit_id = create_hit(mturk, question=EXTERNAL_QUESTION)
    src = frame_src(requests.get(f"{base}/worker/hits/{hit_id}", params={"workerId": worker}, timeout=30).text)
    assert src.startswith("https://example.org/task?lang=en&")
    assert parse_qs(urlsplit(src).query)["assignmentId"] == ["ASSIGNMENT_ID_NOT_AVAILABLE"]
    work = requests.get(base + accept(base, hit_id, worker), timeout=30)
    query = parse_qs(urlsplit(frame_src(work.text)).query)
    assert query["lang"] == ["en"] and query["hitId"] == [hit_id] and query["workerId"] == [worker]
    assert query["assignmentId"][0] != "ASSIGNMENT_ID_NOT_AVAILABLE"
    fields = {"assignmentId": query["assignmentId"][0], "joinCode": "ABC", "feedback": "fine"}
    assert requests.post(f"{base}/mturk/externalSubmit", data=fields, timeout=30).status_code == 200
    (assignment,) = mturk.list_assignments_for_hit(HITId=hit_id)["Assignments"]
    assert "<QuestionIdentifier>joinCode</QuestionIdentifier><FreeText>ABC</FreeText>" in assignment["Answer"]
    assert "assignmentId" not in assignment["Answer"]


def test_refused_accept_shows_the_reason(base, mturk):
    worker = "W-blk-" + secrets.token_hex(3)
    hit_id = create_hit(mturk)
    mturk.create_worker_block(WorkerId=worker, Reason="test")
    preview = requests.get(f"{base}/worker/hits/{hit_id}", params={"workerId": worker}, timeout=30)
    assert 'id="refusal"' in preview.text and 'id="hit-frame"' not in preview.text
    refused = requests.post(f"{base}/worker/hits/{hit_id}/accept", data={"workerId": worker}, allow_redirects=False, timeout=30)
    assert refused.status_code == 403 and "blocked" in refused.text
    mturk.delete_worker_block(WorkerId=worker)
    accept(base, hit_id, worker)
    second = requests.post(f"{base}/worker/hits/{hit_id}/accept", data={"workerId": "W-second"}, allow_redirects=False, timeout=30)
    assert second.status_code == 409 and 'id="error"' in second.text


def test_preview_submission_unknown_ids_and_returning(base, mturk):
    preview_submit = requests.post(f"{base}/mturk/externalSubmit", data={"assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE", "a": "b"}, timeout=30)
    assert preview_submit.status_code == 400
    assert requests.post(f"{base}/mturk/externalSubmit", data={"assignmentId": "3NOSUCH"}, timeout=30).status_code == 404
    assert requests.get(f"{base}/worker/hits/3NOSUCH", params={"workerId": "W"}, timeout=30).status_code == 404
    assert requests.get(f"{base}/worker/hits/3NOSUCH/frame", timeout=30).status_code == 404
    assert requests.get(f"{base}/worker/assignments/3NOSUCH", timeout=30).status_code == 404
    disposed = create_hit(mturk)
    mturk.update_expiration_for_hit(HITId=disposed, ExpireAt=0)
    mturk.delete_hit(HITId=disposed)
    assert requests.get(f"{base}/worker/hits/{disposed}", params={"workerId": "W"}, timeout=30).status_code == 404
    refused = requests.post(f"{base}/worker/hits/{disposed}/accept", data={"workerId": "W"}, timeout=30)
    assert refused.status_code == 404
    worker = "W-ret-" + secrets.token_hex(3)
    hit_id = create_hit(mturk)
    assignment_id = urlsplit(accept(base, hit_id, worker)).path.rsplit("/", 1)[-1]
    returned = requests.post(f"{base}/worker/assignments/{assignment_id}/return", data={"workerId": worker}, allow_redirects=False, timeout=30)
    assert returned.status_code == 303
    assert hit_id in {h["hit_id"] for h in LocalMTurkControl(base).worker_hits(worker)}


QUESTION_FORM = """<QuestionForm xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2017-11-06/QuestionForm.xsd">
<Question><QuestionIdentifier>role</QuestionIdentifier><QuestionContent><Text>Who &lt;builds&gt;?</Text></QuestionContent>
<AnswerSpecification><SelectionAnswer><Selections>
<Selection><SelectionIdentifier>architect</SelectionIdentifier><Text>Architect</Text></Selection>
<Selection><SelectionIdentifier>builder</SelectionIdentifier><Text>Builder</Text></Selection>
</Selections></SelectionAnswer></AnswerSpecification></Question>
<Question><QuestionIdentifier>colours</QuestionIdentifier><QuestionContent><Text>Colours used</Text></QuestionContent>
<AnswerSpecification><SelectionAnswer><StyleSuggestion>checkbox</StyleSuggestion><Selections>
<Selection><SelectionIdentifier>red</SelectionIdentifier><Text>Red</Text></Selection>
<Selection><SelectionIdentifier>blue</SelectionIdentifier><Text>Blue</Text></Selection>
</Selections></SelectionAnswer></AnswerSpecification></Question>
<Question><QuestionIdentifier>comment</QuestionIdentifier><QuestionContent><Text>Comment</Text></QuestionContent>
<AnswerSpecification><FreeTextAnswer/></AnswerSpecification></Question>
</QuestionForm>"""
SELECTION_ANSWERS = (
    "<Answer><QuestionIdentifier>role</QuestionIdentifier><SelectionIdentifier>builder</SelectionIdentifier></Answer>"
    "<Answer><QuestionIdentifier>colours</QuestionIdentifier><SelectionIdentifier>red</SelectionIdentifier>"
    "<SelectionIdentifier>blue</SelectionIdentifier></Answer>"
    "<Answer><QuestionIdentifier>comment</QuestionIdentifier><FreeText>&lt;nice&gt; &amp; \"tidy\"</FreeText></Answer>"
)


def test_question_form_hit_is_a_form_whose_selections_are_stored_as_selection_identifiers(base, mturk):
    worker = "W-form-" + secrets.token_hex(3)
    hit_id = create_hit(mturk, question=QUESTION_FORM)
    preview = requests.get(f"{base}/worker/hits/{hit_id}", params={"workerId": worker}, timeout=30)
    preview_frame = requests.get(base + frame_src(preview.text), timeout=30).text
    assert 'id="submit-answers" disabled' in preview_frame and "Who &lt;builds&gt;?" in preview_frame
    work = requests.get(base + accept(base, hit_id, worker), timeout=30)
    frame = requests.get(base + frame_src(work.text), timeout=30).text
    assert 'type="radio" name="role"' in frame and 'type="checkbox" name="colours"' in frame
    assert 'action="/mturk/externalSubmit"' in frame and "disabled" not in frame
    assignment_id = parse_qs(urlsplit(frame_src(work.text)).query)["assignmentId"][0]
    fields = [("assignmentId", assignment_id), ("role", "builder"), ("colours", "red"), ("colours", "blue"),
              ("comment", '<nice> & "tidy"')]
    assert requests.post(f"{base}/mturk/externalSubmit", data=fields, timeout=30).status_code == 200
    (assignment,) = mturk.list_assignments_for_hit(HITId=hit_id)["Assignments"]
    assert SELECTION_ANSWERS in assignment["Answer"]


def test_question_form_answers_through_the_worker_api(mturk, stack):
    control = LocalMTurkControl(stack["mturk_endpoint_url"])
    hit_id = create_hit(mturk, question=QUESTION_FORM)
    accepted = control.accept(hit_id, "W-form-api")
    assert accepted["question"] == {"type": "QuestionForm", "xml": QUESTION_FORM}
    control.submit(accepted["assignment_id"], {"role": "builder", "colours": ["red", "blue"], "comment": '<nice> & "tidy"'})
    (assignment,) = mturk.list_assignments_for_hit(HITId=hit_id)["Assignments"]
    assert SELECTION_ANSWERS in assignment["Answer"]
