"""Evidence from many workers: one worker's judgements never settle the stopping rule (however
many and however consistent), a crowd's do; no worker weighs more than the cap; workers the
annotator safeguard flags are left out; the adaptive strategy does not steer on too few workers;
and the scheduler keeps (and restores from the records) who judged each slot."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from iglu_lib.collection.params import CampaignParams
from iglu_lib.config import ConfigError
from iglu_lib.scheduling import Outcome, Scheduler, SchedulingError, make_strategy
from iglu_lib.scheduling.evidence import EvidenceRules, WorkerPreference, flagged_workers, weigh
from iglu_lib.scheduling.stopping import check_scheduling, ranking_confident, stop_rule_reached
from tests.test_scheduling_scheduler import agent_instances, join_codes

RULE = {"ranking_confident": 0.95}


def pairs(tasks: int = 4, agents: str = "AB", **strategy) -> Scheduler:
    factory = make_strategy(strategy.pop("strategy", "balanced"), **strategy)
    return Scheduler.from_content(join_codes(tasks), agent_instances(agents, 1), 2, strategy=factory)


def judge(scheduler: Scheduler, worker: str | None, winner: str, times: int = 1) -> None:
    """`times` HITs, each judged by `worker`, who always picks `winner` when it is shown."""
    for _ in range(times):
        slot = scheduler.next()
        assert slot is not None
        chosen = winner if winner in slot.agents else slot.agents[0]
        scheduler.close(slot.slot_id, Outcome.VALID, winner=chosen, worker=worker)


@pytest.mark.parametrize("judgements", [27, 300])
def test_one_workers_consistent_judgements_never_settle_the_rule(judgements):
    scheduler = pairs()
    judge(scheduler, "W-LONE", "B", judgements)  # the inverted order, answered without a doubt
    preferences = scheduler.preferences()
    assert ranking_confident(preferences, ["A", "B"], 0.95), "read as independent choices, they would settle it"
    assert stop_rule_reached(scheduler, RULE) is None
    evidence = weigh(scheduler.judgements())
    assert evidence.workers == 1 and evidence.weight == pytest.approx(10.0), "weighed as ten judgements"
    assert "rests on 1 worker" in evidence.summary() and "needs 5" in evidence.summary()


def test_one_prolific_worker_among_a_few_others_cannot_carry_the_rule():
    scheduler = pairs()
    judge(scheduler, "W-LONE", "B", 60)
    for n in range(4):
        judge(scheduler, f"W{n}", "A")  # four more workers see it the other way, once each
    assert weigh(scheduler.judgements()).enough_workers
    assert stop_rule_reached(scheduler, RULE) is None, "the lone worker weighs ten judgements, not sixty"
    loose = EvidenceRules(max_judgements_per_worker=None)
    assert stop_rule_reached(scheduler, RULE, loose) == "ranking_confident", "without the cap it would stop"


def test_enough_distinct_workers_settle_the_rule():
    scheduler = pairs()
    for n in range(4):
        judge(scheduler, f"W{n}", "A", 6)
    assert stop_rule_reached(scheduler, RULE) is None, "four workers are one too few"
    judge(scheduler, "W4", "A", 6)
    assert stop_rule_reached(scheduler, RULE) == "ranking_confident"
    assert weigh(scheduler.judgements()).as_dict()["workers"] == 5


def test_judgements_without_a_worker_count_as_workers_of_their_own():
    scheduler = pairs()
    judge(scheduler, None, "A", 40)  # a simulation: no worker ids
    assert stop_rule_reached(scheduler, RULE) == "ranking_confident"


def test_a_flagged_worker_is_left_out_of_the_evidence():
    crowd = [WorkerPreference(("A", "B"), "A", f"W{n}") for n in range(8) for _ in range(6)]
    crowd += [WorkerPreference(("B", "C"), "B", f"W{n}") for n in range(8) for _ in range(6)]
    # shown in the other order: the safeguard compares sets of agents, whatever order they were shown in
    contrarian = [WorkerPreference(("B", "A"), "B", "W-CONTRA")] * 12 + [WorkerPreference(("C", "B"), "C", "W-CONTRA")] * 12
    assert flagged_workers(crowd + contrarian) == {"W-CONTRA"}
    evidence = weigh(crowd + contrarian)
    assert evidence.flagged_workers == ("W-CONTRA",) and evidence.workers == 8
    assert all(p.worker != "W-CONTRA" for p, _ in evidence.weighted)
    assert "1 flagged worker left out" in evidence.summary()
    kept = weigh(crowd + contrarian, EvidenceRules(leave_out_flagged=False))
    assert kept.workers == 9 and not kept.flagged_workers


def test_the_adaptive_strategy_schedules_balanced_until_enough_workers_judged():
    """With one worker the adaptive strategy makes exactly the balanced strategy's choices."""
    def run(scheduler: Scheduler) -> list[tuple[str, ...]]:
        shown = []
        for _ in range(30):
            slot = scheduler.next()
            shown.append(slot.agents)
            scheduler.close(slot.slot_id, Outcome.VALID, winner=slot.agents[0], worker="W-LONE")
        return shown

    balanced = run(pairs(agents="ABCD"))
    lone = run(pairs(agents="ABCD", strategy="adaptive", min_workers=5, max_judgements_per_worker=10))
    steered = run(pairs(agents="ABCD", strategy="adaptive"))
    assert lone == balanced
    assert steered != balanced, "without the rule the strategy would steer on one worker's taste"


def test_the_adaptive_fit_weighs_a_worker_at_most_the_cap():
    scheduler = pairs(strategy="adaptive", min_workers=1, max_judgements_per_worker=10)
    judge(scheduler, "W-LONE", "B", 30)
    judge(scheduler, "W2", "A", 5)
    weights = scheduler._strategy.weighted_counts()  # noqa: SLF001 - what the fit reads
    assert sum(weights.values()) == pytest.approx(15.0)
    assert scheduler._strategy.workers() == 2  # noqa: SLF001


@dataclass(frozen=True)
class StoredGame:
    slot_id: str
    shown_position: int
    join_code: str
    agent_name: str
    outcome: Outcome
    annotation: dict
    worker_id: str


def test_a_restore_brings_back_who_judged_each_slot():
    scheduler = pairs()
    judge(scheduler, "W1", "A", 3)
    judge(scheduler, "W2", "B", 2)
    stored = [StoredGame(p.slot_id, position, code, agent, Outcome.VALID,
                         {"was_chosen_best": agent == winner}, worker)
              for p, winner, worker in _closed(scheduler)
              for position, agent, _, code in p.games()]
    restored = pairs()
    restored.restore(stored)
    assert restored.judgements() == scheduler.judgements()
    assert [p.worker for p in restored.judgements()] == ["W1"] * 3 + ["W2"] * 2


def _closed(scheduler: Scheduler) -> list:
    slots = [scheduler.slot(f"{n:08d}") for n in range(len(scheduler.judgements()))]
    return [(slot, p.winner, p.worker) for slot, p in zip(slots, scheduler.judgements(), strict=True)]


@pytest.mark.parametrize(("evidence", "message"), [
    ({"min_workers": 0}, "min_workers"),
    ({"min_workers": True}, "min_workers"),
    ({"max_judgements_per_worker": 0}, "max_judgements_per_worker"),
    ({"leave_out_flagged": "yes"}, "leave_out_flagged"),
    ({"workers": 5}, "unknown evidence option|unknown key evidence.workers"),
    ([5], "must be a mapping|should be a mapping"),
])
def test_bad_evidence_rules_are_refused(evidence, message):
    """The same rules refuse bad evidence, whether the scheduling package reads it or the
    campaign's parameter model does (each in its own words)."""
    with pytest.raises(SchedulingError, match=message):
        EvidenceRules.from_params(evidence)
    base = {"campaign": "c", "join_codes": "j.json", "agent_instances": "a.json"}
    with pytest.raises(ConfigError, match=message):
        CampaignParams.from_mapping({**base, "evidence": evidence})


def test_campaign_parameters_carry_the_evidence_rules_to_the_adaptive_strategy():
    base = {"campaign": "c", "join_codes": "j.json", "agent_instances": "a.json"}
    params = CampaignParams.from_mapping({**base, "evidence": {"min_workers": 3, "count_beyond_worker_cap": True}})
    assert params.evidence_rules == EvidenceRules(min_workers=3, count_beyond_worker_cap=True)
    assert CampaignParams.from_mapping(base).evidence_rules == EvidenceRules()
    factory = check_scheduling({"strategy": "adaptive"}, stop_when=RULE, evidence=params.evidence_rules)
    assert factory.keywords["min_workers"] == 3 and factory.keywords["max_judgements_per_worker"] == 10
