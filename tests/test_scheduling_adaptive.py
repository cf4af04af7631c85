"""The adaptive strategy and the preferences it learns from: the balanced strategy's rules
that must survive (instances exclusive, tasks rotating, orders counterbalanced, a floor per
combination), focus on the uncertain pairs, determinism under the seed, and the same
choices after a restore from the records."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pytest

from iglu_lib.scheduling import Outcome, Scheduler, SchedulingError, make_strategy, winner_of
from tests.test_scheduling_scheduler import agent_instances, join_codes

STRENGTHS = {"A": 1.5, "B": 0.2, "C": 0.0, "D": -1.5}  # B and C close, the rest far apart


@dataclass(frozen=True)
class StoredGame:
    slot_id: str
    shown_position: int
    join_code: str
    agent_name: str
    outcome: Outcome
    annotation: dict


def adaptive(seed: int = 0, agents: str = "ABCD", per_agent: int = 2, tasks: int = 5, k: int = 2,
             **options) -> Scheduler:
    return Scheduler.from_content(join_codes(tasks), agent_instances(agents, per_agent), k, seed=seed,
                                  strategy=make_strategy("adaptive", **options))


def crowd_choice(slot, rng: random.Random) -> str:
    weights = [np.exp(STRENGTHS[a]) for a in slot.agents]
    return rng.choices(slot.agents, weights=weights)[0]


def run(scheduler: Scheduler, steps: int, rng: random.Random, open_slots: list, issued: list,
        closed: dict) -> None:
    """Schedule while possible (at most 3 open), else close the oldest open slot as valid."""
    for _ in range(steps):
        slot = scheduler.next() if len(open_slots) < 3 else None
        if slot is not None:
            open_slots.append(slot)
            issued.append(slot)
            held = [i for s in open_slots for i in s.instance_ids]
            assert len(held) == len(set(held)), "an instance is in two open HITs"
            continue
        done = open_slots.pop(0)
        winner = crowd_choice(done, rng)
        closed[done.slot_id] = winner
        scheduler.close(done.slot_id, Outcome.VALID, winner=winner)


def records(scheduler: Scheduler, issued: list, closed: dict) -> list[StoredGame]:
    return [StoredGame(s.slot_id, pos, code, agent, scheduler.outcome(s.slot_id),
                       {"was_chosen_best": closed.get(s.slot_id) == agent})
            for s in issued for pos, agent, _, code in s.games()]


def test_adaptive_focuses_on_the_close_pair_but_keeps_the_rules():
    scheduler, issued, closed = adaptive(), [], {}
    run(scheduler, 700, random.Random(1), [], issued, closed)
    games = Counter(s.combination for s in issued)
    assert games[("B", "C")] == max(games.values()) and games[("B", "C")] > 2 * games[("A", "D")]
    floor = 0.3 * len(issued) / len(games)
    assert min(games.values()) >= floor - 1
    for combination in scheduler.combinations:
        slots = [s for s in issued if s.combination == combination]
        for start in range(0, len(slots) - 5 + 1, 5):
            assert len({s.task_name for s in slots[start:start + 5]}) == 5  # tasks rotate
        orders = Counter(s.agents for s in slots)
        uses = [orders.get(order, 0) for order in itertools.permutations(combination)]
        assert max(uses) - min(uses) <= 1  # shown order counterbalanced


def test_the_same_seed_and_outcomes_give_the_same_choices_and_a_restore_continues_them():
    content = (join_codes(5), agent_instances("ABCD", 2))
    runs = []
    for _ in range(2):
        scheduler, issued, closed, open_slots = adaptive(seed=3), [], {}, []
        run(scheduler, 200, random.Random(5), open_slots, issued, closed)
        runs.append((scheduler, issued, closed, open_slots))
    assert [(s.slot_id, s.task_name, s.agents) for s in runs[0][1]] == \
        [(s.slot_id, s.task_name, s.agents) for s in runs[1][1]]
    original, issued, closed, open_slots = runs[0]
    restored = Scheduler.from_content(*content, 2, seed=3, strategy=make_strategy("adaptive"))
    restored.restore(records(original, issued, closed))
    assert restored.preferences() == original.preferences()
    assert restored.busy_instances() == original.busy_instances()
    rng_a, rng_b = random.Random(9), random.Random(9)
    after_a, after_b = [], []
    run(original, 150, rng_a, list(open_slots), after_a, dict(closed))
    run(restored, 150, rng_b, [restored.slot(s.slot_id) for s in open_slots], after_b, dict(closed))
    assert [(s.slot_id, s.task_name, s.agents) for s in after_a] == \
        [(s.slot_id, s.task_name, s.agents) for s in after_b]


def test_multi_agent_combinations_are_chosen_adaptively_too():
    scheduler, issued, closed = adaptive(agents="ABCDE", k=3, per_agent=1), [], {}
    STRENGTHS["E"] = -3.0
    try:
        run(scheduler, 300, random.Random(2), [], issued, closed)
    finally:
        del STRENGTHS["E"]
    games = Counter(s.combination for s in issued)
    assert len(games) == 10 and min(games.values()) >= 1
    assert len(scheduler.preferences()) == len(closed)


def test_winners_are_checked_kept_only_for_valid_slots_and_can_be_taken_back():
    scheduler = adaptive()
    slot = scheduler.next()
    with pytest.raises(SchedulingError, match="winner 'Z' is not one of its agents"):
        scheduler.close(slot.slot_id, Outcome.VALID, winner="Z")
    scheduler.close(slot.slot_id, Outcome.VALID, winner=slot.agents[1])
    assert scheduler.preferences() == [(slot.agents, slot.agents[1])]
    scheduler.record_outcome(slot.slot_id, Outcome.VALID, winner=slot.agents[1])  # again: no change
    assert scheduler.preferences() == [(slot.agents, slot.agents[1])]
    scheduler.record_outcome(slot.slot_id, Outcome.REJECTED, winner=slot.agents[0])
    assert scheduler.preferences() == []


def test_winner_of_reads_the_annotation_or_a_chosen_flag():
    @dataclass
    class Game:
        agent_name: str
        annotation: dict

    assert winner_of([Game("A", {"was_chosen_best": False}), Game("B", {"was_chosen_best": True})]) == "B"
    assert winner_of([Game("A", {"was_chosen_best": "true"}), Game("B", {})]) == "A"
    assert winner_of([Game("A", {"was_chosen_best": True}), Game("B", {"was_chosen_best": True})]) is None
    assert winner_of([Game("A", {}), Game("B", {})]) is None


def test_bad_adaptive_options_are_refused():
    with pytest.raises(SchedulingError, match="floor"):
        adaptive(floor=1.5)
    with pytest.raises(SchedulingError, match="level"):
        adaptive(level=1.0)
    with pytest.raises(SchedulingError, match="focus"):
        adaptive(focus=0)
