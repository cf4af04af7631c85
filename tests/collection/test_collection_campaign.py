"""The campaign loop on the real local parts: it reaches its target with a misbehaving crowd,
keeps every instance in at most one open HIT, balances cells, judges and settles every
submission once, survives SIGKILL at random moments and 10% of requests failing, and keeps
hostile answers intact without letting them change a query."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time

import pytest

from iglu_lib.collection.campaign import Campaign
from iglu_lib.collection.live import current_status
from iglu_lib.local.mturk.control_client import LocalMTurkControl
from iglu_lib.storage import GameRecords, RecordStatus


def _balance(profile) -> float:
    return float(profile.backend.mturk_client().get_account_balance()["AvailableBalance"])


def test_pairwise_campaign_reaches_its_target_balanced_with_a_misbehaving_crowd(
        rehearsal, local_profile, unique_name, crowd_factory, monitor_factory, invariants):
    name = unique_name("camp")
    before = _balance(local_profile)
    campaign = Campaign.open(rehearsal.params(name, target_approved_hits=12))
    crowd_factory(size=10)
    with monitor_factory(name) as monitor:
        summary = campaign.run(progress=False)
    assert summary["done"] and summary["good_hits"] == 12
    assert monitor.polls > 0 and monitor.violations == []
    found = invariants(local_profile, name, local_profile.hit.reward)
    assert before - _balance(local_profile) == pytest.approx(float(found["paid"]))
    status = current_status(campaign)
    assert status["cell_spread"] <= 1
    assert len(status["cells"]) == 4 * 3  # tasks x pairs, empty cells included
    rejected = [g for g in found["records"] if g.verdict == "reject"]
    assert rejected and all(g.reasons for g in rejected), "misbehaviour is caught and explained"
    order_counts = campaign.scheduler.order_counts()
    for (first, second), count in order_counts.items():
        assert abs(count - order_counts.get((second, first), 0)) <= 1 + len(rejected), "shown order counterbalanced"


def test_campaign_status_cli_reports_cells_and_spend(rehearsal, local_profile, unique_name, crowd_factory):
    name = unique_name("camp")
    crowd_factory(size=6, mix={})
    Campaign.open(rehearsal.params(name, target_approved_hits=4)).run(progress=False)
    params_file = rehearsal.params_file(name, target_approved_hits=4)
    result = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "campaign", "status", "--campaign", name,
                             "--params", str(params_file), "--json"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["good_hits"] == 4 and status["open_hits"] == 0
    assert float(status["spent"]) > 0 and len(status["cells"]) == 12


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(
        rehearsal, local_profile, unique_name, crowd_factory, monitor_factory, invariants):
    """The loop is killed with SIGKILL at least five times, each time just after it made
    progress (a random moment within its work), and run again until it reports done."""
    name = unique_name("kill")
    params_file = rehearsal.params_file(name, target_approved_hits=14)
    command = [sys.executable, "-m", "iglu_lib.cli", "collect", "--params", str(params_file), "--json"]
    records = GameRecords.open(local_profile, name)
    rng = random.Random(7)
    before = _balance(local_profile)
    crowd_factory(size=8)
    kills = 0
    with monitor_factory(name) as monitor:
        while kills < 5:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())
            if _progress_then_kill(process, records, rng):
                kills += 1
            else:
                break
        final = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert kills >= 5
    assert final.returncode == 0, final.stderr[-2000:]
    summary = json.loads(final.stdout)
    assert summary["done"] and summary["good_hits"] == 14
    assert monitor.violations == []
    found = invariants(local_profile, name, local_profile.hit.reward)
    assert before - _balance(local_profile) == pytest.approx(float(found["paid"]))


def _progress_then_kill(process: subprocess.Popen, records: GameRecords, rng: random.Random) -> bool:
    """Wait until the records change (the loop is working), then SIGKILL it a moment later."""
    seen = _fingerprint(records)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if _fingerprint(records) != seen:
            time.sleep(rng.uniform(0.0, 0.6))
            if process.poll() is not None:
                return False
            process.kill()
            process.wait()
            return True
        time.sleep(0.05)
    if process.poll() is None:
        process.kill()
        process.wait()
    return False


def _fingerprint(records: GameRecords) -> tuple:
    return tuple(sorted((g.row_key, g.status.value) for g in records.all()))


def test_ten_percent_of_requests_failing_still_reaches_the_target(
        rehearsal, local_profile, unique_name, crowd_factory, monitor_factory, invariants, stack):
    name = unique_name("fault")
    control = LocalMTurkControl(stack["mturk_endpoint_url"])
    campaign = Campaign.open(rehearsal.params(name, target_approved_hits=10))
    crowd_factory(size=8)
    control.set_faults(0.1, seed=3)
    try:
        with monitor_factory(name) as monitor:
            summary = campaign.run(progress=False)
    finally:
        control.set_faults(0.0)  # no seed: turning faults off needs none
    assert summary["done"] and summary["good_hits"] == 10
    assert campaign.manager.retries > 0, "faults reached the loop's own calls and were absorbed"
    assert monitor.violations == []
    invariants(local_profile, name, local_profile.hit.reward)


HOSTILE = "x' or PartitionKey ne '' or 'a' eq 'a"


def test_hostile_answers_reach_the_records_intact_and_never_change_a_query(
        rehearsal, local_profile, unique_name, stack):
    name = unique_name("hostile")
    campaign = Campaign.open(rehearsal.params(name, target_approved_hits=2))
    campaign.start()
    campaign.turn()
    control = LocalMTurkControl(stack["mturk_endpoint_url"])
    control.set_worker("AHOSTILE0001")
    hit_id = next(g.hit_id for g in campaign.records.all() if g.status is RecordStatus.HIT_CREATED)
    accepted = control.accept(hit_id, "AHOSTILE0001")
    performance = '<script>alert("x")</script> & "quotes" \' ; DROP TABLE --'
    answers = {"joinCode1": "j1", "joinCode2": "j2", "completionCode1": HOSTILE, "completionCode2": "<b>&amp;</b>",
               "agent1_performance": performance, "agent2_performance": "&lt;entity&gt;",
               "best_agent": {"agent1_option": True, "agent2_option": False}}
    control.submit(accepted["assignment_id"], {"taskAnswers": json.dumps([answers])})
    report = campaign.turn()
    assert report.settled >= 1, report.errors
    games = campaign.records.by_hit(hit_id)
    assert [g.completion_code for g in games] == [HOSTILE, "<b>&amp;</b>"]
    assert games[0].annotation["agent_performance"] == performance
    assert games[1].annotation["agent_performance"] == "&lt;entity&gt;"
    assert all(g.status is RecordStatus.REJECTED and g.verdict == "reject" for g in games)
    assert [g.row_key for g in campaign.records.by_completion_code(HOSTILE)] == [games[0].row_key]
    assert campaign.records.by_worker("' or '1' eq '1") == []
