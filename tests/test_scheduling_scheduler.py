"""The scheduler's rules, checked over many random release orders: no instance in two open
HITs, the least scheduled combination first (spread <= 1), every task once per round within
a combination, shown orders counterbalanced, and the same decisions as the scanning oracle."""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from dataclasses import dataclass

import pytest

from iglu_lib.scheduling import (
    STRATEGIES,
    Inventory,
    Outcome,
    ScanningStrategy,
    Scheduler,
    SchedulingError,
    make_strategy,
    split_join_code,
)


def join_codes(n_tasks: int) -> dict:
    return {
        f"task-{i}": {
            "task_join_code": f"/plaiground:join-task-with-agent T1:C1:tid{i}",
            "task_id": f"tid{i}",
        }
        for i in range(n_tasks)
    }


def agent_instances(agents: str | list[str], per_agent: int | list[int]) -> dict:
    sizes = per_agent if isinstance(per_agent, list) else [per_agent] * len(agents)
    return {
        a: [
            {"agent_instance_id": f"{a}-i{j}", "agent_instance_name": f"{a} #{j}"} for j in range(n)
        ]
        for a, n in zip(agents, sizes, strict=True)
    }


@dataclass(frozen=True)
class StoredGame:
    """A game record as `restore` reads it (the storage package's records have these fields)."""

    slot_id: str
    shown_position: int
    join_code: str
    agent_name: str
    outcome: Outcome


def records_of(scheduler: Scheduler, slot_ids) -> list[StoredGame]:
    return [
        StoredGame(sid, pos, code, agent, scheduler.outcome(sid))
        for sid in slot_ids
        for pos, agent, _, code in scheduler.slot(sid).games()
    ]


class Campaign:
    """Drives a scheduler with random releases and outcomes, checking invariants at every step."""

    def __init__(self, scheduler: Scheduler, rng: random.Random, reject_rate: float = 0.0) -> None:
        self.scheduler, self.rng, self.reject_rate = scheduler, rng, reject_rate
        self.open: dict[str, object] = {}
        self.issued: list = []

    def step(self) -> None:
        slot = self.scheduler.next() if self.rng.random() < 0.7 or not self.open else None
        if slot is not None:
            self.open[slot.slot_id] = slot
            self.issued.append(slot)
            self.check_no_shared_instance()
            return
        if self.open:
            slot_id = self.rng.choice(sorted(self.open))
            slot = self.open.pop(slot_id)
            for code in self.rng.sample(slot.join_codes, len(slot.join_codes)):
                self.scheduler.release(code)
            roll = self.rng.random()
            outcome = (
                Outcome.VALID
                if roll >= self.reject_rate
                else self.rng.choice([Outcome.REJECTED, Outcome.EXPIRED])
            )
            self.scheduler.record_outcome(slot_id, outcome)

    def check_no_shared_instance(self) -> None:
        held = [iid for slot in self.open.values() for iid in slot.instance_ids]
        assert len(held) == len(set(held)), (
            f"an instance is in two open HITs: {Counter(held).most_common(1)}"
        )
        assert set(self.scheduler.busy_instances()) == set(held)


SETUPS = [  # (agents, instances per agent, tasks, k)
    ("ABC", 1, 5, 2),
    ("ABCD", [2, 1, 1, 3], 7, 2),
    ("ABCDE", 2, 4, 3),
    ("ABCDEF", [1, 2, 1, 2, 1, 2], 9, 2),
    ("AB", 3, 6, 1),
]


@pytest.mark.parametrize("seed", range(40))
def test_random_release_orders_keep_every_rule(seed):
    rng = random.Random(seed)
    agents, per_agent, n_tasks, k = SETUPS[seed % len(SETUPS)]
    scheduler = Scheduler.from_content(
        join_codes(n_tasks), agent_instances(agents, per_agent), k, seed=seed
    )
    campaign = Campaign(scheduler, rng)
    for _ in range(600):
        campaign.step()
        assert scheduler.spread() <= 1
    assert len(campaign.issued) > 50
    games = Counter(slot.combination for slot in campaign.issued)
    assert max(games.values()) - min(games.values()) <= 1
    for combination in scheduler.combinations:
        slots = [s for s in campaign.issued if s.combination == combination]
        # within a combination, every task once per round, in rounds
        for round_start in range(0, len(slots) - n_tasks + 1, n_tasks):
            assert len({s.task_name for s in slots[round_start : round_start + n_tasks]}) == n_tasks
        # shown orders used equally often, within one
        orders = Counter(s.agents for s in slots)
        uses = [orders.get(order, 0) for order in itertools.permutations(combination)]
        assert max(uses) - min(uses) <= 1, (combination, orders)


@pytest.mark.parametrize("seed", range(25))
def test_heap_strategy_decides_exactly_like_the_scanning_oracle(seed):
    agents, per_agent, n_tasks, k = SETUPS[seed % len(SETUPS)]
    runs = []
    for strategy in (STRATEGIES["balanced"], ScanningStrategy):
        scheduler = Scheduler.from_content(
            join_codes(n_tasks), agent_instances(agents, per_agent), k, seed=seed, strategy=strategy
        )
        campaign = Campaign(scheduler, random.Random(seed), reject_rate=0.25)
        for _ in range(500):
            campaign.step()
        runs.append(campaign.issued)
    assert runs[0] == runs[1]


@pytest.mark.parametrize("seed", range(10))
def test_rejected_and_expired_slots_are_scheduled_again_until_balanced(seed):
    agents, per_agent, n_tasks, k = SETUPS[seed % len(SETUPS)]
    scheduler = Scheduler.from_content(
        join_codes(n_tasks), agent_instances(agents, per_agent), k, seed=seed
    )
    campaign = Campaign(scheduler, random.Random(seed), reject_rate=0.3)
    for _ in range(400):
        campaign.step()
    campaign.reject_rate = 0.0
    for _ in range(400):
        campaign.step()
    assert scheduler.spread() <= 1
    for combination in scheduler.combinations:
        cells = [n for (c, _), n in scheduler.cell_counts().items() if c == combination]
        assert max(cells) - min(cells) <= 1


def test_a_rejected_slot_comes_back_first():
    scheduler = Scheduler.from_content(join_codes(3), agent_instances("AB", 1), 2, seed=3)
    first = scheduler.next()
    assert scheduler.next() is None, "both instances are busy"
    scheduler.close(first.slot_id, Outcome.REJECTED)
    again = scheduler.next()
    assert (again.task_name, again.combination) == (first.task_name, first.combination)
    assert again.slot_id != first.slot_id
    scheduler.close(again.slot_id, Outcome.VALID)
    assert scheduler.next().task_name != first.task_name


def test_slot_carries_full_join_codes_in_shown_order():
    scheduler = Scheduler.from_content(join_codes(2), agent_instances("AB", 1), 2, seed=0)
    slot = scheduler.next()
    assert slot.slot_id == "00000000"
    assert sorted(slot.agents) == ["A", "B"] and slot.combination == ("A", "B")
    for position, agent, instance_id, code in slot.games():
        assert code == f"/plaiground:join-task-with-agent T1:C1:{slot.task_id}:{instance_id}"
        assert split_join_code(code)[1] == instance_id == f"{agent}-i0"
        assert slot.agents[position] == agent


def test_join_code_is_read_as_a_synonym_and_task_id_defaults_from_it():
    inventory = Inventory.from_content(
        {"t": {"join_code": "/p:join T:C:abc"}}, agent_instances("A", 1)
    )
    assert inventory.tasks["t"].task_id == "abc"


@pytest.mark.parametrize(
    ("join", "instances", "k", "message"),
    [
        ({}, agent_instances("AB", 1), 2, "join codes must be a non-empty mapping"),
        ({"t": {"task_id": "x"}}, agent_instances("AB", 1), 2, "task 't' has no 'task_join_code'"),
        (join_codes(1), {"A": []}, 1, "agent 'A' has no instances"),
        (
            join_codes(1),
            {"A": [{"agent_instance_id": "x"}], "B": [{"agent_instance_id": "x"}]},
            1,
            "instance id 'x' is listed for both 'A' and 'B'",
        ),
        (join_codes(1), {"A": [{"agent_instance_id": "a:b"}]}, 1, "without ':'"),
        (
            join_codes(1),
            agent_instances("AB", 1),
            3,
            "k=3 must be between 1 and the number of agents",
        ),
    ],
)
def test_bad_input_says_what_is_wrong(join, instances, k, message):
    with pytest.raises(SchedulingError, match=message):
        Scheduler.from_content(join, instances, k)


def test_files_are_read_and_errors_name_the_file(tmp_path):
    codes, instances = tmp_path / "join_codes.json", tmp_path / "agent_instances.json"
    codes.write_text(json.dumps(join_codes(2)))
    instances.write_text('{"A": [')
    with pytest.raises(
        SchedulingError, match=r"agent_instances.json: line 1, column \d+: not JSON"
    ):
        Scheduler.from_files(codes, instances, 1)
    instances.write_text(json.dumps(agent_instances("AB", 2)))
    assert Scheduler.from_files(codes, instances, 2).next() is not None


def test_release_refuses_unknown_and_double_releases():
    scheduler = Scheduler.from_content(join_codes(2), agent_instances("AB", 1), 2)
    slot = scheduler.next()
    with pytest.raises(SchedulingError, match="unknown agent instance 'Z'"):
        scheduler.release("/p:join T:C:x:Z")
    other_task = [c for c in join_codes(2).values() if c["task_id"] != slot.task_id][0][
        "task_join_code"
    ]
    with pytest.raises(SchedulingError, match="for another task"):
        scheduler.release(f"{other_task}:A-i0")
    scheduler.release(slot.join_codes[0])
    with pytest.raises(SchedulingError, match="not in an open HIT"):
        scheduler.release(slot.join_codes[0])
    with pytest.raises(SchedulingError, match="unknown outcome 'approved'; use one of open, valid"):
        scheduler.record_outcome(slot.slot_id, "approved")
    with pytest.raises(SchedulingError, match="unknown slot id '99'"):
        scheduler.close("99", Outcome.VALID)
    scheduler.close(slot.slot_id, Outcome.VALID)  # releases what is still held, idempotently
    scheduler.close(slot.slot_id, Outcome.VALID)
    assert scheduler.busy_instances() == {}


@pytest.mark.parametrize("seed", range(8))
def test_restore_rebuilds_the_same_state_from_records(seed):
    agents, per_agent, n_tasks, k = SETUPS[seed % len(SETUPS)]
    content = (join_codes(n_tasks), agent_instances(agents, per_agent))
    original = Scheduler.from_content(*content, k, seed=seed)
    campaign = Campaign(original, random.Random(seed), reject_rate=0.2)
    for _ in range(300):
        campaign.step()
    restored = Scheduler.from_content(*content, k, seed=seed)
    restored.restore(records_of(original, [s.slot_id for s in campaign.issued]))
    assert restored.busy_instances() == original.busy_instances()
    assert restored.cell_counts() == original.cell_counts()
    assert restored.order_counts() == original.order_counts()
    for _ in range(20):
        a, b = original.next(), restored.next()
        assert (a and (a.slot_id, a.task_name, a.agents)) == (
            b and (b.slot_id, b.task_name, b.agents)
        )
        if a is None:
            break


def test_restore_refuses_inconsistent_records():
    content = (join_codes(2), agent_instances("AB", 1))
    scheduler = Scheduler.from_content(*content, 2)
    slot = scheduler.next()
    records = records_of(scheduler, [slot.slot_id])
    wrong_agent = [
        StoredGame(
            "00000000", 0, slot.join_codes[0], "B" if slot.agents[0] == "A" else "A", Outcome.OPEN
        )
    ]
    with pytest.raises(SchedulingError, match="slot 00000000, position 0: AgentName"):
        Scheduler.from_content(*content, 2).restore(wrong_agent)
    with pytest.raises(SchedulingError, match="expected 2 games of one task"):
        Scheduler.from_content(*content, 2).restore(records[:1])
    with pytest.raises(SchedulingError, match="8-digit sequence number"):
        Scheduler.from_content(*content, 2).restore(
            [StoredGame("x", 0, slot.join_codes[0], "A", Outcome.OPEN)]
        )


def test_a_late_submission_reopening_a_freed_slot_leaves_the_instances_with_the_later_slot():
    content = (join_codes(2), agent_instances("AB", 1))
    scheduler = Scheduler.from_content(*content, 2)
    expired = scheduler.next()
    scheduler.close(expired.slot_id, Outcome.EXPIRED)
    playing = scheduler.next()
    scheduler.record_outcome(expired.slot_id, Outcome.OPEN)  # the late assignment is being judged
    restored = Scheduler.from_content(*content, 2)
    report = restored.restore(records_of(scheduler, [expired.slot_id, playing.slot_id]))
    assert report.moved == {iid: (expired.slot_id, playing.slot_id) for iid in expired.instance_ids}
    assert restored.busy_instances() == scheduler.busy_instances()
    restored.close(expired.slot_id, Outcome.VALID)
    assert set(restored.busy_instances().values()) == {playing.slot_id}


def test_restore_of_nothing_starts_afresh():
    scheduler = Scheduler.from_content(join_codes(2), agent_instances("AB", 1), 1)
    scheduler.next()
    scheduler.restore([])
    assert scheduler.busy_instances() == {} and scheduler.next().slot_id == "00000000"


@pytest.mark.parametrize("seed", range(6))
def test_a_larger_lead_keeps_instances_busier_within_that_lead(seed):
    agents, per_agent, n_tasks, k = ("ABCDEF", [1, 2, 1, 2, 1, 2], 9, 2)
    issued, spreads = {}, {}
    for name in ("balanced", "scanning"):
        scheduler = Scheduler.from_content(
            join_codes(n_tasks),
            agent_instances(agents, per_agent),
            k,
            seed=seed,
            strategy=make_strategy(name, max_lead=3),
        )
        campaign = Campaign(scheduler, random.Random(seed))
        spreads[name] = []
        for _ in range(500):
            campaign.step()
            spreads[name].append(scheduler.spread())
        issued[name] = campaign.issued
    assert issued["balanced"] == issued["scanning"]
    assert max(spreads["balanced"]) <= 3


def test_unknown_strategy_names_the_known_ones():
    with pytest.raises(
        SchedulingError, match="unknown scheduling strategy 'thompson'; known: balanced, scanning, adaptive"
    ):
        make_strategy("thompson")


def test_restore_skips_closed_slots_of_retired_tasks_and_agents_and_reports_them():
    old = Scheduler.from_content(join_codes(2), agent_instances("ABC", 1), 1, seed=0)
    by_agent = {slot.agents[0]: slot for slot in (old.next() for _ in range(3))}
    old.close(by_agent["A"].slot_id, Outcome.VALID)
    old.close(by_agent["C"].slot_id, Outcome.VALID)
    records = records_of(old, sorted(s.slot_id for s in by_agent.values()))
    # agent C retired, instance A-i0 replaced by A-i9: only closed slots used them
    kept = dict(
        agent_instances("AB", 1), A=[{"agent_instance_id": "A-i9", "agent_instance_name": "new"}]
    )
    restored = Scheduler.from_content(join_codes(2), kept, 1, seed=0)
    report = restored.restore(records)
    assert report.skipped == {by_agent["C"].slot_id: "agent 'C' is not in the agent-instances file"}
    assert report.outcomes == {"valid": 1, "open": 1}
    assert restored.combination_counts() == {("A",): 1, ("B",): 1}
    assert restored.busy_instances() == {"B-i0": by_agent["B"].slot_id}
    restored.close(
        by_agent["A"].slot_id, Outcome.VALID
    )  # its old instance is unknown: nothing to free


def test_restore_refuses_an_open_slot_whose_instance_is_gone():
    old = Scheduler.from_content(join_codes(2), agent_instances("A", 1), 1)
    slot = old.next()
    renamed = {"A": [{"agent_instance_id": "A-new", "agent_instance_name": "new"}]}
    with pytest.raises(
        SchedulingError,
        match=f"open slot {slot.slot_id}: instance 'A-i0' is not in the "
        "agent-instances file; put it back",
    ):
        Scheduler.from_content(join_codes(2), renamed, 1).restore(records_of(old, [slot.slot_id]))
