"""A rehearsal platform for campaign tests: sample tasks uploaded to the simulator, three agents
with instance pools, the join-code and agent-instances files the loop reads; a simulated crowd
and a monitor that watches the local MTurk server for an instance in two open HITs."""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from iglu_lib.collection.campaign import Campaign
from iglu_lib.collection.params import CampaignParams
from iglu_lib.local.mturk.control_client import LocalMTurkControl
from iglu_lib.local.platform import PlatformSimulator
from iglu_lib.local.workers import GAME_TIME_SCALE, join_codes_of
from iglu_lib.storage import RecordStatus

AGENTS = {"Alpha": {"instances": 2, "skill": 0.85}, "Beta": {"instances": 2, "skill": 0.5},
          "Gamma": {"instances": 2, "skill": 0.2}}
MISBEHAVING = {"lazy": 0.15, "pastes_worker_id": 0.1, "swaps_codes": 0.1, "other_language": 0.05,
               "reuses_code": 0.05, "abandons": 0.05}


@dataclass(frozen=True)
class Rehearsal:
    folder: Path
    join_codes: Path
    agent_instances: Path
    platform_dir: Path

    def params(self, campaign: str, **overrides) -> CampaignParams:
        values = {
            "campaign": campaign,
            "join_codes": str(self.join_codes),
            "agent_instances": str(self.agent_instances),
            "mode": "pairwise",
            "target_approved_hits": 8,
            "poll_interval_seconds": 0.05,
            "max_poll_interval_seconds": 0.3,
            "block_after_disqualified_games": 3,
            **overrides,
        }
        return CampaignParams.from_mapping(values)

    def params_file(self, campaign: str, **overrides) -> Path:
        import yaml

        params = self.params(campaign, **overrides)
        values = {k: v for k, v in params.__dict__.items()}
        values["never_block"] = list(values["never_block"])
        values["validation"] = dict(values["validation"])
        path = self.folder / f"{campaign}.yaml"
        path.write_text(yaml.safe_dump(values))
        return path


@pytest.fixture(scope="module")
def rehearsal(stack, tmp_path_factory) -> Rehearsal:
    from iglu_lib.config import load_profile
    from iglu_lib.encoding import encode_task
    from iglu_lib.encoding.join_codes import build_join_codes
    from iglu_lib.local.rehearsal import prepare_simulated_platform
    from iglu_lib.tasks import load_sample

    profile = load_profile("local")
    folder = tmp_path_factory.mktemp("rehearsal")
    (folder / "tasks").mkdir()
    for number, task in enumerate(load_sample()[:4]):
        encoded = encode_task(task, name=task.task_id, architect_role_id="architect-role",
                              builder_role_id="builder-role")
        (folder / "tasks" / f"task{number}.json").write_text(encoded)
    files = prepare_simulated_platform(profile, folder / "tasks", AGENTS, folder / "platform")
    join_codes, _ = build_join_codes(json.loads(files["task_id_mapping"].read_text()),
                                     json.loads(files["join_commands"].read_text()))
    (folder / "join_codes.json").write_text(json.dumps(join_codes))
    return Rehearsal(folder, folder / "join_codes.json", files["agent_instances"], folder / "platform")


@pytest.fixture
def crowd_factory(rehearsal, local_profile):
    """Start simulated crowds; every one started is stopped after the test."""
    crowds = []

    def start(size: int = 10, mix=None, seed: int = 0):
        crowd = local_profile.backend.rehearsal().crowd(rehearsal.platform_dir, size=size,
                                                        mix=MISBEHAVING if mix is None else mix, seed=seed)
        crowds.append(crowd)
        return crowd

    yield start
    for crowd in crowds:
        crowd.stop()


class OpenHitMonitor:
    """Polls the server's HITs of a campaign and records any agent instance found in two HITs
    that workers can take or are working on (Assignable or Unassignable) at the same moment."""

    def __init__(self, profile, campaign: str) -> None:
        from iglu_lib.mturk import HitManager

        self.manager = HitManager.open(profile, campaign=campaign)
        self.violations: list[str] = []
        self.polls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> OpenHitMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                hits = self.manager.open_hits()
            except Exception:  # noqa: BLE001 - a fault-injected poll is skipped
                continue
            self.polls += 1
            holder: dict[str, str] = {}
            for hit in hits:
                for instance in instances_of(hit.raw.get("Question", "")):
                    if instance in holder and holder[instance] != hit.hit_id:
                        self.violations.append(f"{instance} in {holder[instance]} and {hit.hit_id}")
                    holder[instance] = hit.hit_id
            self._stop.wait(0.05)


def instances_of(question: str) -> list[str]:
    """Agent instance ids of the join codes in a HIT's page."""
    from iglu_lib.local.workers import join_codes_of
    from iglu_lib.platform.codes import parse_join_code

    page = re.sub(r"^.*<!\[CDATA\[|\]\]>.*$", "", question, flags=re.S)
    return [parse_join_code(code).agent_instance_id for code in join_codes_of(page)]


@pytest.fixture
def monitor_factory(local_profile):
    def make(campaign: str) -> OpenHitMonitor:
        return OpenHitMonitor(local_profile, campaign)

    return make


def check_invariants(profile, campaign: str, reward: str) -> dict:
    """What must hold after any campaign, however often it died or was refused: one HIT per
    scheduled slot, every submitted assignment settled exactly once (and paid once), records
    agreeing with the server. Returns counts for further checks."""
    from decimal import Decimal

    from iglu_lib.mturk import HitManager
    from iglu_lib.storage import GameRecords, RecordStatus

    records = GameRecords.open(profile, campaign).all()
    manager = HitManager.open(profile, campaign=campaign)
    slots: dict[str, list] = {}
    for record in records:
        slots.setdefault(record.slot_id, []).append(record)
    hit_of_slot = {slot_id: {g.hit_id for g in games} for slot_id, games in slots.items()}
    assert all(len(ids) == 1 for ids in hit_of_slot.values()), "every game of a slot shares one HIT"
    record_hits = {next(iter(ids)) for ids in hit_of_slot.values()} - {""}
    assert len(record_hits) == len([s for s, ids in hit_of_slot.items() if ids != {""}]), "one HIT per slot"
    server_hits = {hit.hit_id: hit for hit in manager.hits()}
    expired = {g.hit_id for g in records if g.status is RecordStatus.EXPIRED}
    assert set(server_hits) == record_hits - expired, "the server's HITs are exactly the slots' HITs"
    approved = 0
    for games in slots.values():
        hit_id = games[0].hit_id
        if hit_id not in server_hits:
            continue
        assignments = manager.assignments(hit_id, ("Submitted", "Approved", "Rejected"))
        assert all(a.status != "Submitted" for a in assignments), f"HIT {hit_id} left unsettled"
        for assignment in assignments:
            expected = {"Approved": RecordStatus.APPROVED, "Rejected": RecordStatus.REJECTED}[assignment.status]
            assert {g.status for g in games} == {expected}, f"records of {hit_id} disagree with the server"
            assert {g.assignment_id for g in games} == {assignment.assignment_id}
            assert {g.worker_id for g in games} == {assignment.worker_id}
            approved += assignment.status == "Approved"
    paid_hits = len({g.slot_id for g in records if g.status is RecordStatus.APPROVED})
    assert paid_hits == approved
    return {"records": records, "approved": approved, "slots": len(slots),
            "paid": Decimal(reward) * approved}


@pytest.fixture
def invariants():
    return check_invariants


# -- a hand-driven attacker (issue 11's attacks; see test_collection_attacks.py) -------------
class Attacker:
    """One hand-driven worker: accepts an open HIT of the campaign, plays what it likes, submits."""

    def __init__(self, campaign: Campaign, control: LocalMTurkControl, simulator: PlatformSimulator) -> None:
        self.campaign, self.control, self.simulator = campaign, control, simulator
        self.count = 0
        self.prefix = "AT" + secrets.token_hex(4).upper()  # worker ids of their own: blocks never leak
        self.worker = ""
        self.taken: set[str] = set()

    def take(self) -> tuple[str, str, list[str]]:
        """A fresh worker accepts an open HIT: `(hit id, assignment id, join codes shown)`."""
        for _ in range(10):
            hit_id = next((g.hit_id for g in self.campaign.records.all()
                           if g.status is RecordStatus.HIT_CREATED and g.hit_id not in self.taken), None)
            if hit_id:
                break
            self.campaign.turn()
        assert hit_id, "the loop keeps creating HITs"
        self.taken.add(hit_id)
        self.count += 1
        self.worker = worker = f"{self.prefix}{self.count:05d}"
        self.control.set_worker(worker, approval_rate=99, approved_hits=1000)
        accepted = self.control.accept(hit_id, worker)
        return hit_id, accepted["assignment_id"], join_codes_of(accepted["question"]["html"])

    def play(self, join_code: str, seed: str, *, now: bool = True) -> str:
        """A game played now (inside the assignment), or at the simulator's old default date."""
        if not now:
            return self.simulator.play(join_code, seed=seed)
        moment = datetime.fromtimestamp(self.control.now(), timezone.utc) + timedelta(milliseconds=5)
        return self.simulator.play(join_code, seed=seed, started_at=moment, seconds_per_event=GAME_TIME_SCALE)

    def submit(self, assignment_id: str, answers: dict | None = None, raw: str | None = None) -> None:
        text = raw if raw is not None else json.dumps([answers])
        self.control.submit(assignment_id, {"taskAnswers": text} if text != "" else {})

    def honest(self) -> str:
        hit_id, assignment_id, joins = self.take()
        codes = [self.play(join, f"honest-{self.count}-{n}") for n, join in enumerate(joins)]
        self.submit(assignment_id, self.pairwise(joins, codes, best=1))
        return hit_id

    @staticmethod
    def pairwise(joins: list[str], codes: list[str], best: int = 1, feedback: str = "It did fine.") -> dict:
        return {"joinCode1": joins[0], "joinCode2": joins[1], "completionCode1": codes[0], "completionCode2": codes[1],
                "agent1_performance": feedback, "agent2_performance": "It built part of it.",
                "best_agent": {"agent1_option": best == 1, "agent2_option": best == 2}}

    def settle(self, hit_id: str) -> list:
        for _ in range(5):
            report = self.campaign.turn()
            games = self.campaign.records.by_hit(hit_id)
            if all(g.status in (RecordStatus.APPROVED, RecordStatus.REJECTED) for g in games):
                return games
        raise AssertionError(f"HIT {hit_id} not settled: {report.errors}")


@pytest.fixture
def attack(rehearsal, local_profile, unique_name, stack):
    def make(**overrides) -> Attacker:
        campaign = Campaign.open(rehearsal.params(unique_name("attack"), target_approved_hits=30, **overrides))
        campaign.start()
        campaign.turn()
        return Attacker(campaign, LocalMTurkControl(stack["mturk_endpoint_url"]), local_profile.backend.rehearsal().platform())

    return make


