"""The loop decides on our states only (`providers.WorkState`, `SubmissionStatus`); each crowd maps
its service's words to them at its boundary. These tests hold the MTurk mapping to botocore's
published model, so a status MTurk adds is noticed here rather than misread by the loop."""

from __future__ import annotations

import pytest

from iglu_lib.mturk.manager import ASSIGNMENT_STATUSES, HIT_STATES, Assignment, Hit, _wire_statuses
from iglu_lib.providers import ANY_SUBMISSION, CLOSED_WORK, OPEN_WORK, SubmissionStatus, WorkState


def _enum(shape: str) -> set[str]:
    import botocore.session

    model = botocore.session.get_session().get_service_model("mturk")
    return set(model.shape_for(shape).enum)


def test_every_hit_status_of_mturk_has_one_of_our_states() -> None:
    assert set(HIT_STATES) == _enum("HITStatus")
    assert set(HIT_STATES.values()) == set(WorkState)
    assert set(OPEN_WORK) | set(CLOSED_WORK) == set(WorkState) and not set(OPEN_WORK) & set(CLOSED_WORK)


def test_every_assignment_status_of_mturk_is_ours_in_upper_case() -> None:
    assert set(ASSIGNMENT_STATUSES.values()) == _enum("AssignmentStatus")
    assert all(theirs.lower() == ours for ours, theirs in ASSIGNMENT_STATUSES.items())
    assert set(ANY_SUBMISSION) == set(SubmissionStatus)


@pytest.mark.parametrize(("wire", "ours"), sorted(HIT_STATES.items()))
def test_a_hit_reads_its_state_in_our_words_and_keeps_mturk_s_for_people(wire: str, ours: WorkState) -> None:
    hit = Hit.from_service({"HITId": "H1", "HITStatus": wire, "CreationTime": 1.5e9,
                            "AssignmentDurationInSeconds": 600})
    assert (hit.state, hit.status, hit.created, hit.assignment_seconds) == (ours, wire, 1.5e9, 600)


def test_a_hit_with_a_status_we_do_not_know_has_no_state() -> None:
    assert Hit.from_service({"HITId": "H1", "HITStatus": "Paused"}).state is None


@pytest.mark.parametrize("wire", ["Submitted", "Approved", "Rejected"])
def test_an_assignment_reads_its_status_in_our_words_and_keeps_its_answer(wire: str) -> None:
    assignment = Assignment.from_service({"AssignmentId": "A1", "AssignmentStatus": wire, "Answer": "<xml/>"})
    assert assignment.state is SubmissionStatus(wire.lower()) and assignment.document == "<xml/>"


def test_the_manager_asks_mturk_in_its_words_whichever_words_it_is_given() -> None:
    assert _wire_statuses(ANY_SUBMISSION) == ["Submitted", "Approved", "Rejected"]
    assert _wire_statuses(("Submitted", SubmissionStatus.REJECTED)) == ["Submitted", "Rejected"]



def test_every_provider_has_a_campaign_crowd_and_an_unknown_one_is_refused_by_name() -> None:
    from iglu_lib.providers import (
        CAMPAIGN_CROWDS,
        PROVIDERS,
        CrowdOptions,
        UnknownProvider,
        open_campaign_crowd,
    )

    assert set(CAMPAIGN_CROWDS) == set(PROVIDERS)
    with pytest.raises(UnknownProvider, match="unknown crowd provider 'mechanical' \\(known: mturk, prolific\\)"):
        open_campaign_crowd("mechanical", None, CrowdOptions("c1"))  # type: ignore[arg-type]


def test_the_registry_opens_the_hit_manager_with_the_campaign_s_options(local_profile) -> None:
    from iglu_lib.mturk.manager import HitManager
    from iglu_lib.providers import CrowdOptions, open_campaign_crowd

    crowd = open_campaign_crowd("mturk", local_profile, CrowdOptions("c1", kind="single", allow_spending=True))
    assert isinstance(crowd, HitManager)
    assert (crowd.campaign, crowd.hit_type, crowd.allow_spending) == ("c1", "single", True)


@pytest.mark.parametrize("task_answers", [
    '[{"completionCode1": "abc", "bestAgent": "agent1"}]', '{"completionCode1": "abc"}', '[{"a": 1}, {"b": 2}]',
    "not json", "", '[{"text": "<b>&amp; \\u00e9</b>"}]',
])
def test_a_study_session_s_answers_read_as_a_hit_s_do(task_answers: str) -> None:
    """The study side reads the crowd form's JSON itself; MTurk reads it out of its answer XML:
    the fields and whether they are usable agree."""
    from xml.sax.saxutils import escape

    from iglu_lib.crowd.study_campaign import session_answers
    from iglu_lib.mturk.answers import parse_answers

    xml = ('<QuestionFormAnswers xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/'
           '2005-10-01/QuestionFormAnswers.xsd"><Answer><QuestionIdentifier>taskAnswers</QuestionIdentifier>'
           f"<FreeText>{escape(task_answers)}</FreeText></Answer></QuestionFormAnswers>")
    ours, theirs = session_answers(task_answers), parse_answers(xml)
    assert (ours.fields, ours.ok) == (theirs.fields, theirs.ok)


def test_the_loop_takes_nothing_from_the_mturk_package_but_its_review_helpers() -> None:
    """The import contract names MTurk's modules one by one (notebook 04 reuses `mturk.review`);
    this closes the gap it leaves: a name taken from the package itself (`from iglu_lib.mturk
    import HitManager`), or a new MTurk module."""
    import ast
    from pathlib import Path

    taken = []
    for path in sorted(Path(__file__).resolve().parents[2].joinpath("iglu_lib", "collection").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("iglu_lib.mturk"):
                names = {f"{node.module}.{alias.name}" for alias in node.names}
                taken += [f"{path.name}: {name}" for name in names if name != "iglu_lib.mturk.review"]
            elif isinstance(node, ast.Import):
                taken += [f"{path.name}: {a.name}" for a in node.names if a.name.startswith(("iglu_lib.mturk", "iglu_lib.prolific"))]
    assert taken == []


@pytest.mark.parametrize(("error", "fault", "about_account"), [
    ({"status": None, "unreachable": True}, "transient", False),
    ({"status": 429}, "transient", False),
    ({"status": 503}, "transient", False),
    ({"status": 401}, "permanent", True),
    ({"status": 402}, "permanent", True),
    ({"status": 404}, "permanent", False),
    ({"status": 400}, "permanent", False),
    ({"status": None}, "unexpected", False),
])
def test_a_prolific_error_says_how_the_loop_takes_it(error: dict, fault: str, about_account: bool) -> None:
    from iglu_lib.collection.faults import classify, is_account_problem
    from iglu_lib.prolific.client import ProlificError

    refused = ProlificError("Prolific call failed", **error)
    assert classify(refused).value == fault
    assert is_account_problem(refused) is about_account
