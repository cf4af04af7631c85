"""Evidence from many workers on the local stack: a worker who accepts several HITs at once
passes `max_hits_per_worker` (the service checks it only at accept); the HITs judged beyond the
cap are paid but by default not counted (warned `beyond_worker_cap`, their slots run again, the
analysis leaves them out), or counted with `evidence.count_beyond_worker_cap`. The scheduler
learns who judged each slot, also after a restart, and `iglu campaign status` says how many
workers the ranking rests on."""

from __future__ import annotations

from iglu_lib.collection.campaign import Campaign
from iglu_lib.collection.outcomes import slot_outcome
from iglu_lib.collection.status import campaign_status
from iglu_lib.local.workers import join_codes_of
from iglu_lib.scheduling import Outcome
from iglu_lib.storage import RecordStatus


def _take(attacker, worker: str) -> tuple[str, str, list[str]]:
    """`worker` accepts an open HIT of the attacker's campaign (the loop makes one if needed)."""
    campaign, hit_id = attacker.campaign, None
    for _ in range(10):
        hit_id = next((g.hit_id for g in campaign.records.all()
                       if g.status is RecordStatus.HIT_CREATED and g.hit_id not in attacker.taken), None)
        if hit_id:
            break
        campaign.turn()
    assert hit_id, "the loop keeps creating HITs"
    attacker.taken.add(hit_id)
    attacker.control.set_worker(worker, approval_rate=99, approved_hits=1000)
    accepted = attacker.control.accept(hit_id, worker)
    return hit_id, accepted["assignment_id"], join_codes_of(accepted["question"]["html"])


def _two_at_once(attacker) -> tuple[str, list[list]]:
    """One worker accepts two HITs before either is judged, plays and submits both honestly."""
    worker = attacker.prefix + "TWICE"
    taken = [_take(attacker, worker), _take(attacker, worker)]
    for hit_id, assignment_id, joins in taken:
        codes = [attacker.play(join, f"{hit_id}-{n}") for n, join in enumerate(joins)]
        attacker.submit(assignment_id, attacker.pairwise(joins, codes))
    return worker, [attacker.settle(hit_id) for hit_id, _, _ in taken]


def test_hits_accepted_at_once_beyond_the_cap_are_paid_but_not_counted(attack):
    from iglu_lib.analysis.loading import load_campaign
    from iglu_lib.analysis.preferences import compare

    attacker = attack(max_hits_per_worker=1)
    good_before = attacker.campaign.good_hits
    worker, hits = _two_at_once(attacker)
    assert all(g.status is RecordStatus.APPROVED for games in hits for g in games), "both are paid"
    beyond = [games for games in hits if any("beyond_worker_cap" in g.reasons for g in games)]
    assert len(beyond) == 1, [[g.reasons for g in games] for games in hits]
    (late,) = beyond
    assert not any(g.is_hit_qualified for g in late) and slot_outcome(late) is Outcome.REJECTED
    assert attacker.campaign.good_hits == good_before + 1, "only the HIT within the cap counts"
    status = campaign_status(attacker.campaign.records.all(), max_hits_per_worker=1)
    assert status["not_counted"] == {"beyond_worker_cap": 1}
    assert status["evidence"]["workers"] == 1 and "rests on 1 worker" in status["evidence"]["summary"]
    counts = compare(load_campaign(attacker.campaign.params.campaign)).counts()
    assert counts["excluded_hits"]["beyond the worker's HIT cap (paid, not counted)"] == 1  # (open HITs: not annotated)
    assert counts["decisive"] == 1

    restarted = Campaign.open(attacker.campaign.params)
    restarted.start()
    assert [p.worker for p in restarted.scheduler.judgements()] == [worker], "who judged is restored"


def test_hits_beyond_the_cap_count_when_the_campaign_says_so(attack):
    attacker = attack(max_hits_per_worker=1, evidence={"count_beyond_worker_cap": True})
    good_before = attacker.campaign.good_hits
    _, hits = _two_at_once(attacker)
    assert not any("beyond_worker_cap" in g.reasons for games in hits for g in games)
    assert all(slot_outcome(games) is Outcome.VALID for games in hits)
    assert attacker.campaign.good_hits == good_before + 2
