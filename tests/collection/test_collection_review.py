"""Review by worker on the local stack: submissions grouped by worker with their history, a
person's decisions written to the records before the service is asked, a reversal that pays
once and counts as good, a loop that never overrides a person, and bad inputs refused with a
sentence."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from iglu_lib.collection.campaign import TurnReport
from iglu_lib.collection.review import Review, ReviewRefused, cap_holders
from iglu_lib.collection.status import campaign_status
from iglu_lib.errors import IgluError
from iglu_lib.local.mturk.control_client import WorkerRefused
from iglu_lib.local.workers import GAME_TIME_SCALE, join_codes_of
from iglu_lib.platform.privacy import pseudonym
from iglu_lib.storage import RecordStatus

BONUS = {"amount": "0.10", "min_architect_turns": 3, "reason": "Thanks for the careful instructions."}


def _take(attacker, worker: str) -> tuple[str, str, list[str]]:
    """`worker` accepts an open HIT of the attacker's campaign (the loop makes one if needed)."""
    campaign = attacker.campaign
    hit_id = None
    for _ in range(10):
        hit_id = next((g.hit_id for g in campaign.records.all()
                       if g.status is RecordStatus.HIT_CREATED and g.hit_id not in attacker.taken), None)
        if hit_id:
            break
        campaign.turn()
    assert hit_id, "the loop keeps creating HITs"
    attacker.taken.add(hit_id)
    attacker.control.set_worker(worker, approval_rate=99, approved_hits=1000)
    accepted = attacker.control.accept(hit_id, worker)
    return hit_id, accepted["assignment_id"], join_codes_of(accepted["question"]["html"])


def _submit(attacker, worker: str, kind: str = "honest") -> str:
    """A submission of `kind`: `honest`, `junk` (worker ids as codes) or `foreign` (real games
    whose instructions are not English: rejected, though the games were played)."""
    hit_id, assignment_id, joins = _take(attacker, worker)
    if kind == "junk":
        codes = [worker, worker]
    else:
        moment = datetime.fromtimestamp(attacker.control.now(), timezone.utc) + timedelta(milliseconds=5)
        architect = "non_english" if kind == "foreign" else "diligent"
        codes = [attacker.simulator.play(join, architect=architect, seed=f"{hit_id}-{n}", started_at=moment,
                                         seconds_per_event=GAME_TIME_SCALE) for n, join in enumerate(joins)]
    attacker.submit(assignment_id, attacker.pairwise(joins, codes))
    return hit_id


def _review(attacker, **options) -> Review:
    campaign = attacker.campaign
    return Review(campaign.params, profile=campaign.profile, records=campaign.records, **options)


class Crashes:
    """The manager, except that the named operations fail as a lost connection would."""

    def __init__(self, manager, *operations: str) -> None:
        self._manager, self._operations = manager, operations

    def __getattr__(self, name: str):
        if name in self._operations:
            def fail(*_args, **_kwargs):
                raise ConnectionError(f"{name}: connection lost")
            return fail
        return getattr(self._manager, name)


def test_submissions_are_grouped_by_worker_with_their_history(attack):
    attacker = attack()
    worker, other = attacker.prefix + "W1", attacker.prefix + "W2"
    settled = [_submit(attacker, worker, "honest"), _submit(attacker, worker, "junk"), _submit(attacker, other)]
    for hit_id in settled:
        attacker.settle(hit_id)
    review = _review(attacker)
    salt = attacker.campaign.profile.backend.worker_id_salt()
    everyone = review.workers()
    assert [w.shown for w in everyone] == [pseudonym(worker, salt), pseudonym(other, salt)], "most rejected first"
    mine = everyone[0]
    assert {k: mine.counts[k] for k in ("hits", "approved", "rejected", "open", "reversed")} == \
        {"hits": 2, "approved": 1, "rejected": 1, "open": 0, "reversed": 0}
    assert mine.reasons == {"worker_id_pasted": 1}
    assert [s.hit_id for s in mine.submissions] == settled[:2]
    assert mine.submissions[1].verdicts == ("reject", "reject")
    shown = json.dumps([w.as_dict() for w in everyone])
    assert worker not in shown and other not in shown, "listings name workers by pseudonym only"
    assert [w.worker_id for w in review.workers(pseudonym(worker, salt))] == [worker]
    assert [w.shown for w in review.workers(other)] == [pseudonym(other, salt)], "a raw id is accepted too"


def test_a_reversal_approves_on_the_service_pays_the_bonus_once_and_counts_as_good(attack):
    attacker = attack(bonus=BONUS)
    worker = attacker.prefix + "RV"
    hit_id = _submit(attacker, worker, "foreign")
    games = attacker.settle(hit_id)
    assert {g.status for g in games} == {RecordStatus.REJECTED} and "not_english" in games[0].reasons
    manager = attacker.campaign.manager
    assignment_id = games[0].assignment_id
    before = campaign_status(attacker.campaign.records.all())
    assert manager.bonus_payments(assignment_id=assignment_id) == []
    crashing = _review(attacker, manager=Crashes(manager, "approve"))
    with pytest.raises(ConnectionError):
        crashing.act(worker, "reverse", "Appeal: the worker was asked to write in their language.")
    written = attacker.campaign.records.by_hit(hit_id)
    assert [d["done"] for d in written[0].manual_decisions] == [False] and written[0].status is RecordStatus.REJECTED
    assert all(g.bonus == {"amount": "0.10", "paid": False} for g in written), "the bonus earned, written first"
    assert manager.get_assignment(assignment_id).status == "Rejected"
    review = _review(attacker)
    result = review.act(worker, "reverse", "Appeal: the worker was asked to write in their language.")
    assert result["status"] == "approved" and result["already"] is False and result["bonus_paid"] == "0.20"
    assert manager.get_assignment(assignment_id).status == "Approved"
    again = review.act(worker, "reverse", "Appeal: the worker was asked to write in their language.", hit=hit_id)
    assert again["already"] is True
    paid = manager.bonus_payments(assignment_id=assignment_id)
    assert sorted(p["BonusAmount"] for p in paid) == ["0.10", "0.10"], "the rule's bonus, once per game"
    records = attacker.campaign.records.by_hit(hit_id)
    assert {g.status for g in records} == {RecordStatus.APPROVED}
    assert all(g.verdict == "approve_with_warning" and g.is_hit_qualified for g in records)
    assert all(g.bonus == {"amount": "0.10", "paid": True} for g in records)
    decision = records[0].manual_decisions[0]
    assert decision["source"] == "manual" and decision["action"] == "reverse" and decision["done"] is True
    assert decision["reason"].startswith("Appeal") and decision["at"]
    after = campaign_status(attacker.campaign.records.all())
    assert after["good_hits"] == before["good_hits"] + 1 and after["paid_hits"] == before["paid_hits"] + 1
    assert after["rejected_hits"] == before["rejected_hits"] - 1 >= 0, "the service's rejection is undone"
    assert after["manual"]["reversals"] == 1 and after["manual"]["pending"] == 0
    assert review.workers(worker)[0].counts["reversed"] == 1


def test_each_action_is_written_before_it_is_acted_on_and_a_retry_finishes_it_once(attack):
    attacker = attack()
    worker = attacker.prefix + "CR"
    honest = _submit(attacker, worker)
    attacker.settle(honest)
    manager = attacker.campaign.manager
    crashing = _review(attacker, manager=Crashes(manager, "send_bonus"))
    with pytest.raises(ConnectionError):
        crashing.act(worker, "bonus", "Extra effort on the tower.", amount="0.35")
    pending = attacker.campaign.records.by_hit(honest)[0].manual_decisions
    assert [(d["action"], d["done"], d["amount"]) for d in pending] == [("bonus", False, "0.35")]
    assert manager.bonus_payments(assignment_id=attacker.campaign.records.by_hit(honest)[0].assignment_id) == []
    review = _review(attacker)
    for _ in range(2):
        result = review.act(worker, "bonus", "Extra effort on the tower.", amount="0.35")
    assert result["already"] is True
    assignment_id = attacker.campaign.records.by_hit(honest)[0].assignment_id
    assert [p["BonusAmount"] for p in manager.bonus_payments(assignment_id=assignment_id)] == ["0.35"]
    assert campaign_status(attacker.campaign.records.all())["manual"]["bonuses_paid"] == "0.35"

    # a submission the loop has not judged: rejected by a person, the crash before the service answers
    junk_free = _submit(attacker, worker)  # honest work a person rejects anyway (say, on a complaint)
    crashing = _review(attacker, manager=Crashes(manager, "reject"))
    with pytest.raises(ConnectionError):
        crashing.act(worker, "reject", "Reported by the other player for abuse in the chat.", hit=junk_free)
    written = attacker.campaign.records.by_hit(junk_free)
    assert {g.status for g in written} == {RecordStatus.SUBMITTED} and {g.worker_id for g in written} == {worker}
    assert written[0].manual_decisions[0]["done"] is False
    for _ in range(3):  # the loop meets the HIT while the decision is pending: it leaves it alone
        attacker.campaign.turn()
    assert manager.get_assignment(written[0].assignment_id).status == "Submitted"
    assert {g.verdict for g in attacker.campaign.records.by_hit(junk_free)} == {""}
    done = review.act(worker, "reject", "Reported by the other player for abuse in the chat.", hit=junk_free)
    assert done["status"] == "rejected" and manager.get_assignment(written[0].assignment_id).status == "Rejected"

    for action in ("soft-block", "hard-block"):
        review.act(worker, action, "Abusive chat with the other player.")
    holders = {q["WorkerId"] for q in manager.paginate(
        "list_workers_with_qualification_type", "Qualifications",
        QualificationTypeId=attacker.campaign.block_qualification.type_id, Status="Granted")}
    assert worker in holders and worker in {b["WorkerId"] for b in manager.blocked_workers()}
    every = attacker.campaign.records.by_worker(worker)
    assert all({"soft-block", "hard-block"} <= {d["action"] for d in g.manual_decisions} for g in every)
    assert review.workers(worker)[0].counts["blocked"] == "hard"


def test_the_loop_never_overrides_a_manual_decision(attack):
    attacker = attack(block_after_disqualified_games=1)
    worker = attacker.prefix + "MA"
    junk = _submit(attacker, worker, "junk")  # the loop would reject this and block the worker
    review = _review(attacker)
    result = review.act(worker, "approve", "Checked by hand: the codes were sent to us by email.")
    assert result["status"] == "approved"
    decided = attacker.campaign.records.by_hit(junk)
    for _ in range(3):
        attacker.campaign.turn()
    report = TurnReport()
    attacker.campaign._reconcile(report)
    games = attacker.campaign.records.by_hit(junk)
    assert [(g.status, g.verdict, g.reasons, g.decisions, g.messages) for g in games] == \
        [(g.status, g.verdict, g.reasons, g.decisions, g.messages) for g in decided], "records unchanged"
    assert attacker.campaign.manager.get_assignment(games[0].assignment_id).status == "Approved"
    assert worker not in attacker.campaign.blocked and worker not in {
        b["WorkerId"] for b in attacker.campaign.manager.blocked_workers()}
    assert attacker.campaign.scheduler.outcome(games[0].slot_id).value == "valid", "the slot closes as decided"
    with pytest.raises(ReviewRefused, match="already"):
        review.act(worker, "reject", "Changed my mind.", hit=junk)


def test_a_cap_refuses_the_worker_on_the_service_and_status_counts_it(attack):
    attacker = attack(max_hits_per_worker=1)
    worker = attacker.prefix + "CP"
    attacker.settle(_submit(attacker, worker))
    attacker.campaign.turn()
    open_hit = next(g.hit_id for g in attacker.campaign.records.all() if g.status is RecordStatus.HIT_CREATED)
    with pytest.raises(WorkerRefused) as refused:
        attacker.control.accept(open_hit, worker)
    assert refused.value.code == "QualificationRequirementNotMet"
    status = campaign_status(attacker.campaign.records.all(), max_hits_per_worker=1)
    assert status["workers_at_cap"] == 1
    assert cap_holders(attacker.campaign.manager, attacker.campaign.params.campaign) == 1


def test_bad_inputs_are_refused_with_a_sentence(attack, rehearsal):
    attacker = attack()
    worker = attacker.prefix + "BI"
    approved = _submit(attacker, worker)
    attacker.settle(approved)
    review = _review(attacker)
    cases = [
        (dict(worker="ANOBODY00000000", action="approve", reason="x"), "has no submission in campaign"),
        (dict(worker="worker-0123456789abcdef", action="approve", reason="x"), "matches no worker"),
        (dict(worker=worker, action="reverse", reason=""), "needs a reason"),
        (dict(worker=worker, action="reverse", reason="appeal", hit=approved), "not rejected"),
        (dict(worker=worker, action="reverse", reason="appeal"), "name one with --hit"),
        (dict(worker=worker, action="bonus", reason="thanks", amount="-1"), "dollars and cents"),
        (dict(worker=worker, action="bonus", reason="thanks", amount="0.5", hit="NOSUCHHIT"), "is not a HIT of"),
        (dict(worker=worker, action="pardon", reason="x"), "unknown action"),
    ]
    for arguments, sentence in cases:
        options = {k: arguments.pop(k) for k in ("hit", "amount") if k in arguments}
        with pytest.raises(IgluError, match=sentence):
            review.act(arguments["worker"], arguments["action"], arguments["reason"], **options)
    assert attacker.campaign.records.by_hit(approved)[0].decisions == (), "nothing was written"
    path = rehearsal.params_file(attacker.campaign.params.campaign, target_approved_hits=30)
    cli = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "campaign", "review", "--params", str(path),
                          "--worker", worker, "--action", "reverse"], capture_output=True, text=True, timeout=120)
    assert cli.returncode != 0 and "needs a reason" in cli.stderr and "Traceback" not in cli.stderr
    listed = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "campaign", "review", "--params", str(path),
                             "--json"], capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert [w["counts"]["approved"] for w in json.loads(listed.stdout)["workers"]] == [1]
    shown = pseudonym(worker, attacker.campaign.profile.backend.worker_id_salt())
    paid = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "campaign", "review", "--params", str(path),
                           "--worker", shown, "--action", "bonus", "--amount", "0.05", "--reason", "Thanks!",
                           "--json"], capture_output=True, text=True, timeout=120)
    assert paid.returncode == 0, paid.stderr
    assert json.loads(paid.stdout)["paid_now"] is True and worker not in paid.stdout
    text = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "campaign", "review", "--params", str(path),
                           "--worker", shown], capture_output=True, text=True, timeout=120)
    assert f"{shown}: 1 HITs, 1 approved, 0 rejected" in text.stdout and "done bonus at" in text.stdout
    status = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "campaign", "status", "--params", str(path),
                             "--json"], capture_output=True, text=True, timeout=120)
    assert json.loads(status.stdout)["manual"]["by_action"] == {"bonus": 1}


def test_the_review_notebook_parameters_match_its_yaml():
    from iglu_lib import paths
    from iglu_lib.config import read_yaml

    notebook = json.loads((paths.project_root() / "notebooks" / "04_review.ipynb").read_text())
    cell = next(c for c in notebook["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    names = [line.split("=")[0].strip() for line in "".join(cell["source"]).splitlines()
             if "=" in line and not line.startswith((" ", "#"))]
    assert names == list(read_yaml(paths.params_dir() / "04_review.yaml"))


def test_the_review_notebook_lists_by_worker_and_acts_only_when_asked(attack, rehearsal, test_outputs):
    from iglu_lib import paths
    from iglu_lib.notebooks import run_notebook

    attacker = attack()
    worker = attacker.prefix + "NB"
    junk = _submit(attacker, worker, "junk")
    attacker.settle(junk)
    shown = pseudonym(worker, attacker.campaign.profile.backend.worker_id_salt())
    path = rehearsal.params_file(attacker.campaign.params.campaign, target_approved_hits=30)
    decisions = [{"worker": shown, "action": "reverse", "reason": "The worker mailed us the real codes.", "hit": junk},
                 {"worker": shown, "action": "approve", "reason": "no such HIT to approve"}]
    base = {"campaign": attacker.campaign.params.campaign, "campaign_params": str(path),
            "output_dir": str(test_outputs / "04_review_by_worker"), "manual_decisions": decisions}
    listed = run_notebook("04_review", paths.params_dir() / "04_review.yaml", parameters=base,
                          output=test_outputs / "04_review_by_worker_list.ipynb", progress=False).read_text()
    assert shown in listed and worker not in listed, "workers by pseudonym only"
    assert attacker.campaign.manager.get_assignment(attacker.campaign.records.by_hit(junk)[0].assignment_id
                                                    ).status == "Rejected", "act=false must not act"
    run_notebook("04_review", paths.params_dir() / "04_review.yaml", parameters={**base, "act": True},
                 output=test_outputs / "04_review_by_worker_act.ipynb", progress=False)
    results = json.loads((test_outputs / "04_review_by_worker" / "manual_decisions.json").read_text())
    assert [r["outcome"].split(":")[0] for r in results] == ["done", "refused"]
    assert {g.status for g in attacker.campaign.records.by_hit(junk)} == {RecordStatus.APPROVED}


def test_rows_written_before_decisions_existed_still_read():
    from iglu_lib.storage.record import GameRecord

    old_row = {"PartitionKey": "c1", "RowKey": "s1-0", "SlotId": "s1", "ShownPosition": 0, "AgentName": "A",
               "JoinCode": "j", "TaskName": "t", "TaskMinecraftId": "t1", "AgentMinecraftId": "i1",
               "HitType": "pairwise", "UniqueRequestToken": "k", "Status": "rejected", "HitId": "H1"}
    record = GameRecord.from_entity(old_row)
    assert record.decisions == () and record.manual_decisions == () and not record.decided_by_person
    decided = GameRecord.from_entity({**old_row, "Decisions": json.dumps(
        [{"id": "d1", "source": "manual", "action": "reverse", "hit_id": "H1", "done": False},
         {"id": "d2", "source": "manual", "action": "bonus", "hit_id": "H1", "done": True}])})
    assert [d["id"] for d in decided.manual_decisions] == ["d1", "d2"] and decided.decided_by_person
    assert GameRecord.from_entity(decided.to_entity()).decisions == decided.decisions


def test_a_hit_the_service_no_longer_has_never_stops_the_listing(attack):
    from iglu_lib.mturk import MTurkError

    attacker = attack()
    worker = attacker.prefix + "GO"
    attacker.settle(_submit(attacker, worker))
    _submit(attacker, attacker.prefix + "G2")  # not judged yet: its worker is looked up on the service

    class Gone:
        def __getattr__(self, name):
            return getattr(attacker.campaign.manager, name)

        def assignments(self, hit_id, *args, **kwargs):
            raise MTurkError(f"MTurk list_assignments_for_hit HITId={hit_id} failed: HIT does not exist")

    assert [w.counts["approved"] for w in _review(attacker, manager=Gone()).workers()] == [1]
    assert len(_review(attacker).workers()) == 2, "with the service answering, the unjudged worker shows"
