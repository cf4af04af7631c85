"""The requester's levers in the loop: messages per verdict recorded with the games, a soft block
that keeps a worker out of this campaign only (the HIT is not even shown), and the account-wide
hard block kept for fraud."""

from __future__ import annotations

from iglu_lib.collection.status import campaign_status
from iglu_lib.local.mturk.control_client import WorkerRefused
from iglu_lib.local.workers import _rewritten
from iglu_lib.platform.codes import parse_join_code
from iglu_lib.storage import RecordStatus

SENTENCE = "You pasted a worker ID instead of the completion code"


def _junk_hit(attacker, worker_codes: bool = True) -> tuple[str, str]:
    hit_id, assignment_id, joins = attacker.take()
    worker = attacker.worker
    attacker.submit(assignment_id, attacker.pairwise(joins, [worker, worker]))
    return hit_id, worker


def test_a_rejection_is_messaged_and_recorded_and_a_soft_block_hides_the_campaign(attack):
    attacker = attack(block_after_disqualified_games=2, messages={"send": True})
    hit_id, worker = _junk_hit(attacker)
    games = attacker.settle(hit_id)
    assert {g.status for g in games} == {RecordStatus.REJECTED}
    told = attacker.control.worker_messages(worker)
    assert any(SENTENCE in m["text"] for m in told), told
    assert [m["kind"] for m in attacker.campaign.records.by_hit(hit_id)[0].messages] == ["rejection", "block"]
    assert worker in attacker.campaign.blocked
    assert worker not in {b["WorkerId"] for b in attacker.campaign.manager.blocked_workers()}, "no hard block"
    attacker.campaign.turn()
    open_hits = [g.hit_id for g in attacker.campaign.records.all() if g.status is RecordStatus.HIT_CREATED]
    shown = {h["hit_id"] for h in attacker.control.worker_hits(worker, view="discover")}
    assert open_hits and not shown & set(open_hits), "the campaign's HITs are not even shown"
    try:
        attacker.control.accept(open_hits[0], worker)
    except WorkerRefused:
        pass
    else:
        raise AssertionError("a soft-blocked worker accepted a HIT of the campaign")
    status = campaign_status(attacker.campaign.records.all())
    assert status["messages_sent"] == {"rejection": 1, "block": 1}


def test_fraud_gets_the_account_wide_block(attack):
    attacker = attack(block_after_disqualified_games=1)
    hit_id, assignment_id, joins = attacker.take()
    worker = attacker.worker
    first, again = attacker.play(joins[0], "f1"), attacker.play(joins[0], "f2")
    forged = _rewritten(again, agent_service_id=parse_join_code(joins[1]).agent_instance_id)
    attacker.submit(assignment_id, attacker.pairwise(joins, [first, forged], best=2))
    attacker.settle(hit_id)
    assert worker in {b["WorkerId"] for b in attacker.campaign.manager.blocked_workers()}


def test_a_bonus_rule_pays_each_earning_game_once_and_counts_it_in_the_spend(attack, rehearsal):
    from iglu_lib.collection.campaign import Campaign

    attacker = attack(bonus={"amount": "0.10", "min_architect_turns": 1, "reason": "Thanks for the effort."})
    hit_id = attacker.honest()
    games = attacker.settle(hit_id)
    assert {g.status for g in games} == {RecordStatus.APPROVED}
    assert [g.bonus for g in games] == [{"amount": "0.10", "paid": True}] * 2
    manager = attacker.campaign.manager
    paid = manager.bonus_payments(assignment_id=games[0].assignment_id)
    assert sorted(p["BonusAmount"] for p in paid) == ["0.10", "0.10"]
    assert attacker.campaign.summary()["bonuses_paid"] == "0.20"
    restarted = Campaign.open(attacker.campaign.params)
    restarted.start()
    restarted.consequences.pay_bonuses(manager.get_assignment(games[0].assignment_id), restarted.records.by_hit(hit_id))
    assert len(manager.bonus_payments(assignment_id=games[0].assignment_id)) == 2, "never paid twice"
    assert restarted.bonus_paid == attacker.campaign.bonus_paid
    assert restarted.spent == attacker.campaign.spent > restarted.cost_per_hit
    assert campaign_status(restarted.records.all())["bonuses_paid"] == "0.20"


def test_caps_keep_a_worker_out_once_reached_and_the_service_enforces_them(attack):
    attacker = attack(max_hits_per_worker=1, one_judgement_per_task=True)
    hit_id = attacker.honest()
    worker = attacker.worker
    games = attacker.settle(hit_id)
    attacker.campaign.turn()
    offered = {h["hit_id"] for h in attacker.control.worker_hits(worker, view="discover")}
    open_hits = {g.hit_id for g in attacker.campaign.records.all() if g.status is RecordStatus.HIT_CREATED}
    assert open_hits and not offered & open_hits, "at the cap: the campaign's HITs are not shown"
    judged = attacker.campaign.planner.task_qualification(games[0].task_minecraft_id)
    manager = attacker.campaign.manager
    score = manager.call("get_qualification_score", QualificationTypeId=judged.type_id, WorkerId=worker)
    assert score["Qualification"]["IntegerValue"] == 1, "the judged task is remembered for the worker"


def test_a_pilot_offers_its_hits_only_to_the_allow_list(attack):
    invited = "APILOT0000INVITED1"
    attacker = attack(allow_list=[invited])
    attacker.control.set_worker(invited, approval_rate=99, approved_hits=1000)
    attacker.control.set_worker("APILOT000STRANGER1", approval_rate=99, approved_hits=1000)
    open_hits = {g.hit_id for g in attacker.campaign.records.all() if g.status is RecordStatus.HIT_CREATED}
    shown = {h["hit_id"] for h in attacker.control.worker_hits(invited, view="discover")}
    assert open_hits and open_hits <= shown, "the invited worker sees the pilot's HITs"
    assert not open_hits & {h["hit_id"] for h in attacker.control.worker_hits("APILOT000STRANGER1", view="discover")}
    try:
        attacker.control.accept(sorted(open_hits)[0], "APILOT000STRANGER1")
    except WorkerRefused:
        pass
    else:
        raise AssertionError("a worker off the allow-list accepted a pilot HIT")
