"""Notebook 03 runs a campaign headless with its simulated crowd and exports hashed records."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from iglu_lib.notebooks import run_notebook


def test_collect_notebook_runs_headless(rehearsal, unique_name, test_outputs, tmp_path):
    name = unique_name("nb")
    params_file = rehearsal.params_file(name, target_approved_hits=4)
    export_csv = tmp_path / "feedback.csv"
    summary_json = tmp_path / "summary.json"
    out = run_notebook("03_collect", "params/03_collect.yaml", output=test_outputs / "03_collect.ipynb",
                       progress=False, parameters={
                           "campaign_params": str(params_file),
                           "rehearsal_overrides": {"platform_dir": str(rehearsal.platform_dir), "size": 6},
                           "export_csv": str(export_csv), "summary_json": str(summary_json)})
    summary = json.loads(summary_json.read_text())
    assert summary["done"] and summary["good_hits"] == 4
    text = export_csv.read_text()
    assert text.startswith("HitId,GameMinecraftId,TaskMinecraftId,AgentName,Annotation,CompletionCode")
    assert "ASIM" not in text, "exports hold no raw worker id"
    assert "good 4/4" in out.read_text() or "good_hits" in out.read_text()


def free_loopback_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_collect_and_review_notebooks_run_a_prolific_campaign(rehearsal, local_profile, unique_name, test_outputs,
                                                              tmp_path):
    """Notebooks 03 and 04 headless on `provider: prolific`: the rehearsal serves the study page and
    its participants work the study; 04 lists the study's slots and, acting, pays a bonus through
    the ledger and refuses a reversal Prolific cannot make."""
    from iglu_lib.ledger.book import Kind, Ledger
    from iglu_lib.local.prolific_crowd import ProlificControl
    from iglu_lib.platform.privacy import pseudonym
    from iglu_lib.storage import GameRecords, RecordStatus

    name = unique_name("nbp")
    params_file = rehearsal.params_file(name, provider="prolific", target_approved_hits=4,
                                        study_url=f"http://127.0.0.1:{free_loopback_port()}")
    summary_json = tmp_path / "summary.json"
    collected = run_notebook("03_collect", "params/03_collect.yaml", output=test_outputs / "03_collect_prolific.ipynb",
                             progress=False, parameters={
                                 "campaign_params": str(params_file),
                                 "rehearsal_overrides": {"platform_dir": str(rehearsal.platform_dir), "prolific": {
                                     "size": 40, "mix": {"lazy": 0.6, "returns": 0.1, "skips_page": 0.05}}},
                                 "export_csv": str(tmp_path / "feedback.csv"), "summary_json": str(summary_json)})
    summary = json.loads(summary_json.read_text())
    assert summary["done"] and summary["good_hits"] == 4, summary
    assert summary["status"]["outcomes"]["valid"] == 4 and summary["status"]["cells"], "status from the records"
    assert "image/png" in collected.read_text(), "the live view and the reasons figure were drawn"
    service = summary["on_service"]  # the study as Prolific shows it, beside the records' status
    assert service["name"] == f"{name}:study" and service["sessions"]["approved"] == 4, service

    records = GameRecords.open(local_profile, name).all()
    salt = local_profile.backend.worker_id_salt()
    approved = next(g for g in records if g.status is RecordStatus.APPROVED)
    rejected = next(g for g in records if g.status is RecordStatus.REJECTED)  # a lazy participant's
    decisions = [{"worker": pseudonym(approved.worker_id, salt), "action": "bonus", "amount": "0.25",
                  "hit": approved.hit_id, "reason": "Thank you for the careful comparison of the two builders."},
                 {"worker": pseudonym(rejected.worker_id, salt), "action": "reverse", "hit": rejected.hit_id,
                  "reason": "The participant wrote that the builder stopped answering."}]
    out = tmp_path / "review"
    listed = run_notebook("04_review", "params/04_review.yaml", output=test_outputs / "04_review_prolific.ipynb",
                          progress=False, parameters={
                              "campaign": name, "campaign_params": str(params_file), "act": True,
                              "output_dir": str(out), "manual_decisions": decisions}).read_text()
    assert "reviewing" in listed and approved.worker_id not in listed, "the study's slots; participants by pseudonym"
    results = json.loads((out / "manual_decisions.json").read_text())
    assert results[0]["outcome"] == "done", results
    assert results[1]["outcome"].startswith("refused") and "never approves a rejected" in results[1]["outcome"]
    bonuses = [e for e in Ledger.open(local_profile, name, manager=None).entries() if e.kind is Kind.BONUS]
    assert [(e.assignment_id, e.amount, e.done) for e in bonuses] == [(approved.assignment_id, "0.25", True)]
    paid = ProlificControl(local_profile.backend.prolific_base_url()).bonus_payments(_study_id(local_profile, name))
    manual = [p for p in paid if p["submission_id"] == approved.assignment_id and p["amount"] == 25]
    assert len(manual) == 1, f"the person's bonus reached Prolific once: {paid}"

    def review_cli(*args: str) -> dict:
        done = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "campaign", "review", "--params",
                               str(params_file), *args, "--json"], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        assert approved.worker_id not in done.stdout, "participants by pseudonym"
        return dict(json.loads(done.stdout))

    workers = review_cli()["workers"]  # `iglu campaign review` reads the same study and ledger
    assert sum(w["counts"]["approved"] for w in workers) == 4, workers
    again = review_cli("--worker", decisions[0]["worker"], "--action", "bonus", "--amount", "0.25", "--hit",
                       approved.hit_id, "--reason", decisions[0]["reason"])
    assert again["paid_now"] is False, "the bonus notebook 04 paid is not paid again from the command line"
    paid = ProlificControl(local_profile.backend.prolific_base_url()).bonus_payments(_study_id(local_profile, name))
    assert len([p for p in paid if p["submission_id"] == approved.assignment_id and p["amount"] == 25]) == 1
    blocked = review_cli("--worker", decisions[1]["worker"], "--action", "hard-block", "--reason",
                         "Rehearsal: a participant a person chose to keep out of every study.")
    assert blocked["action"] == "hard-block" and not blocked.get("already"), blocked
    from iglu_lib.prolific.provider import BLOCKED_GROUP, ProlificProvider

    assert rejected.worker_id in ProlificProvider.open(local_profile).group_members(BLOCKED_GROUP)


def _study_id(profile, campaign: str) -> str:
    from iglu_lib.prolific.provider import ProlificProvider

    (study,) = [w for w in ProlificProvider.open(profile).reconcile(f"{campaign}:")]
    return study.work_id


def test_a_real_platform_has_no_rehearsal_crowd(tmp_path):
    import pytest

    from iglu_lib.backends import NoRehearsal
    from iglu_lib.config import load_profile

    sandbox = load_profile("sandbox", env={})
    with pytest.raises(NoRehearsal, match="profile 'sandbox' runs against real services.*set simulate_crowd: false"):
        sandbox.backend.rehearsal("set simulate_crowd: false").crowd_beside(tmp_path, size=2, mix={})


def test_a_real_profile_leaves_the_work_to_people():
    """On a real backend nothing is simulated: the campaign's crowd is the people on the service."""
    from iglu_lib.config import load_profile

    sandbox = load_profile("sandbox", env={})
    with sandbox.backend.campaign_crowd({"size": 3}) as crowd:
        assert crowd is None


def test_the_rehearsal_crowd_comes_from_the_local_profile(local_profile):
    """The simulated crowd's settings are the local profile's `rehearsal` section, read typed."""
    from iglu_lib.local.rehearsal_settings import crowd_rehearsal

    settings = local_profile.backend.settings
    crowd = crowd_rehearsal(settings.path, settings.document)
    assert crowd.crowd and crowd.size == 20 and crowd.tie_margin == 0.6
    assert crowd.mix["forges_agent"] == 0.04
    assert crowd_rehearsal(settings.path, settings.document, {"size": 6}).size == 6
    assert crowd.prolific.size >= 100 and {"returns", "times_out", "skips_page"} <= set(crowd.prolific.mix), \
        "the Prolific participants are many (each takes a study once) and do what only happens on Prolific"


@pytest.mark.parametrize(("study_url", "says"), [
    (None, "its rehearsal needs study_url"),
    ("https://tasks.example.org", "a rehearsal serves the study page itself, on a loopback address"),
    ("taken", "is taken by another program"),
])
def test_a_prolific_rehearsal_needs_a_study_page_it_can_serve(local_profile, study_url, says):
    import socket
    from types import SimpleNamespace

    from iglu_lib.settings import ConfigError

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        if study_url == "taken":
            study_url = f"http://127.0.0.1:{busy.getsockname()[1]}"
        params = SimpleNamespace(campaign="c", provider="prolific", study_url=study_url)
        with pytest.raises(ConfigError, match=says):
            with local_profile.backend.campaign_crowd({}, params):
                pass


@pytest.mark.parametrize(("override", "says"), [
    ({"size": True}, "rehearsal.size"),
    ({"size": 0}, "rehearsal.size: Input should be greater than or equal to 1"),
    ({"mix": {"sleepy": 0.1}}, "unknown behaviour(s) sleepy"),
    ({"mix": {"lazy": 0.8, "abandons": 0.4}}, "together they are at most 1"),
    ({"crowd_size": 6}, "rehearsal.crowd_size: Extra inputs are not permitted"),
    ({"prolific": {"mix": {"sleepy": 0.1}}}, "rehearsal.prolific.mix: Value error, unknown behaviour(s) sleepy"),
    ({"mix": {"returns": 0.1}}, "unknown behaviour(s) returns"),  # only a Prolific participant returns a study
    ({"prolific": {"size": 0}}, "rehearsal.prolific.size"),
])
def test_a_bad_rehearsal_setting_is_one_sentence(local_profile, override, says):
    from iglu_lib.settings import ConfigError

    with pytest.raises(ConfigError) as caught:
        with local_profile.backend.campaign_crowd(override):
            pass
    message = str(caught.value)
    assert "local.yaml" in message and says in message and "\n" not in message


def test_reasons_figure_draws_every_reason():
    from iglu_lib.collection.live import reasons_figure

    figure = reasons_figure({"games_by_reason": {"too_few_turns": 3, "not_english": 1}})
    labels = [tick.get_text() for tick in figure.axes[0].get_yticklabels()]
    assert labels == ["not_english", "too_few_turns"]
    assert "No game" in reasons_figure({"games_by_reason": {}}).axes[0].get_title()
