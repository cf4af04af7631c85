"""Winding a campaign down on the real local stack: `iglu campaign stop` stops a running
`iglu collect`; `--expire` after a partial run leaves no HIT workers can take, settles the
submitted work, reports the HIT a worker still holds, and finishes once it is given back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

from iglu_lib.collection.campaign import Campaign
from iglu_lib.collection.logfile import log_path
from iglu_lib.collection.params import CampaignParams
from iglu_lib.collection.winddown import stop_request_path, stop_requested
from iglu_lib.local.mturk.control_client import LocalMTurkControl
from iglu_lib.local.workers import GAME_TIME_SCALE, join_codes_of
from iglu_lib.mturk import HitManager
from iglu_lib.storage import GameRecords, RecordStatus

FINAL = {RecordStatus.APPROVED, RecordStatus.REJECTED, RecordStatus.EXPIRED}


def iglu(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "iglu_lib.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=os.environ.copy())


def open_hit_ids(campaign: Campaign) -> list[str]:
    return sorted({g.hit_id for g in campaign.records.all() if g.status is RecordStatus.HIT_CREATED})


def play_and_submit(control, simulator, hit_id: str, worker: str) -> str:
    """A worker accepts the HIT, plays both games now and submits honest answers."""
    control.set_worker(worker, approval_rate=99, approved_hits=1000)
    accepted = control.accept(hit_id, worker)
    joins = join_codes_of(accepted["question"]["html"])
    moment = datetime.fromtimestamp(control.now(), timezone.utc) + timedelta(milliseconds=5)
    codes = [simulator.play(join, seed=f"{worker}-{n}", started_at=moment, seconds_per_event=GAME_TIME_SCALE)
             for n, join in enumerate(joins)]
    answers = {"joinCode1": joins[0], "joinCode2": joins[1], "completionCode1": codes[0],
               "completionCode2": codes[1], "agent1_performance": "It built the tower.",
               "agent2_performance": "It built part of it.",
               "best_agent": {"agent1_option": True, "agent2_option": False}}
    control.submit(accepted["assignment_id"], {"taskAnswers": json.dumps([answers])})
    return accepted["assignment_id"]


def test_stop_expire_after_a_partial_run_leaves_nothing_open_and_records_agree(
        rehearsal, local_profile, stack, unique_name, invariants):
    name = unique_name("winddown")
    params_file = rehearsal.params_file(name, target_approved_hits=30)
    campaign = Campaign.open(CampaignParams.from_file(params_file))
    campaign.start()
    campaign.turn()
    hits = open_hit_ids(campaign)
    assert len(hits) >= 3, "a partial run: several HITs open at once"
    submitted, held, *untouched = hits
    control = LocalMTurkControl(stack["mturk_endpoint_url"])
    play_and_submit(control, local_profile.backend.rehearsal().platform(), submitted, "AWINDDOWN0000001")
    control.set_worker("AWINDDOWN0000002")
    held_assignment = control.accept(held, "AWINDDOWN0000002")["assignment_id"]

    result = iglu("campaign", "stop", "--params", str(params_file), "--expire", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    manager = HitManager.open(local_profile, campaign=name)
    statuses = {hit.hit_id: hit.status for hit in manager.hits()}
    assert "Assignable" not in statuses.values(), statuses
    assert report["stop_requested"] and stop_requested(name)
    assert [h["hit_id"] for h in report["held"]] == [held], "the held HIT is reported, with its time"
    assert datetime.fromisoformat(report["held"][0]["free_by"]) > datetime.now(timezone.utc)
    assert statuses[held] == "Unassignable" and not report["finished"]
    records = {g.hit_id: g.status for g in GameRecords.open(local_profile, name).all()}
    assert records[submitted] is RecordStatus.APPROVED
    assert all(records[hit_id] is RecordStatus.EXPIRED for hit_id in untouched)
    assert all(hit_id not in statuses for hit_id in untouched), "unworked HITs are deleted"
    invariants(local_profile, name, local_profile.hit.reward)
    assert f"campaign {name}: expired " in log_path(name).read_text(), "what it did is in the campaign log"

    control.return_assignment(held_assignment)  # the worker gives up: nothing is held any more
    again = iglu("campaign", "stop", "--params", str(params_file), "--expire")
    assert again.returncode == 0, again.stderr
    assert "wound down" in again.stdout.splitlines()[0], again.stdout
    assert not list(manager.hits(("Assignable", "Unassignable")))
    assert {g.status for g in GameRecords.open(local_profile, name).all()} <= FINAL
    counts = invariants(local_profile, name, local_profile.hit.reward)
    assert counts["approved"] == 1

    status = iglu("campaign", "status", "--params", str(params_file), "--json")
    assert status.returncode == 0, status.stderr
    on_service = json.loads(status.stdout)["hits_on_service"]
    assert on_service == {"Reviewing": 1}, "only the settled HIT stays, kept for review"
    by_name = iglu("campaign", "status", "--campaign", name, "--service", "--json")
    assert json.loads(by_name.stdout)["hits_on_service"] == {"Reviewing": 1}, by_name.stderr

    tidy = iglu("campaign", "stop", "--params", str(params_file), "--expire", "--delete-settled", "--json")
    assert tidy.returncode == 0, tidy.stderr
    assert json.loads(tidy.stdout)["deleted"] == [submitted]
    assert not list(manager.hits()), "nothing of the campaign is left on the service"
    assert {g.status for g in GameRecords.open(local_profile, name).by_hit(submitted)} == {RecordStatus.APPROVED}


def test_a_running_collect_stops_on_request_and_a_new_run_forgets_the_request(rehearsal, unique_name, stack):
    name = unique_name("stoprun")
    params_file = rehearsal.params_file(name, target_approved_hits=30, poll_interval_seconds=0.1,
                                        max_poll_interval_seconds=0.2)
    process = subprocess.Popen([sys.executable, "-m", "iglu_lib.cli", "collect", "--params", str(params_file),
                                "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline and not _has_hits(name):
            time.sleep(0.5)
        assert process.poll() is None, process.communicate()[1]
        stop = iglu("campaign", "stop", "--params", str(params_file))
        assert stop.returncode == 0, stop.stderr
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    summary = json.loads(out)
    assert summary["stopped_by"] == "stop_request"
    assert summary["open_hits"] > 0, "stopped mid-run, its HITs still open (until --expire)"
    assert stop_request_path(name).is_file()

    campaign = Campaign.open(CampaignParams.from_file(params_file, {"max_turns": 1}))
    assert campaign.run(progress=False)["stopped_by"] == "max_turns", "a new run starts without the old request"
    assert not stop_requested(name)
    cleanup = iglu("campaign", "stop", "--params", str(params_file), "--expire", "--json")
    assert cleanup.returncode == 0 and json.loads(cleanup.stdout)["finished"], cleanup.stdout + cleanup.stderr


def _has_hits(campaign: str) -> bool:
    from iglu_lib.config import load_profile

    try:
        return any(g.hit_id for g in GameRecords.open(load_profile("local"), campaign).all())
    except Exception:  # noqa: BLE001 - the loop may not have made its table yet
        return False


def test_stop_expire_without_services_says_what_to_do_in_one_line(rehearsal, unique_name, tmp_path):
    name = unique_name("nostack")
    params_file = rehearsal.params_file(name)
    env = {**os.environ, "IGLU_STACK_DIR": str(tmp_path / "no-stack")}
    result = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "campaign", "stop", "--params", str(params_file),
                             "--expire"], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "iglu stack up" in result.stderr, result.stderr
    assert stop_requested(name), "the request is written first, so a running loop stops anyway"


def test_the_time_a_held_hit_is_free_never_comes_from_the_requested_past_moment():
    """MTurk may report the past moment `expire` asked for; the bound is then now + duration."""
    from iglu_lib.collection.winddown import _free_by
    from iglu_lib.mturk.manager import Hit

    created = datetime(2026, 1, 1, tzinfo=timezone.utc)
    asked = Hit.from_service({"HITId": "H1", "Expiration": datetime(2015, 1, 1, tzinfo=timezone.utc),
                              "CreationTime": created, "AssignmentDurationInSeconds": 3600})
    assert datetime.fromisoformat(_free_by(asked, 0)) >= datetime.now(timezone.utc) + timedelta(seconds=3590)
    honest = Hit.from_service({"HITId": "H2", "Expiration": created + timedelta(days=1), "CreationTime": created})
    assert _free_by(honest, 60) == "2026-01-02T00:01:00+00:00", "the profile's duration when the HIT lacks one"
