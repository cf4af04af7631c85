"""The ledger's protocol on the real local stack (Azurite's table service, the local MTurk
server): intent, call, outcome; a retry settled from the ledger, then from the service's own
record; the reason as a person means it; spend by kind."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest

from iglu_lib.ledger.book import Kind, Ledger, LedgerRefused, Spend, entry_key, normalise_reason
from iglu_lib.local.mturk.control_client import LocalMTurkControl
from iglu_lib.mturk import HitManager

JOIN = "/plaiground:join-task-with-agent T1:C1:TASK1"
VARIABLES = {"task_name": "Build a blue tower", "task_join_code": JOIN, "agent_instance_ids": ["inst-a", "inst-b"]}
A_DAY_AND_AN_HOUR = 25 * 3600


@pytest.fixture
def approved(stack, local_profile, unique_name) -> tuple[HitManager, str, str]:
    """A campaign's manager and one approved assignment on the local server: (manager, assignment, worker)."""
    manager = HitManager.open(local_profile, hit_type="pairwise", campaign=unique_name("ledger"))
    turk = LocalMTurkControl(stack["mturk_endpoint_url"])
    worker_id = unique_name("w").upper()
    hit = manager.create_hit(VARIABLES, unique_request_token=uuid.uuid4().hex)
    turk.set_worker(worker_id, approval_rate=99, approved_hits=500)
    assignment_id = turk.accept(hit.hit_id, worker_id)["assignment_id"]
    turk.submit(assignment_id, {"taskAnswers": json.dumps([{"completionCode1": "x"}])})
    manager.approve(assignment_id)
    return manager, assignment_id, worker_id


def test_a_reason_is_read_as_a_person_means_it():
    assert normalise_reason("  Great   work\n") == normalise_reason("great work") == "great work"
    same = entry_key("c", Kind.BONUS, "A1", "1.00", "Great work ")
    assert same == entry_key("c", Kind.BONUS, "A1", "1.00", "GREAT  work") and len(same) <= 64
    assert same != entry_key("c", Kind.BONUS, "A1", "1.00", "Great work!")
    assert same != entry_key("c", Kind.RULE_BONUS, "A1", "1.00", "Great work")


def test_spend_counts_every_kind_with_the_fee_and_pending_intents_apart():
    from iglu_lib.ledger.book import DONE, Entry

    entries = [Entry("c", "k1", Kind.REWARD, amount="0.50", state=DONE),
               Entry("c", "k2", Kind.RULE_BONUS, amount="0.10", state=DONE),
               Entry("c", "k3", Kind.BONUS, amount="2.00", state=DONE),
               Entry("c", "k4", Kind.REVERSAL, amount="0.50", state=DONE),
               Entry("c", "k5", Kind.BONUS, amount="1.00"),  # intended, outcome unknown
               Entry("c", "k6", Kind.REJECT, state=DONE), Entry("c", "k7", Kind.MESSAGE, state=DONE)]
    spend = Spend.of(entries, "0.20")
    assert spend.total == Decimal("3.72") and spend.fees == Decimal("0.62")
    assert spend.pending == Decimal("1.20") and spend.committed == Decimal("4.92")
    assert spend.as_dict()["manual_bonuses"] == "2.00" and spend.bonuses_total == Decimal("2.10")


def test_two_equal_rule_bonuses_interrupted_a_day_ago_are_each_paid_once(approved, local_profile, control):
    """Two games of one assignment earn the same amount for the same reason; the first was paid
    and the process died before either outcome was written. A day later (the token forgotten)
    the first is found on the service and the second is paid."""
    manager, assignment_id, worker_id = approved
    ledger = Ledger.open(local_profile, manager.campaign, manager)
    pay = {"worker_id": worker_id, "assignment_id": assignment_id, "amount": "0.25", "reason": "many turns"}
    entries = [ledger._intend(ledger_draft(ledger, game, **pay))[0] for game in ("game-1", "game-2")]
    manager.send_bonus(worker_id, assignment_id, "0.25", "many turns", entries[0].token)  # then the process died
    control.advance_clock(A_DAY_AND_AN_HOUR)
    first = ledger.pay_bonus(Kind.RULE_BONUS, part="game-1", **pay)
    second = ledger.pay_bonus(Kind.RULE_BONUS, part="game-2", **pay)
    assert first.found and not first.acted and second.acted
    assert len(manager.bonus_payments(assignment_id=assignment_id)) == 2
    third = ledger.pay_bonus(Kind.RULE_BONUS, part="game-2", **pay)
    assert third.already and len(manager.bonus_payments(assignment_id=assignment_id)) == 2
    with pytest.raises(LedgerRefused, match="once"):  # the game's bonus, claimed for another assignment
        ledger.pay_bonus(Kind.RULE_BONUS, part="game-1", **{**pay, "assignment_id": "ANOTHER"})
    assert ledger.spend().rule_bonuses == Decimal("0.50")


def test_a_settlement_reads_the_assignments_status_and_refuses_what_it_rules_out(approved, local_profile):
    manager, assignment_id, worker_id = approved
    ledger = Ledger.open(local_profile, manager.campaign, manager, source="manual")
    calls = []
    booked = ledger.settle(Kind.REWARD, assignment_id=assignment_id, worker_id=worker_id, hit_id="", amount="0.50",
                           reason="fine", status=lambda: manager.get_assignment(assignment_id).status,
                           call=lambda: calls.append("approve"))
    assert booked.found and booked.entry.outcome == "found approved on the service" and calls == []
    with pytest.raises(LedgerRefused, match="Approved on the service"):
        ledger.settle(Kind.REJECT, assignment_id=assignment_id, worker_id=worker_id, hit_id="", amount="0",
                      reason="no", status=lambda: "Approved", call=lambda: calls.append("reject"))
    assert calls == [] and ledger.spend().rewards == Decimal("0.50")
    assert [e.kind for e in ledger.entries(AssignmentId=assignment_id)] == [Kind.REWARD], "a refusal leaves no intent"


def ledger_draft(ledger: Ledger, part: str, *, worker_id: str, assignment_id: str, amount: str, reason: str):
    """The entry `pay_bonus` writes as its intent (to leave an intent without an outcome)."""
    from iglu_lib.ledger.book import Entry

    key = entry_key(ledger.campaign, Kind.RULE_BONUS, assignment_id, amount, reason, part)
    return Entry(ledger.campaign, key, Kind.RULE_BONUS, assignment_id, worker_id, "", amount, reason, part,
                 "loop", key)
