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
    campaign = Campaign.open(params)
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


def test_an_adaptive_campaign_survives_sigkill_and_stops_by_the_ranking_rule(
        rehearsal, local_profile, unique_name, crowd_factory, invariants):
    """`iglu collect` with `strategy: adaptive` and `stop_when: ranking_confident` on the local
    stack: killed mid-work, run again, it rebuilds its choices (winners included) from the records
    and ends because the order of the three agents is settled, long before its target."""
    import json
    import subprocess
    import sys
    import time

    name = unique_name("adaptkill")
    params_file = rehearsal.params_file(name, target_approved_hits=400, budget="1000.00",
                                        scheduling={"strategy": "adaptive"},
                                        stop_when={"ranking_confident": 0.95})
    command = [sys.executable, "-m", "iglu_lib.cli", "collect", "--params", str(params_file), "--json"]
    records = GameRecords.open(local_profile, name)
    crowd_factory(size=10, mix={})
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while len({r.slot_id for r in records.all() if r.status.value == "approved"}) < 8:
        assert time.monotonic() < deadline and first.poll() is None, "the loop works"
        time.sleep(0.2)
    first.kill()
    first.wait()
    restarted = Campaign.open(rehearsal.params(name, target_approved_hits=400, budget="1000.00",
                                          scheduling={"strategy": "adaptive"},
                                          stop_when={"ranking_confident": 0.95}))
    restarted.start()
    stored_winners = [winner_of(games) for games in records.slots().values()
                      if slot_outcome(games) is Outcome.VALID and winner_of(games)]
    assert len(restarted.scheduler.preferences()) == len(stored_winners) >= 1, "winners rebuilt from the records"
    final = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert final.returncode == 0, final.stderr[-3000:]
    summary = json.loads(final.stdout)
    assert summary["stopped_by"] == "ranking_confident", summary
    assert summary["done"] and summary["good_hits"] < 400
    invariants(local_profile, name, local_profile.hit.reward)
