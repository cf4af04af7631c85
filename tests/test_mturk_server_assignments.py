"""Assignments on the local MTurk server: workers accept and submit through the JSON API, the
requester reviews through boto3, and the clock drives timeouts, expiry and auto-approval (on a
private server, so moving its clock never disturbs the shared stack)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from defusedxml import ElementTree

from iglu_lib.local.mturk.control_client import LocalMTurkControl, WorkerRefused
from iglu_lib.local.mturk.process import running_server
from tests.conftest import mturk_client

HTML_QUESTION = """<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">
<HTMLContent><![CDATA[<html><body><crowd-form><input name="answer"></crowd-form></body></html>]]></HTMLContent>
<FrameHeight>600</FrameHeight></HTMLQuestion>"""
NS = {"q": "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd"}


@pytest.fixture(scope="module")
def private(tmp_path_factory):
    """A private server whose clock the tests of this module move."""
    with running_server(tmp_path_factory.mktemp("mturk-private")) as server:
        yield mturk_client(server.url), LocalMTurkControl(server.url)


def create_hit(mturk, **overrides):
    args = {
        "Title": "Rate an assistant", "Description": "d", "Reward": "0.50", "LifetimeInSeconds": 3600,
        "AssignmentDurationInSeconds": 600, "AutoApprovalDelayInSeconds": 86400, "MaxAssignments": 1,
        "Question": HTML_QUESTION,
    }
    return mturk.create_hit(**{**args, **overrides})["HIT"]["HITId"]


def answers_of(assignment):
    root = ElementTree.fromstring(assignment["Answer"])
    return {
        a.find("q:QuestionIdentifier", NS).text: a.find("q:FreeText", NS).text
        for a in root.findall("q:Answer", NS)
    }


def status(mturk, hit_id):
    return mturk.get_hit(HITId=hit_id)["HIT"]["HITStatus"]


def test_worker_accepts_and_submits_and_the_requester_reads_the_answers(mturk, control):
    hit_id = create_hit(mturk, MaxAssignments=2)
    assert hit_id in {h["hit_id"] for h in control.worker_hits("W-flow")}
    accepted = control.accept(hit_id, "W-flow")
    assert accepted["question"]["type"] == "HTMLQuestion" and "crowd-form" in accepted["question"]["html"]
    hit = mturk.get_hit(HITId=hit_id)["HIT"]
    assert hit["NumberOfAssignmentsPending"] == 1 and hit["NumberOfAssignmentsAvailable"] == 1
    assert mturk.list_assignments_for_hit(HITId=hit_id)["Assignments"] == []  # not submitted yet
    hostile = '[{"note": "</FreeText><x>&amp; \\"quoted\\" <script>"}]'
    control.submit(accepted["assignment_id"], {"taskAnswers": hostile, "extra": "ok"})
    (assignment,) = mturk.list_assignments_for_hit(HITId=hit_id)["Assignments"]
    assert assignment["AssignmentStatus"] == "Submitted" and assignment["WorkerId"] == "W-flow"
    assert answers_of(assignment) == {"taskAnswers": hostile, "extra": "ok"}
    got = mturk.get_assignment(AssignmentId=accepted["assignment_id"])
    assert got["Assignment"]["AssignmentId"] == accepted["assignment_id"] and got["HIT"]["HITId"] == hit_id
    assert (got["Assignment"]["AutoApprovalTime"] - got["Assignment"]["SubmitTime"]).total_seconds() == 86400
    assert status(mturk, hit_id) == "Assignable"  # one slot left


def test_worker_api_refusals(mturk, control):
    hit_id = create_hit(mturk)
    accepted = control.accept(hit_id, "W-refuse-1")
    with pytest.raises(WorkerRefused) as info:
        control.accept(hit_id, "W-refuse-1")
    assert info.value.code == "AlreadyAccepted"
    with pytest.raises(WorkerRefused) as info:
        control.accept(hit_id, "W-refuse-2")  # its only slot is taken
    assert info.value.code == "HITNotAssignable"
    assert status(mturk, hit_id) == "Unassignable"
    with pytest.raises(WorkerRefused) as info:
        control.accept("3NOSUCHHIT", "W-refuse-1")
    assert info.value.status == 404
    control.return_assignment(accepted["assignment_id"])
    assert status(mturk, hit_id) == "Assignable"
    with pytest.raises(WorkerRefused):
        control.submit(accepted["assignment_id"], {"a": "b"})  # returned work takes no answers
    second = control.accept(hit_id, "W-refuse-2")
    control.submit(second["assignment_id"], {"a": "b"})
    assert status(mturk, hit_id) == "Reviewable"


def test_approve_reject_override_and_bonus(mturk, control):
    hit_id = create_hit(mturk, MaxAssignments=2)
    first = control.accept(hit_id, "W-pay-1")["assignment_id"]
    second = control.accept(hit_id, "W-pay-2")["assignment_id"]
    control.submit(first, {"a": "1"})
    control.submit(second, {"a": "2"})
    balance = float(mturk.get_account_balance()["AvailableBalance"])
    mturk.approve_assignment(AssignmentId=first, RequesterFeedback="thanks")
    mturk.reject_assignment(AssignmentId=second, RequesterFeedback="codes were invalid")
    approved = mturk.get_assignment(AssignmentId=first)["Assignment"]
    assert approved["AssignmentStatus"] == "Approved" and approved["RequesterFeedback"] == "thanks"
    rejected = mturk.get_assignment(AssignmentId=second)["Assignment"]
    assert rejected["AssignmentStatus"] == "Rejected" and "RejectionTime" in rejected
    for call in (lambda: mturk.approve_assignment(AssignmentId=second),
                 lambda: mturk.reject_assignment(AssignmentId=first, RequesterFeedback="x"),
                 lambda: mturk.approve_assignment(AssignmentId=first)):
        with pytest.raises(ClientError) as info:
            call()
        assert info.value.response["Error"]["Code"] == "RequestError"
    mturk.approve_assignment(AssignmentId=second, OverrideRejection=True)
    assert mturk.get_assignment(AssignmentId=second)["Assignment"]["AssignmentStatus"] == "Approved"
    only_approved = mturk.list_assignments_for_hit(HITId=hit_id, AssignmentStatuses=["Approved"])
    assert {a["AssignmentId"] for a in only_approved["Assignments"]} == {first, second}
    assert float(mturk.get_account_balance()["AvailableBalance"]) == pytest.approx(balance - 1.0)
    mturk.send_bonus(WorkerId="W-pay-1", BonusAmount="1.25", AssignmentId=first, Reason="great", UniqueRequestToken="b-" + first)
    with pytest.raises(ClientError):
        mturk.send_bonus(WorkerId="W-pay-1", BonusAmount="1.25", AssignmentId=first, Reason="great", UniqueRequestToken="b-" + first)
    with pytest.raises(ClientError):
        mturk.send_bonus(WorkerId="W-someone-else", BonusAmount="1.00", AssignmentId=first, Reason="x")
    with pytest.raises(ClientError):
        mturk.send_bonus(WorkerId="W-pay-1", BonusAmount="-1", AssignmentId=first, Reason="x")
    assert float(mturk.get_account_balance()["AvailableBalance"]) == pytest.approx(balance - 2.25)
    (payment,) = mturk.list_bonus_payments(HITId=hit_id)["BonusPayments"]
    assert payment["WorkerId"] == "W-pay-1" and payment["BonusAmount"] == "1.25" and payment["Reason"] == "great"
    assert mturk.list_bonus_payments(AssignmentId=second)["BonusPayments"] == []
    mturk.update_expiration_for_hit(HITId=hit_id, ExpireAt=0)
    mturk.delete_hit(HITId=hit_id)
    assert status(mturk, hit_id) == "Disposed"


def test_delete_is_refused_while_submitted_work_awaits_review(mturk, control):
    hit_id = create_hit(mturk)
    assignment_id = control.accept(hit_id, "W-del")["assignment_id"]
    control.submit(assignment_id, {"a": "1"})
    assert status(mturk, hit_id) == "Reviewable"
    with pytest.raises(ClientError):
        mturk.delete_hit(HITId=hit_id)
    mturk.approve_assignment(AssignmentId=assignment_id)
    mturk.delete_hit(HITId=hit_id)


def test_unknown_assignment_is_a_request_error(mturk):
    for call in (lambda: mturk.get_assignment(AssignmentId="3NOSUCH"),
                 lambda: mturk.approve_assignment(AssignmentId="3NOSUCH"),
                 lambda: mturk.reject_assignment(AssignmentId="3NOSUCH", RequesterFeedback="x")):
        with pytest.raises(ClientError) as info:
            call()
        assert info.value.response["Error"]["Code"] == "RequestError"


def test_blocks_and_notifications(mturk, control):
    hit_id = create_hit(mturk)
    mturk.create_worker_block(WorkerId="W-blocked", Reason="spam <b>codes</b>")
    blocks = [b for p in mturk.get_paginator("list_worker_blocks").paginate() for b in p["WorkerBlocks"]]
    assert {"WorkerId": "W-blocked", "Reason": "spam <b>codes</b>"} in blocks
    assert control.worker_hits("W-blocked") == []
    with pytest.raises(WorkerRefused) as info:
        control.accept(hit_id, "W-blocked")
    assert info.value.code == "WorkerBlocked"
    mturk.delete_worker_block(WorkerId="W-blocked", Reason="appeal accepted")
    assignment_id = control.accept(hit_id, "W-blocked")["assignment_id"]
    control.submit(assignment_id, {"a": "1"})
    result = mturk.notify_workers(Subject="Thanks", MessageText="Bonus <soon>", WorkerIds=["W-blocked", "W-never-worked"])
    assert [f["WorkerId"] for f in result["NotifyWorkersFailureStatuses"]] == ["W-never-worked"]
    assert control.worker_messages("W-blocked")[-1]["text"] == "Bonus <soon>"


# -- the clock (private server) ---------------------------------------------------------------
def test_unsubmitted_work_times_out_and_frees_its_slot(private):
    mturk, control = private
    hit_id = create_hit(mturk, AssignmentDurationInSeconds=600)
    assignment_id = control.accept(hit_id, "W-slow")["assignment_id"]
    assert status(mturk, hit_id) == "Unassignable"
    control.advance_clock(601)
    assert status(mturk, hit_id) == "Assignable"
    with pytest.raises(WorkerRefused):
        control.submit(assignment_id, {"a": "late"})
    assert mturk.list_assignments_for_hit(HITId=hit_id)["Assignments"] == []


def test_expiry_waits_for_pending_work_then_becomes_reviewable(private):
    mturk, control = private
    hit_id = create_hit(mturk, LifetimeInSeconds=1000, AssignmentDurationInSeconds=3000, MaxAssignments=2)
    assignment_id = control.accept(hit_id, "W-pending")["assignment_id"]
    control.advance_clock(1001)
    assert status(mturk, hit_id) == "Unassignable"  # expired, with work still pending
    with pytest.raises(WorkerRefused) as info:
        control.accept(hit_id, "W-late")
    assert info.value.code == "HITNotAssignable"
    control.submit(assignment_id, {"a": "1"})
    assert status(mturk, hit_id) == "Reviewable"


def test_expired_hit_without_work_is_reviewable(private):
    mturk, control = private
    hit_id = create_hit(mturk, LifetimeInSeconds=100)
    control.advance_clock(101)
    assert status(mturk, hit_id) == "Reviewable"
    assert hit_id in {h["HITId"] for h in mturk.list_reviewable_hits(MaxResults=100)["HITs"]}


def test_submitted_work_is_auto_approved_after_the_delay(private):
    mturk, control = private
    hit_id = create_hit(mturk, AutoApprovalDelayInSeconds=3600)
    assignment_id = control.accept(hit_id, "W-auto")["assignment_id"]
    control.submit(assignment_id, {"a": "1"})
    control.advance_clock(3000)  # wall time also passes: keep a wide margin before the delay
    assert mturk.get_assignment(AssignmentId=assignment_id)["Assignment"]["AssignmentStatus"] == "Submitted"
    control.advance_clock(601)
    assignment = mturk.get_assignment(AssignmentId=assignment_id)["Assignment"]
    assert assignment["AssignmentStatus"] == "Approved"
    assert assignment["ApprovalTime"] == assignment["AutoApprovalTime"]
    with pytest.raises(ClientError):
        mturk.reject_assignment(AssignmentId=assignment_id, RequesterFeedback="too late")


def test_clock_only_moves_forward(private):
    _, control = private
    before = control.now()
    assert control.advance_clock(10) >= before + 10
    with pytest.raises(WorkerRefused) as info:
        control.advance_clock(-5)
    assert info.value.status == 400


def test_simultaneous_accepts_never_overfill_a_hit(mturk, stack):
    from concurrent.futures import ThreadPoolExecutor

    hit_id = create_hit(mturk, MaxAssignments=5)

    def try_accept(i):
        try:
            return LocalMTurkControl(stack["mturk_endpoint_url"]).accept(hit_id, f"W-rush-{i}")["assignment_id"]
        except WorkerRefused as refused:
            return refused.code

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(try_accept, range(20)))
    assert sum(o == "HITNotAssignable" for o in outcomes) == 15
    assert len({o for o in outcomes if o != "HITNotAssignable"}) == 5
    hit = mturk.get_hit(HITId=hit_id)["HIT"]
    assert hit["NumberOfAssignmentsPending"] == 5 and hit["HITStatus"] == "Unassignable"


def test_a_rejection_can_be_overridden_only_within_30_days(private):
    mturk, control = private
    hit_id = create_hit(mturk, MaxAssignments=2, LifetimeInSeconds=3600)
    late, early = (control.accept(hit_id, worker)["assignment_id"] for worker in ("W-late", "W-early"))
    for assignment_id in (late, early):
        control.submit(assignment_id, {"a": "1"})
        mturk.reject_assignment(AssignmentId=assignment_id, RequesterFeedback="codes were invalid")
    control.advance_clock(29 * 24 * 3600)
    mturk.approve_assignment(AssignmentId=early, OverrideRejection=True)
    assert mturk.get_assignment(AssignmentId=early)["Assignment"]["AssignmentStatus"] == "Approved"
    control.advance_clock(2 * 24 * 3600)
    with pytest.raises(ClientError, match="more than 30 days ago"):
        mturk.approve_assignment(AssignmentId=late, OverrideRejection=True)
    assert mturk.get_assignment(AssignmentId=late)["Assignment"]["AssignmentStatus"] == "Rejected"
