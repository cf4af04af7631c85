"""The scheduler and the game records together survive a process killed at any step: a
simulated loop (intention written before acting, HITs identified by their request token)
is thrown away at random moments and rebuilt from the records in Azurite, and the records
never show an instance in two open HITs, a slot planned twice, or unbalanced combinations."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from iglu_lib.scheduling import Outcome, Scheduler
from iglu_lib.storage import GameRecords, RecordStatus

OPEN = (RecordStatus.PLANNED, RecordStatus.HIT_CREATED, RecordStatus.SUBMITTED)
COUNTED = (*OPEN, RecordStatus.APPROVED)


class Crash(Exception):
    """The process died here."""


class Loop:
    """The protocol the campaign loop follows, with a crash possible between any two steps."""

    def __init__(
        self, records: GameRecords, content: tuple, rng: random.Random, crash_rate: float
    ) -> None:
        self.records, self.content, self.rng, self.crash_rate = records, content, rng, crash_rate
        self.hits: dict[
            str, str
        ] = {}  # the platform: request token -> HIT id (idempotent like MTurk)
        self.restarts = 0
        self.restart()

    def restart(self) -> None:
        """Start afresh from the records (and die again, possibly, while reconciling)."""
        self.restarts += 1
        self.scheduler = Scheduler.from_content(*self.content, 2, seed=11)
        self.scheduler.restore(self.records.all())
        try:
            for games in self.records.slots(RecordStatus.PLANNED).values():
                self.create_hit(games)
        except Crash:
            self.restart()

    def maybe_crash(self) -> None:
        if self.rng.random() < self.crash_rate:
            raise Crash

    def create_hit(self, games) -> None:
        token = games[0].unique_request_token
        hit_id = self.hits.setdefault(token, f"HIT{len(self.hits):04d}")
        self.maybe_crash()
        self.records.update_all(games, status=RecordStatus.HIT_CREATED, hit_id=hit_id)

    def schedule(self) -> bool:
        slot = self.scheduler.next()
        if slot is None:
            return False
        self.maybe_crash()
        games = self.records.plan(slot)
        self.maybe_crash()
        self.create_hit(games)
        return True

    def finish_one(self, reject_rate: float) -> None:
        open_slots = self.records.slots(RecordStatus.HIT_CREATED, RecordStatus.SUBMITTED)
        if not open_slots:
            return
        slot_id = self.rng.choice(sorted(open_slots))
        games = open_slots[slot_id]
        if games[0].status is RecordStatus.HIT_CREATED:
            games = self.records.update_all(games, status=RecordStatus.SUBMITTED, worker_id="W1")
            self.maybe_crash()
        verdict = (
            RecordStatus.REJECTED if self.rng.random() < reject_rate else RecordStatus.APPROVED
        )
        self.records.update_all(games, status=verdict)
        self.maybe_crash()
        self.scheduler.close(
            slot_id, Outcome.REJECTED if verdict is RecordStatus.REJECTED else Outcome.VALID
        )

    def step(self, reject_rate: float) -> None:
        try:
            if self.rng.random() < 0.5 or not self.schedule():
                self.finish_one(reject_rate)
        except Crash:
            self.restart()


def check_records(records: GameRecords) -> None:
    slots = records.slots()
    for slot_id, games in slots.items():
        assert len({g.status for g in games}) == 1, (
            f"slot {slot_id} has games in different statuses"
        )
        assert len(games) == 2
    held = [g.agent_minecraft_id for games in slots.values() for g in games if g.status in OPEN]
    assert len(held) == len(set(held)), (
        f"an instance is in two open HITs: {Counter(held).most_common(1)}"
    )
    tokens = [games[0].unique_request_token for games in slots.values()]
    assert len(tokens) == len(set(tokens))


@pytest.mark.parametrize("seed", range(2))
def test_a_loop_killed_at_random_steps_keeps_the_records_consistent(
    local_profile, unique_name, seed
):
    table = unique_name("restart")
    records = GameRecords.open(local_profile, f"restart-{seed}", table_name=table)
    join_codes = {
        f"t{i}": {
            "task_join_code": f"/plaiground:join-task-with-agent T:C:id{i}",
            "task_id": f"id{i}",
        }
        for i in range(5)
    }
    instances = {
        a: [{"agent_instance_id": f"{a}{j}", "agent_instance_name": a} for j in range(n)]
        for a, n in zip("ABCD", (2, 1, 2, 1), strict=True)
    }
    loop = Loop(records, (join_codes, instances), random.Random(seed), crash_rate=0.12)
    try:
        for _ in range(70):
            loop.step(reject_rate=0.25)
            check_records(records)
        for _ in range(90):
            loop.step(reject_rate=0.0)
        check_records(records)
        games = Counter(
            tuple(sorted(g.agent_name for g in slot)) for slot in records.slots(*COUNTED).values()
        )
        assert len(games) == 6 and max(games.values()) - min(games.values()) <= 1, games
        assert len(loop.hits) == len(records.slots()) - len(records.slots(RecordStatus.PLANNED))
        assert records.by_status(RecordStatus.REJECTED), "the run exercised rejections"
        assert loop.restarts > 5
    finally:
        local_profile.backend.table_service().delete_table(table)
