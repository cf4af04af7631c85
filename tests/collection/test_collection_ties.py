"""Ties on the local stack: the pairwise page shows "both equally good" and "both bad" as the
campaign's `offer_ties` switches them; a worker's tie (in headless Chromium, or submitted by hand)
is approved, lands in the records as a tie, and is counted by `iglu campaign status` and the
analysis; a tie the page did not offer is no decision, with a warning: the games are paid, and the
HIT counts toward the target only with `count_unusable_choices`. Every kind of unusable choice (left
out, two choices, an unoffered tie, an unknown value) is named in the records."""

from __future__ import annotations

import pytest

from iglu_lib.collection.status import campaign_status
from iglu_lib.local.mturk.control_client import LocalMTurkControl
from iglu_lib.pages.answers import code_field
from iglu_lib.storage import RecordStatus

TIES = ("#best-agent-both-good", "#best-agent-both-bad")


@pytest.fixture(scope="module")
def rehearsal(stack, tmp_path_factory):
    """The collection tests' rehearsal platform, with UUID role ids as the real platform has, so
    that the completion codes pass the page's own checks in the browser."""
    import json
    import uuid

    from iglu_lib.config import load_profile
    from iglu_lib.encoding import encode_task
    from iglu_lib.encoding.join_codes import build_join_codes
    from iglu_lib.local.rehearsal import prepare_simulated_platform
    from iglu_lib.tasks import load_sample
    from tests.collection.conftest import AGENTS, Rehearsal

    folder = tmp_path_factory.mktemp("ties-rehearsal")
    (folder / "tasks").mkdir()
    architect, builder = str(uuid.uuid4()), str(uuid.uuid4())
    for number, task in enumerate(load_sample()[:4]):
        encoded = encode_task(task, name=task.task_id, architect_role_id=architect, builder_role_id=builder)
        (folder / "tasks" / f"task{number}.json").write_text(encoded)
    # Its own tournament: the same task names with other role ids must not join the exports of
    # the other collection tests' rehearsal (the default tournament).
    files = prepare_simulated_platform(load_profile("local"), folder / "tasks", AGENTS, folder / "platform",
                                       tournament_id="ties-rehearsal")
    join_codes, _ = build_join_codes(json.loads(files["task_id_mapping"].read_text()),
                                     json.loads(files["join_commands"].read_text()))
    (folder / "join_codes.json").write_text(json.dumps(join_codes))
    return Rehearsal(folder, folder / "join_codes.json", files["agent_instances"], folder / "platform")


def _open_hit(campaign) -> str:
    return next(g.hit_id for g in campaign.records.all() if g.status is RecordStatus.HIT_CREATED)


def _tie_answers(attacker, joins, codes, kind):
    answers = attacker.pairwise(joins, codes)
    answers["best_agent"] = {"agent1_option": False, "agent2_option": False,
                             "both_good_option": kind == "both_good_option", "both_bad_option": kind == "both_bad_option"}
    return answers


@pytest.mark.browser
def test_a_worker_answers_both_equally_good_in_the_browser_and_the_tie_is_recorded(page, attack, stack):
    url = stack["mturk_endpoint_url"]
    attacker = attack()
    hit_id = _open_hit(attacker.campaign)
    worker = attacker.prefix + "BROWSER"
    LocalMTurkControl(url).set_worker(worker, approval_rate=99, approved_hits=1000)
    page.goto(f"{url}/worker/hits/{hit_id}?workerId={worker}")
    page.click("#accept-hit")
    page.wait_for_url("**/worker/assignments/**")
    frame = page.frame_locator("#hit-frame")
    assert all(frame.locator(tie).is_visible() for tie in TIES)
    assert frame.locator("#best-agent").inner_text().split() == [
        "Which", "assistant", "was", "better?", "Assistant", "1", "Assistant", "2", "Both", "equally", "good",
        "Both", "bad"]
    joins = [frame.locator(f"#join-code-{n}").inner_text() for n in (1, 2)]
    codes = [attacker.play(join, f"browser-tie-{n}") for n, join in enumerate(joins)]
    for position, code in enumerate(codes):
        frame.locator(f"[name={code_field(position, 2)}]").fill(code)
    frame.locator("#submit-button:enabled").wait_for()
    frame.locator("#agent1_performance").fill("built most of the tower")
    frame.locator("#agent2_performance").fill("built most of it too")
    frame.locator("#best-agent-both-good").check()
    frame.locator("#submit-button").click()
    frame.get_by_text("Your work was submitted").wait_for()

    games = attacker.settle(hit_id)
    assert {g.status for g in games} == {RecordStatus.APPROVED}
    assert [g.annotation["outcome"] for g in games] == ["tie_good", "tie_good"]
    assert [g.annotation["was_chosen_best"] for g in games] == [False, False]
    assert campaign_status(games)["choices"] == {"decisive": 0, "tie_good": 1, "tie_bad": 0, "no_decision": 0,
                                                 "ties": 1}


@pytest.mark.browser
def test_switched_off_ties_are_not_shown(page, attack, stack):
    url = stack["mturk_endpoint_url"]
    attacker = attack(offer_ties={"both_good": False, "both_bad": False})
    worker = attacker.prefix + "NOTIES"
    LocalMTurkControl(url).set_worker(worker, approval_rate=99, approved_hits=1000)
    page.goto(f"{url}/worker/hits/{_open_hit(attacker.campaign)}?workerId={worker}")
    page.click("#accept-hit")
    page.wait_for_url("**/worker/assignments/**")
    frame = page.frame_locator("#hit-frame")
    frame.locator("#best-agent-2").wait_for()
    assert [frame.locator(tie).count() for tie in TIES] == [0, 0]
    assert frame.locator("[name=best_agent]").count() == 2


def test_a_tie_hit_is_approved_and_counted_and_an_unoffered_tie_is_no_decision(attack, local_profile):
    from iglu_lib.analysis.loading import load_campaign
    from iglu_lib.analysis.preferences import compare

    attacker = attack(offer_ties={"both_good": False})
    hit_id, assignment_id, joins = attacker.take()
    assert "both_good_option" not in attacker.campaign.manager.client.get_hit(HITId=hit_id)["HIT"]["Question"]
    codes = [attacker.play(join, f"tie-{n}") for n, join in enumerate(joins)]
    attacker.submit(assignment_id, _tie_answers(attacker, joins, codes, "both_bad_option"))
    tie_games = attacker.settle(hit_id)
    assert {g.status for g in tie_games} == {RecordStatus.APPROVED} and {g.verdict for g in tie_games} == {"approve"}
    assert [g.annotation["outcome"] for g in tie_games] == ["tie_bad", "tie_bad"]

    hit_id, assignment_id, joins = attacker.take()
    codes = [attacker.play(join, f"unoffered-{n}") for n, join in enumerate(joins)]
    attacker.submit(assignment_id, _tie_answers(attacker, joins, codes, "both_good_option"))
    refused = attacker.settle(hit_id)
    assert {g.status for g in refused} == {RecordStatus.APPROVED}, "the games still count"
    assert {g.verdict for g in refused} == {"approve_with_warning"}, [(g.verdict, g.reasons) for g in refused]
    assert all("choice_unusable" in g.reasons for g in refused)
    assert refused[0].annotation["outcome"] == "no_decision"
    assert "did not offer" in refused[0].annotation["choice_problem"]

    attacker.settle(attacker.honest())  # an answer without tie fields reads as before
    records = attacker.campaign.records.all()
    status = campaign_status(records)
    assert status["choices"] == {"decisive": 1, "tie_good": 0, "tie_bad": 1, "no_decision": 0, "ties": 1}
    assert status["not_counted"] == {"choice_unusable": 1}, "paid, but not a good HIT"
    counts = compare(load_campaign(attacker.campaign.params.campaign)).counts()
    assert (counts["decisive"], counts["ties"], counts["ties_both_bad"], counts["no_decision"]) == (1, 1, 1, 1)


#: Unusable `best_agent` answers (None: the field left out) and what the record says of each.
UNUSABLE_CHOICES = {
    "missing": (None, "best_agent is missing"),
    "two choices": ({"agent1_option": True, "agent2_option": True}, "several options"),
    "unoffered tie": ({"agent1_option": False, "agent2_option": False, "both_good_option": True},
                      "a tie this HIT's page did not offer"),
    "unknown value": ({"agent1_option": False, "agent2_option": False, "agent9_option": True}, "an unknown option"),
}


def _unusable(attacker, best_agent):
    """A HIT played honestly whose `best_agent` answer is `best_agent` (None: left out), settled."""
    hit_id, assignment_id, joins = attacker.take()
    codes = [attacker.play(join, f"unusable-{attacker.count}-{n}") for n, join in enumerate(joins)]
    answers = attacker.pairwise(joins, codes)
    if best_agent is None:
        del answers["best_agent"]
    else:
        answers["best_agent"] = best_agent
    attacker.submit(assignment_id, answers)
    return attacker.settle(hit_id)


def test_every_unusable_choice_is_named_paid_and_not_counted_by_default(attack):
    from iglu_lib.collection.outcomes import slot_outcome
    from iglu_lib.scheduling import Outcome

    attacker = attack(offer_ties={"both_good": False})
    good_before = attacker.campaign.good_hits
    for kind, (best_agent, problem) in UNUSABLE_CHOICES.items():
        games = _unusable(attacker, best_agent)
        assert {g.status for g in games} == {RecordStatus.APPROVED}, f"{kind}: the work is paid"
        assert {g.verdict for g in games} == {"approve_with_warning"}, kind
        assert all("choice_unusable" in g.reasons for g in games), f"{kind}: {[g.reasons for g in games]}"
        assert all(problem in g.annotation["choice_problem"] for g in games), (kind, games[0].annotation)
        assert not any(g.is_hit_qualified for g in games), kind
        assert slot_outcome(games) is Outcome.REJECTED, f"{kind}: its slot runs again"
    assert attacker.campaign.good_hits == good_before, "no unusable choice counts toward the target"
    status = campaign_status(attacker.campaign.records.all())
    assert status["not_counted"] == {"choice_unusable": len(UNUSABLE_CHOICES)}
    assert status["outcomes"]["rejected"] == len(UNUSABLE_CHOICES), "not counted: their slots run again"
    assert status["rejected_hits"] == 0 and status["paid_hits"] == len(UNUSABLE_CHOICES), "yet paid, none rejected"


def test_unusable_choices_count_toward_the_target_when_the_campaign_says_so(attack):
    from iglu_lib.collection.outcomes import slot_outcome
    from iglu_lib.scheduling import Outcome

    attacker = attack(count_unusable_choices=True)
    good_before = attacker.campaign.good_hits
    games = _unusable(attacker, None)
    assert all("choice_unusable" in g.reasons for g in games), "still warned"
    assert all(g.is_hit_qualified for g in games) and slot_outcome(games) is Outcome.VALID
    assert attacker.campaign.good_hits == good_before + 1, "a good HIT toward the target"
