"""`make demo` end to end: encode, simulated platform, join codes, a 60-HIT pairwise campaign
with a misbehaving crowd, game data, analysis; the report names the campaign, the ranking and
the truth, and `iglu campaign status` afterwards shows every cell within one game of another.
The same agents are then compared on Prolific (the stack's emulator, participants on the study
page of `iglu crowd serve`): that campaign too ends with the ranking equal to the truth."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from iglu_lib import paths


def _iglu(*args: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "iglu_lib.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.mark.slow
def test_demo_runs_every_stage_and_reports():
    demo = paths.outputs_dir() / "demo"
    result = _iglu("demo", "--keep-stack", timeout=1200)
    env = {**os.environ, "IGLU_STACK_DIR": str(demo / "stack")}
    try:
        assert result.returncode == 0, result.stderr[-3000:]
        assert "campaign demo-pairwise: 60/60 good HITs" in result.stdout
        assert "agents ranked by the collected preferences:" in result.stdout
        assert "true order of the simulated agents:" in result.stdout
        status = _iglu("campaign", "status", "--campaign", "demo-pairwise", "--params",
                       "params/campaigns/demo-pairwise.yaml", "--json", env=env)
        assert status.returncode == 0, status.stderr
        report = json.loads(status.stdout)
        reversals = report["manual"]["reversals"]
        assert reversals == 1 and report["manual"]["pending"] == 0, report["manual"]
        assert report["good_hits"] == 60 + reversals and report["open_hits"] == 0, "a reversed HIT counts as good"
        assert len(report["cells"]) == 12 * 3 and report["cell_spread"] <= 1 + reversals
        assert report["games_by_reason"], "misbehaviour was caught"
        assert report["workers_at_cap"] >= 1 and report["capped_on_service"] >= 1, "the cap keeps workers out"
        assert "by hand: reverse of HIT" in result.stdout and "workers the cap keeps out" in result.stdout
        choices = report["choices"]  # what the workers chose in the good HITs: ties counted
        assert choices["ties"] > 0 and choices["ties"] == choices["tie_good"] + choices["tie_bad"]
        assert choices["decisive"] + choices["ties"] + choices["no_decision"] == 60 + reversals
        sent = report["messages_sent"]  # the requester's levers, as the records and status show them
        assert sent.get("warning", 0) and sent.get("rejection", 0) and sent.get("block", 0), sent
        assert float(report["bonuses_paid"]) > 0, "the bonus rule paid games with many instructions"
        assert report["sanctions_by_loop"].get("soft-block", 0) >= 1, report["sanctions_by_loop"]
        evidence = report["evidence"]  # how many workers the ranking rests on
        assert evidence["enough_workers"] and evidence["workers"] >= 5, evidence
        assert f"rests on {evidence['workers']} workers" in evidence["summary"]
        check_prolific_campaign_on_the_stack(env)
    finally:
        _iglu("stack", "down", env=env)
    summary = json.loads((demo / "campaign_summary.json").read_text())
    assert summary["blocked_workers"] >= 1
    assert "hostile submissions caught (games):" in result.stdout
    assert "choices in the good HITs:" in result.stdout
    from iglu_lib.demo import final_report

    report = final_report(demo)
    assert all(report["hostile_caught"].values()), report["hostile_caught"]
    assert report["collected_order"] == report["true_order"], "hostile workers do not change the ranking"
    assert report["analysis_counts"]["ties"] > 0, "the analysis counts the ties"
    assert summary["needs_review"] == 0 and summary["errors"] == []
    assert summary["status"]["cell_spread"] <= 1, "the loop kept every cell within one of the others"
    assert summary["status"]["workers_at_cap"] >= 1
    (reversal,) = report["manual_decisions"]
    assert reversal["outcome"] == "done" and reversal["status"] == "approved" and reversal["reason"]
    check_prolific_report(result.stdout, demo)
    for stage in ("00_stack", "01_encode_tasks", "01b_simulated_platform", "02_join_codes", "03_collect",
                  "04_review", "03_collect_prolific", "04_review_prolific", "05_game_data", "06_analysis"):
        assert (demo / "notebooks" / f"{stage}.ipynb").is_file()
    assert not (demo / "stack" / "state.json").exists()
    page = (demo / "report.html").read_text(encoding="utf-8")
    assert "data:image/png" in page and "from iglu_lib" not in page
    assert re.search(r'<p class="headline">\w+ leads', page) and "<th>Rank (95% range)</th>" in page
    assert not re.search(r"\bNaN\b|\d\.?\d*e[+-]\d\d", re.sub(r'(src|href)="data:[^"]*"', "", page))


def check_prolific_campaign_on_the_stack(env: dict) -> None:
    """The Prolific campaign as `iglu campaign status` shows it, and its ledger against the service:
    every slot settled, sessions given back and rejected, nothing paid twice."""
    from collections import Counter

    from iglu_lib.config import load_profile
    from iglu_lib.ledger.book import Kind, Ledger
    from iglu_lib.local.backend import LocalBackend
    from iglu_lib.local.prolific_crowd import ProlificControl

    status = _iglu("campaign", "status", "--params", "params/campaigns/demo-prolific.yaml", "--json", env=env)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    study = report["study_on_service"]
    assert study["name"] == "demo-prolific:study" and report["open_hits"] == 0, study
    assert set(study["slots"]) <= {"reviewing", "closed"}, "every slot a session answered was settled"
    sessions = study["sessions"]
    assert sessions.get("returned", 0) + sessions.get("timed-out", 0) >= 1, "returns and time-outs gave slots back"
    assert sessions["approved"] == report["paid_hits"], "every session the loop paid, and no other, approved"
    # rejected on the service: every session whose slot the loop rejected, and those that completed
    # without answers on our page (no records); a paid slot whose choice did not qualify counts as
    # outcome "rejected" too, so the outcomes are not the service's rejections
    assert sessions["rejected"] >= report["rejected_hits"] >= 1, (sessions, report["rejected_hits"])
    assert report["outcomes"]["rejected"] >= report["rejected_hits"]
    assert report["sanctions_by_loop"].get("hard-block", 0) >= 1, "hostile participants were blocked"

    profile = load_profile("local", env=env)
    assert isinstance(profile.backend, LocalBackend)
    ledger = Ledger.open(profile, "demo-prolific", manager=None).entries()
    rewards = Counter(e.assignment_id for e in ledger if e.kind in (Kind.REWARD, Kind.REVERSAL) and e.done)
    assert rewards and max(rewards.values()) == 1, "no session's reward booked twice"
    assert len(rewards) == sessions["approved"], "the ledger booked every approval the service made, once"
    bonuses = Counter((e.assignment_id, e.part) for e in ledger if e.kind is Kind.RULE_BONUS and e.done)
    assert bonuses and max(bonuses.values()) == 1, "no game's bonus booked twice"
    paid = ProlificControl(profile.backend.prolific_base_url()).bonus_payments(study["study"])
    on_service = Counter(p.get("submission_id") or p.get("participant_id") for p in paid)
    assert sum(on_service.values()) == len(bonuses), (on_service, bonuses)


def check_prolific_report(stdout: str, demo) -> None:
    """What the demo printed and wrote for its Prolific campaign: done, judged, hostile caught,
    and the agents in their true order."""
    from iglu_lib.demo import final_report

    assert "campaign demo-prolific: " in stdout and "(on prolific; ended: " in stdout
    report = final_report(demo, "prolific")
    campaign = report["campaign"]
    assert campaign["done"] and campaign["stopped_by"] in ("target", "ranking_confident"), campaign
    assert campaign["errors"] == [] and campaign["needs_review"] == 0 and campaign["open_hits"] == 0
    summary = json.loads((demo / "prolific" / "campaign_summary.json").read_text())
    outcomes = summary["status"]["outcomes"]
    assert outcomes["valid"] == campaign["good_hits"] and outcomes["rejected"] >= 1, outcomes
    caught = report["hostile_caught"]
    assert set(caught) == {"forged agent field", "malformed code"} and sum(caught.values()) >= 1, caught
    assert report["collected_order"] == report["true_order"], "the full order, hostile participants and all"
    assert f"agents ranked by the collected preferences: {' > '.join(report['true_order'])}" in stdout


def test_the_demo_plan_names_each_executed_notebook_once_and_runs_both_campaigns():
    from iglu_lib.demo import CAMPAIGNS, campaign_of, hostile_caught, read_stages
    from iglu_lib.notebooks import read_parameters

    stages = read_stages(paths.params_dir() / "demo.yaml")
    names = [stage.output_name for stage in stages]
    assert len(names) == len(set(names)), "a notebook run twice is saved under a name of its own"
    campaigns = {read_parameters(paths.project_root() / s.parameters)["campaign_params"]
                 for s in stages if s.notebook == "03_collect"}
    assert campaigns == {c.params for c in CAMPAIGNS}
    assert campaign_of("prolific").folder == "prolific"
    caught = hostile_caught({"game_agent_mismatch": 2, "code_reused": 1}, "prolific")
    assert caught == {"forged agent field": 2, "malformed code": 0}, "no reuse on Prolific: one study each"


def test_a_new_demo_forgets_the_study_slots_of_the_last(tmp_path):
    from iglu_lib.crowd.study_slots import StudySlotStore

    store = StudySlotStore(tmp_path / "slots.sqlite")
    store.put("demo-prolific", "t1", "pairwise", {})
    store.put("demo-prolific", "t2", "pairwise", {})
    store.put("other", "t3", "pairwise", {})
    assert store.forget("demo-prolific") == 2
    assert store.slots("demo-prolific") == [] and len(store.slots("other")) == 1
    assert store.put("demo-prolific", "t1", "pairwise", {}).state == "open", "the same token starts afresh"
