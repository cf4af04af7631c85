"""Issue 20's money cases on the local stack: every payment through the ledger, once, whatever
crashes, retries (a day later, with the local MTurk server's clock moved past the 24 hours MTurk
keeps a request token) or hands touch it; spend counts everything and agrees with the service;
a reversal of a fraud rejection is forced or nothing, and never counts a game twice."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal

import pytest

from iglu_lib.cli import main
from iglu_lib.collection.campaign import Campaign
from iglu_lib.collection.judge import GOOD_VERDICTS
from iglu_lib.collection.outcomes import slot_outcome
from iglu_lib.collection.review import Review, ReviewRefused
from iglu_lib.collection.status import bonuses_on_service, campaign_status
from iglu_lib.ledger.book import Kind, Ledger, normalise_reason
from iglu_lib.scheduling import Outcome
from iglu_lib.storage import RecordStatus
from iglu_lib.workers import actions

BONUS = {"amount": "0.10", "min_architect_turns": 1, "reason": "Thanks for the careful instructions."}
#: Past the 24 hours MTurk (and the local server) remember a UniqueRequestToken.
A_DAY_AND_AN_HOUR = 25 * 3600


class Died(BaseException):
    """The process died on this line (the loop's fault handling must not see it)."""


def die_after(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> None:
    """`owner.name` makes its real call once, then the process dies before anything is written."""
    real = getattr(owner, name)

    def dying(*args, **kwargs):
        monkeypatch.setattr(owner, name, real)
        real(*args, **kwargs)
        raise Died(f"after {name}")

    monkeypatch.setattr(owner, name, dying)


def _review(campaign: Campaign, **options) -> Review:
    return Review(campaign.params, profile=campaign.profile, records=campaign.records,
                  manager=campaign.manager, **options)


def _calls(control, operation: str) -> int:
    return int(control.stats()["by_operation"].get(operation, 0))


def test_a_rule_bonus_sent_just_before_a_crash_is_paid_once_by_a_restart_a_day_later(attack, control, monkeypatch):
    attacker = attack(bonus=BONUS)
    first = attacker.campaign
    hit_id = attacker.honest()
    die_after(monkeypatch, first.manager, "send_bonus")
    with pytest.raises(Died):
        attacker.settle(hit_id)
    games = first.records.by_hit(hit_id)
    assignment_id = games[0].assignment_id
    assert {g.status for g in games} == {RecordStatus.APPROVED} and not any(g.bonus.get("paid") for g in games)
    assert len(first.manager.bonus_payments(assignment_id=assignment_id)) == 1, "one game's bonus went out"
    control.advance_clock(A_DAY_AND_AN_HOUR)  # the service has forgotten the bonus's token now
    del first

    restarted = Campaign.open(attacker.campaign.params)
    restarted.start()
    listed = _calls(control, "ListBonusPayments")
    for _ in range(3):
        restarted.turn()
    read = _calls(control, "ListBonusPayments") - listed
    payments = restarted.manager.bonus_payments(assignment_id=assignment_id)
    assert [p["BonusAmount"] for p in payments] == ["0.10", "0.10"], "one payment per game, none twice"
    assert all(g.bonus.get("paid") for g in restarted.records.by_hit(hit_id))
    booked = [e for e in restarted.ledger.entries(AssignmentId=assignment_id) if e.kind is Kind.RULE_BONUS]
    assert len(booked) == 2 and all(e.done for e in booked)
    assert sorted(e.outcome.startswith("found paid on the service") for e in booked) == [False, True]
    assert read == 1, "the service is read for the unfinished intent only"


def test_a_manual_bonus_is_paid_once_however_often_where_and_when_it_is_asked(attack, control, monkeypatch,
                                                                             local_profile):
    attacker = attack()
    campaign = attacker.campaign
    games = attacker.settle(attacker.honest())
    worker, assignment_id = attacker.worker, games[0].assignment_id
    reason = "Great instructions, thank you."
    die_after(monkeypatch, campaign.manager, "send_bonus")
    with pytest.raises(Died):  # paid, and the process died before the ledger and the records knew
        _review(campaign).act(worker, "bonus", reason, amount="2.00")
    control.advance_clock(A_DAY_AND_AN_HOUR)
    again = _review(campaign).act(worker, "bonus", reason, amount="2.00")  # the same command, a day later
    assert again["paid_now"] is False and again["already"] is True
    for repeated in (reason + " ", "great  instructions, THANK you."):  # a trailing space, other spacing
        assert _review(campaign).act(worker, "bonus", repeated, amount="2.00")["paid_now"] is False
    by_hand = actions.bonus(local_profile, worker, assignment_id, "2.00", reason, manager=campaign.manager)
    assert by_hand["paid_now"] is False and by_hand["campaign"] == campaign.params.campaign
    payments = campaign.manager.bonus_payments(assignment_id=assignment_id)
    assert [p["BonusAmount"] for p in payments] == ["2.00"], "one payment for one intended bonus"
    other = actions.bonus(local_profile, worker, assignment_id, "2.00", "A second bonus for the second game.",
                          manager=campaign.manager)
    assert other["paid_now"] is True, "another reason is another bonus"
    repeated = _review(campaign).act(worker, "bonus", "a second bonus for the second game.", amount="2.00")
    assert repeated["paid_now"] is False, "iglu workers bonus then iglu campaign review: paid once"
    assert len(campaign.manager.bonus_payments(assignment_id=assignment_id)) == 2


def test_a_manual_bonus_counts_against_the_budget_before_the_next_hit(attack, local_profile, rehearsal, capsys):
    attacker = attack(budget="6")
    campaign = attacker.campaign
    balance = Decimal(campaign.manager.balance())
    games = attacker.settle(attacker.honest())
    slots = len(campaign.records.slots())
    _review(campaign).act(attacker.worker, "bonus", "For the very long game.", amount="50.00")
    hit_id = attacker.honest()  # the next submission frees instances: would the loop make another HIT?
    attacker.settle(hit_id)
    assert len(campaign.records.slots()) == slots, "no HIT is made once the bonus spent the budget"
    assert campaign.spent >= Decimal("50.00") * Decimal("1.2") and campaign.stop_rule() is None
    summary = campaign.summary()
    assert summary["spend"]["manual_bonuses"] == "50.00" and summary["spend"]["rewards"] == "1.00"
    records = campaign.records.all()
    ledger = Ledger.open(local_profile, campaign.params.campaign, campaign.manager)
    spend = ledger.spend(campaign.params.fee_rate)
    status = campaign_status(records, spend=spend)
    service = bonuses_on_service(campaign.manager, records)
    assert status["bonuses_paid"] == service["paid"] == "50.00", "spend agrees with the service's payments"
    paid = balance - Decimal(campaign.manager.balance())
    assert paid == spend.rewards + spend.reversals + spend.bonuses_total, "and with the play-money balance"
    assert games[0].assignment_id in {e.assignment_id for e in ledger.entries() if e.kind is Kind.REWARD}
    params_file = rehearsal.params_file(campaign.params.campaign, target_approved_hits=30, budget="6")
    assert main(["campaign", "status", "--params", str(params_file), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["spend"] == spend.as_dict() and shown["spent"] == f"{spend.total:.2f}"
    assert shown["bonuses_on_service"] == {"paid": "50.00", "hits_not_listed": 0} and shown["bonuses_paid"] == "50.00"


def test_a_reversal_of_a_fraud_rejection_is_refused_unless_forced_and_never_counts_a_game_twice(attack, control):
    attacker = attack(bonus=BONUS)
    campaign = attacker.campaign
    listed = _calls(control, "ListBonusPayments")
    first = attacker.settle(attacker.honest())
    assert _calls(control, "ListBonusPayments") == listed, "paying reads no payments back (no retry here)"
    assert len(campaign.manager.bonus_payments(assignment_id=first[0].assignment_id)) == 2
    hit_id, assignment_id, joins = attacker.take()
    worker = attacker.worker
    honest = attacker.play(joins[1], "honest-beside-a-reused-code")
    attacker.submit(assignment_id, attacker.pairwise(joins, [first[0].completion_code, honest]))
    rejected = attacker.settle(hit_id)
    assert [g.verdict for g in rejected] == ["reject", "reject"] and rejected[0].reasons == ("code_reused",)

    with pytest.raises(ReviewRefused, match="fraud"):
        _review(campaign).act(worker, "reverse", "The worker appealed.")
    assert campaign.manager.get_assignment(assignment_id).status == "Rejected"
    assert not campaign.records.by_hit(hit_id)[0].manual_decisions, "a refusal writes nothing"
    result = _review(campaign).act(worker, "reverse", "The worker showed the first game was theirs.", force=True)
    assert result["status"] == "approved" and result["bonus_paid"] == "0.10", "the honest game's bonus only"
    assert campaign.manager.get_assignment(assignment_id).status == "Approved"
    games = campaign.records.by_hit(hit_id)
    assert games[0].verdict == "reject" and games[1].verdict in GOOD_VERDICTS
    assert slot_outcome(games) is not Outcome.VALID, "the reused game never counts in a second good HIT"
    again = _review(campaign).act(worker, "reverse", "The worker showed the first game was theirs.", hit=hit_id,
                                  force=True)
    assert again["already"] is True
    assert len(campaign.manager.bonus_payments(assignment_id=assignment_id)) == 1, "no second rule bonus"
    records = campaign.records.all()
    by_slot: dict[str, list] = {}
    for record in records:
        by_slot.setdefault(record.slot_id, []).append(record)
    counted = Counter(g.game_minecraft_id for slot in by_slot.values() if slot_outcome(slot) is Outcome.VALID
                      for g in slot)
    assert counted[first[0].game_minecraft_id] == 1 and max(counted.values()) == 1
    ledger = campaign.ledger
    bonus_of_reused = [e for e in ledger.entries(Part=first[0].game_minecraft_id) if e.kind is Kind.RULE_BONUS]
    assert [e.assignment_id for e in bonus_of_reused] == [first[0].assignment_id]
    spend = ledger.spend(campaign.params.fee_rate)
    assert spend.reversals == Decimal("0.50") and spend.rule_bonuses == Decimal("0.30")
    assert normalise_reason("  A  Reason ") == "a reason"


def test_a_ledger_write_lost_after_a_payment_is_settled_from_the_service_on_the_next_turn(attack, monkeypatch):
    """The table service fails just after a bonus went out (its outcome is not written): the turn
    reports a transient error, and the next one finds the payment on the service."""
    attacker = attack(bonus=BONUS)
    campaign = attacker.campaign
    hit_id = attacker.honest()
    table = campaign.ledger.table
    real = table.update_entity

    def lost(*args, **kwargs):
        monkeypatch.setattr(table, "update_entity", real)
        raise ConnectionError("the table service went away")

    monkeypatch.setattr(table, "update_entity", real)
    original_send = campaign.manager.send_bonus

    def send_then_lose(*args, **kwargs):
        monkeypatch.setattr(campaign.manager, "send_bonus", original_send)
        monkeypatch.setattr(table, "update_entity", lost)
        return original_send(*args, **kwargs)

    monkeypatch.setattr(campaign.manager, "send_bonus", send_then_lose)
    report = campaign.turn()
    assert any("table service went away" in error for error in report.errors), report.errors
    games = attacker.settle(hit_id)
    payments = campaign.manager.bonus_payments(assignment_id=games[0].assignment_id)
    assert len(payments) == 2 and all(g.bonus.get("paid") for g in games)
    assert campaign.refresh_spend().rule_bonuses == Decimal("0.20")


def test_a_campaign_that_paid_before_it_had_a_ledger_still_counts_what_it_paid(attack):
    attacker = attack(bonus=BONUS)
    attacker.settle(attacker.honest())
    campaign = attacker.campaign
    paid = campaign.spent
    assert paid == Decimal("0.84"), "a reward and two rule bonuses, with the fee"
    for entry in campaign.ledger.entries():  # as a campaign begun before the ledger existed
        campaign.ledger.table.delete_entity(campaign.params.campaign, entry.key)
    restarted = Campaign.open(campaign.params)
    restarted.start()
    assert restarted.spent == paid, "the records' payments count until the ledger holds them"
