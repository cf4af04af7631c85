"""The review notebook's logic on the real local MTurk server: where its output goes, the HIT
table and its count by status, the assignments table, and decisions applied only when asked."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest

from iglu_lib.local.mturk.control_client import LocalMTurkControl
from iglu_lib.mturk import HitManager, review
from iglu_lib.platform.codes import code_status

JOIN = "/plaiground:join-task-with-agent T1:C1:TASK1"
VARIABLES = {"task_name": "Build a blue tower", "task_join_code": JOIN, "agent_instance_ids": ["inst-a", "inst-b"]}
ANSWERS = {"joinCode1": f"{JOIN}:inst-a", "joinCode2": f"{JOIN}:inst-b", "completionCode1": "not-a-code",
           "completionCode2": "not-a-code", "agent1_performance": "good", "agent2_performance": "bad"}


@pytest.fixture
def manager(stack, local_profile, unique_name) -> HitManager:
    """A fresh campaign on the local MTurk server, so each test sees only its own HITs."""
    if "mturk_endpoint_url" not in stack:
        pytest.fail("the local stack has no mturk_endpoint_url: the local MTurk server is not registered")
    return HitManager.open(local_profile, hit_type="pairwise", campaign=unique_name("review"))


@pytest.fixture
def submit(stack, manager, unique_name) -> Callable[[], tuple[str, str]]:
    """Makes a fresh HIT of the campaign with one assignment submitted by a fresh worker;
    returns the assignment id and the worker id."""
    turk = LocalMTurkControl(stack["mturk_endpoint_url"])

    def submitted_assignment() -> tuple[str, str]:
        worker_id = unique_name("w").upper()
        hit = manager.create_hit(VARIABLES, unique_request_token=uuid.uuid4().hex)
        turk.set_worker(worker_id, approval_rate=99, approved_hits=500)
        assignment_id = turk.accept(hit.hit_id, worker_id)["assignment_id"]
        turk.submit(assignment_id, {"taskAnswers": json.dumps([ANSWERS])})
        return assignment_id, worker_id

    return submitted_assignment


def test_output_folder_is_under_the_project_root_unless_absolute(monkeypatch, tmp_path):
    monkeypatch.setenv("IGLU_PROJECT_ROOT", str(tmp_path / "root"))
    monkeypatch.chdir(tmp_path)  # papermill's working directory must not matter
    relative = review.output_folder("outputs/04_review")
    assert relative == tmp_path / "root" / "outputs" / "04_review" and relative.is_dir()
    absolute = review.output_folder(tmp_path / "elsewhere")
    assert absolute == tmp_path / "elsewhere" and absolute.is_dir()


def test_hits_frame_lists_the_campaign_hits_and_counts_them_by_status(manager, submit):
    empty = review.hits_frame(manager)
    assert list(empty.columns) == list(review.HIT_COLUMNS) and empty.empty
    assert review.hits_by_status(empty).empty
    open_hit = manager.create_hit(VARIABLES, unique_request_token=uuid.uuid4().hex)
    submit()
    hits = review.hits_frame(manager)
    assert len(hits) == 2 and open_hit.hit_id in set(hits["hit_id"])
    counts = review.hits_by_status(hits)["HITs"].to_dict()
    assert sum(counts.values()) == 2 and counts.get("Assignable") == 1


def test_assignments_frame_has_a_row_per_submission_with_code_status(manager, submit):
    assignment_id, worker = submit()
    table = review.assignments_frame(review.submitted_assignments(manager), code_status)
    assert table["assignment_id"].tolist() == [assignment_id] and table["worker_id"].tolist() == [worker]
    assert table.loc[0, "completionCode1_status"] == code_status("not-a-code")


def test_record_decisions_writes_what_it_did_and_acts_only_when_asked(manager, submit, tmp_path):
    assignment_id, _ = submit()
    decisions = [{"assignment_id": assignment_id, "action": "approve", "reason": "fine"}]

    results, path = review.record_decisions(manager, decisions, tmp_path, act=False)
    assert results == [] and path == tmp_path / review.DECISIONS_FILE
    assert json.loads(path.read_text()) == {"act": False, "results": []}
    assert manager.get_assignment(assignment_id).status == "Submitted"

    results, path = review.record_decisions(manager, decisions, tmp_path, act=True)
    assert [r["outcome"] for r in results] == ["done"]
    assert json.loads(path.read_text()) == {"act": True, "results": results}
    assert manager.get_assignment(assignment_id).status == "Approved"


def test_decisions_through_the_campaigns_ledger_are_done_once_and_counted(manager, submit, local_profile):
    """Notebook 04's decisions about single assignments are booked in the campaign's ledger: a
    repeat (a second click, a rerun of the notebook) is recognised, and the reward is spend."""
    from decimal import Decimal

    from iglu_lib.ledger import Ledger

    assignment_id, _ = submit()
    ledger = Ledger.open(local_profile, manager.campaign, manager, source="manual")
    decisions = [{"assignment_id": assignment_id, "action": "approve", "reason": "fine"}]
    assert [r["outcome"] for r in review.act_on_assignments(manager, decisions, ledger=ledger)] == ["done"]
    assert [r["outcome"] for r in review.act_on_assignments(manager, decisions, ledger=ledger)] == ["already done"]
    assert ledger.spend().rewards == Decimal(manager.settings.reward)
    rejected = [{"assignment_id": assignment_id, "action": "reject", "reason": "changed my mind"}]
    (result,) = review.act_on_assignments(manager, rejected, ledger=ledger)
    assert result["outcome"].startswith("error:") and "Approved" in result["outcome"], "the service's record rules"
