"""The requester's levers on the local MTurk server, with the service's semantics: expiring and
extending HITs, bonuses paid once per token, bonus listings, messages to workers (recorded for
the control API), and qualification requirements guarding discovery, preview and accept."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone

import pytest
from botocore.exceptions import ClientError

from iglu_lib.local.mturk.control_client import LocalMTurkControl, WorkerRefused
from iglu_lib.local.mturk.process import running_server
from tests.conftest import mturk_client

HTML_QUESTION = """<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">
<HTMLContent><![CDATA[<html><body><crowd-form><input name="a"></crowd-form></body></html>]]></HTMLContent>
<FrameHeight>400</FrameHeight></HTMLQuestion>"""


def worker(prefix: str = "A") -> str:
    return prefix + secrets.token_hex(6).upper()


def create_hit(mturk, **overrides) -> str:
    args = {"Title": "levers", "Description": "d", "Reward": "0.50", "LifetimeInSeconds": 3600,
            "AssignmentDurationInSeconds": 600, "MaxAssignments": 2, "Question": HTML_QUESTION}
    return mturk.create_hit(**{**args, **overrides})["HIT"]["HITId"]


def submitted(mturk, control, **overrides) -> tuple[str, str, str]:
    hit_id = create_hit(mturk, **overrides)
    worker_id = worker()
    assignment_id = control.accept(hit_id, worker_id)["assignment_id"]
    control.submit(assignment_id, {"a": "done"})
    return hit_id, assignment_id, worker_id


def code_and_message(info) -> tuple[str, str]:
    error = info.value.response["Error"]
    return error["Code"], error["Message"]


def status(mturk, hit_id: str) -> str:
    return mturk.get_hit(HITId=hit_id)["HIT"]["HITStatus"]


# -- UpdateExpirationForHIT ---------------------------------------------------------------
def test_a_past_date_expires_now_and_a_later_one_reopens(mturk, control):
    hit_id = create_hit(mturk)
    mturk.update_expiration_for_hit(HITId=hit_id, ExpireAt=datetime(2015, 1, 1, tzinfo=timezone.utc))
    assert status(mturk, hit_id) == "Reviewable"
    with pytest.raises(WorkerRefused) as info:
        control.accept(hit_id, worker())
    assert info.value.code == "HITNotAssignable"
    later = float(int(control.now())) + 7200  # the server's clock, which other tests may have moved
    mturk.update_expiration_for_hit(HITId=hit_id, ExpireAt=later)
    hit = mturk.get_hit(HITId=hit_id)["HIT"]
    assert hit["HITStatus"] == "Assignable" and hit["Expiration"].timestamp() == pytest.approx(later, abs=1)
    control.accept(hit_id, worker())


def test_work_accepted_before_expiry_can_still_be_submitted(mturk, control):
    hit_id = create_hit(mturk)
    assignment_id = control.accept(hit_id, worker())["assignment_id"]
    mturk.update_expiration_for_hit(HITId=hit_id, ExpireAt=0)
    assert status(mturk, hit_id) == "Unassignable"  # one worker still at it
    control.submit(assignment_id, {"a": "late but accepted in time"})
    assert status(mturk, hit_id) == "Reviewable"


def test_extending_a_full_or_reviewing_hit(mturk, control):
    full = create_hit(mturk, MaxAssignments=1)
    control.submit(control.accept(full, worker())["assignment_id"], {"a": "x"})
    mturk.update_expiration_for_hit(HITId=full, ExpireAt=datetime(2099, 1, 1, tzinfo=timezone.utc))
    assert status(mturk, full) == "Reviewable"  # no free slot: a later expiry opens nothing
    mturk.update_hit_review_status(HITId=full, Revert=False)
    with pytest.raises(ClientError) as info:
        mturk.update_expiration_for_hit(HITId=full, ExpireAt=0)
    assert code_and_message(info)[0] == "RequestError"
    with pytest.raises(ClientError):
        mturk.update_expiration_for_hit(HITId="3NOSUCHHIT", ExpireAt=0)


# -- SendBonus and ListBonusPayments -------------------------------------------------------
def test_a_repeated_token_never_pays_twice(mturk, control):
    hit_id, assignment_id, worker_id = submitted(mturk, control)
    mturk.approve_assignment(AssignmentId=assignment_id)
    balance = float(mturk.get_account_balance()["AvailableBalance"])
    token = "bonus-" + assignment_id
    mturk.send_bonus(WorkerId=worker_id, AssignmentId=assignment_id, BonusAmount="0.75",
                     Reason="three good turns", UniqueRequestToken=token)
    with pytest.raises(ClientError) as info:
        mturk.send_bonus(WorkerId=worker_id, AssignmentId=assignment_id, BonusAmount="0.75",
                         Reason="three good turns", UniqueRequestToken=token)
    code, message = code_and_message(info)
    assert code == "RequestError" and "already been processed" in message
    assert float(mturk.get_account_balance()["AvailableBalance"]) == pytest.approx(balance - 0.75)
    (payment,) = mturk.list_bonus_payments(AssignmentId=assignment_id)["BonusPayments"]
    assert payment["BonusAmount"] == "0.75" and payment["WorkerId"] == worker_id
    assert payment["Reason"] == "three good turns" and isinstance(payment["GrantTime"], datetime)
    assert mturk.list_bonus_payments(HITId=hit_id)["BonusPayments"] == [payment]


def test_a_token_is_forgotten_after_24_hours_of_the_servers_clock_as_on_mturk(mturk, control):
    """Why the ledger never relies on the token alone: a day later the same token pays again."""
    _, assignment_id, worker_id = submitted(mturk, control)
    mturk.approve_assignment(AssignmentId=assignment_id)
    bonus = {"WorkerId": worker_id, "AssignmentId": assignment_id, "BonusAmount": "0.05",
             "Reason": "a day apart", "UniqueRequestToken": "day-" + assignment_id}
    mturk.send_bonus(**bonus)
    control.advance_clock(23 * 3600)
    with pytest.raises(ClientError):
        mturk.send_bonus(**bonus)
    control.advance_clock(2 * 3600)
    mturk.send_bonus(**bonus)
    assert len(mturk.list_bonus_payments(AssignmentId=assignment_id)["BonusPayments"]) == 2


@pytest.mark.parametrize("amount", ["0", "0.00", "-1", "0.001", "1e2", "NaN", "Infinity", "", "1,00", " 1.00"])
def test_bonus_amounts_must_be_positive_dollars_and_cents(mturk, control, amount):
    _, assignment_id, worker_id = submitted(mturk, control)
    with pytest.raises(ClientError) as info:
        mturk.send_bonus(WorkerId=worker_id, AssignmentId=assignment_id, BonusAmount=amount, Reason="r")
    assert code_and_message(info)[0] in ("ParameterValidationError", "RequestError")
    assert mturk.list_bonus_payments(AssignmentId=assignment_id)["BonusPayments"] == []


def test_bonus_only_for_the_worker_of_a_submitted_assignment(mturk, control):
    _, assignment_id, worker_id = submitted(mturk, control)
    for other_worker, other_assignment in ((worker(), assignment_id), (worker_id, "3NOSUCHASSIGNMENT")):
        with pytest.raises(ClientError):
            mturk.send_bonus(WorkerId=other_worker, AssignmentId=other_assignment, BonusAmount="1.00", Reason="r")
    hit_id = create_hit(mturk)
    pending_worker = worker()
    pending = control.accept(hit_id, pending_worker)["assignment_id"]
    with pytest.raises(ClientError):  # accepted, not submitted: not the requester's to pay yet
        mturk.send_bonus(WorkerId=pending_worker, AssignmentId=pending, BonusAmount="1.00", Reason="r")
    with pytest.raises(ClientError):
        mturk.send_bonus(WorkerId=worker_id, AssignmentId=assignment_id, BonusAmount="1.00", Reason="  ")


def test_a_refused_bonus_leaves_its_token_unspent(mturk, control):
    _, assignment_id, worker_id = submitted(mturk, control)
    balance = mturk.get_account_balance()["AvailableBalance"]
    token = "refused-then-paid-" + assignment_id
    too_much = f"{float(balance) + 1:.2f}"
    with pytest.raises(ClientError) as info:
        mturk.send_bonus(WorkerId=worker_id, AssignmentId=assignment_id, BonusAmount=too_much,
                         Reason="r", UniqueRequestToken=token)
    assert "does not cover" in code_and_message(info)[1]
    mturk.send_bonus(WorkerId=worker_id, AssignmentId=assignment_id, BonusAmount="0.10",
                     Reason="r", UniqueRequestToken=token)
    assert len(mturk.list_bonus_payments(AssignmentId=assignment_id)["BonusPayments"]) == 1


def test_bonus_listing_takes_exactly_one_target(mturk, control):
    hit_id, assignment_id, _ = submitted(mturk, control)
    for arguments in ({}, {"HITId": hit_id, "AssignmentId": assignment_id}):
        with pytest.raises(ClientError):
            mturk.list_bonus_payments(**arguments)
    with pytest.raises(ClientError):
        mturk.list_bonus_payments(HITId="3NOSUCHHIT")


# -- NotifyWorkers ---------------------------------------------------------------------------
def test_messages_within_the_services_limits_are_recorded(mturk, control):
    _, _, worker_id = submitted(mturk, control)
    stranger = worker()
    subject, text = "s" * 200, "m" * 4096
    result = mturk.notify_workers(Subject=subject, MessageText=text, WorkerIds=[worker_id, stranger])
    (failure,) = result["NotifyWorkersFailureStatuses"]
    assert failure["WorkerId"] == stranger and failure["NotifyWorkersFailureCode"] == "HardFailure"
    (message,) = control.messages(worker_id)
    assert message["worker_id"] == worker_id and message["subject"] == subject and message["text"] == text
    assert message in control.messages()
    assert control.messages(stranger) == []


@pytest.mark.parametrize(
    "arguments",
    [
        {"Subject": "s" * 201, "MessageText": "m"},
        {"Subject": "s", "MessageText": "m" * 4097},
        {"Subject": "", "MessageText": "m"},
        {"Subject": "s", "MessageText": ""},
        {"Subject": "s", "MessageText": "m", "WorkerIds": [f"A{i:012d}" for i in range(101)]},
        {"Subject": "s", "MessageText": "m", "WorkerIds": []},
    ],
)
def test_messages_beyond_the_limits_are_refused(mturk, control, arguments):
    _, _, worker_id = submitted(mturk, control)
    with pytest.raises(ClientError) as info:
        mturk.notify_workers(**{"WorkerIds": [worker_id], **arguments})
    assert code_and_message(info)[0] == "RequestError"
    assert control.messages(worker_id) == []


# -- qualification-guarded discovery, preview and accept ----------------------------------------
def qualification(mturk) -> str:
    return mturk.create_qualification_type(
        Name="lever " + secrets.token_hex(4), Description="d", QualificationTypeStatus="Active",
    )["QualificationType"]["QualificationTypeId"]


def test_actions_guarded_in_the_discover_view_and_preview(mturk, control):
    type_id = qualification(mturk)
    guarded = {
        action: create_hit(mturk, QualificationRequirements=[
            {"QualificationTypeId": type_id, "Comparator": "Exists", "ActionsGuarded": action}])
        for action in ("Accept", "PreviewAndAccept", "DiscoverPreviewAndAccept")
    }
    outsider = worker()
    shown = {hit["hit_id"]: hit for hit in control.worker_hits(outsider, view="discover")}
    assert shown[guarded["Accept"]]["can_preview"] and not shown[guarded["Accept"]]["can_accept"]
    assert not shown[guarded["PreviewAndAccept"]]["can_preview"]
    assert guarded["DiscoverPreviewAndAccept"] not in shown
    assert control.preview(guarded["Accept"], outsider)["question"]["type"] == "HTMLQuestion"
    for action in ("PreviewAndAccept", "DiscoverPreviewAndAccept"):
        with pytest.raises(WorkerRefused) as info:
            control.preview(guarded[action], outsider)
        assert info.value.status == 403 and info.value.code == "QualificationRequirementNotMet"
    insider = worker()
    mturk.associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId=insider, IntegerValue=1)
    shown = {hit["hit_id"]: hit for hit in control.worker_hits(insider, view="discover")}
    assert all(shown[hit_id]["can_accept"] and shown[hit_id]["can_preview"] for hit_id in guarded.values())
    assignment = control.accept(guarded["DiscoverPreviewAndAccept"], insider)["assignment_id"]
    shown = {hit["hit_id"]: hit for hit in control.worker_hits(insider, view="discover")}
    assert shown[guarded["DiscoverPreviewAndAccept"]]["accepted"] and assignment


def test_a_does_not_exist_block_hides_the_hit_from_a_failed_worker(mturk, control):
    """Mephisto's `-failed` qualification: every HIT requires it not to exist, guarding
    discovery, so a failed worker never even sees the HIT."""
    failed = qualification(mturk)
    hit_id = create_hit(mturk, QualificationRequirements=[
        {"QualificationTypeId": failed, "Comparator": "DoesNotExist", "ActionsGuarded": "DiscoverPreviewAndAccept"}])
    good, bad = worker(), worker()
    mturk.associate_qualification_with_worker(QualificationTypeId=failed, WorkerId=bad, IntegerValue=1)
    assert hit_id in {h["hit_id"] for h in control.worker_hits(good, view="discover")}
    assert hit_id not in {h["hit_id"] for h in control.worker_hits(bad, view="discover")}
    assert hit_id not in {h["hit_id"] for h in control.worker_hits(bad)}
    for action in (control.preview, control.accept):
        with pytest.raises(WorkerRefused) as info:
            action(hit_id, bad)
        assert info.value.status == 403
    control.accept(hit_id, good)


@pytest.mark.parametrize(
    ("comparator", "values", "passing", "failing"),
    [("EqualTo", [3], 3, 4), ("GreaterThan", [3], 4, 3), ("GreaterThanOrEqualTo", [3], 3, 2),
     ("LessThan", [3], 2, 3), ("NotEqualTo", [3], 4, 3), ("In", [1, 5], 5, 2)],
)
def test_comparators_guard_discovery(mturk, control, comparator, values, passing, failing):
    type_id = qualification(mturk)
    hit_id = create_hit(mturk, QualificationRequirements=[
        {"QualificationTypeId": type_id, "Comparator": comparator, "IntegerValues": values,
         "ActionsGuarded": "DiscoverPreviewAndAccept"}])
    good, bad = worker(), worker()
    mturk.associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId=good, IntegerValue=passing)
    mturk.associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId=bad, IntegerValue=failing)
    assert hit_id in {h["hit_id"] for h in control.worker_hits(good, view="discover")}
    assert hit_id not in {h["hit_id"] for h in control.worker_hits(bad, view="discover")}


def test_bad_view_is_a_400(stack):
    import requests

    response = requests.get(stack["mturk_endpoint_url"] + "/_local/workers/AX1/hits?view=all", timeout=30)
    assert response.status_code == 400 and response.json()["error"] == "BadRequest"


def test_messages_and_bonuses_survive_a_restart(tmp_path):
    with running_server(tmp_path / "mturk") as server:
        mturk, control = mturk_client(server.url), LocalMTurkControl(server.url)
        _, assignment_id, worker_id = submitted(mturk, control)
        mturk.send_bonus(WorkerId=worker_id, AssignmentId=assignment_id, BonusAmount="1.00",
                         Reason="r", UniqueRequestToken="kept-token")
        mturk.notify_workers(Subject="s", MessageText="kept", WorkerIds=[worker_id])
        server.restart()
        mturk, control = mturk_client(server.url), LocalMTurkControl(server.url)
        assert [m["text"] for m in control.messages(worker_id)] == ["kept"]
        with pytest.raises(ClientError):
            mturk.send_bonus(WorkerId=worker_id, AssignmentId=assignment_id, BonusAmount="1.00",
                             Reason="r", UniqueRequestToken="kept-token")
        assert len(mturk.list_bonus_payments(AssignmentId=assignment_id)["BonusPayments"]) == 1
