"""Reliability of the local MTurk server: fault injection at the configured rate, request
counts, answers to malformed requests (never a crash), and state that survives a restart."""

from __future__ import annotations

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from iglu_lib.local.mturk.control_client import LocalMTurkControl
from iglu_lib.local.mturk.process import running_server

TARGET = "MTurkRequesterServiceV20170117."
HTML_QUESTION = """<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">
<HTMLContent><![CDATA[<html><body>work</body></html>]]></HTMLContent><FrameHeight>400</FrameHeight></HTMLQuestion>"""


def client(url, **config):
    return boto3.client(
        "mturk", endpoint_url=url, region_name="us-east-1", aws_access_key_id="local",
        aws_secret_access_key="local", config=Config(**config) if config else None,
    )


@pytest.fixture
def private(tmp_path):
    with running_server(tmp_path / "mturk") as server:
        yield server


def test_faults_fail_about_the_configured_fraction_with_the_services_errors(private):
    control = LocalMTurkControl(private.url)
    no_retries = client(private.url, retries={"mode": "standard", "total_max_attempts": 1})
    control.set_faults(0.1, seed=7)
    codes = []
    for _ in range(400):
        try:
            no_retries.get_account_balance()
        except ClientError as error:
            codes.append(error.response["Error"]["Code"])
    assert 0.05 * 400 <= len(codes) <= 0.15 * 400
    assert set(codes) == {"ThrottlingException", "ServiceFault"}
    control.set_faults(0.1, seed=7, kinds=["throttle"])
    retrying = client(private.url, retries={"mode": "standard", "total_max_attempts": 10})
    control.reset_stats()
    for _ in range(50):
        retrying.get_account_balance()  # botocore's own retries absorb throttling
    assert control.stats()["by_operation"]["GetAccountBalance"] > 50
    control.set_faults(0)
    for _ in range(50):
        no_retries.get_account_balance()


def test_faults_spare_the_control_api(private):
    control = LocalMTurkControl(private.url)
    control.set_faults(1.0, seed=1)
    assert requests.get(private.url + "/_local/health", timeout=30).json() == {"ok": True}
    control.stats()
    with pytest.raises(ClientError):
        client(private.url, retries={"mode": "standard", "total_max_attempts": 1}).get_account_balance()
    control.set_faults(0)


def test_requests_are_counted_per_operation_and_reset(private):
    control = LocalMTurkControl(private.url)
    mturk = client(private.url)
    control.reset_stats()
    mturk.get_account_balance()
    mturk.list_hits()
    mturk.list_hits()
    with pytest.raises(ClientError):
        mturk.get_hit(HITId="3NOSUCH")
    control.worker_hits("W-not-counted")
    assert control.stats() == {"total": 4, "by_operation": {"GetAccountBalance": 1, "ListHITs": 2, "GetHIT": 1}}
    control.reset_stats()
    assert control.stats() == {"total": 0, "by_operation": {}}


@pytest.mark.parametrize(
    ("headers", "body", "error_type"),
    [
        ({}, b"{}", "UnknownOperationException"),
        ({"X-Amz-Target": "Other.GetHIT"}, b"{}", "UnknownOperationException"),
        ({"X-Amz-Target": TARGET + "NoSuchOperation"}, b"{}", "UnknownOperationException"),
        ({"X-Amz-Target": TARGET + "GetHIT"}, b"{not json", "SerializationException"),
        ({"X-Amz-Target": TARGET + "GetHIT"}, b"\xff\xfe", "SerializationException"),
        ({"X-Amz-Target": TARGET + "GetHIT"}, b"[1, 2]", "SerializationException"),
        ({"X-Amz-Target": TARGET + "GetHIT"}, b"{}", "RequestError"),
        ({"X-Amz-Target": TARGET + "GetHIT"}, b'{"HITId": 7}', "RequestError"),
        ({"X-Amz-Target": TARGET + "ListHITs"}, b'{"MaxResults": "ten"}', "RequestError"),
        ({"X-Amz-Target": TARGET + "ListHITs"}, b'{"MaxResults": 0}', "RequestError"),
        ({"X-Amz-Target": TARGET + "CreateHIT"}, b'{"Title": "x", "Description": "d", "Reward": "1.00", '
         b'"LifetimeInSeconds": 60, "AssignmentDurationInSeconds": 60, "Question": "<a>&lt;</a>"}', "RequestError"),
        ({"X-Amz-Target": TARGET + "GetFileUploadURL"}, b'{"AssignmentId": "a", "QuestionIdentifier": "q"}',
         "RequestError"),
        ({"X-Amz-Target": TARGET + "UpdateExpirationForHIT"}, b'{"HITId": "x", "ExpireAt": "soon"}', "RequestError"),
    ],
)
def test_malformed_requests_are_answered_as_the_service_would(stack, headers, body, error_type):
    response = requests.post(stack["mturk_endpoint_url"] + "/", data=body, headers=headers, timeout=30)
    assert response.status_code == 400
    assert response.json()["__type"].rsplit("#", 1)[-1] == error_type
    assert response.json()["Message"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/_local/workers", {"worker_id": 5}),
        ("POST", "/_local/workers", {"worker_id": "W", "approval_rate": 101}),
        ("POST", "/_local/workers", {"worker_id": "W", "locale": {"Country": "US", "City": "x"}}),
        ("POST", "/_local/workers", {"worker_id": "W", "locale": {"Country": "US", "Subdivision": {}}}),
        ("POST", "/_local/workers", {"worker_id": "W", "locale": {"Subdivision": "WA"}}),
        ("POST", "/_local/hits/3NOSUCH/accept", {"worker_id": "W"}),
        ("POST", "/_local/hits/3NOSUCH/accept", None),
        ("POST", "/_local/assignments/3NOSUCH/submit", {"answers": {"a": "b"}}),
        ("POST", "/_local/assignments/3NOSUCH/submit", {"answers": {"a": 1}}),
        ("POST", "/_local/assignments/3NOSUCH/return", {}),
        ("POST", "/_local/qualifications/3NOSUCH/request", {"worker_id": "W", "answers": {"q1": 5}}),
        ("POST", "/_local/qualifications/3NOSUCH/request", {"worker_id": "W"}),
        ("POST", "/_local/clock/advance", {"seconds": "many"}),
        ("POST", "/_local/faults", {"fraction": 2}),
        ("POST", "/_local/faults", {"fraction": 0.1, "kinds": ["meteor"]}),
        ("POST", "/_local/faults", {"fraction": 0.1, "kinds": [{}]}),
        ("GET", "/_local/nothing-here", None),
        ("GET", "/_local/faults", None),
    ],
)
def test_bad_control_requests_get_a_json_error(stack, method, path, body):
    response = requests.request(method, stack["mturk_endpoint_url"] + path, json=body, timeout=30)
    assert 400 <= response.status_code < 500
    assert response.json()["error"]


def test_state_survives_a_restart(private):
    mturk, control = client(private.url), LocalMTurkControl(private.url)
    hit_id = mturk.create_hit(
        Title="survivor", Description="d", Reward="0.50", LifetimeInSeconds=3600,
        AssignmentDurationInSeconds=600, MaxAssignments=2, Question=HTML_QUESTION,
        RequesterAnnotation="restart", UniqueRequestToken="restart-token",
    )["HIT"]["HITId"]
    type_id = mturk.create_qualification_type(
        Name="kept", Description="d", QualificationTypeStatus="Active"
    )["QualificationType"]["QualificationTypeId"]
    mturk.associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId="W-kept", IntegerValue=9)
    mturk.create_worker_block(WorkerId="W-bad", Reason="spam")
    control.set_worker("W-kept", approval_rate=42)
    submitted = control.accept(hit_id, "W-kept")["assignment_id"]
    control.submit(submitted, {"a": "kept"})
    pending = control.accept(hit_id, "W-other")["assignment_id"]
    moved = control.advance_clock(100)
    balance = mturk.get_account_balance()["AvailableBalance"]

    private.restart()
    mturk, control = client(private.url), LocalMTurkControl(private.url)
    assert control.now() >= moved
    hit = mturk.get_hit(HITId=hit_id)["HIT"]
    assert hit["RequesterAnnotation"] == "restart" and hit["NumberOfAssignmentsPending"] == 1
    (assignment,) = mturk.list_assignments_for_hit(HITId=hit_id)["Assignments"]
    assert assignment["AssignmentId"] == submitted and "kept" in assignment["Answer"]
    assert mturk.get_qualification_score(QualificationTypeId=type_id, WorkerId="W-kept")["Qualification"]["IntegerValue"] == 9
    assert mturk.list_worker_blocks()["WorkerBlocks"] == [{"WorkerId": "W-bad", "Reason": "spam"}]
    assert mturk.get_account_balance()["AvailableBalance"] == balance
    with pytest.raises(ClientError):
        mturk.create_hit(
            Title="survivor", Description="d", Reward="0.50", LifetimeInSeconds=3600,
            AssignmentDurationInSeconds=600, Question=HTML_QUESTION, UniqueRequestToken="restart-token",
        )
    control.submit(pending, {"a": "after restart"})
    assert mturk.get_hit(HITId=hit_id)["HIT"]["HITStatus"] == "Reviewable"


def _dummy(shape, depth=0):
    """A value of the right type for a shape: what a careless caller might send."""
    kind = shape.type_name
    if kind == "structure":
        return {name: _dummy(member, depth + 1) for name, member in shape.members.items()
                if name in shape.required_members or depth == 0}
    if kind == "list":
        return [_dummy(shape.member, depth + 1)]
    return {"string": "x<'\">", "integer": 1, "long": 1, "boolean": True, "timestamp": 0}.get(kind, "x")


def _operation_names():
    from iglu_lib.local.mturk.operations import OPERATIONS

    return sorted(OPERATIONS)


@pytest.mark.parametrize("name", _operation_names())
def test_every_operation_answers_careless_input_without_crashing(stack, name):
    import botocore.session

    operation = botocore.session.get_session().get_service_model("mturk").operation_model(name)
    for body in ({}, _dummy(operation.input_shape), {"Unknown": {"deep": [1, 2]}}):
        response = requests.post(
            stack["mturk_endpoint_url"] + "/", json=body, headers={"X-Amz-Target": TARGET + name}, timeout=30
        )
        assert response.status_code in (200, 400), (name, body, response.text)
        if response.status_code == 400:
            assert response.json()["__type"].endswith(
                ("RequestError", "SerializationException", "ParameterValidationError")
            )
