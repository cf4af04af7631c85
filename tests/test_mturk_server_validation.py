"""The local MTurk server answers bad input as the service does: a non-finite or overflowing
number, an absurd clock move or a malformed body is a 400 with `__type` and `Message` that
botocore raises at once (no retry), never a 500 that clients retry and never a value stored
to break the server later."""

from __future__ import annotations

import json
import random

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from iglu_lib.local.mturk import clock
from iglu_lib.local.mturk.control_client import LocalMTurkControl, WorkerRefused
from iglu_lib.local.mturk.process import running_server

TARGET = "MTurkRequesterServiceV20170117."
HTML_QUESTION = """<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">
<HTMLContent><![CDATA[<html><body><crowd-form><input name="a"></crowd-form></body></html>]]></HTMLContent>
<FrameHeight>400</FrameHeight></HTMLQuestion>"""
HIT = {
    "Title": "validation", "Description": "d", "Reward": "0.50", "LifetimeInSeconds": 3600,
    "AssignmentDurationInSeconds": 600, "Question": HTML_QUESTION,
}


def client(url: str, attempts: int = 5):
    """A client that would retry a retryable error up to `attempts` times."""
    return boto3.client(
        "mturk", endpoint_url=url, region_name="us-east-1", aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"mode": "standard", "total_max_attempts": attempts}),
    )


@pytest.fixture(scope="module")
def private(tmp_path_factory):
    """A server of this module alone: its request counts and clock are the tests' own."""
    with running_server(tmp_path_factory.mktemp("mturk-validation")) as server:
        yield server


def post(url: str, operation: str, body: bytes | str) -> requests.Response:
    data = body.encode() if isinstance(body, str) else body
    return requests.post(url + "/", data=data, timeout=30, headers={
        "X-Amz-Target": TARGET + operation, "Content-Type": "application/x-amz-json-1.1",
    })


def assert_service_400(response: requests.Response, error_type: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["__type"].rsplit("#", 1)[-1] == error_type, body
    assert body["Message"]


# -- the requester API -------------------------------------------------------------------
def _hit_body(**changes: str) -> str:
    """A CreateHIT body with some fields replaced by raw JSON text (NaN and the like)."""
    fields = {name: json.dumps(value) for name, value in HIT.items()}
    fields.update(changes)
    return "{" + ", ".join(f'"{name}": {text}' for name, text in fields.items()) + "}"


@pytest.mark.parametrize(
    ("operation", "body", "error_type"),
    [
        ("CreateHIT", _hit_body(LifetimeInSeconds="NaN"), "ParameterValidationError"),
        ("CreateHIT", _hit_body(LifetimeInSeconds="Infinity"), "ParameterValidationError"),
        ("CreateHIT", _hit_body(LifetimeInSeconds="-Infinity"), "ParameterValidationError"),
        ("CreateHIT", _hit_body(LifetimeInSeconds="1e999"), "ParameterValidationError"),
        ("CreateHIT", _hit_body(LifetimeInSeconds="1e308"), "RequestError"),  # finite, not an integer
        ("CreateHIT", _hit_body(MaxAssignments="99999999999999999999999999"), "ParameterValidationError"),
        ("CreateHIT", _hit_body(MaxAssignments="9" * 5000), "ParameterValidationError"),
        ("CreateHIT", _hit_body(MaxAssignments=str(2**40)), "ParameterValidationError"),  # beyond int
        ("CreateHIT", _hit_body(LifetimeInSeconds=str(2**63)), "ParameterValidationError"),  # beyond long
        ("CreateHIT", _hit_body(Reward='"NaN"'), "ParameterValidationError"),
        ("CreateHIT", _hit_body(Reward='"Infinity"'), "ParameterValidationError"),
        ("CreateHIT", _hit_body(Reward='"1e999999"'), "ParameterValidationError"),
        ("CreateHIT", _hit_body(Reward='"-0.50"'), "ParameterValidationError"),
        ("CreateHIT", _hit_body(Title="12"), "RequestError"),  # wrong type
        ("CreateHIT", _hit_body(QualificationRequirements='{"a": 1}'), "RequestError"),
        ("CreateHIT", _hit_body(QualificationRequirements=json.dumps(
            [{"QualificationTypeId": "000000000000000000L0", "Comparator": "Bogus"}])), "ParameterValidationError"),
        ("CreateHIT", _hit_body(QualificationRequirements=json.dumps(
            [{"QualificationTypeId": "000000000000000000L0", "Comparator": "Exists", "ActionsGuarded": "All"}])),
         "ParameterValidationError"),
        ("ListReviewableHITs", '{"Status": "Everything"}', "ParameterValidationError"),
        ("UpdateExpirationForHIT", '{"HITId": "X", "ExpireAt": 1e308}', "ParameterValidationError"),
        ("UpdateExpirationForHIT", '{"HITId": "X", "ExpireAt": NaN}', "ParameterValidationError"),
        ("UpdateExpirationForHIT", '{"HITId": "X", "ExpireAt": -1e20}', "ParameterValidationError"),
        ("UpdateExpirationForHIT", '{"HITId": "X", "ExpireAt": "99999-01-01T00:00:00Z"}', "RequestError"),
        ("SendBonus", '{"WorkerId": "W", "AssignmentId": "A", "BonusAmount": "NaN", "Reason": "r"}', "RequestError"),
        ("ListHITs", '{"NextToken": "c2VxOjk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5"}', "RequestError"),  # seq:9x28
        ("ListHITs", '{"MaxResults": 1.5}', "RequestError"),
        ("ListHITs", "[" * 100_000 + "]" * 100_000, "SerializationException"),
        ("ListHITs", '{"MaxResults": 10', "SerializationException"),
        ("ListHITs", b"\x80\x81", "SerializationException"),
        ("ListHITs", '"just a string"', "SerializationException"),
        ("ListHITs", '{"Unknown": "x' + "y" * (1024 * 1024) + '"}', "SerializationException"),
    ],
)
def test_bad_numbers_and_bodies_are_the_services_400s(stack, operation, body, error_type):
    assert_service_400(post(stack["mturk_endpoint_url"], operation, body), error_type)


def test_a_refused_value_is_never_stored(stack):
    """After every refusal above, the server still lists HITs (nothing unreadable was stored)."""
    url = stack["mturk_endpoint_url"]
    mturk = client(url)
    hit_id = mturk.create_hit(**HIT)["HIT"]["HITId"]
    for expire in ("1e308", "NaN", "Infinity", "-1e300"):
        response = post(url, "UpdateExpirationForHIT", f'{{"HITId": "{hit_id}", "ExpireAt": {expire}}}')
        assert_service_400(response, "ParameterValidationError")
    assert mturk.get_hit(HITId=hit_id)["HIT"]["HITStatus"] == "Assignable"
    assert mturk.list_hits(MaxResults=100)["HITs"]


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda m: m.create_hit(**{**HIT, "Reward": "NaN"}), "ParameterValidationError"),
        (lambda m: m.create_hit(**{**HIT, "Reward": "Infinity"}), "ParameterValidationError"),
        (lambda m: m.create_hit(**{**HIT, "LifetimeInSeconds": 2**70}), "ParameterValidationError"),
        (lambda m: m.create_hit(**{**HIT, "MaxAssignments": 2**31}), "ParameterValidationError"),
        (lambda m: m.list_hits(NextToken="c2VxOjk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5"), "RequestError"),
    ],
)
def test_botocore_raises_at_once_without_retrying(private, call, code):
    control = LocalMTurkControl(private.url)
    mturk = client(private.url, attempts=5)
    control.reset_stats()
    with pytest.raises(ClientError) as info:
        call(mturk)
    assert info.value.response["Error"]["Code"] == code
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert info.value.response["ResponseMetadata"].get("RetryAttempts", 0) == 0
    assert control.stats()["total"] == 1  # one request reached the server: no retry


def test_careless_bodies_never_get_a_500(stack):
    """Random JSON values in every field of the operations the workbench calls: each answer
    is a 200 or a 400 with `__type`, never a 500 (which a client would retry)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("mturk")
    rng = random.Random(20261126)
    values = [None, True, 0, -1, 2**31, 2**63 - 1, -(2**63), 1.5, 1e308, -0.0, "", "x", "NaN", "1e999",
              "A" * 70, "<a>&", [], [None], [{}], {}, {"a": [1]}, "2020-01-01T00:00:00Z", "0.001",
              [{"QualificationTypeId": "000000000000000000L0", "Comparator": "x", "ActionsGuarded": "y"}],
              [{"QualificationTypeId": "00000000000000000071", "Comparator": "In", "LocaleValues": [{"Country": 1}]}],
              [{"QualificationTypeId": "000000000000000000L0", "Comparator": "EqualTo", "IntegerValues": [2**40]}],
              "99999999999999", "Reviewable", "Approved", "Active"]
    url = stack["mturk_endpoint_url"]
    for name in ("CreateHIT", "UpdateExpirationForHIT", "SendBonus", "ListBonusPayments", "NotifyWorkers",
                 "ListHITs", "ListAssignmentsForHIT", "ApproveAssignment", "RejectAssignment",
                 "AssociateQualificationWithWorker", "CreateQualificationType", "CreateWorkerBlock"):
        members = list(model.operation_model(name).input_shape.members)
        for _ in range(60):
            body = {member: rng.choice(values) for member in rng.sample(members, rng.randint(0, len(members)))}
            response = post(url, name, json.dumps(body))
            assert response.status_code in (200, 400), (name, body, response.text)
            if response.status_code == 400:
                assert response.json()["__type"] and response.json()["Message"], (name, body)


# -- the control API ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    ['{"seconds": NaN}', '{"seconds": Infinity}', '{"seconds": -Infinity}', '{"seconds": 1e308}',
     '{"seconds": 1e999}', '{"seconds": -1}', '{"seconds": 315576001}', '{"seconds": "many"}',
     '{"seconds": true}', '{"seconds": null}', "{}", "[1]", "not json", '{"seconds": 1'],
)
def test_absurd_clock_moves_are_refused_and_the_clock_stays(stack, body):
    url = stack["mturk_endpoint_url"]
    before = requests.get(url + "/_local/clock", timeout=30).json()["now"]
    response = requests.post(url + "/_local/clock/advance", data=body, timeout=30,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["__type"] in ("ParameterValidationError", "ValidationException", "SerializationException")
    assert answer["Message"] and answer["error"] == "BadRequest"
    after = requests.get(url + "/_local/clock", timeout=30).json()["now"]
    assert 0 <= after - before < 600  # only wall time passed


def test_the_clock_moves_up_to_ten_years_a_step_and_a_century_in_all(private):
    control = LocalMTurkControl(private.url)
    start = control.now()
    moved = control.advance_clock(clock.MAX_STEP_SECONDS)
    assert moved >= start + clock.MAX_STEP_SECONDS
    with pytest.raises(WorkerRefused) as info:
        control.advance_clock(clock.MAX_STEP_SECONDS + 1)
    assert info.value.status == 400
    steps = 1
    with pytest.raises(WorkerRefused):
        while steps < 20:
            control.advance_clock(clock.MAX_STEP_SECONDS)
            steps += 1
    assert steps == 10  # ten steps of ten years reach the century; the eleventh is refused
    mturk = client(private.url)
    hit = mturk.create_hit(**HIT)["HIT"]  # dates a century ahead still serialise
    assert hit["Expiration"].year >= 2100


def test_control_bodies_with_bad_numbers_are_400s(stack):
    url = stack["mturk_endpoint_url"]
    for path, body in (
        ("/_local/workers", '{"worker_id": "W", "approval_rate": NaN}'),
        ("/_local/workers", '{"worker_id": "W", "approved_hits": 1e999}'),
        ("/_local/workers", '{"worker_id": "W", "approved_hits": ' + "9" * 30 + "}"),
        ("/_local/faults", '{"fraction": NaN}'),
        ("/_local/faults", '{"fraction": 0.1, "seed": 1e999}'),
    ):
        response = requests.post(url + path, data=body, timeout=30, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, (path, body, response.text)
        assert response.json()["__type"] and response.json()["Message"]
