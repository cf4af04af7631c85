"""`iglu workers notify|bonus` against the local stack: workers named raw or by the export's
pseudonym (found in a campaign's game records or the service's assignments), refused when
the name resolves to none or several, bonuses paid once, production refusing to spend."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import uuid

import pytest

from iglu_lib.cli import main
from iglu_lib.local.mturk.control_client import LocalMTurkControl
from iglu_lib.platform.privacy import pseudonym
from iglu_lib.storage import GameRecord, GameRecords
from iglu_lib.workers import actions

HTML_QUESTION = """<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">
<HTMLContent><![CDATA[<html><body><crowd-form><input name="a"></crowd-form></body></html>]]></HTMLContent>
<FrameHeight>400</FrameHeight></HTMLQuestion>"""


@pytest.fixture
def turk(stack) -> LocalMTurkControl:
    return LocalMTurkControl(stack["mturk_endpoint_url"])


def new_worker() -> str:
    return "A" + secrets.token_hex(7).upper()


def worked(local_profile, turk, worker_id: str | None = None) -> tuple[str, str]:
    """A worker with a submitted assignment on the local server: (worker id, assignment id)."""
    worker_id = worker_id or new_worker()
    hit_id = local_profile.backend.mturk_client().create_hit(
        Title="workers cli", Description="d", Reward="0.50", LifetimeInSeconds=3600,
        AssignmentDurationInSeconds=600, Question=HTML_QUESTION,
    )["HIT"]["HITId"]
    assignment_id = turk.accept(hit_id, worker_id)["assignment_id"]
    turk.submit(assignment_id, {"a": "done"})
    return worker_id, assignment_id


def record(campaign: str, worker_id: str) -> GameRecord:
    return GameRecord(
        campaign=campaign, row_key=uuid.uuid4().hex, slot_id="slot-1", shown_position=0, agent_name="MHB",
        join_code="/join x", task_name="tower", task_minecraft_id=str(uuid.uuid4()),
        agent_minecraft_id=str(uuid.uuid4()), hit_type="pairwise", unique_request_token=uuid.uuid4().hex,
        worker_id=worker_id,
    )


def add_records(local_profile, campaign: str, *worker_ids: str) -> None:
    records = GameRecords.open(local_profile, campaign)
    for worker_id in worker_ids:
        records.table.create_entity(record(campaign, worker_id).to_entity())


def iglu(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# -- notify -----------------------------------------------------------------------------------
def test_notify_a_raw_worker_id(local_profile, turk, capsys):
    worker_id, _ = worked(local_profile, turk)
    code, out, _ = iglu(capsys, "workers", "notify", "--worker", worker_id, "--subject", "Your HIT",
                        "--message", "Thanks for the games.")
    assert code == 0 and out.strip() == f"sent to {worker_id}"
    assert [(m["subject"], m["text"]) for m in turk.messages(worker_id)] == [("Your HIT", "Thanks for the games.")]


def test_notify_a_pseudonym_found_among_the_services_assignments(local_profile, turk, capsys):
    worker_id, _ = worked(local_profile, turk)
    alias = pseudonym(worker_id, local_profile.backend.worker_id_salt())
    code, out, _ = iglu(capsys, "workers", "notify", "--worker", alias, "--subject", "s", "--message", "by alias",
                        "--json")
    assert code == 0
    assert json.loads(out) == {"sent": [alias], "failed": []}
    assert worker_id not in out  # the raw id never reaches the screen
    assert [m["text"] for m in turk.messages(worker_id)] == ["by alias"]


def test_notify_a_pseudonym_found_in_the_campaigns_records(local_profile, turk, capsys, unique_name):
    """Only the records know this worker (no assignment on the service): the pseudonym resolves
    through them, and the service then refuses the message, which is reported by pseudonym."""
    campaign = unique_name("camp")
    only_in_records = new_worker()
    add_records(local_profile, campaign, only_in_records, new_worker())
    alias = pseudonym(only_in_records, local_profile.backend.worker_id_salt())
    code, out, err = iglu(capsys, "workers", "notify", "--worker", alias, "--subject", "s", "--message", "m")
    assert code == 2 and "matches no worker in the service's assignments" in err  # not found without --campaign
    code, out, _ = iglu(capsys, "workers", "notify", "--worker", alias, "--subject", "s", "--message", "m",
                        "--campaign", campaign)
    assert code == 1 and out.startswith(f"not sent to {alias}: HardFailure")
    assert only_in_records not in out


def test_a_pseudonym_of_several_workers_is_refused(local_profile, unique_name, capsys):
    campaign = unique_name("camp")
    worker_id = new_worker()
    add_records(local_profile, campaign, worker_id, worker_id + " ")  # one pseudonym, two raw ids
    alias = pseudonym(worker_id, local_profile.backend.worker_id_salt())
    code, _, err = iglu(capsys, "workers", "notify", "--worker", alias, "--subject", "s", "--message", "m",
                        "--campaign", campaign)
    assert code == 2 and "matches 2 different worker ids" in err and "raw worker id" in err


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--worker", "worker-0123456789abcdef"], "matches no worker"),
        (["--worker", "worker-12"], "not a pseudonym"),
        (["--worker", "A1 B2"], "neither a worker id"),
        (["--worker", "x" * 65], "neither a worker id"),
        (["--worker", "AWORKER1", "--subject", "s" * 201], "at most 200"),
        (["--worker", "AWORKER1", "--message", "m" * 4097], "at most 4096"),
        (["--worker", "AWORKER1", "--message", "   "], "empty"),
    ],
)
def test_notify_refusals_are_one_clear_line(stack, turk, capsys, arguments, says):
    base = {"--subject": "s", "--message": "m"}
    for i in range(0, len(arguments), 2):
        base[arguments[i]] = arguments[i + 1]
    flat = [part for pair in base.items() for part in pair if pair[0] != "--worker"]
    turk.reset_stats()
    code, out, err = iglu(capsys, "workers", "notify", "--worker", base["--worker"], *flat)
    assert code == 2 and says in err and "Traceback" not in err
    assert turk.stats()["by_operation"].get("NotifyWorkers", 0) == 0


# -- bonus ------------------------------------------------------------------------------------
def test_bonus_by_pseudonym_is_paid_once(local_profile, turk, capsys):
    worker_id, assignment_id = worked(local_profile, turk)
    alias = pseudonym(worker_id, local_profile.backend.worker_id_salt())
    mturk = local_profile.backend.mturk_client()
    balance = float(mturk.get_account_balance()["AvailableBalance"])
    command = ["workers", "bonus", "--worker", alias, "--assignment", assignment_id, "--amount", "0.40",
               "--reason", "four turns played"]
    code, out, _ = iglu(capsys, *command)
    assert code == 0 and out.strip() == f"paid 0.40 to {alias} for assignment {assignment_id}"
    code, out, _ = iglu(capsys, *command)  # the same command again: recognised, not paid again
    assert code == 0 and out.startswith("already paid")
    (payment,) = mturk.list_bonus_payments(AssignmentId=assignment_id)["BonusPayments"]
    assert payment["WorkerId"] == worker_id and payment["BonusAmount"] == "0.40"
    assert float(mturk.get_account_balance()["AvailableBalance"]) == pytest.approx(balance - 0.40)
    code, out, _ = iglu(capsys, *command, "--token", "second-bonus-" + assignment_id, "--json")
    assert code == 0 and json.loads(out)["paid_now"] is False, "another token is not another bonus: the ledger keeps it"
    code, out, _ = iglu(capsys, *command[:-1], "  Four turns  played ", "--json")
    assert json.loads(out)["paid_now"] is False, "nor are spaces or capitals in the reason"
    code, out, _ = iglu(capsys, *command[:-1], "a second bonus: five turns", "--json")
    assert code == 0 and json.loads(out)["paid_now"] is True, "another reason is another bonus"
    assert len(mturk.list_bonus_payments(AssignmentId=assignment_id)["BonusPayments"]) == 2


def test_bonus_with_a_raw_id(local_profile, turk, capsys):
    worker_id, assignment_id = worked(local_profile, turk)
    code, out, _ = iglu(capsys, "workers", "bonus", "--worker", worker_id, "--assignment", assignment_id,
                        "--amount", "1", "--reason", "thanks", "--json")
    assert code == 0
    assert json.loads(out) | {"token": "", "campaign": ""} == {
        "worker": worker_id, "assignment_id": assignment_id, "amount": "1.00", "token": "", "campaign": "",
        "paid_now": True}


def test_bonus_for_another_workers_assignment_is_refused(local_profile, turk, capsys):
    _, assignment_id = worked(local_profile, turk)
    someone = new_worker()
    for named in (someone, pseudonym(someone, local_profile.backend.worker_id_salt())):
        turk.reset_stats()
        code, _, err = iglu(capsys, "workers", "bonus", "--worker", named, "--assignment", assignment_id,
                            "--amount", "1.00", "--reason", "r")
        assert code == 2 and f"assignment {assignment_id} was not done by {named}" in err
        assert turk.stats()["by_operation"].get("SendBonus", 0) == 0
    code, _, err = iglu(capsys, "workers", "bonus", "--worker", someone, "--assignment", "3NOSUCHASSIGNMENT",
                        "--amount", "1.00", "--reason", "r")
    assert code == 2 and "does not exist" in err


@pytest.mark.parametrize("amount", ["0", "-2", "0.001", "NaN", "inf", "1e3", "lots", "10000000.00"])
def test_bonus_amounts_are_checked_first(stack, turk, capsys, amount):
    turk.reset_stats()
    code, _, err = iglu(capsys, "workers", "bonus", "--worker", "AWORKER1", "--assignment", "A1",
                        "--amount", amount, "--reason", "r")
    assert code == 2 and "dollars and cents" in err
    assert turk.stats()["total"] == 0


def test_a_profile_that_does_not_spend_refuses_before_any_request(local_profile, frugal_profile, turk):

    from iglu_lib.mturk.manager import SpendingRefused

    worker_id, assignment_id = worked(local_profile, turk)
    frugal = frugal_profile
    turk.reset_stats()
    with pytest.raises(SpendingRefused, match="--allow-spending"):
        actions.bonus(frugal, worker_id, assignment_id, "1.00", "r")
    assert turk.stats()["total"] == 0
    result = actions.bonus(frugal, worker_id, assignment_id, "1.00", "r", allow_spending=True)
    assert result["paid_now"] is True


def test_production_refuses_to_spend_without_allow_spending(tmp_path):
    """The real command on the production profile: refused before credentials or network."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    done = subprocess.run(
        [sys.executable, "-m", "iglu_lib.cli", "workers", "bonus", "--profile", "production", "--worker",
         "worker-0123456789abcdef", "--assignment", "3ASSIGNMENT", "--amount", "1.00", "--reason", "r"],
        env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "spends real money" in done.stderr and "--allow-spending" in done.stderr
    assert "Traceback" not in done.stderr
