"""The HIT manager through boto3 against the real local MTurk server: every operation,
pagination, token idempotency, retries absorbing injected faults, safe answers, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from iglu_lib.local.mturk.control_client import LocalMTurkControl, WorkerRefused
from iglu_lib.mturk import HitManager
from iglu_lib.mturk.manager import MTurkError
from iglu_lib.mturk.qualifications import (
    QualificationTest,
    create_qualification_type,
    grant,
    requirement,
    score,
)
from iglu_lib.platform.codes import make_completion_code

ROOT = Path(__file__).resolve().parents[1]
QUALIFIER = ROOT / "params" / "examples" / "qualifier"
JOIN = "/plaiground:join-task-with-agent T1:C1:TASK1"


def completion_code(**fields: str) -> str:
    """A valid completion code with fresh ids (any field can be fixed by keyword)."""
    ids = {name: str(uuid.uuid4()) for name in
           ("tournament_id", "challenge_id", "task_id", "game_id", "role_id", "agent_service_id")}
    return make_completion_code(**{**ids, **fields})


def accept(turk: LocalMTurkControl, hit_id: str, worker_id: str) -> str:
    """A worker who meets the production requirements accepts the HIT."""
    turk.set_worker(worker_id, approval_rate=99, approved_hits=500)
    return turk.accept(hit_id, worker_id)["assignment_id"]


def submit(turk: LocalMTurkControl, assignment_id: str, fields: dict) -> None:
    """Submit as the crowd-form does: one `taskAnswers` holding a JSON list of one object."""
    turk.submit(assignment_id, {"taskAnswers": json.dumps([fields])})


@pytest.fixture
def turk(stack) -> LocalMTurkControl:
    if "mturk_endpoint_url" not in stack:
        pytest.fail("the local stack has no mturk_endpoint_url: the local MTurk server is not registered")
    return LocalMTurkControl(stack["mturk_endpoint_url"])


@pytest.fixture
def manager(local_profile, turk, unique_name) -> HitManager:
    return HitManager.open(local_profile, hit_type="pairwise", campaign=unique_name("camp"))


def pair_variables(task_name: str = "Build a blue tower") -> dict:
    return {"task_name": task_name, "task_join_code": JOIN, "agent_instance_ids": ["inst-a", "inst-b"]}


def pair_answers(code1: str, code2: str, **extra: object) -> dict:
    return {"joinCode1": f"{JOIN}:inst-a", "joinCode2": f"{JOIN}:inst-b", "completionCode1": code1,
            "completionCode2": code2, "agent1_performance": "good", "agent2_performance": "bad",
            "best_agent": {"agent1_option": True, "agent2_option": False}, **extra}


def submitted(manager: HitManager, turk: LocalMTurkControl, worker_id: str, fields: dict | None = None) -> tuple:
    hit = manager.create_hit(pair_variables(), unique_request_token=uuid.uuid4().hex)
    assignment_id = accept(turk, hit.hit_id, worker_id)
    submit(turk, assignment_id, fields or pair_answers(completion_code(), completion_code()))
    return hit, assignment_id


# -- HITs ------------------------------------------------------------------------------------


def test_create_hit_uses_profile_settings_template_and_tag(manager, local_profile, unique_name):
    hit = manager.create_hit(pair_variables("<b>Tower</b> & co"), unique_request_token="tok-" + unique_name())
    raw = local_profile.backend.mturk_client().get_hit(HITId=hit.hit_id)["HIT"]
    assert raw["Reward"] == local_profile.hit.reward and raw["Title"] == local_profile.hit.title
    assert raw["AssignmentDurationInSeconds"] == local_profile.hit.assignment_duration_seconds
    assert raw["HITStatus"] == "Assignable" and raw["MaxAssignments"] == 1
    assert f"{JOIN}:inst-a" in raw["Question"] and "&lt;b&gt;Tower&lt;/b&gt; &amp; co" in raw["Question"]
    assert hit.annotation.hit_type == "pairwise" and hit.annotation.campaign == manager.campaign
    assert [h.hit_id for h in manager.open_hits()] == [hit.hit_id]
    other = HitManager.open(local_profile, hit_type="pairwise", campaign=unique_name("other"))
    assert other.open_hits() == []


def test_repeated_token_returns_the_first_hit(manager, unique_name):
    token = "tok-" + unique_name()
    first = manager.create_hit(pair_variables(), unique_request_token=token)
    again = manager.create_hit(pair_variables(), unique_request_token=token)
    assert again.hit_id == first.hit_id
    assert [h.hit_id for h in manager.hits()] == [first.hit_id]


def test_pagination_over_250_hits_open_and_reviewable(manager, turk):
    made = {manager.create_hit(pair_variables(), unique_request_token=f"{manager.campaign}-{i}").hit_id
            for i in range(250)}
    before = turk.stats()["by_operation"].get("ListHITs", 0)
    assert {h.hit_id for h in manager.open_hits()} == made
    assert turk.stats()["by_operation"].get("ListHITs", 0) - before >= 3, "more than one page was read"
    for hit_id in made:
        manager.expire(hit_id)
    assert {h.hit_id for h in manager.reviewable_hits()} == made
    assert manager.open_hits() == []


def test_unknown_ids_give_clear_errors(manager):
    with pytest.raises(MTurkError, match="get_hit HITId=NOPE.*failed: RequestError"):
        manager.get_hit("NOPE")
    with pytest.raises(MTurkError, match="AssignmentId=NOPE"):
        manager.get_assignment("NOPE")


# -- assignments -----------------------------------------------------------------------------


def test_submitted_answers_are_parsed_and_hostile_text_stays_text(manager, turk, unique_name):
    hostile = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]> &e; ]]> "quotes" \' </FreeText>'
    fields = pair_answers(completion_code(), completion_code(), agent1_performance=hostile)
    hit, assignment_id = submitted(manager, turk, "W" + unique_name().upper(), fields)
    [assignment] = manager.submitted_assignments(hit.hit_id)
    assert assignment.assignment_id == assignment_id and assignment.status == "Submitted"
    assert assignment.answers.ok and assignment.answers.fields == fields
    missing = {k: v for k, v in pair_answers("a", "b").items() if k != "completionCode2"}
    hit2, _ = submitted(manager, turk, "W" + unique_name().upper(), missing)
    [incomplete] = manager.submitted_assignments(hit2.hit_id)
    assert incomplete.answers.problems == ("answer is missing field 'completionCode2'",)


def test_review_lifecycle_reviewing_approve_and_delete(manager, turk, unique_name):
    hit, assignment_id = submitted(manager, turk, "WL" + unique_name().upper())
    assert [h.hit_id for h in manager.reviewable_hits()] == [hit.hit_id], "the only assignment is in"
    manager.set_reviewing(hit.hit_id)
    assert manager.reviewable_hits() == [] and [h.hit_id for h in manager.reviewable_hits("Reviewing")] == [hit.hit_id]
    manager.set_reviewing(hit.hit_id, reviewing=False)
    with pytest.raises(MTurkError, match="delete_hit HITId="):
        manager.delete(hit.hit_id)  # refused while an assignment waits for review
    manager.approve(assignment_id)
    manager.delete(hit.hit_id)
    assert list(manager.hits()) == [], "ListHITs leaves out disposed HITs"


def test_approve_reject_override_and_bonus(manager, turk, local_profile, unique_name):
    hit, first = submitted(manager, turk, "W1" + unique_name().upper())
    client = local_profile.backend.mturk_client()
    manager.reject(first, "the completion code is a worker id")
    assert client.get_assignment(AssignmentId=first)["Assignment"]["AssignmentStatus"] == "Rejected"
    manager.approve(first, "sorry, our mistake", override_rejection=True)
    assignment = client.get_assignment(AssignmentId=first)["Assignment"]
    assert assignment["AssignmentStatus"] == "Approved"
    worker = assignment["WorkerId"]
    manager.bonus(worker, first, "0.25", "thanks", unique_request_token="bonus-" + first)
    manager.bonus(worker, first, "0.25", "thanks", unique_request_token="bonus-" + first)  # not paid twice
    with pytest.raises(MTurkError, match="needs a reason"):
        manager.reject(first, "  ")
    assert [a.assignment_id for a in manager.assignments(hit.hit_id, ("Approved",))] == [first]


def test_notify_block_unblock_and_balance(manager, turk, unique_name):
    worker = "WB" + unique_name().upper()
    hit, _ = submitted(manager, turk, worker)
    assert manager.notify([worker], "Thanks", "Your games were great") == []
    assert [m["subject"] for m in turk.worker_messages(worker)] == ["Thanks"]
    manager.block(worker, "pasted join codes as completion codes")
    assert worker in {b["WorkerId"] for b in manager.blocked_workers()}
    other = manager.create_hit(pair_variables(), unique_request_token=uuid.uuid4().hex)
    with pytest.raises(WorkerRefused):
        turk.accept(other.hit_id, worker)
    manager.unblock(worker, "appeal accepted")
    assert worker not in {b["WorkerId"] for b in manager.blocked_workers()}
    assert float(manager.balance()) > 0


def test_qualification_type_from_files_scores_and_guards_hits(manager, turk, unique_name):
    test = QualificationTest.from_files("IGLU architect " + unique_name(), "knows the game",
                                        QUALIFIER / "test.xml", QUALIFIER / "answer_key.xml")
    type_id = create_qualification_type(manager, test)
    good, bad = "WQ" + unique_name().upper(), "WX" + unique_name().upper()
    for worker, answers in ((good, {"consent": "agree", "role": "assistant", "instruction": "precise", "completion": "code"}),
                            (bad, {"consent": "agree", "role": "me", "instruction": "vague", "completion": "code"})):
        turk.set_worker(worker)
        turk.request_qualification(type_id, worker, answers)
    assert score(manager, type_id, good) == 100
    assert score(manager, type_id, bad) == 33
    granted = "WG" + unique_name().upper()
    turk.set_worker(granted)
    assert score(manager, type_id, granted) is None
    grant(manager, type_id, granted, 100)
    assert score(manager, type_id, granted) == 100
    guarded = manager.create_hit(pair_variables(), unique_request_token=uuid.uuid4().hex,
                                 extra_qualification_requirements=[requirement(type_id, 100)])
    with pytest.raises(WorkerRefused, match="Qualification"):
        turk.accept(guarded.hit_id, bad)
    assert turk.accept(guarded.hit_id, good)["assignment_id"]


# -- reliability -----------------------------------------------------------------------------


def test_retries_absorb_ten_percent_injected_faults(manager, turk):
    turk.set_faults(0.1, seed=7, kinds=("throttle", "server_error"))
    try:
        made = [manager.create_hit(pair_variables(), unique_request_token=f"{manager.campaign}-f{i}").hit_id
                for i in range(60)]
        listed = [h.hit_id for h in manager.hits()]
        fetched = [manager.get_hit(hit_id).hit_id for hit_id in made]
    finally:
        turk.set_faults(0.0, seed=0)
    assert sorted(listed) == sorted(made) == sorted(fetched) and len(set(made)) == 60
    assert manager.retries > 0, "with 10% faults over ~120 calls some must have been retried"


# -- CLI -------------------------------------------------------------------------------------


def iglu(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "iglu_lib.cli", "mturk", *args, "--profile", "local"],
                          capture_output=True, text=True, timeout=120)


def test_cli_lists_reviews_blocks_and_qualifies(manager, turk, unique_name):
    from iglu_lib.config import load_profile
    from iglu_lib.ledger.book import UNFILED, Ledger

    worker = "WC" + unique_name().upper()
    hit, assignment_id = submitted(manager, turk, worker)
    balance = iglu("balance", "--json")
    assert balance.returncode == 0 and float(json.loads(balance.stdout)["available_balance"]) > 0
    hits = json.loads(iglu("hits", "--campaign", manager.campaign, "--json").stdout)
    assert [h["hit_id"] for h in hits] == [hit.hit_id]
    rows = json.loads(iglu("assignments", hit.hit_id, "--json").stdout)
    assert rows[0]["assignment_id"] == assignment_id and rows[0]["best_agent"] == "agent1_option"
    assert iglu("reject", assignment_id, "--reason", "code reused").returncode == 0
    not_overridden = iglu("approve", assignment_id)
    assert not_overridden.returncode == 2 and "--override-rejection" in not_overridden.stderr
    assert iglu("approve", assignment_id, "--override-rejection").returncode == 0
    assert manager.get_assignment(assignment_id).status == "Approved"
    again = json.loads(iglu("approve", assignment_id, "--override-rejection", "--json").stdout)
    assert again["outcome"] == "already done" and again["campaign"] == manager.campaign
    assert iglu("block", worker, "--reason", "cheating").returncode == 0
    booked = Ledger.open(load_profile("local"), manager.campaign, manager).entries(AssignmentId=assignment_id)
    assert sorted((e.kind.value, e.done) for e in booked) == [("reject", True), ("reversal", True)], \
        "every decision of `iglu mturk` is booked once in the campaign's ledger"
    blocks = Ledger.open(load_profile("local"), UNFILED, manager).entries(WorkerId=worker)
    assert [e.kind.value for e in blocks] == ["hard-block"]
    assert iglu("block", worker, "--reason", "appeal", "--undo").returncode == 0
    qualify = iglu("qualify", "--name", "q " + unique_name(), "--description", "d",
                   "--test", str(QUALIFIER / "test.xml"), "--answer-key", str(QUALIFIER / "answer_key.xml"), "--json")
    assert qualify.returncode == 0 and json.loads(qualify.stdout)["qualification_type_id"]
    unknown = iglu("approve", "NOPE")
    assert unknown.returncode == 2 and "AssignmentId=NOPE" in unknown.stderr and unknown.stderr.count("\n") == 1


def test_cli_refuses_to_pay_in_production_without_allow_spending(tmp_path):
    refused = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "mturk", "approve", "A1", "--profile", "production"],
                             capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert refused.returncode == 2 and "spends real money" in refused.stderr and "--allow-spending" in refused.stderr


# -- review notebook -------------------------------------------------------------------------


def test_review_notebook_lists_headless_and_acts_only_when_asked(manager, turk, unique_name, test_outputs):
    from iglu_lib.notebooks import run_notebook

    hit, assignment_id = submitted(manager, turk, "WN" + unique_name().upper())
    base = {"campaign": manager.campaign, "output_dir": str(test_outputs / "04_review")}
    listed = run_notebook("04_review", ROOT / "params" / "04_review.yaml",
                          parameters={**base, "decisions": [{"assignment_id": assignment_id, "action": "approve"}]},
                          output=test_outputs / "04_review_list.ipynb", progress=False)
    assert assignment_id in listed.read_text() and "1 submitted assignment(s)" in listed.read_text()
    assert manager.get_assignment(assignment_id).status == "Submitted", "act=false must not act"
    run_notebook("04_review", ROOT / "params" / "04_review.yaml",
                 parameters={**base, "act": True,
                             "decisions": [{"assignment_id": assignment_id, "action": "reject", "reason": "bad code"}]},
                 output=test_outputs / "04_review_act.ipynb", progress=False)
    assert manager.get_assignment(assignment_id).status == "Rejected"
    results = json.loads((test_outputs / "04_review" / "decisions.json").read_text())["results"]
    assert results == [{"assignment_id": assignment_id, "action": "reject", "reason": "bad code", "outcome": "done"}]
