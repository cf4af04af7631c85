"""A campaign never creates a HIT its budget could not pay, and SIGTERM stops it cleanly."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from iglu_lib.collection.campaign import Campaign
from iglu_lib.storage import GameRecords


def test_no_hit_is_created_that_could_exceed_the_budget(rehearsal, unique_name):
    # reward 0.50 + 20 % fee = 0.60 a HIT: a budget of 2.00 pays for 3 HITs, not 4
    campaign = Campaign.open(rehearsal.params(unique_name("budget"), target_approved_hits=10, budget="2.00"))
    campaign.start()
    report = campaign.turn()
    assert report.created == 3
    assert len(campaign.scheduler.open_slots()) == 3
    assert campaign.turn().created == 0, "open HITs count against the budget until they are settled"


def test_sigterm_finishes_the_step_and_stops_cleanly(rehearsal, local_profile, unique_name):
    name = unique_name("term")
    params_file = rehearsal.params_file(name, target_approved_hits=3, poll_interval_seconds=0.2)
    process = subprocess.Popen([sys.executable, "-m", "iglu_lib.cli", "collect", "--params", str(params_file),
                                "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    records = GameRecords.open(local_profile, name)
    deadline = time.monotonic() + 120
    while not records.all() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)  # wait until the loop has created its HITs (nobody works on them)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err[-2000:]
    summary = json.loads(out)
    stored = records.all()
    assert summary["done"] is False and summary["open_hits"] == len({g.slot_id for g in stored}) >= 1
    assert {g.status.value for g in stored} == {"hit_created"}, "the step in progress finished: no slot left planned"
