"""Issue 20, item 2: HITs adopted, never duplicated.

On the local stack: a loop that dies between CreateHIT and the records' write and restarts
after the MTurk server's clock moved past 24 hours (when the service no longer recognises the
request token) adopts the HIT it made instead of making a second one for the slot, and judges
the work submitted to it; the table service killed mid-campaign and rows lost, every campaign
HIT on the service ends in the records (adopted, its submitted work judged) and the loop's
counts agree with the records; a stalled loop says why, once."""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from iglu_lib.collection.adoption import ADOPTED, Journal, slot_from_page, slot_of_token
from iglu_lib.collection.campaign import Campaign
from iglu_lib.collection.live import Timeline, attention
from iglu_lib.collection.stall import StallWatch
from iglu_lib.local.mturk.control_client import LocalMTurkControl
from iglu_lib.local.mturk.process import running_server
from iglu_lib.local.workers import GAME_TIME_SCALE, join_codes_of
from iglu_lib.mturk import HitManager, MTurkError
from iglu_lib.scheduling import Inventory
from iglu_lib.storage import RecordStatus
from iglu_lib.storage.record import request_token

#: Past MTurk's 24 hours of remembering a `UniqueRequestToken` (the local server forgets too).
A_DAY_AND_AN_HOUR = 25 * 3600
SETTLED = (RecordStatus.APPROVED, RecordStatus.REJECTED)


class Died(BaseException):
    """The process died here (not an `Exception`: the loop's fault handling must not see it)."""


def _private_manager(profile, url: str, params) -> HitManager:
    """A manager of a private local MTurk server whose HITs outlive a day (so the first HIT is
    still Assignable when the clock has moved 25 hours: the case of two open HITs per slot)."""
    import boto3

    def connect():
        return boto3.client("mturk", endpoint_url=url, region_name="us-east-1",
                            aws_access_key_id="local", aws_secret_access_key="local")

    return HitManager(replace(profile.hit, lifetime_seconds=3 * 86400), connect, profile_name="local",
                      spend_money=True, requires_https=False, hit_type=params.hit_type, campaign=params.campaign)


def _one_hit_per_slot(campaign: Campaign) -> dict[str, str]:
    """Every HIT of the campaign on the service belongs to one slot and no slot has two;
    returns slot id -> HIT id."""
    hits = list(campaign.manager.hits())
    tokens = Counter(hit.annotation.token for hit in hits)
    assert all(n == 1 for n in tokens.values()), f"a slot has two HITs on the service: {tokens}"
    recorded = {g.hit_id: g.slot_id for g in campaign.records.all() if g.hit_id}
    assert {hit.hit_id for hit in hits} <= set(recorded), "every HIT on the service is in the records"
    return {recorded[hit.hit_id]: hit.hit_id for hit in hits}


@pytest.mark.parametrize("found_by", ["restart_sweep", "create_again"])
def test_a_hit_made_before_a_crash_is_adopted_a_day_later_and_its_work_judged(
        found_by, rehearsal, local_profile, unique_name, tmp_path, monkeypatch):
    """`restart_sweep`: the loop dies right after CreateHIT, before the records' write, and a
    new loop starts a day later. `create_again`: CreateHIT answers with an error although the
    service made the HIT, and the same loop creates the slot's HIT again a day later."""
    name = unique_name("adopt")
    params = rehearsal.params(name, target_approved_hits=1, reconcile_every_turns=0)
    with running_server(tmp_path / "mturk") as server:
        control = LocalMTurkControl(server.url)
        first = Campaign.open(params, manager=_private_manager(local_profile, server.url, params))
        real_create = first.manager.create_hit
        made: list[str] = []

        def create_then_fail(*args, **kwargs):
            hit = real_create(*args, **kwargs)
            made.append(hit.hit_id)
            if len(made) == 1:  # the first HIT is made on the service; its answer is lost
                if found_by == "restart_sweep":
                    raise Died("after CreateHIT")
                raise MTurkError("MTurk create_hit failed: connection reset")  # transient: retried next turn
            return hit

        monkeypatch.setattr(first.manager, "create_hit", create_then_fail)
        if found_by == "restart_sweep":
            with pytest.raises(Died):
                first.turn()
            assert [g.status for g in first.records.all()] == [RecordStatus.PLANNED] * 2
        else:
            report = first.turn()
            assert report.errors and first.planner.planned, "the slot waits to be created again"
        control.advance_clock(A_DAY_AND_AN_HOUR)
        assert control.now() - time.time() > 24 * 3600

        if found_by == "restart_sweep":
            loop = Campaign.open(params, manager=_private_manager(local_profile, server.url, params))
            monkeypatch.setattr(loop.manager, "create_hit", create_then_fail)
        else:
            loop = first
        loop.turn()
        slots = _one_hit_per_slot(loop)
        first_hit = made[0]
        assert made.count(first_hit) == 1 and first_hit in slots.values(), "the first HIT was adopted"
        assert first_hit in loop.adoption.adopted
        assert loop.manager.get_hit(first_hit).status == "Assignable"
        assert Journal.open(local_profile, name).entries()[first_hit]["action"] == ADOPTED

        _work_honestly(control, local_profile, first_hit, unique_name("AW").upper())
        for _ in range(5):
            loop.turn()
            games = loop.records.by_hit(first_hit)
            if {g.status for g in games} <= set(SETTLED):
                break
        assert {g.status for g in games} <= set(SETTLED) and {g.assignment_id for g in games} != {""}
        assert all(g.verdict for g in games), "the work submitted to the adopted HIT was judged"
        _one_hit_per_slot(loop)


def _work_honestly(control: LocalMTurkControl, profile, hit_id: str, worker: str) -> None:
    """A worker accepts the HIT, plays its games now (by the server's clock) and submits codes."""
    from datetime import datetime, timedelta, timezone

    simulator = profile.backend.rehearsal().platform()
    control.set_worker(worker, approval_rate=99, approved_hits=1000)
    accepted = control.accept(hit_id, worker)
    joins = join_codes_of(accepted["question"]["html"])
    codes = []
    for number, join in enumerate(joins):
        moment = datetime.fromtimestamp(control.now(), timezone.utc) + timedelta(milliseconds=5)
        codes.append(simulator.play(join, seed=f"{worker}-{number}", started_at=moment,
                                    seconds_per_event=GAME_TIME_SCALE))
    answer = {"joinCode1": joins[0], "joinCode2": joins[1], "completionCode1": codes[0],
              "completionCode2": codes[1], "agent1_performance": "It did fine.",
              "agent2_performance": "It built part of it.",
              "best_agent": {"agent1_option": True, "agent2_option": False}}
    control.submit(accepted["assignment_id"], {"taskAnswers": json.dumps([answer])})


def test_a_second_hit_of_a_slot_and_a_foreign_one_are_expired_and_named(
        rehearsal, local_profile, unique_name, tmp_path):
    """What the old loop left after a day-late restart (two HITs for one slot), and a HIT tagged
    with the campaign but no slot of it: neither can be adopted, so both are expired and named."""
    name = unique_name("dup")
    params = rehearsal.params(name, target_approved_hits=1, reconcile_every_turns=1)
    with running_server(tmp_path / "mturk") as server:
        loop = Campaign.open(params, manager=_private_manager(local_profile, server.url, params))
        loop.turn()
        [games] = loop.records.slots().values()
        LocalMTurkControl(server.url).advance_clock(A_DAY_AND_AN_HOUR)
        page = {"task_name": games[0].task_name, "task_join_code": "/join T:C:elsewhere",
                "agent_instance_ids": ["x-1", "x-2"]}
        second = loop.manager.create_hit(page, unique_request_token=games[0].unique_request_token, max_assignments=1)
        foreign = loop.manager.create_hit(page, unique_request_token="made-by-hand", max_assignments=1)
        assert second.hit_id != games[0].hit_id

        loop.turn()
        assert set(loop.adoption.expired) == {second.hit_id, foreign.hit_id}
        assert "a second HIT of slot" in loop.adoption.expired[second.hit_id]
        assert {loop.manager.get_hit(h.hit_id).status for h in (second, foreign)} == {"Reviewable"}
        assert loop.records.by_hit(games[0].hit_id), "the recorded HIT stays the slot's"
        journal = Journal.open(local_profile, name)
        assert {journal.entries()[h.hit_id]["action"] for h in (second, foreign)} == {"expired"}
        summary = loop.summary()
        assert sorted(summary["expired_unrecorded_hits"]) == sorted([second.hit_id, foreign.hit_id])
        assert "2 expired" in attention(summary, Timeline())
        loop.turn()
        assert len(loop.adoption.expired) == 2, "a HIT expired once is not taken up again"


def test_a_hit_of_a_slot_this_run_never_handed_out_is_adopted_from_its_page(rehearsal, unique_name):
    """Mid-run, a HIT of the campaign whose slot the scheduler does not know (made by an earlier
    run whose rows were lost after this one started): its slot is rebuilt from the join codes
    the page shows, the scheduler is rebuilt from the records, and slot ids go on after it."""
    from iglu_lib.scheduling import Outcome

    params = rehearsal.params(unique_name("page"), target_approved_hits=2, reconcile_every_turns=2)
    loop = Campaign.open(params)
    loop.turn()
    busy = set(loop.scheduler.busy_instances())
    owner = loop.scheduler.inventory.agent_of_instance()
    free: dict[str, str] = {}
    for instance_id, agent in owner.items():
        if instance_id not in busy and agent not in free.values() and len(free) < 2:
            free[instance_id] = agent
    task = next(iter(loop.scheduler.inventory.tasks.values()))
    token = request_token(params.campaign, "00000007")
    made = loop.manager.create_hit({"task_name": task.name, "task_join_code": task.task_join_code,
                                    "agent_instance_ids": list(free)}, unique_request_token=token, max_assignments=1)
    loop.turn()  # a reconcile turn: the sweep adopts it
    assert made.hit_id in loop.adoption.adopted
    games = loop.records.slot_games("00000007")
    assert [g.agent_minecraft_id for g in games] == list(free) and {g.hit_id for g in games} == {made.hit_id}
    assert loop.scheduler.outcome("00000007") is Outcome.OPEN
    assert set(free) <= set(loop.scheduler.busy_instances()), "its instances are held by its slot"
    loop.manager.expire(made.hit_id)
    for _ in range(3):
        loop.turn()
    assert loop.scheduler.outcome("00000007") is Outcome.EXPIRED
    _one_hit_per_slot(loop)
    following = loop.scheduler.next()
    assert following is not None and following.slot_id == "00000008", "slot ids go on after the adopted one"


# -- the table service killed mid-campaign -----------------------------------------------------
def _kill_table_service(campaign: str) -> None:
    """SIGKILL the session stack's Azurite table service and start it again (`stack.up` restarts
    only what died, on its port, with what it had saved): acknowledged rows may be lost. Killed
    once it saved some of the campaign's rows (so the table itself survives)."""
    from iglu_lib.local import stack as local_stack

    state_dir = Path(os.environ["IGLU_STACK_DIR"])
    database = state_dir / "azurite-table" / "__azurite_db_table__.json"
    deadline = time.monotonic() + 60
    while not (database.is_file() and campaign.encode() in database.read_bytes()):
        assert time.monotonic() < deadline, f"Azurite never saved rows of {campaign}"
        time.sleep(0.2)
    pid = local_stack.read_state(state_dir)["services"]["azurite-table"]["pid"]
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while local_stack._start_time(pid) is not None and time.monotonic() < deadline:
        local_stack._reap(pid)
        time.sleep(0.05)
    assert "azurite-table" in local_stack.up(state_dir)["started"]


def _submitted_unsettled(campaign: Campaign) -> str | None:
    """A HIT with a submitted assignment the loop has not judged yet."""
    for games in campaign.records.slots(RecordStatus.HIT_CREATED).values():
        if campaign.manager.assignments(games[0].hit_id, ("Submitted",)):
            return games[0].hit_id
    return None


def _submit_to_an_open_hit(campaign: Campaign, control: LocalMTurkControl, profile) -> str:
    """A hand-driven worker submits honest work to an open HIT no one has taken; its HIT id."""
    for _ in range(10):
        for games in campaign.records.slots(RecordStatus.HIT_CREATED).values():
            if campaign.manager.get_hit(games[0].hit_id).available:
                _work_honestly(control, profile, games[0].hit_id, f"AL{time.monotonic_ns():012d}"[:14])
                return games[0].hit_id
        campaign.turn()
    raise AssertionError("the loop keeps an open HIT")


def _run_until(campaign: Campaign, done, seconds: float = 120) -> dict:
    deadline = time.monotonic() + seconds

    def check(running: Campaign, report) -> None:
        if done(running) or time.monotonic() > deadline:
            running.stop()

    summary = campaign.run(progress=False, on_turn=check)
    campaign._stop.clear()
    return summary


def _records_counts(records) -> tuple[int, int]:
    from iglu_lib.collection.outcomes import slot_outcome
    from iglu_lib.scheduling import Outcome

    slots: dict[str, list] = {}
    for game in records:
        slots.setdefault(game.slot_id, []).append(game)
    good = sum(slot_outcome(games) is Outcome.VALID for games in slots.values())
    return good, len({g.slot_id for g in records if g.status is RecordStatus.APPROVED})


@pytest.mark.parametrize("after_the_loss", ["loop_goes_on", "loop_restarts"])
def test_hits_whose_rows_the_table_lost_are_adopted_and_their_work_judged(
        after_the_loss, rehearsal, local_profile, unique_name, crowd_factory, invariants, capsys, control):
    name = unique_name("lost")
    params = rehearsal.params(name, target_approved_hits=5, reconcile_every_turns=3)
    campaign = Campaign.open(params)
    crowd = crowd_factory(size=6, mix={}, seed=5)
    _run_until(campaign, lambda c: c.paid_hits >= 2)
    crowd.stop()  # nobody settles behind the test's back while it waits for a submission
    submitted = _submitted_unsettled(campaign) or _submit_to_an_open_hit(campaign, control, local_profile)

    before = campaign.records.all()
    approved = next(g.hit_id for g in before if g.status is RecordStatus.APPROVED)
    _kill_table_service(name)
    lost = {approved, submitted}
    for row in campaign.records.all():  # whatever the crash kept of these HITs' rows is lost too
        if row.hit_id in lost:
            campaign.records.table.delete_entity(row.campaign, row.row_key)
    kept = {g.hit_id for g in campaign.records.all()}
    assert not kept & lost
    lost |= {g.hit_id for g in before if g.hit_id} - kept  # and what the crash itself lost
    lost &= {hit.hit_id for hit in campaign.manager.hits()}  # (an expired HIT is deleted: nothing to adopt)

    if after_the_loss == "loop_restarts":
        campaign = Campaign.open(params)
    crowd_factory(size=6, mix={}, seed=6)
    summary = _run_until(campaign, lambda c: c.done, seconds=150)

    assert summary["done"], summary
    assert lost <= set(campaign.adoption.adopted), "the HITs whose rows were lost were adopted"
    assert set(summary["adopted_hits"]) >= lost and summary["expired_unrecorded_hits"] == []
    games = campaign.records.by_hit(submitted)
    assert games and {g.status for g in games} <= set(SETTLED), "the unrecorded submission was judged"
    assert all(g.verdict and g.assignment_id for g in games)
    assert {g.status for g in campaign.records.by_hit(approved)} == {RecordStatus.APPROVED}
    found = invariants(local_profile, name, local_profile.hit.reward)  # every HIT on the service in the records
    records = found["records"]
    assert _records_counts(records) == (summary["good_hits"], summary["paid_hits"]), "summary and records agree"

    from iglu_lib.cli import main

    capsys.readouterr()
    assert main(["campaign", "status", "--campaign", name, "--service", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["adoption"]["adopted"] >= len(lost) and lost <= set(status["adoption"]["adopted_hits"])
    assert status["adoption"]["unaccounted_hits"] == []


def test_a_slot_id_whose_hit_and_rows_are_gone_is_retired_and_the_loop_goes_on(rehearsal, unique_name):
    """The table lost the rows of the last slot and its HIT was deleted (expired unworked): a
    restart hands that slot id out again, and the service refuses its token for 24 hours."""
    params = rehearsal.params(unique_name("reuse"), target_approved_hits=1, reconcile_every_turns=0)
    first = Campaign.open(params)
    first.turn()
    first.manager.expire(first.records.all()[0].hit_id)
    first.turn()  # slot 00000000 expired (its HIT deleted), slot 00000001 opened
    last = first.records.slot_games("00000001")
    first.manager.expire(last[0].hit_id)
    first.manager.delete(last[0].hit_id)
    for row in last:
        first.records.table.delete_entity(row.campaign, row.row_key)

    again = Campaign.open(params)
    report = again.turn()
    assert report.errors == [] and again.stopped_by is None
    slots = again.records.slots()
    assert {g.status for g in slots["00000001"]} == {RecordStatus.EXPIRED}, "the spent slot id is retired"
    assert {g.status for g in slots["00000002"]} == {RecordStatus.HIT_CREATED}, "and the next slot opened"
    _one_hit_per_slot(again)


def test_a_good_hit_lost_from_records_and_service_is_no_longer_counted_and_the_log_says_so(
        rehearsal, local_profile, unique_name, control, caplog):
    """Rows lost with their HIT deleted from the service cannot be adopted: the loop's count of
    good HITs follows the records (so it makes another HIT) and says so in the log."""
    from iglu_lib.collection.adoption import good_in_records

    loop = Campaign.open(rehearsal.params(unique_name("gone"), target_approved_hits=2, reconcile_every_turns=2))
    loop.turn()
    hit_id = next(g.hit_id for g in loop.records.all() if g.hit_id)
    _work_honestly(control, local_profile, hit_id, f"AG{time.monotonic_ns():012d}"[:14])
    for _ in range(5):
        loop.turn()
        if loop.good_hits:
            break
    assert loop.good_hits == 1 and good_in_records(loop.records.all()) == 1
    for row in loop.records.by_hit(hit_id):
        loop.records.table.delete_entity(row.campaign, row.row_key)
    loop.manager.set_reviewing(hit_id, False)  # back to Reviewable: deletable
    loop.manager.delete(hit_id)

    with caplog.at_level(logging.WARNING, logger="iglu_lib.collection.adoption"):
        for _ in range(4):
            loop.turn()
    assert loop.good_hits == good_in_records(loop.records.all()) == 0
    said = [r.getMessage() for r in caplog.records if "good HITs, the records" in r.getMessage()]
    assert len(said) == 1 and "counted 1 good HITs, the records 0" in said[0]
    assert loop.summary()["paid_hits"] == 0


# -- a stalled loop says why, once ------------------------------------------------------------
@pytest.mark.parametrize("stall", ["no_free_instances", "budget"])
def test_a_stalled_loop_says_why_once(stall, rehearsal, unique_name, caplog):
    overrides = {"budget": "0.10"} if stall == "budget" else {}
    campaign = Campaign.open(rehearsal.params(unique_name("stall"), reconcile_every_turns=0, **overrides))
    campaign.stall = StallWatch(turns=3)
    with caplog.at_level(logging.WARNING, logger="iglu_lib.collection.stall"):
        for _ in range(12):  # no crowd: nothing is ever submitted
            campaign.turn()
    said = [r.getMessage() for r in caplog.records if "no progress" in r.getMessage()]
    assert len(said) == 1, said
    expected = "no free agent instances" if stall == "no_free_instances" else "the budget ($0.10) leaves no room"
    assert expected in said[0]
    if stall == "no_free_instances":
        assert "open HIT(s) wait for workers" in said[0]
    summary = campaign.summary()
    assert expected in summary["stalled"]
    line = attention(summary, Timeline())
    assert "stalled" in line and expected in line


# -- pure parts -----------------------------------------------------------------------------
def test_a_token_names_its_slot_only_for_its_own_campaign():
    token = request_token("camp", "00000012")
    assert slot_of_token("camp", token) == "00000012"
    assert slot_of_token("other", token) is None
    assert slot_of_token("camp", "iglu-00000012-" + "0" * 40) is None
    assert slot_of_token("camp", None) is None


def test_a_slot_is_rebuilt_from_the_join_codes_its_page_shows():
    inventory = Inventory.from_content(
        {"house": {"task_join_code": "/join T:C:house", "task_id": "house"},
         "tower": {"task_join_code": "/join T:C:tower", "task_id": "tower"}},
        {"Alpha": [{"agent_instance_id": "a-1"}, {"agent_instance_id": "a-10"}],
         "Beta": [{"agent_instance_id": "b-1"}]},
    )
    page = ('<p>/join T:C:tower:b-1:1733000000000</p><input type="hidden" name="joinCode1" value="/join T:C:tower:b-1">'
            '<p>/join T:C:tower:a-10:1733000000000</p>')
    slot = slot_from_page(inventory, "00000003", page, 2)
    assert slot is not None
    assert (slot.task_name, slot.agents, slot.instance_ids) == ("tower", ("Beta", "Alpha"), ("b-1", "a-10"))
    assert slot.join_codes == ("/join T:C:tower:b-1", "/join T:C:tower:a-10")
    assert slot_from_page(inventory, "00000003", page, 3) is None
    assert slot_from_page(inventory, "00000003", "<p>no codes</p>", 2) is None


def test_an_external_mode_hit_shows_the_join_codes_its_stored_page_holds(tmp_path, local_profile):
    """An `ExternalQuestion` carries only a page id: the join codes come from the page store."""
    from iglu_lib.mturk.manager import Hit
    from iglu_lib.mturk.questions import external_question
    from iglu_lib.pages.store import HitPageStore

    manager = HitManager(local_profile.hit, lambda: None, hit_type="pairwise", campaign="ext")
    manager.__dict__["page_store"] = store = HitPageStore(tmp_path / "pages.sqlite")
    store.put("a" * 32, "pairwise", {"task_join_code": "/join T:C:house", "agent_instance_ids": ["b-1", "a-1"],
                                     "join_code_suffix": ":1733000000000"})
    question = external_question(f"https://tasks.example.org/hit?page={'a' * 32}&x=1")
    page = manager.page_text(Hit.from_service({"HITId": "H1", "Question": question}))
    assert page.splitlines() == ["/join T:C:house:b-1:1733000000000", "/join T:C:house:a-1:1733000000000"]
    unknown = external_question(f"https://tasks.example.org/hit?page={'b' * 32}")
    assert manager.page_text(Hit.from_service({"HITId": "H2", "Question": unknown})) == ""
