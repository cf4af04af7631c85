"""HitManager's levers (expiry, bonuses, bonus listings, messages) against the local MTurk
server: thin calls through the manager's retry wrapper, checked before anything is sent, and
guarded against spending where the profile does not spend money."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from iglu_lib.local.mturk.control_client import LocalMTurkControl, WorkerRefused
from iglu_lib.mturk import HitManager
from iglu_lib.mturk.manager import MTurkError, SpendingRefused

JOIN = "/plaiground:join-task-with-agent T1:C1:TASK1"


@pytest.fixture
def turk(stack) -> LocalMTurkControl:
    return LocalMTurkControl(stack["mturk_endpoint_url"])


@pytest.fixture
def manager(local_profile, unique_name) -> HitManager:
    return HitManager.open(local_profile, hit_type="pairwise", campaign=unique_name("levers"))


def new_hit(manager: HitManager):
    variables = {"task_name": "Build a tower", "task_join_code": JOIN, "agent_instance_ids": ["a", "b"]}
    return manager.create_hit(variables, unique_request_token=uuid.uuid4().hex)


def submitted(manager: HitManager, turk: LocalMTurkControl) -> tuple[str, str, str]:
    hit = new_hit(manager)
    worker_id = "A" + secrets.token_hex(6).upper()
    assignment_id = turk.accept(hit.hit_id, worker_id)["assignment_id"]
    turk.submit(assignment_id, {"taskAnswers": "[{}]"})
    return hit.hit_id, assignment_id, worker_id


def test_update_expiration_expires_and_extends(manager, turk):
    hit = new_hit(manager)
    manager.update_expiration(hit.hit_id, datetime(2015, 1, 1, tzinfo=timezone.utc))
    assert manager.get_hit(hit.hit_id).status == "Reviewable"
    with pytest.raises(WorkerRefused):
        turk.accept(hit.hit_id, "A" + secrets.token_hex(6).upper())
    later = datetime.fromtimestamp(turk.now(), timezone.utc) + timedelta(hours=5)  # the server's clock may have moved
    manager.update_expiration(hit.hit_id, later)
    reopened = manager.get_hit(hit.hit_id)
    assert reopened.status == "Assignable"
    assert abs(reopened.expiration.timestamp() - later.timestamp()) < 2
    manager.update_expiration(hit.hit_id, 0)  # epoch seconds work too
    assert manager.get_hit(hit.hit_id).status == "Reviewable"


@pytest.mark.parametrize("when", [datetime(2030, 1, 1), float("nan"), float("inf"), "tomorrow"])
def test_update_expiration_refuses_unclear_times_before_calling(manager, turk, when):
    hit = new_hit(manager)
    turk.reset_stats()
    with pytest.raises(MTurkError):
        manager.update_expiration(hit.hit_id, when)
    assert turk.stats()["by_operation"].get("UpdateExpirationForHIT", 0) == 0


def test_send_bonus_pays_once_per_token_and_lists_payments(manager, turk):
    hit_id, assignment_id, worker_id = submitted(manager, turk)
    manager.approve(assignment_id)
    balance = float(manager.balance())
    token = "bonus-" + assignment_id
    assert manager.send_bonus(worker_id, assignment_id, "0.30", "a game of 3 turns", token) is True
    assert manager.send_bonus(worker_id, assignment_id, "0.30", "a game of 3 turns", token) is False
    assert float(manager.balance()) == pytest.approx(balance - 0.30)
    (payment,) = manager.bonus_payments(assignment_id=assignment_id)
    assert payment["BonusAmount"] == "0.30" and payment["WorkerId"] == worker_id
    assert manager.bonus_payments(hit_id=hit_id) == [payment]
    assert manager.send_bonus(worker_id, assignment_id, 1, "another rule", "second-" + assignment_id) is True
    assert [p["BonusAmount"] for p in manager.bonus_payments(hit_id=hit_id)] == ["0.30", "1.00"]


def test_bonus_payments_pages_through_every_payment(manager, turk):
    hit_id, assignment_id, worker_id = submitted(manager, turk)
    for i in range(105):
        manager.send_bonus(worker_id, assignment_id, "0.01", f"bonus {i}", f"page-{i}-{assignment_id}")
    assert len(manager.bonus_payments(hit_id=hit_id)) == 105


@pytest.mark.parametrize(
    ("amount", "reason", "token"),
    [("0", "r", "t"), ("-1.00", "r", "t"), ("0.001", "r", "t"), ("NaN", "r", "t"), ("Infinity", "r", "t"),
     ("1e40", "r", "t"), ("ten", "r", "t"), ("1.00", " ", "t"), ("1.00", "r", ""), ("1.00", "r", "  ")],
)
def test_send_bonus_checks_before_calling(manager, turk, amount, reason, token):
    turk.reset_stats()
    with pytest.raises(MTurkError):
        manager.send_bonus("AWORKER1", "ASSIGNMENT1", amount, reason, token)
    assert turk.stats()["by_operation"].get("SendBonus", 0) == 0


def test_send_bonus_errors_of_the_service_name_the_call(manager, turk):
    _, assignment_id, _ = submitted(manager, turk)
    with pytest.raises(MTurkError, match="send_bonus AssignmentId=.*RequestError: Worker AOTHER did not work"):
        manager.send_bonus("AOTHER", assignment_id, "1.00", "r", "other-" + assignment_id)
    with pytest.raises(MTurkError, match="exactly one"):
        manager.bonus_payments()
    with pytest.raises(MTurkError, match="exactly one"):
        manager.bonus_payments(hit_id="H", assignment_id="A")


def test_a_profile_that_does_not_spend_refuses_bonuses(frugal_profile, manager, turk):
    _, assignment_id, worker_id = submitted(manager, turk)
    frugal = frugal_profile
    careful = HitManager.open(frugal, campaign=manager.campaign)
    turk.reset_stats()
    with pytest.raises(SpendingRefused, match="spend_money: false"):
        careful.send_bonus(worker_id, assignment_id, "1.00", "r", "frugal-" + assignment_id)
    assert turk.stats()["by_operation"].get("SendBonus", 0) == 0
    assert careful.send_bonus(worker_id, assignment_id, "1.00", "r", "frugal-" + assignment_id,
                              allow_spending=True) is True


def test_notify_reaches_workers_and_reports_the_rest(manager, turk):
    _, _, worker_id = submitted(manager, turk)
    stranger = "A" + secrets.token_hex(6).upper()
    failures = manager.notify([worker_id, stranger], "About your HIT", "Thanks for playing.")
    assert [f["WorkerId"] for f in failures] == [stranger]
    assert [m["text"] for m in turk.messages(worker_id)] == ["Thanks for playing."]
    with pytest.raises(MTurkError, match="notify_workers.*RequestError"):
        manager.notify([worker_id], "s" * 201, "too long a subject")
