"""Qualifications on the local MTurk server: types, grants, every comparator, ActionsGuarded,
the system qualifications fed by the simulated worker's profile, and auto-scored tests."""

from __future__ import annotations

import secrets

import pytest
from botocore.exceptions import ClientError

from iglu_lib.local.mturk.control_client import WorkerRefused
from iglu_lib.mturk.system_qualifications import APPROVAL_RATE, APPROVED_HITS, LOCALE

HTML_QUESTION = """<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">
<HTMLContent><![CDATA[<html><body><p>task</p></body></html>]]></HTMLContent><FrameHeight>400</FrameHeight></HTMLQuestion>"""
TEST_FORM = """<QuestionForm xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2017-11-06/QuestionForm.xsd">
<Question><QuestionIdentifier>q1</QuestionIdentifier><QuestionContent><Text>Who builds?</Text></QuestionContent>
<AnswerSpecification><SelectionAnswer><Selections>
<Selection><SelectionIdentifier>architect</SelectionIdentifier><Text>Architect</Text></Selection>
<Selection><SelectionIdentifier>builder</SelectionIdentifier><Text>Builder</Text></Selection>
</Selections></SelectionAnswer></AnswerSpecification></Question>
<Question><QuestionIdentifier>q2</QuestionIdentifier><QuestionContent><Text>Pick both</Text></QuestionContent>
<AnswerSpecification><SelectionAnswer><StyleSuggestion>checkbox</StyleSuggestion><Selections>
<Selection><SelectionIdentifier>a</SelectionIdentifier><Text>A</Text></Selection>
<Selection><SelectionIdentifier>b</SelectionIdentifier><Text>B</Text></Selection>
</Selections></SelectionAnswer></AnswerSpecification></Question>
</QuestionForm>"""
ANSWER_KEY = """<AnswerKey xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/AnswerKey.xsd">
<Question><QuestionIdentifier>q1</QuestionIdentifier>
<AnswerOption><SelectionIdentifier>builder</SelectionIdentifier><AnswerScore>1</AnswerScore></AnswerOption></Question>
<Question><QuestionIdentifier>q2</QuestionIdentifier>
<AnswerOption><SelectionIdentifier>a</SelectionIdentifier><SelectionIdentifier>b</SelectionIdentifier><AnswerScore>1</AnswerScore></AnswerOption></Question>
<QualificationValueMapping><PercentageMapping><MaximumSummedScore>2</MaximumSummedScore></PercentageMapping></QualificationValueMapping>
</AnswerKey>"""


def worker(prefix="W"):
    return f"{prefix}-{secrets.token_hex(4)}"


def qualification_type(mturk, **extra):
    return mturk.create_qualification_type(
        Name="qual " + secrets.token_hex(6), Description="d", QualificationTypeStatus="Active", **extra
    )["QualificationType"]["QualificationTypeId"]


def hit_with(mturk, *requirements):
    return mturk.create_hit(
        Title="Qualified work", Description="d", Reward="0.10", LifetimeInSeconds=3600,
        AssignmentDurationInSeconds=600, MaxAssignments=50, Question=HTML_QUESTION,
        QualificationRequirements=list(requirements),
    )["HIT"]["HITId"]


def can_accept(control, hit_id, worker_id):
    try:
        control.accept(hit_id, worker_id)
    except WorkerRefused as refused:
        assert refused.code == "QualificationRequirementNotMet" and refused.status == 403
        return False
    return True


def test_grant_read_list_and_revoke(mturk):
    type_id = qualification_type(mturk)
    mturk.associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId="W-q1", IntegerValue=7, SendNotification=False)
    mturk.associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId="W-q2")
    score = mturk.get_qualification_score(QualificationTypeId=type_id, WorkerId="W-q1")["Qualification"]
    assert score["IntegerValue"] == 7 and score["Status"] == "Granted" and "GrantTime" in score
    listed = mturk.list_workers_with_qualification_type(QualificationTypeId=type_id, MaxResults=1)
    assert listed["NumResults"] == 1 and "NextToken" in listed
    everyone = [q for p in mturk.get_paginator("list_workers_with_qualification_type").paginate(QualificationTypeId=type_id) for q in p["Qualifications"]]
    assert {q["WorkerId"]: q["IntegerValue"] for q in everyone} == {"W-q1": 7, "W-q2": 1}
    mturk.disassociate_qualification_from_worker(QualificationTypeId=type_id, WorkerId="W-q1", Reason="left")
    revoked = mturk.list_workers_with_qualification_type(QualificationTypeId=type_id, Status="Revoked")
    assert [q["WorkerId"] for q in revoked["Qualifications"]] == ["W-q1"]
    with pytest.raises(ClientError):
        mturk.get_qualification_score(QualificationTypeId=type_id, WorkerId="W-nobody")
    with pytest.raises(ClientError):
        mturk.associate_qualification_with_worker(QualificationTypeId="3NOSUCHTYPE", WorkerId="W-q1")
    with pytest.raises(ClientError):
        mturk.get_qualification_score(QualificationTypeId=APPROVAL_RATE, WorkerId="W-q1")


def test_duplicate_qualification_type_name_is_refused(mturk):
    name = "dup " + secrets.token_hex(6)
    mturk.create_qualification_type(Name=name, Description="d", QualificationTypeStatus="Active")
    with pytest.raises(ClientError) as info:
        mturk.create_qualification_type(Name=name, Description="d", QualificationTypeStatus="Active")
    assert info.value.response["Error"]["Code"] == "RequestError"


@pytest.mark.parametrize(
    ("comparator", "values", "passing", "failing"),
    [
        ("LessThan", [5], 4, 5),
        ("LessThanOrEqualTo", [5], 5, 6),
        ("GreaterThan", [5], 6, 5),
        ("GreaterThanOrEqualTo", [5], 5, 4),
        ("EqualTo", [5], 5, 6),
        ("NotEqualTo", [5], 6, 5),
        ("In", [1, 3, 5], 3, 4),
        ("NotIn", [1, 3, 5], 4, 3),
    ],
)
def test_integer_comparators(mturk, control, comparator, values, passing, failing):
    type_id = qualification_type(mturk)
    hit_id = hit_with(mturk, {"QualificationTypeId": type_id, "Comparator": comparator, "IntegerValues": values})
    good, bad, none = worker(), worker(), worker()
    mturk.associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId=good, IntegerValue=passing)
    mturk.associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId=bad, IntegerValue=failing)
    assert hit_id in {h["hit_id"] for h in control.worker_hits(good)}
    assert hit_id not in {h["hit_id"] for h in control.worker_hits(bad)}
    assert can_accept(control, hit_id, good)
    assert not can_accept(control, hit_id, bad)
    assert not can_accept(control, hit_id, none)  # no qualification fails every value comparator


def test_exists_and_does_not_exist(mturk, control):
    type_id = qualification_type(mturk)
    holder, other = worker(), worker()
    mturk.associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId=holder, IntegerValue=0)
    exists = hit_with(mturk, {"QualificationTypeId": type_id, "Comparator": "Exists"})
    absent = hit_with(mturk, {"QualificationTypeId": type_id, "Comparator": "DoesNotExist"})
    assert can_accept(control, exists, holder) and not can_accept(control, exists, other)
    assert can_accept(control, absent, other) and not can_accept(control, absent, holder)
    revoked = worker()
    mturk.associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId=revoked)
    mturk.disassociate_qualification_from_worker(QualificationTypeId=type_id, WorkerId=revoked)
    assert not can_accept(control, exists, revoked) and can_accept(control, absent, revoked)


def test_system_qualifications_come_from_the_worker_profile(mturk, control):
    hit_id = hit_with(
        mturk,
        {"QualificationTypeId": APPROVAL_RATE, "Comparator": "GreaterThanOrEqualTo", "IntegerValues": [95]},
        {"QualificationTypeId": APPROVED_HITS, "Comparator": "GreaterThan", "IntegerValues": [500]},
        {"QualificationTypeId": LOCALE, "Comparator": "In",
         "LocaleValues": [{"Country": "US", "Subdivision": "WA"}, {"Country": "GB"}]},
    )
    good = worker()
    control.set_worker(good, approval_rate=98, approved_hits=501, locale={"Country": "US", "Subdivision": "WA"})
    assert can_accept(control, hit_id, good)
    british = worker()
    control.set_worker(british, approval_rate=99, approved_hits=2000, locale={"Country": "GB", "Subdivision": "LND"})
    assert can_accept(control, hit_id, british)
    for profile in (
        {"approval_rate": 94, "approved_hits": 501, "locale": {"Country": "US", "Subdivision": "WA"}},
        {"approval_rate": 98, "approved_hits": 500, "locale": {"Country": "US", "Subdivision": "WA"}},
        {"approval_rate": 98, "approved_hits": 501, "locale": {"Country": "US", "Subdivision": "CA"}},
        {"approval_rate": 98, "approved_hits": 501, "locale": {"Country": "DE"}},
    ):
        failing = worker()
        control.set_worker(failing, **profile)
        assert not can_accept(control, hit_id, failing), profile
    default = worker()  # unknown workers: 100 %, 1000 HITs, US without subdivision
    assert not can_accept(control, hit_id, default)
    us_only = hit_with(mturk, {"QualificationTypeId": LOCALE, "Comparator": "EqualTo", "LocaleValues": [{"Country": "US"}]})
    assert can_accept(control, us_only, default)
    not_us = hit_with(mturk, {"QualificationTypeId": LOCALE, "Comparator": "NotEqualTo", "LocaleValues": [{"Country": "US"}]})
    assert not can_accept(control, not_us, worker())


def test_actions_guarded_decides_discovery_and_preview(mturk, control, stack):
    import requests

    type_id = qualification_type(mturk)
    guarded = {}
    for action in ("Accept", "PreviewAndAccept", "DiscoverPreviewAndAccept"):
        guarded[action] = hit_with(mturk, {"QualificationTypeId": type_id, "Comparator": "Exists", "ActionsGuarded": action})
    outsider = worker()
    base = stack["mturk_endpoint_url"]
    for action, hit_id in guarded.items():
        assert not can_accept(control, hit_id, outsider)
        page = requests.get(f"{base}/worker/hits/{hit_id}", params={"workerId": outsider}, timeout=30)
        assert ('id="hit-frame"' in page.text) == (action == "Accept"), action
    listed = {h["hit_id"] for h in control.worker_hits(outsider)}
    assert not listed & set(guarded.values())  # listing shows only HITs the worker can accept now
    insider = worker()
    mturk.associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId=insider)
    assert set(guarded.values()) <= {h["hit_id"] for h in control.worker_hits(insider)}
    assert all(can_accept(control, hit_id, insider) for hit_id in guarded.values())


def test_qualification_test_is_scored_from_the_answer_key(mturk, control):
    type_id = qualification_type(mturk, Test=TEST_FORM, AnswerKey=ANSWER_KEY, TestDurationInSeconds=600, RetryDelayInSeconds=0)
    described = mturk.get_qualification_type(QualificationTypeId=type_id)["QualificationType"]
    assert described["IsRequestable"] and described["AnswerKey"] == ANSWER_KEY
    hit_id = hit_with(mturk, {"QualificationTypeId": type_id, "Comparator": "GreaterThanOrEqualTo", "IntegerValues": [100]})
    perfect, half = worker(), worker()
    assert control.request_qualification(type_id, perfect, {"q1": "builder", "q2": ["a", "b"]}) == {"status": "Granted", "value": 100}
    assert control.request_qualification(type_id, half, {"q1": "builder", "q2": ["a"]})["value"] == 50
    assert mturk.get_qualification_score(QualificationTypeId=type_id, WorkerId=half)["Qualification"]["IntegerValue"] == 50
    assert can_accept(control, hit_id, perfect) and not can_accept(control, hit_id, half)
    assert control.request_qualification(type_id, half, {"q1": "builder", "q2": ["b", "a"]})["value"] == 100  # retry allowed


def test_retry_is_refused_without_a_retry_delay_and_auto_granted_types(mturk, control):
    type_id = qualification_type(mturk, Test=TEST_FORM, AnswerKey=ANSWER_KEY, TestDurationInSeconds=600)
    taker = worker()
    assert control.request_qualification(type_id, taker, {"q1": "architect"})["value"] == 0
    with pytest.raises(WorkerRefused) as info:
        control.request_qualification(type_id, taker, {"q1": "builder"})
    assert info.value.code == "RetryNotAllowed"
    auto = qualification_type(mturk, AutoGranted=True, AutoGrantedValue=3)
    assert control.request_qualification(auto, worker()) == {"status": "Granted", "value": 3}
    plain = qualification_type(mturk)
    with pytest.raises(WorkerRefused):
        control.request_qualification(plain, worker())


@pytest.mark.parametrize(
    "extra",
    [
        {"AnswerKey": ANSWER_KEY},  # a key without a test
        {"Test": TEST_FORM},  # a test without a duration
        {"Test": "<QuestionForm>", "TestDurationInSeconds": 60},
        {"Test": TEST_FORM, "TestDurationInSeconds": 60, "AnswerKey": "<AnswerKey><Question>"},
        {"Test": TEST_FORM, "TestDurationInSeconds": 60,
         "AnswerKey": ANSWER_KEY.replace("<QuestionIdentifier>q2<", "<QuestionIdentifier>q9<")},
        {"Test": TEST_FORM, "TestDurationInSeconds": 60, "AutoGranted": True},
        {"Test": '<!DOCTYPE q [<!ENTITY e "x">]><QuestionForm>&e;</QuestionForm>', "TestDurationInSeconds": 60},
    ],
)
def test_bad_qualification_types_are_request_errors(mturk, extra):
    with pytest.raises(ClientError) as info:
        qualification_type(mturk, **extra)
    assert info.value.response["Error"]["Code"] == "RequestError"


def test_list_qualification_types_and_hits_for_a_type(mturk):
    tag = secrets.token_hex(6)
    requestable = qualification_type(mturk, AutoGranted=True, Keywords=tag)
    plain = qualification_type(mturk, Keywords=tag)
    found = {t["QualificationTypeId"] for p in mturk.get_paginator("list_qualification_types").paginate(
        Query=tag, MustBeRequestable=False, MustBeOwnedByCaller=True) for t in p["QualificationTypes"]}
    assert found == {requestable, plain}
    found = {t["QualificationTypeId"] for p in mturk.get_paginator("list_qualification_types").paginate(
        Query=tag, MustBeRequestable=True) for t in p["QualificationTypes"]}
    assert found == {requestable}
    hit_id = hit_with(mturk, {"QualificationTypeId": plain, "Comparator": "Exists"})
    assert [h["HITId"] for h in mturk.list_hits_for_qualification_type(QualificationTypeId=plain)["HITs"]] == [hit_id]
    assert mturk.list_hits_for_qualification_type(QualificationTypeId="x' OR '1'='1")["HITs"] == []


def test_worker_takes_a_qualification_test_on_the_pages(mturk, control, stack):
    import requests
    from markupsafe import escape

    base = stack["mturk_endpoint_url"]
    name = '<i>Builder "test"</i> ' + secrets.token_hex(4)
    type_id = mturk.create_qualification_type(
        Name=name, Description="Answer two questions", QualificationTypeStatus="Active",
        Test=TEST_FORM, AnswerKey=ANSWER_KEY, TestDurationInSeconds=600,
    )["QualificationType"]["QualificationTypeId"]
    hit_id = hit_with(mturk, {"QualificationTypeId": type_id, "Comparator": "EqualTo", "IntegerValues": [100]})
    taker = worker("W-page")
    preview = requests.get(f"{base}/worker/hits/{hit_id}", params={"workerId": taker}, timeout=30).text
    link = f"/worker/qualifications/{type_id}?workerId={taker}"
    assert link in preview and str(escape(name)) in preview and name not in preview
    form = requests.get(base + link, timeout=30).text
    assert form.count('name="q1"') == 2 and 'value="builder"' in form and 'type="radio"' in form
    assert form.count('name="q2"') == 2 and 'type="checkbox"' in form
    described = control.qualification_type(type_id)
    assert described["test"] == TEST_FORM and described["name"] == name and not described["auto_granted"]
    result = requests.post(
        f"{base}/worker/qualifications/{type_id}",
        data={"workerId": taker, "q1": "builder", "q2": ["a", "b"]}, timeout=30,
    )
    assert result.status_code == 200 and '<strong id="score">100</strong>' in result.text
    assert can_accept(control, hit_id, taker)
    again = requests.post(f"{base}/worker/qualifications/{type_id}", data={"workerId": taker, "q1": "builder"}, timeout=30)
    assert again.status_code == 409 and 'id="error"' in again.text
    missing = requests.get(f"{base}/worker/qualifications/3NOSUCH", timeout=30)
    assert missing.status_code == 404
