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
    assert open_hits and not attacker.control.worker_hits(worker, view="discover"), "not even shown"
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
