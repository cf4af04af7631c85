"""A campaign on Prolific, on the local stack: the loop plans slots, the study page of
`iglu crowd serve` hands them to sessions of the Prolific emulator's simulated participants,
and the loop judges, pays, rejects and blocks through the provider and the ledger.

What must hold as on MTurk: the target is reached, the collected ranking is the true one,
nothing is paid twice and there is one study per campaign (also after SIGKILL and a restart),
a returned or timed-out session gives its slot back, hostile participants are rejected with a
Prolific category."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter

import pytest

from iglu_lib.collection.campaign import Campaign
from iglu_lib.crowd.server import TaskServer
from iglu_lib.crowd.study_pages import study_pages
from iglu_lib.local.prolific_crowd import ProlificControl, prolific_rehearsal_crowd
from iglu_lib.prolific.provider import ProlificProvider
from iglu_lib.storage import GameRecords, RecordStatus

HONEST_AND_HOSTILE = {"forges_agent": 0.05, "malformed_code": 0.05, "lazy": 0.05, "returns": 0.05,
                      "times_out": 0.05, "skips_page": 0.05}


@pytest.fixture
def study_server(local_profile):
    server = TaskServer(None, None, study_pages=study_pages(local_profile)).start()
    yield server
    server.stop()


@pytest.fixture
def prolific_crowd(rehearsal, local_profile):
    crowds = []

    def start(campaign: str, size: int, mix: dict, seed: int = 0):
        crowd = prolific_rehearsal_crowd(local_profile.backend.prolific_base_url(),
                                         local_profile.backend.rehearsal().platform(), str(rehearsal.platform_dir),
                                         size=size, mix=mix, studies=[f"{campaign}:study"], seed=seed)
        crowds.append(crowd)
        return crowd

    yield start
    for crowd in crowds:
        crowd.stop()


def prolific_params(rehearsal, name: str, server: TaskServer, **overrides):
    return rehearsal.params(name, provider="prolific", study_url=server.url, **overrides)


def collected_order(records) -> list[str]:
    """Agents by the share of their valid games chosen best (the simplest reading of the ranking)."""
    shown, won = Counter(), Counter()
    for game in records:
        if game.status is RecordStatus.APPROVED and game.is_hit_qualified:
            shown[game.agent_name] += 1
            won[game.agent_name] += bool(game.annotation.get("was_chosen_best"))
    return sorted(shown, key=lambda agent: won[agent] / shown[agent], reverse=True)


def true_order(rehearsal) -> list[str]:
    skills = json.loads((rehearsal.platform_dir / "true_skills.json").read_text())
    return sorted(skills, key=skills.__getitem__, reverse=True)


def studies_of(local_profile, name: str) -> list:
    return [w for w in ProlificProvider.open(local_profile).reconcile(f"{name}:")]


def test_prolific_campaign_reaches_its_target_in_the_true_order(
        rehearsal, local_profile, unique_name, study_server, prolific_crowd):
    name = unique_name("prol")
    campaign = Campaign.open(prolific_params(rehearsal, name, study_server, target_approved_hits=18))
    crowd = prolific_crowd(name, size=60, mix=HONEST_AND_HOSTILE)
    summary = campaign.run(progress=False)
    assert summary["done"] and summary["good_hits"] == 18, summary
    records = GameRecords.open(local_profile, name).all()
    assert collected_order(records) == true_order(rehearsal)
    assert len(studies_of(local_profile, name)) == 1
    behaviours = Counter(t["behaviour"] for t in crowd.taken)
    assert behaviours["returns"] and behaviours["times_out"], crowd.taken
    provider = ProlificProvider.open(local_profile)
    study = campaign.manager.study()
    sessions = {s.id: s for s in provider.submissions(study.id)}
    hostile = []
    for taken in crowd.taken:
        if taken["behaviour"] in ("returns", "times_out"):
            assert sessions[taken["session"]].given_back
            assert campaign.manager.store.given_back(taken["session"]), "its slot came back"
        if taken["behaviour"] in ("forges_agent", "malformed_code", "skips_page") and \
                taken["outcome"] != "returned (503)":
            assert sessions[taken["session"]].state == "rejected", taken
            hostile.append(taken["behaviour"])
    assert "skips_page" in hostile and {"forges_agent", "malformed_code"} & set(hostile), crowd.taken
    assert all(s.state in ("approved", "rejected", "returned") for s in sessions.values()), "every session settled"
    assert not crowd.errors, crowd.errors
