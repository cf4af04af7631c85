"""`iglu records list|export` against the real Azurite."""

from __future__ import annotations

import json

import pytest

from iglu_lib.cli import main
from iglu_lib.scheduling import Scheduler
from iglu_lib.storage import GameRecords


@pytest.fixture
def campaign(local_profile, unique_name):
    table = unique_name("records")
    records = GameRecords.open(local_profile, unique_name("cli-"), table_name=table)
    join_codes = {
        f"t{i}": {
            "task_join_code": f"/plaiground:join-task-with-agent T:C:id{i}",
            "task_id": f"id{i}",
        }
        for i in range(3)
    }
    instances = {
        a: [{"agent_instance_id": f"{a}0", "agent_instance_name": a}]
        for a in ("MHB", "Felipe", "Happy")
    }
    scheduler = Scheduler.from_content(join_codes, instances, 1, seed=0)
    first, second = records.plan(scheduler.next()), records.plan(scheduler.next())
    (row,) = records.update_many([(r, {"status": "hit_created", "hit_id": "HIT-9"}) for r in first])
    row = records.update(
        row, status="submitted", worker_id="AWORKERID12345", completion_code="<b>'code'</b>"
    )
    records.update(row, status="approved", annotation={"agent_performance": "fine"})
    yield records, table, second
    local_profile.backend.table_service().delete_table(table)


def test_list_shows_records_and_counts_without_worker_ids(campaign, capsys):
    records, table, _ = campaign
    assert (
        main(["records", "list", "--campaign", records.campaign, "--table", table, "--json"]) == 0
    )
    listed = json.loads(capsys.readouterr().out)
    assert listed["counts"] == {"approved": 1, "planned": 1}
    assert [r["Status"] for r in listed["records"]] == ["approved", "planned"]
    assert "AWORKERID12345" not in json.dumps(listed)
    assert (
        main(
            [
                "records",
                "list",
                "--campaign",
                records.campaign,
                "--table",
                table,
                "--hit",
                "HIT-9",
                "--status",
                "approved",
                "--json",
            ]
        )
        == 0
    )
    assert [r["HitId"] for r in json.loads(capsys.readouterr().out)["records"]] == ["HIT-9"]


def test_unknown_status_is_one_clear_line(campaign, capsys):
    records, table, _ = campaign
    assert (
        main(
            [
                "records",
                "list",
                "--campaign",
                records.campaign,
                "--table",
                table,
                "--status",
                "done",
            ]
        )
        == 2
    )
    assert "unknown status 'done' (known: planned, hit_created" in capsys.readouterr().err


def test_export_writes_the_published_format_with_hashed_worker_ids(campaign, capsys, tmp_path):
    from iglu_lib.platform.feedback import read_feedback

    records, table, _ = campaign
    out = tmp_path / "feedback.csv"
    assert (
        main(
            [
                "records",
                "export",
                "--campaign",
                records.campaign,
                "--table",
                table,
                "--out",
                str(out),
                "--extra-columns",
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["rows"] == 1
    back = read_feedback(out)
    assert back["CompletionCode"].tolist() == ["<b>'code'</b>"]
    assert back["WorkerId"].str.startswith("worker-").all()
    assert "AWORKERID12345" not in out.read_text()
