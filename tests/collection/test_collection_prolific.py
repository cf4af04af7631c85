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
import random
import secrets
import subprocess
import sys
import time
from collections import Counter

import pytest
import requests

from iglu_lib.collection.campaign import Campaign
from iglu_lib.crowd.server import TaskServer
from iglu_lib.crowd.study_pages import study_pages
from iglu_lib.errors import IgluError
from iglu_lib.local.prolific_crowd import ProlificControl, prolific_rehearsal_crowd
from iglu_lib.local.workers import join_codes_of
from iglu_lib.prolific.provider import ProlificProvider, Study
from iglu_lib.storage import GameRecords, RecordStatus

HONEST_AND_HOSTILE = {"forges_agent": 0.08, "malformed_code": 0.05, "lazy": 0.05, "returns": 0.05,
                      "times_out": 0.05, "skips_page": 0.1}


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


def run_at_most(campaign: Campaign, seconds: float = 240) -> dict:
    """`campaign.run()`, stopped (not done) after `seconds`, so a stuck loop fails, not hangs."""
    deadline = time.monotonic() + seconds

    def watchdog(running: Campaign, report) -> None:
        if time.monotonic() > deadline:
            running.stop()

    return campaign.run(progress=False, on_turn=watchdog)


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
    campaign = Campaign.open(prolific_params(rehearsal, name, study_server, target_approved_hits=45,
                                             block_after_disqualified_games=2, messages={"send": True}))
    crowd = prolific_crowd(name, size=170, mix=HONEST_AND_HOSTILE)
    summary = run_at_most(campaign)
    assert summary["done"] and summary["good_hits"] == 45, (summary, campaign.manager.service_status(), crowd.errors,
                                                            Counter(t["outcome"] for t in crowd.taken))
    records = GameRecords.open(local_profile, name).all()
    collected, truth = collected_order(records), true_order(rehearsal)
    # the clear leader leads; the middle pair (0.5 vs 0.2 in skill, some 15 judgements) may swap
    # by chance in a campaign this short (the MTurk demo checks the full order over 60 HITs)
    assert collected[0] == truth[0], (collected, truth)
    assert len(studies_of(local_profile, name)) == 1
    # which behaviours reach a session is the crowd's chance; each one that did is checked below
    # (returns, time-outs and strangers have tests of their own that always make them happen)
    crowd.stop()
    campaign.manager.look_again()  # what the crowd did after the loop's last listing
    campaign.settle_closed()
    provider = ProlificProvider.open(local_profile)
    study = campaign.manager.study()
    sessions = {s.id: s for s in provider.submissions(study.id)}
    released = campaign.manager.store.given_back_slots(name)
    assert all(sessions[session].given_back for session in released)
    for taken in crowd.taken:
        if taken["behaviour"] in ("returns", "times_out"):
            assert sessions[taken["session"]].given_back
        if taken["behaviour"] in ("forges_agent", "malformed_code", "skips_page") and \
                taken["outcome"] != "returned (503)":
            assert sessions[taken["session"]].state == "rejected", taken
    blocked = set(provider.group_members("iglu-blocked")) | set(provider.group_members(f"iglu-blocked-{name}"))
    told = ProlificControl(local_profile.backend.prolific_base_url())
    for taken in crowd.taken:
        if taken["behaviour"] in ("forges_agent", "malformed_code") and taken["outcome"] == "submitted":
            assert taken["participant"] in blocked, "a fraud blocks the participant through a participant group"
            assert told._call("GET", f"/_local/messages?participant_id={taken['participant']}")["results"], \
                "the participant was told why, through Prolific's messages"
    assert all(s.state in ("approved", "rejected", "returned") for s in sessions.values()), "every session settled"
    assert not crowd.errors, crowd.errors


def participant() -> str:
    return secrets.token_hex(12)


@pytest.fixture
def control(local_profile) -> ProlificControl:
    """The emulator's control API: participants start, return, time out and complete sessions."""
    return ProlificControl(local_profile.backend.prolific_base_url())


def running_study(rehearsal, name: str, server: TaskServer, **overrides) -> tuple[Campaign, Study]:
    """A Prolific campaign after its first turn, and the study that turn published."""
    campaign = Campaign.open(prolific_params(rehearsal, name, server, **overrides))
    campaign.turn()
    study = campaign.manager.study()
    assert study is not None, "the first turn publishes the study"
    return campaign, study


def codes_on(url: str) -> list[str]:
    """The join codes the study page shows a session's browser at `url`."""
    return join_codes_of(requests.get(url, timeout=30).text)


def test_a_returned_or_timed_out_session_gives_its_slot_to_the_next_participant(
        rehearsal, unique_name, study_server, control):
    name = unique_name("back")
    campaign, study = running_study(rehearsal, name, study_server, target_approved_hits=1)
    assert study.places == 1 and study.status == "ACTIVE"
    first = control.start(study.id, participant())
    shown = codes_on(first["url"])
    assert len(shown) == 2
    assert codes_on(first["url"]) == shown, "a reload shows the same slot"
    control.give_back(first["submission_id"])
    again = requests.get(first["url"], timeout=30)
    assert again.status_code == 409 and not join_codes_of(again.text), "a returned session sees no codes"
    requests_made = campaign.manager.provider.client.counts
    second = control.start(study.id, participant())  # the returned session's place is free again
    assert requests.get(second["url"], timeout=30).status_code == 503, "its slot is not seen given back yet"
    listings = requests_made["GET submissions/"]
    campaign.turn()
    assert requests_made["GET submissions/"] == listings + 1, "a session waiting for a slot makes the loop look"
    assert codes_on(second["url"]) == shown, "the slot came back"
    control.time_out(second["submission_id"])
    third = control.start(study.id, participant())
    assert requests.get(third["url"], timeout=30).status_code == 503
    campaign.turn()
    assert codes_on(third["url"]) == shown, "and again after a time-out"
    assert set(campaign.manager.store.given_back_slots(name)) == {first["submission_id"], second["submission_id"]}
    assert campaign.manager.study().places == 1, "no place was added for a slot given back"


def test_a_quiet_turn_asks_prolific_nothing_and_a_watch_comes_every_few_turns(
        rehearsal, unique_name, study_server, control):
    """The loop lists the study's submissions when there is something to learn, not every turn:
    a turn with nothing new on our page makes no request; every `watch_every_turns` turns one
    listing finds what leaves no trace on our page (a return nobody waits behind)."""
    name = unique_name("quiet")
    campaign, study = running_study(rehearsal, name, study_server, target_approved_hits=2)
    manager = campaign.manager
    first = control.start(study.id, participant())
    assert codes_on(first["url"])
    control.give_back(first["submission_id"])
    made = manager.provider.client.counts
    before, listings, turns = sum(made.values()), made["GET submissions/"], 0
    while not manager.store.given_back_slots(name):
        campaign.turn()
        turns += 1
        assert turns <= manager.watch_every_turns, "a return is seen within watch_every_turns turns"
    # one listing, and one read of the study: open slots wait with nobody at work (is it full?)
    assert sum(made.values()) - before <= 2 and made["GET submissions/"] == listings + 1, dict(made)
    quiet = sum(made.values())
    campaign.turn()
    assert sum(made.values()) == quiet, "a quiet turn makes no request"


def test_answers_on_our_page_make_the_next_turn_look_once_and_settle_the_session(
        rehearsal, local_profile, unique_name, study_server, control):
    name = unique_name("look")
    campaign, study = running_study(rehearsal, name, study_server, target_approved_hits=1)
    started = control.start(study.id, participant())
    assert codes_on(started["url"])
    session = started["submission_id"]
    sent = requests.post(f"{study_server.url}/study/mturk/externalSubmit", allow_redirects=False, timeout=30,
                         data={"assignmentId": session, "taskAnswers": json.dumps([{"nothing": "useful"}])})
    assert sent.status_code == 302
    control.complete(session, sent.headers["Location"].split("cc=")[1])
    made = campaign.manager.provider.client.counts
    listings = made["GET submissions/"]
    campaign.turn()
    assert made["GET submissions/"] == listings + 1, "one listing sees the answered session completed"
    assert ProlificProvider.open(local_profile).submission(session).state == "rejected", "and it is judged"


def test_a_restarted_loop_lists_at_once_and_frees_a_slot_given_back_while_it_was_down(
        rehearsal, local_profile, unique_name, study_server, control):
    name = unique_name("down")
    params = prolific_params(rehearsal, name, study_server, target_approved_hits=1)
    Campaign.open(params).turn()
    study = studies_of(local_profile, name)[0]
    started = control.start(study.work_id, participant())
    assert codes_on(started["url"])
    control.give_back(started["submission_id"])  # while no loop runs
    restarted = Campaign.open(params)
    restarted.turn()
    assert started["submission_id"] in restarted.manager.store.given_back_slots(name)


def test_a_session_of_another_study_or_participant_sees_no_codes(rehearsal, unique_name, study_server, control):
    name = unique_name("stranger")
    _, study = running_study(rehearsal, name, study_server, target_approved_hits=1)
    started = control.start(study.id, participant())
    forged = started["url"].replace(f"workerId={started['url'].split('workerId=')[1].split('&')[0]}",
                                    f"workerId={participant()}")
    refused = requests.get(forged, timeout=30)
    assert refused.status_code == 403 and not join_codes_of(refused.text)
    other = started["url"].replace(f"campaign={name}", "campaign=someoneelse")
    assert requests.get(other, timeout=30).status_code == 403
    assert codes_on(started["url"])


def test_sigkill_of_iglu_collect_on_prolific_pays_nothing_twice_and_keeps_one_study(
        rehearsal, local_profile, unique_name, study_server, prolific_crowd):
    name = unique_name("pkill")
    bonus = {"amount": "0.10", "min_architect_turns": 1, "reason": "Thank you for the detailed instructions."}
    params_file = rehearsal.params_file(name, provider="prolific", study_url=study_server.url,
                                        target_approved_hits=8, bonus=bonus)
    command = [sys.executable, "-m", "iglu_lib.cli", "collect", "--params", str(params_file), "--json"]
    records = GameRecords.open(local_profile, name)
    crowd = prolific_crowd(name, size=40, mix={"lazy": 0.1, "forges_agent": 0.05})
    kills = 0
    rng = random.Random(3)
    while kills < 3:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())
        if progress_then_kill(process, records, rng):
            kills += 1
        else:
            break
    try:
        final = subprocess.run(command, capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired as late:
        from iglu_lib.collection.campaign import open_study_campaign
        from iglu_lib.collection.params import CampaignParams

        state = open_study_campaign(CampaignParams.from_file(params_file), local_profile).service_status()
        outcomes = Counter(t["outcome"] for t in crowd.taken), [t.get("page") for t in crowd.taken][:3]
        raise AssertionError(f"not done: {state} {outcomes} {crowd.errors} {str(late.stderr)[-1500:]}") from None
    assert final.returncode == 0, final.stderr[-2000:]
    summary = json.loads(final.stdout)
    assert summary["done"] and summary["good_hits"] == 8, summary
    assert kills >= 1
    assert len(studies_of(local_profile, name)) == 1, "a restart finds its study again"
    crowd.stop()
    study_id = studies_of(local_profile, name)[0].work_id
    paid = ProlificControl(local_profile.backend.prolific_base_url()).bonus_payments(study_id)
    setups = Counter(p.get("bulk_id") or p.get("id") for p in paid)
    assert paid and max(setups.values()) == 1, f"a bonus set-up paid twice: {paid}"
    approved = [g for g in records.all() if g.status is RecordStatus.APPROVED]
    assert all(g.bonus.get("paid") for g in approved if g.bonus), "every bonus earned was paid"
    per_game = Counter(p.get("participant_id") or p.get("submission_id") for p in paid)
    earned = Counter(g.assignment_id for g in approved if g.bonus)
    assert sum(per_game.values()) == sum(earned.values()), (paid, earned)


def progress_then_kill(process: subprocess.Popen, records: GameRecords, rng: random.Random) -> bool:
    """Wait until the records change (the loop is working), then SIGKILL it a moment later."""
    seen = fingerprint(records)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if fingerprint(records) != seen:
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


def fingerprint(records: GameRecords) -> tuple:
    return tuple(sorted((g.row_key, g.status.value) for g in records.all()))


def test_campaign_status_and_stop_expire_on_prolific(rehearsal, local_profile, unique_name, study_server, control):
    name = unique_name("pstop")
    params_file = rehearsal.params_file(name, provider="prolific", study_url=study_server.url, target_approved_hits=3)
    campaign, study = running_study(rehearsal, name, study_server, target_approved_hits=3)
    working = control.start(study.id, participant())
    assert codes_on(working["url"])

    def cli(*args: str) -> dict:
        result = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "campaign", *args, "--params", str(params_file),
                                 "--json"], capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        return json.loads(result.stdout)

    status = cli("status")["study_on_service"]
    assert status["study"] == study.id and status["status"] == "ACTIVE" and status["places"] == 3
    assert status["sessions"] == {"working": 1} and status["slots"] == {"open": 2, "claimed": 1}
    stopped = cli("stop", "--expire")
    assert not stopped["finished"] and len(stopped["busy_instances"]) == 2, "the session at work holds its slot"
    expired = {g.slot_id for g in GameRecords.open(local_profile, name).all() if g.status is RecordStatus.EXPIRED}
    assert len(expired) == 2, "the slots nobody claimed expired, their instances free"
    assert ProlificProvider.open(local_profile).study(study.id).status in ("AWAITING REVIEW", "COMPLETED")
    assert not [s for s in control.studies(participant()) if s["id"] == study.id], "nobody can start it any more"
    assert len(studies_of(local_profile, name)) == 1
    assert cli("status")["study_on_service"]["slots"] == {"closed": 2, "claimed": 1}


@pytest.mark.parametrize(("reasons", "category"), [
    (("empty_code",), "NO_CODE"), (("code_reused", "too_few_turns"), "BAD_CODE"), (("game_data_missing",), "NO_DATA"),
    (("too_few_turns",), "LOW_EFFORT"), (("not_english",), "FAILED_INSTRUCTIONS"), ((), "FAILED_INSTRUCTIONS"),
])
def test_our_reasons_map_to_prolific_rejection_categories(reasons, category):
    from iglu_lib.crowd.study_campaign import category_for, rejection_message
    from iglu_lib.prolific.provider import MIN_REJECTION_MESSAGE, REJECTION_CATEGORIES

    assert category_for(reasons) == category and category in REJECTION_CATEGORIES
    assert len(rejection_message("Too short.")) >= MIN_REJECTION_MESSAGE
    long = "x" * 150
    assert rejection_message(long) == long


def test_a_session_finding_no_open_slot_is_noted_waiting_until_it_claims_one(tmp_path):
    """The page's note that tells the loop a place is free without a slot (see `StudySlotStore.claim`)."""
    from iglu_lib.crowd.study_slots import StudySlotStore

    store = StudySlotStore(tmp_path / "slots.sqlite")
    assert store.claim("camp", "s1", "p1") is None
    assert store.waiting("camp") == {"s1"} and store.waiting("other") == set()
    store.put("camp", "token-1", "pairwise", {})
    claimed = store.claim("camp", "s1", "p1")
    assert claimed is not None and claimed.session_id == "s1"
    assert store.waiting("camp") == set()


# -- preflight ----------------------------------------------------------------------------------
def test_preflight_of_a_prolific_campaign_checks_the_study_not_mturk(rehearsal, local_profile, unique_name,
                                                                    study_server):
    from iglu_lib.collection.preflight import preflight

    report = preflight(prolific_params(rehearsal, unique_name("pp"), study_server), profile=local_profile)
    assert report.passed, "\n".join(report.lines())
    names = [check.name for check in report.checks]
    assert names == ["parameters", "profile", "Prolific token", "Prolific workspace", "Prolific project",
                     "Prolific balance", "Prolific reward", "Prolific budget", "study page",
                     "join codes and agent instances", "storage"]
    checks = {check.name: check.message for check in report.checks}
    assert local_profile.backend.prolific_base_url() in checks["profile"]
    assert "covers the budget" in checks["Prolific budget"] and study_server.url in checks["study page"]


def test_preflight_names_a_reward_below_the_hourly_minimum_a_budget_above_the_balance_and_no_https(
        rehearsal, local_profile, unique_name, study_server):
    from iglu_lib.collection.preflight import preflight

    slow = preflight(prolific_params(rehearsal, unique_name("pp"), study_server, study_minutes=600),
                     profile=local_profile)
    assert [c.name for c in slow.failures] == ["Prolific reward"], "\n".join(slow.lines())
    assert "an hour" in slow.failures[0].message
    rich = preflight(prolific_params(rehearsal, unique_name("pp"), study_server, budget="900000.00"),
                     profile=local_profile)
    assert [c.name for c in rich.failures] == ["Prolific budget"]
    assert "below the budget $900000.00" in rich.failures[0].message
    plain = rehearsal.params(unique_name("pp"), provider="prolific", study_url="http://tasks.example.org")
    report = preflight(plain, profile=local_profile)
    assert [c.name for c in report.failures] == ["study page"] and "HTTPS" in report.failures[0].message


def test_notebook_04s_allow_spending_lets_a_frugal_profile_approve_on_prolific(rehearsal, frugal_profile, unique_name,
                                                                                study_server):
    """A profile with `spend_money: false` approves a session only when the person allows it for
    this review (notebook 04's `allow_spending`), as on MTurk."""

    from iglu_lib.collection.params import CampaignParams
    from iglu_lib.collection.work_review import open_manager
    from iglu_lib.prolific.client import ProlificError
    from iglu_lib.prolific.provider import SpendingRefused

    frugal = frugal_profile
    params_file = rehearsal.params_file(unique_name("as"), provider="prolific", study_url=study_server.url)
    params = CampaignParams.from_file(params_file)

    def review(allow_spending: bool):
        return open_manager(frugal, hit_type=params.hit_type, campaign=params.campaign,
                            campaign_params=params_file, allow_spending=allow_spending)

    with pytest.raises(SpendingRefused, match="spend_money: false"):
        review(False).approve("0" * 24, "")
    with pytest.raises(ProlificError) as passed_the_gate:  # the emulator knows no such submission
        review(True).approve("0" * 24, "")
    assert not isinstance(passed_the_gate.value, SpendingRefused)
    with pytest.raises(IgluError, match="holds no answered slot .*: check the session id \\(notebook 04 lists"):
        review(True).get_assignment("0" * 24)


def test_a_slot_of_the_study_whose_records_were_lost_is_adopted_from_its_join_codes(rehearsal, unique_name,
                                                                                      study_server):
    """A slot in the study's slot file that the records do not hold (made by a run whose rows were
    lost) is matched to its task and instances by the join codes its page would show, as an
    MTurk HIT is: adopted, not expired."""
    from iglu_lib.scheduling import Outcome
    from iglu_lib.storage.record import request_token

    params = prolific_params(rehearsal, unique_name("adopt"), study_server, target_approved_hits=2,
                             reconcile_every_turns=2)
    loop = Campaign.open(params)
    loop.turn()
    busy = set(loop.scheduler.busy_instances())
    free: dict[str, str] = {}
    for instance_id, agent in loop.scheduler.inventory.agent_of_instance().items():
        if instance_id not in busy and agent not in free.values() and len(free) < 2:
            free[instance_id] = agent
    task = next(iter(loop.scheduler.inventory.tasks.values()))
    made = loop.manager.create_hit({"task_name": task.name, "task_join_code": task.task_join_code,
                                    "agent_instance_ids": list(free)},
                                   unique_request_token=request_token(params.campaign, "00000007"))
    loop.turn()  # a reconcile turn: the sweep adopts it
    assert made.hit_id in loop.adoption.adopted, loop.adoption.expired
    games = loop.records.slot_games("00000007")
    assert [g.agent_minecraft_id for g in games] == list(free) and {g.hit_id for g in games} == {made.hit_id}
    assert loop.scheduler.outcome("00000007") is Outcome.OPEN
    assert set(free) <= set(loop.scheduler.busy_instances()), "its instances are held by its slot"
