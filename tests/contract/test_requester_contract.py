"""What the workbench relies on from MTurk's requester API, checked against the target of
`tests/contract/conftest.py`: the local MTurk server in `make test`, the requester sandbox in
`make contract`.

HITs in each question mode (the MTurk API reference's own samples), listing, changing and ending
their expiration, deleting them; qualification types, a qualification test with its AnswerKey,
and HITs that require qualifications. No worker ever accepts: no money moves.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from iglu_lib.local.mturk.question_form import question_identifiers

DOCS = Path(__file__).resolve().parents[1] / "fixtures/mturk_docs"
QUESTIONS = {
    "QuestionForm": "question_form.xml",
    "HTMLQuestion": "html_question.xml",
    "ExternalQuestion": "external_question.xml",
}
#: The system qualifications' documented ids: approval rate and locale.
APPROVAL_RATE, LOCALE = "000000000000000000L0", "00000000000000000071"
LIFETIME = 600
#: How far the service's clock and ours may differ.
SKEW = 120


def sample(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def create_hit(requester: Any, question: str, **extra: Any) -> dict[str, Any]:
    hit = requester.client.create_hit(
        Title=f"iglu-workbench contract test {secrets.token_hex(4)} (nothing to do)",
        Description="A requester contract test of the iglu workbench; it is expired and deleted at once.",
        Keywords="test", Reward="0.01", MaxAssignments=1, LifetimeInSeconds=LIFETIME,
        AssignmentDurationInSeconds=600, AutoApprovalDelayInSeconds=3600, Question=question, **extra,
    )["HIT"]
    requester.hits.append(hit["HITId"])
    return hit


def listed_hit_ids(requester: Any) -> set[str]:
    """Every HIT id ListHITs returns, page by page."""
    found: set[str] = set()
    token: dict[str, str] = {}
    for _ in range(50):
        page = requester.client.list_hits(MaxResults=100, **token)
        found |= {hit["HITId"] for hit in page["HITs"]}
        if not page.get("NextToken") or not page["HITs"]:
            return found
        token = {"NextToken": page["NextToken"]}
    return found


def seconds_from_now(requester: Any, moment: datetime) -> float:
    """How far `moment` is from the service's own now."""
    return moment.timestamp() - requester.now()


def expire(requester: Any, hit_id: str) -> None:
    requester.client.update_expiration_for_hit(HITId=hit_id, ExpireAt=datetime(2015, 1, 1, tzinfo=timezone.utc))


@pytest.mark.parametrize("kind", sorted(QUESTIONS))
def test_a_hit_in_each_question_mode(requester, kind):
    created = create_hit(requester, sample(QUESTIONS[kind]))
    hit = requester.client.get_hit(HITId=created["HITId"])["HIT"]
    assert (hit["HITId"], hit["HITTypeId"]) == (created["HITId"], created["HITTypeId"])
    assert (hit["HITStatus"], hit["MaxAssignments"], hit["Reward"]) == ("Assignable", 1, "0.01")
    assert re.search(rf"<{kind}[\s>]", hit["Question"])
    assert abs(seconds_from_now(requester, hit["Expiration"]) - LIFETIME) < SKEW


def test_a_hit_is_listed_expired_and_deleted_and_no_money_moves(requester):
    balance = requester.client.get_account_balance()["AvailableBalance"]
    hit_id = create_hit(requester, sample(QUESTIONS["HTMLQuestion"]))["HITId"]
    assert hit_id in listed_hit_ids(requester)
    with pytest.raises(ClientError):  # an open HIT cannot be deleted
        requester.client.delete_hit(HITId=hit_id)

    expire(requester, hit_id)
    hit = requester.client.get_hit(HITId=hit_id)["HIT"]
    assert seconds_from_now(requester, hit["Expiration"]) < SKEW
    assert hit["HITStatus"] != "Assignable" or seconds_from_now(requester, hit["Expiration"]) <= 0
    requester.client.delete_hit(HITId=hit_id)
    assert hit_id not in listed_hit_ids(requester)
    assert requester.client.get_account_balance()["AvailableBalance"] == balance


def test_an_expiration_can_be_moved_later(requester):
    hit_id = create_hit(requester, sample(QUESTIONS["ExternalQuestion"]))["HITId"]
    later = datetime.fromtimestamp(requester.now(), timezone.utc) + timedelta(hours=2)
    requester.client.update_expiration_for_hit(HITId=hit_id, ExpireAt=later)
    hit = requester.client.get_hit(HITId=hit_id)["HIT"]
    assert abs(hit["Expiration"].timestamp() - later.timestamp()) < SKEW
    assert hit["HITStatus"] == "Assignable"


def test_an_unknown_hit_is_a_request_error(requester):
    with pytest.raises(ClientError) as refused:
        requester.client.get_hit(HITId="3" + "Z" * 29)
    assert refused.value.response["Error"]["Code"] == "RequestError"


def create_type(requester: Any, **extra: Any) -> dict[str, Any]:
    found = requester.client.create_qualification_type(
        Name=f"iglu-contract-{secrets.token_hex(6)}", Description="A requester contract test of the iglu workbench.",
        QualificationTypeStatus="Active", **extra,
    )["QualificationType"]
    requester.qualification_types.append(found["QualificationTypeId"])
    return found


def test_a_hit_requires_a_qualification_type_and_system_qualifications(requester):
    own = create_type(requester)
    fetched = requester.client.get_qualification_type(QualificationTypeId=own["QualificationTypeId"])
    assert fetched["QualificationType"]["Name"] == own["Name"]
    assert fetched["QualificationType"]["QualificationTypeStatus"] == "Active"
    requirements = [
        {"QualificationTypeId": own["QualificationTypeId"], "Comparator": "Exists", "ActionsGuarded": "Accept"},
        {"QualificationTypeId": APPROVAL_RATE, "Comparator": "GreaterThanOrEqualTo", "IntegerValues": [95],
         "ActionsGuarded": "Accept"},
        {"QualificationTypeId": LOCALE, "Comparator": "In",
         "LocaleValues": [{"Country": "US"}, {"Country": "GB"}], "ActionsGuarded": "PreviewAndAccept"},
    ]
    hit_id = create_hit(requester, sample(QUESTIONS["HTMLQuestion"]), QualificationRequirements=requirements)["HITId"]
    returned = requester.client.get_hit(HITId=hit_id)["HIT"]["QualificationRequirements"]
    assert len(returned) == len(requirements)
    for sent, got in zip(requirements, returned, strict=True):
        assert {key: got.get(key) for key in sent} == sent


def test_a_requirement_on_an_unknown_type_is_refused(requester):
    unknown = [{"QualificationTypeId": "3" + "Z" * 29, "Comparator": "Exists", "ActionsGuarded": "Accept"}]
    with pytest.raises(ClientError) as refused:
        create_hit(requester, sample(QUESTIONS["HTMLQuestion"]), QualificationRequirements=unknown)
    assert refused.value.response["Error"]["Code"] == "RequestError"


def selection_only_test() -> str:
    """The reference's QuestionForm without its free-text question: an AnswerKey scores only
    selection questions."""
    return re.sub(r"\s*<Question>\s*<QuestionIdentifier>nextmove</QuestionIdentifier>.*?</Question>", "",
                  sample("question_form.xml"), count=1, flags=re.DOTALL)


KEY = """<AnswerKey xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/AnswerKey.xsd">
  <Question>
    <QuestionIdentifier>likelytowin</QuestionIdentifier>
    <AnswerOption><SelectionIdentifier>notlikely</SelectionIdentifier><AnswerScore>1</AnswerScore></AnswerOption>
  </Question>
</AnswerKey>"""


def test_a_qualification_test_with_its_answer_key(requester):
    created = create_type(requester, Test=selection_only_test(), AnswerKey=KEY, TestDurationInSeconds=300)
    fetched = requester.client.get_qualification_type(QualificationTypeId=created["QualificationTypeId"])
    found = fetched["QualificationType"]
    assert question_identifiers(found["Test"]) == ["likelytowin"]
    assert found["TestDurationInSeconds"] == 300
    assert found["IsRequestable"] is True


def test_a_type_is_deleted(requester):
    """The service accepts the deletion (it may take hours to dispose of the type; the local server
    forgets it at once), so what the contract holds is that the call succeeds."""
    type_id = create_type(requester)["QualificationTypeId"]
    requester.client.delete_qualification_type(QualificationTypeId=type_id)
