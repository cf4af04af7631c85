"""An adaptive campaign with a stopping rule on the real local parts: it reaches its target
with every instance in at most one open HIT, says what ended it, and its records carry the
winners the scheduler learns from (`winner_of`)."""

from __future__ import annotations

from iglu_lib.collection.campaign import Campaign, slot_outcome
from iglu_lib.scheduling import Outcome, winner_of
from iglu_lib.storage import GameRecords


def test_adaptive_campaign_with_a_stop_rule_reaches_its_target(
        rehearsal, local_profile, unique_name, crowd_factory, monitor_factory):
    name = unique_name("adapt")
    params = rehearsal.params(name, target_approved_hits=6, scheduling={"strategy": "adaptive", "floor": 0.3},
                              stop_when={"ranking_confident": 0.95})
    campaign = Campaign(params)
    crowd_factory(size=6, mix={})
    with monitor_factory(name) as monitor:
        summary = campaign.run(progress=False)
    assert summary["done"] and summary["good_hits"] == 6
    assert summary["stopped_by"] == "target"  # six HITs cannot settle three agents at 0.95
    assert monitor.polls > 0 and monitor.violations == []
    records = GameRecords.open(local_profile, name).all()
    by_slot: dict[str, list] = {}
    for record in records:
        by_slot.setdefault(record.slot_id, []).append(record)
    valid = [games for games in by_slot.values() if slot_outcome(games) is Outcome.VALID]
    winners = [winner_of(games) for games in valid]
    assert len(valid) == 6 and all(w is None or w in {g.agent_name for g in games}
                                   for w, games in zip(winners, valid, strict=True))
    assert any(w is not None for w in winners), "the records say which game was chosen best"
