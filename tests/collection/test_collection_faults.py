"""Faults of the services: a 30 s MTurk outage is waited out, reported and leaves records and
service agreeing; a HIT settled behind the loop's back is reconciled; a permanent error stops
`iglu collect` with exit code 2 and one sentence."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from iglu_lib.collection.campaign import Campaign
from iglu_lib.collection.status import campaign_status
from iglu_lib.local.mturk.control_client import LocalMTurkControl
from iglu_lib.storage import RecordStatus


def _balance(profile) -> float:
    return float(profile.backend.mturk_client().get_account_balance()["AvailableBalance"])


def test_a_thirty_second_mturk_outage_is_survived_and_reported(
        rehearsal, local_profile, unique_name, crowd_factory, invariants, stack):
    name = unique_name("outage")
    control = LocalMTurkControl(stack["mturk_endpoint_url"])
    before = _balance(local_profile)
    campaign = Campaign.open(rehearsal.params(name, target_approved_hits=8))
    crowd_factory(size=6, mix={})
    result: dict = {}
    runner = threading.Thread(target=lambda: result.update(summary=campaign.run(progress=False)), daemon=True)
    runner.start()
    try:
        deadline = time.monotonic() + 120
        while campaign.paid_hits < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        control.set_faults(1.0, seed=1)  # every requester call fails, as in an outage
        try:
            time.sleep(30)
        finally:
            control.set_faults(0.0)
        runner.join(timeout=300)
    finally:
        campaign.stop()
        runner.join(timeout=60)
    summary = result["summary"]
    assert summary["done"] and summary["good_hits"] == 8
    assert summary["errors"], "the outage was reported, not swallowed"
    found = invariants(local_profile, name, local_profile.hit.reward)
    assert before - _balance(local_profile) == pytest.approx(float(found["paid"])), "spend is what was paid"


def _stop_gracefully(pid: int) -> None:
    """Stop an emulator as an operator would (Azurite saves its data on SIGINT)."""
    os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return
        if status == "Z":  # exited; our process is its parent and has not reaped it yet
            return
        time.sleep(0.1)
    raise AssertionError(f"process {pid} did not stop")


def test_a_thirty_second_azurite_outage_is_survived_and_records_agree_with_the_service(
        rehearsal, local_profile, unique_name, crowd_factory, invariants, stack):
    from iglu_lib.local import stack as local_stack

    name = unique_name("storage")
    before = _balance(local_profile)
    campaign = Campaign.open(rehearsal.params(name, target_approved_hits=8))
    crowd_factory(size=6, mix={})
    result: dict = {}
    runner = threading.Thread(target=lambda: result.update(summary=campaign.run(progress=False)), daemon=True)
    state_dir = Path(stack["state_dir"])
    services = json.loads((state_dir / "state.json").read_text())["services"]
    runner.start()
    try:
        deadline = time.monotonic() + 120
        while campaign.paid_hits < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        for service in ("azurite-table", "azurite-blob"):
            _stop_gracefully(services[service]["pid"])
        time.sleep(30)
        local_stack.up(state_dir)  # the same ports, data and key
        runner.join(timeout=400)
    finally:
        campaign.stop()
        runner.join(timeout=60)
    summary = result["summary"]
    assert summary["done"] and summary["good_hits"] == 8, (summary, campaign_status(campaign.records.all()))
    assert any("ServiceRequestError" in e or "GameDataError" in e for e in summary["errors"]), summary["errors"]
    found = invariants(local_profile, name, local_profile.hit.reward)
    assert before - _balance(local_profile) == pytest.approx(float(found["paid"])), "spend is what was paid"


def test_a_hit_approved_behind_the_loops_back_is_reconciled_at_restart(
        rehearsal, local_profile, unique_name, stack, invariants):
    """The service auto-approved a submitted assignment while no loop ran: a restart records it,
    frees its instances and counts its pay."""
    from iglu_lib.local.workers import join_codes_of

    name = unique_name("reconcile")
    campaign = Campaign.open(rehearsal.params(name, target_approved_hits=2))
    campaign.start()
    campaign.turn()
    control = LocalMTurkControl(stack["mturk_endpoint_url"])
    hit_id = next(g.hit_id for g in campaign.records.all() if g.status is RecordStatus.HIT_CREATED)
    control.set_worker("ARECONCILE0001")
    accepted = control.accept(hit_id, "ARECONCILE0001")
    simulator = local_profile.backend.rehearsal().platform()
    codes = [simulator.play(join, seed=n) for n, join in enumerate(join_codes_of(accepted["question"]["html"]))]
    control.submit(accepted["assignment_id"], {"taskAnswers": json.dumps([{
        "completionCode1": codes[0], "completionCode2": codes[1], "agent1_performance": "ok",
        "agent2_performance": "ok", "best_agent": {"agent1_option": True, "agent2_option": False}}])})
    manager = campaign.manager
    manager.approve(accepted["assignment_id"], "approved by hand")  # as auto-approval would
    manager.set_reviewing(hit_id)  # and off the reviewable listing
    restarted = Campaign.open(rehearsal.params(name, target_approved_hits=2))
    restarted.start()
    games = restarted.records.by_hit(hit_id)
    assert {g.status for g in games} == {RecordStatus.APPROVED}
    assert restarted.paid_hits == 1, "the pay the service made is counted"
    busy = {i for slot in restarted.scheduler.open_slots() for i in slot.instance_ids}
    assert not busy & {g.agent_minecraft_id for g in games}, "its instances are free again"


def test_a_permanent_error_stops_collect_with_exit_code_2_and_one_sentence(rehearsal, unique_name, stack, tmp_path):
    """Storage refuses the credentials (a wrong account key): waiting will not heal that."""
    wrong = tmp_path / "stack"
    shutil.copytree(stack["state_dir"], wrong, ignore=shutil.ignore_patterns("*.log", "data*", "azurite*"))
    state = json.loads((wrong / "state.json").read_text())
    state["azure_storage_connection_string"] = state["azure_storage_connection_string"].replace(
        state["azurite_account_key"], "d3Jvbmcga2V5IGZvciB0aGUgdGVzdA==")
    (wrong / "state.json").write_text(json.dumps(state))
    params_file = rehearsal.params_file(unique_name("perm"), target_approved_hits=2)
    env = {**os.environ, "IGLU_STACK_DIR": str(wrong)}
    result = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "collect", "--params", str(params_file)],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 2, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr
    assert "could not start" in last and "credentials" in last


def test_failed_turns_in_a_row_stop_the_loop_with_a_sentence(rehearsal, unique_name, stack):
    from iglu_lib.errors import CampaignStopped

    control = LocalMTurkControl(stack["mturk_endpoint_url"])
    campaign = Campaign.open(rehearsal.params(unique_name("failing"), target_approved_hits=2, max_failed_turns=2,
                                         poll_interval_seconds=0.01, max_poll_interval_seconds=0.02))
    control.set_faults(1.0, seed=2)
    try:
        with pytest.raises(CampaignStopped, match=r"2 turns in a row failed .* run `iglu collect` again"):
            campaign.run(progress=False)
    finally:
        control.set_faults(0.0)
    assert campaign.stopped_by == "failed_turns" and campaign.errors
