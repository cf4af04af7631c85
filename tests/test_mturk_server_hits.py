"""HITs on the local MTurk server through boto3's own client: create, read, list, review,
expire and delete, with the service's errors."""

from __future__ import annotations

import secrets

import pytest
from botocore.exceptions import ClientError, ParamValidationError

HTML_QUESTION = """<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">
<HTMLContent><![CDATA[<!DOCTYPE html><html><head>
<script src="https://assets.crowd.aws/crowd-html-elements.js"></script></head>
<body><crowd-form><input name="answer"></crowd-form></body></html>]]></HTMLContent>
<FrameHeight>600</FrameHeight></HTMLQuestion>"""
EXTERNAL_QUESTION = """<ExternalQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2006-07-14/ExternalQuestion.xsd">
<ExternalURL>https://example.org/task?lang=en</ExternalURL><FrameHeight>400</FrameHeight></ExternalQuestion>"""


def hit_args(**overrides):
    args = {
        "Title": "Build with an AI assistant", "Description": "Play one game", "Reward": "0.50",
        "LifetimeInSeconds": 3600, "AssignmentDurationInSeconds": 600, "MaxAssignments": 1,
        "Question": HTML_QUESTION,
    }
    return {**args, **overrides}


def error_code(info: pytest.ExceptionInfo) -> str:
    return info.value.response["Error"]["Code"]


def test_create_hit_with_html_question_reads_back_as_created(mturk):
    annotation = 'pairwise <b>"quoted"</b> & co'
    hit = mturk.create_hit(**hit_args(RequesterAnnotation=annotation, Keywords="game, ai"))["HIT"]
    got = mturk.get_hit(HITId=hit["HITId"])["HIT"]
    assert got["HITStatus"] == "Assignable"
    assert got["RequesterAnnotation"] == annotation
    assert got["Question"] == HTML_QUESTION
    assert got["Reward"] == "0.50" and got["MaxAssignments"] == 1
    assert got["NumberOfAssignmentsAvailable"] == 1 and got["NumberOfAssignmentsPending"] == 0
    assert (got["Expiration"] - got["CreationTime"]).total_seconds() == pytest.approx(3600, abs=1)
    assert got["HITTypeId"] == hit["HITTypeId"]


def test_create_hit_with_external_question(mturk):
    hit = mturk.create_hit(**hit_args(Question=EXTERNAL_QUESTION))["HIT"]
    assert "example.org/task" in mturk.get_hit(HITId=hit["HITId"])["HIT"]["Question"]


def test_identical_properties_share_one_hit_type_and_create_hit_with_hit_type_uses_it(mturk):
    title = "typed " + secrets.token_hex(4)
    type_id = mturk.create_hit_type(
        Title=title, Description="d", Reward="0.25", AssignmentDurationInSeconds=300,
        AutoApprovalDelayInSeconds=3600,
    )["HITTypeId"]
    again = mturk.create_hit_type(
        Title=title, Description="d", Reward="0.25", AssignmentDurationInSeconds=300,
        AutoApprovalDelayInSeconds=3600,
    )["HITTypeId"]
    assert again == type_id
    hit = mturk.create_hit_with_hit_type(
        HITTypeId=type_id, LifetimeInSeconds=600, MaxAssignments=3, Question=HTML_QUESTION
    )["HIT"]
    assert hit["HITTypeId"] == type_id and hit["Title"] == title and hit["Reward"] == "0.25"
    assert hit["AutoApprovalDelayInSeconds"] == 3600 and hit["NumberOfAssignmentsAvailable"] == 3
    with pytest.raises(ClientError) as info:
        mturk.create_hit_with_hit_type(HITTypeId="3NOSUCHTYPE", LifetimeInSeconds=600, Question=HTML_QUESTION)
    assert error_code(info) == "RequestError"


def test_repeated_unique_request_token_is_refused_with_the_services_error(mturk):
    token = "tok-" + secrets.token_hex(8)
    mturk.create_hit(**hit_args(UniqueRequestToken=token))
    with pytest.raises(ClientError) as info:
        mturk.create_hit(**hit_args(UniqueRequestToken=token))
    assert error_code(info) == "RequestError"
    assert f'The idempotency token "{token}" has already been processed' in str(info.value)


def test_list_hits_paginates_250_hits_in_pages_of_at_most_100(mturk):
    annotation = "page-" + secrets.token_hex(6)
    created = {mturk.create_hit(**hit_args(RequesterAnnotation=annotation))["HIT"]["HITId"] for _ in range(250)}
    seen, pages, token = [], 0, None
    while True:
        kwargs = {"MaxResults": 100, **({"NextToken": token} if token else {})}
        page = mturk.list_hits(**kwargs)
        assert len(page["HITs"]) <= 100 and page["NumResults"] == len(page["HITs"])
        seen += [h["HITId"] for h in page["HITs"] if h.get("RequesterAnnotation") == annotation]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert pages >= 3
    assert len(seen) == len(set(seen)) == 250 and set(seen) == created
    paginated = [
        h["HITId"]
        for p in mturk.get_paginator("list_hits").paginate(PaginationConfig={"PageSize": 100})
        for h in p["HITs"] if h.get("RequesterAnnotation") == annotation
    ]
    assert set(paginated) == created


def test_max_results_above_100_and_a_bad_token_are_request_errors(mturk):
    with pytest.raises(ClientError) as info:
        mturk.list_hits(MaxResults=101)
    assert error_code(info) == "RequestError"
    with pytest.raises(ClientError) as info:
        mturk.list_hits(NextToken="not-a-token")
    assert error_code(info) == "RequestError"


@pytest.mark.parametrize(
    "overrides",
    [
        {"Reward": "abc"},
        {"Reward": "0.505"},
        {"Question": "<HTMLQuestion><HTMLContent>"},
        {"Question": "<Other/>"},
        {"Question": '<!DOCTYPE x [<!ENTITY a "aaaa">]><HTMLQuestion><HTMLContent>&a;</HTMLContent></HTMLQuestion>'},
        {"Question": "<ExternalQuestion><ExternalURL>javascript:alert(1)</ExternalURL></ExternalQuestion>"},
        {"LifetimeInSeconds": 5},
        {"Title": "t" * 129},
        {"RequesterAnnotation": "a" * 256},
        {"Question": HTML_QUESTION.replace("<crowd-form>", "<p>" + "x" * 70000 + "</p><crowd-form>")},
        {"AssignmentDurationInSeconds": 10 ** 9},
        {"QualificationRequirements": [{"QualificationTypeId": "3NOSUCHQUAL", "Comparator": "Exists"}]},
        {"QualificationRequirements": [
            {"QualificationTypeId": "000000000000000000L0", "Comparator": "GreaterThan"}]},
    ],
)
def test_bad_create_hit_input_is_a_request_error(mturk, overrides):
    with pytest.raises(ClientError) as info:
        mturk.create_hit(**hit_args(**overrides))
    # the service answers a malformed amount as an invalid parameter value
    assert error_code(info) == ("ParameterValidationError" if "Reward" in overrides else "RequestError")


def test_unknown_hit_is_a_request_error(mturk):
    for call in (mturk.get_hit, mturk.delete_hit, mturk.list_assignments_for_hit):
        with pytest.raises(ClientError) as info:
            call(HITId="3NOSUCHHIT")
        assert error_code(info) == "RequestError"


def test_review_status_expiry_and_delete_follow_the_services_states(mturk, control):
    hit_id = mturk.create_hit(**hit_args())["HIT"]["HITId"]
    with pytest.raises(ClientError):  # not Reviewable yet
        mturk.delete_hit(HITId=hit_id)
    with pytest.raises(ClientError):
        mturk.update_hit_review_status(HITId=hit_id)
    mturk.update_expiration_for_hit(HITId=hit_id, ExpireAt=0)  # a past time expires it now
    hit = mturk.get_hit(HITId=hit_id)["HIT"]
    assert hit["HITStatus"] == "Reviewable"
    assert hit_id not in {h["hit_id"] for h in control.worker_hits("W-expiry")}
    reviewable = mturk.list_reviewable_hits(HITTypeId=hit["HITTypeId"], MaxResults=100)["HITs"]
    assert hit_id in {h["HITId"] for h in reviewable}
    mturk.update_hit_review_status(HITId=hit_id, Revert=False)
    assert mturk.get_hit(HITId=hit_id)["HIT"]["HITStatus"] == "Reviewing"
    reviewing = mturk.list_reviewable_hits(HITTypeId=hit["HITTypeId"], Status="Reviewing", MaxResults=100)
    assert hit_id in {h["HITId"] for h in reviewing["HITs"]}
    with pytest.raises(ClientError):  # Reviewing HITs cannot be deleted
        mturk.delete_hit(HITId=hit_id)
    mturk.update_hit_review_status(HITId=hit_id, Revert=True)
    assert mturk.get_hit(HITId=hit_id)["HIT"]["HITStatus"] == "Reviewable"
    mturk.delete_hit(HITId=hit_id)
    assert mturk.get_hit(HITId=hit_id)["HIT"]["HITStatus"] == "Disposed"
    with pytest.raises(ClientError):
        mturk.update_expiration_for_hit(HITId=hit_id, ExpireAt=4_000_000_000)


def test_extending_an_expired_hit_reopens_it(mturk):
    hit_id = mturk.create_hit(**hit_args())["HIT"]["HITId"]
    mturk.update_expiration_for_hit(HITId=hit_id, ExpireAt=0)
    assert mturk.get_hit(HITId=hit_id)["HIT"]["HITStatus"] == "Reviewable"
    mturk.update_expiration_for_hit(HITId=hit_id, ExpireAt=4_000_000_000)
    hit = mturk.get_hit(HITId=hit_id)["HIT"]
    assert hit["HITStatus"] == "Assignable" and hit["Expiration"].timestamp() == 4_000_000_000


def test_botocore_still_validates_client_side(mturk):
    with pytest.raises(ParamValidationError):
        mturk.create_hit(Title="x")


def test_additional_assignments_reopen_a_full_hit_within_the_services_limit(mturk, control):
    hit_id = mturk.create_hit(**hit_args(MaxAssignments=1))["HIT"]["HITId"]
    control.submit(control.accept(hit_id, "W-more-1")["assignment_id"], {"a": "1"})
    assert mturk.get_hit(HITId=hit_id)["HIT"]["HITStatus"] == "Reviewable"
    mturk.create_additional_assignments_for_hit(HITId=hit_id, NumberOfAdditionalAssignments=2)
    hit = mturk.get_hit(HITId=hit_id)["HIT"]
    assert hit["HITStatus"] == "Assignable" and hit["MaxAssignments"] == 3
    assert hit["NumberOfAssignmentsAvailable"] == 2
    with pytest.raises(ClientError):  # from under 10 to 10 or more
        mturk.create_additional_assignments_for_hit(HITId=hit_id, NumberOfAdditionalAssignments=7)
