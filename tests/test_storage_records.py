"""Game records against the real Azurite: one row per game, intentions written before HITs,
parameterised queries that hostile values cannot change, ETag-guarded updates, restore of
the scheduler, and the export in the published format."""

from __future__ import annotations

import pytest

from iglu_lib.collection.export import export_games
from iglu_lib.collection.outcomes import scheduled_games
from iglu_lib.scheduling import Outcome, Scheduler
from iglu_lib.storage import (
    GameRecord,
    GameRecords,
    RecordConflict,
    RecordError,
    RecordNotFound,
    RecordStatus,
    request_token,
)

HOSTILE = [
    "' or 1 eq 1 or '",
    "x' or PartitionKey ne 'nothing",
    '"); DROP TABLE x; --',
    "<script>alert('x')</script> &amp; &lt;b&gt;",
    "@campaign",
    "O'Brien ' and RowKey gt '",
]


def content(n_tasks: int = 4, agents: str = "ABC", per_agent: int = 2):
    join_codes = {
        f"task-{i}": {
            "task_join_code": f"/plaiground:join-task-with-agent T:C:tid{i}",
            "task_id": f"tid{i}",
        }
        for i in range(n_tasks)
    }
    instances = {
        a: [
            {"agent_instance_id": f"{a}{j}", "agent_instance_name": f"{a} {j}"}
            for j in range(per_agent)
        ]
        for a in agents
    }
    return join_codes, instances


@pytest.fixture
def table(local_profile, unique_name):
    service = local_profile.backend.table_service()
    name = unique_name("records")
    yield name
    service.delete_table(name)


@pytest.fixture
def records(local_profile, table, unique_name) -> GameRecords:
    return GameRecords.open(local_profile, unique_name("campaign-"), table_name=table)


def submitted(records: GameRecords, rows: list[GameRecord], **fields) -> list[GameRecord]:
    hit_id = fields.pop("hit_id", "HIT")
    rows = records.update_many([(r, {"status": "hit_created", "hit_id": hit_id}) for r in rows])
    return records.update_many([(r, {"status": "submitted", **fields}) for r in rows])


def test_plan_writes_one_planned_row_per_game_once(records):
    scheduler = Scheduler.from_content(*content(), 2, seed=1)
    slot = scheduler.next()
    rows = records.plan(slot)
    assert [r.row_key for r in rows] == [f"{slot.slot_id}-0", f"{slot.slot_id}-1"]
    assert [r.agent_name for r in rows] == list(slot.agents)
    assert [r.join_code for r in rows] == list(slot.join_codes)
    assert [r.agent_minecraft_id for r in rows] == list(slot.instance_ids)
    assert {r.status for r in rows} == {RecordStatus.PLANNED}
    assert {r.unique_request_token for r in rows} == {request_token(records.campaign, slot.slot_id)}
    assert len(rows[0].unique_request_token) <= 64 and rows[0].hit_type == "pairwise"
    assert records.plan(slot) == rows, "planning the same slot again is a no-op"
    assert records.all() == rows and all(r.etag for r in records.all())
    other = scheduler.next()
    forged = type(other)(
        slot.slot_id,
        other.task_name,
        other.task_id,
        other.agents,
        other.instance_ids,
        other.join_codes,
        other.combination,
    )
    with pytest.raises(
        RecordConflict, match=f"slot {slot.slot_id} is already planned with other games"
    ):
        records.plan(forged)


def test_hostile_values_are_stored_intact_and_never_change_a_query(records, local_profile, table):
    scheduler = Scheduler.from_content(*content(n_tasks=8, per_agent=4), 2, seed=2)
    neighbour = GameRecords.open(local_profile, records.campaign + "-other", table_name=table)
    stored = {}
    for value in HOSTILE:
        slot = scheduler.next()
        neighbour.plan(slot)
        rows = submitted(
            records,
            records.plan(slot),
            hit_id=value,
            worker_id=value,
            completion_code=value,
            annotation={"agent_performance": value, "best": value},
            reasons=[value],
        )
        stored[value] = rows
    for value, rows in stored.items():
        for query in (records.by_hit, records.by_worker, records.by_completion_code):
            found = query(value)
            assert found == rows, (query.__name__, value)
        again = records.get(rows[0].row_key)
        assert (again.worker_id, again.annotation["best"], again.reasons) == (
            value,
            value,
            (value,),
        )
    for probe in ("' or '1' eq '1", "x' or HitId ne '", "' or Status eq 'submitted"):
        assert records.by_hit(probe) == []
        assert records.by_worker(probe) == []
    assert len(records.by_status("submitted")) == 2 * len(HOSTILE)
    assert len(neighbour.all()) == 2 * len(HOSTILE), "the other campaign's partition is untouched"
    assert records.by_status("submitted", "planned") == records.all()


def test_a_stale_etag_is_a_conflict_and_a_transaction_is_all_or_nothing(records):
    slot = Scheduler.from_content(*content(), 2).next()
    first, second = records.plan(slot)
    stale = records.get(first.row_key)
    fresh = records.update(first, status="hit_created", hit_id="HIT-1")
    assert fresh.etag != stale.etag
    with pytest.raises(RecordConflict, match="changed since they were read"):
        records.update(stale, status="hit_created", hit_id="HIT-2")
    assert records.get(first.row_key).hit_id == "HIT-1"
    with pytest.raises(RecordConflict):
        records.update_many([(second, {"hit_id": "HIT-1"}), (stale, {"hit_id": "HIT-3"})])
    assert records.get(second.row_key).hit_id == "", "nothing of a failed transaction was written"


def test_status_moves_only_along_the_loop(records):
    scheduler = Scheduler.from_content(*content(), 1)
    rows = records.plan(scheduler.next())
    with pytest.raises(RecordError, match="cannot go from planned to approved"):
        records.update(rows[0], status="approved")
    with pytest.raises(RecordError, match="cannot set HitId"):
        records.update(rows[0], HitId="x")
    (row,) = submitted(records, rows, worker_id="W1", is_hit_qualified=True, verdict="valid")
    row = records.update(row, status=RecordStatus.APPROVED)
    assert records.get(row.row_key) == row and row.is_hit_qualified is True
    with pytest.raises(RecordError, match="cannot go from approved to expired"):
        records.update(row, status="expired")
    (late,) = records.plan(scheduler.next())
    late = records.update(records.update(late, status="hit_created"), status="expired")
    assert records.update(late, status="submitted").status is RecordStatus.SUBMITTED, (
        "a late submission"
    )


def test_the_scheduler_restores_from_the_records(records):
    join_codes, instances = content(n_tasks=3, agents="AB", per_agent=1)
    scheduler = Scheduler.from_content(join_codes, instances, 2, seed=4)
    first = scheduler.next()
    submitted(records, records.plan(first))
    restored = Scheduler.from_content(join_codes, instances, 2, seed=4)
    restored.restore(scheduled_games(records.all()))
    assert restored.busy_instances() == scheduler.busy_instances()
    assert restored.next() is None, "both instances are in the open HIT"
    rows = records.slot_games(first.slot_id)
    records.update_many(
        [
            (r, {"status": "rejected", "verdict": "invalid", "reasons": ["code is a worker id"]})
            for r in rows
        ]
    )
    restored.restore(scheduled_games(records.all()))
    assert restored.outcome(first.slot_id) is Outcome.REJECTED
    again = restored.next()
    assert (again.task_name, again.slot_id) == (first.task_name, "00000001"), (
        "a rejected slot comes back"
    )


def test_missing_rows_bad_names_and_foreign_rows_are_named(records, local_profile, table, caplog):
    with pytest.raises(RecordNotFound, match="has no game record '00000099-0'"):
        records.get("00000099-0")
    with pytest.raises(RecordError, match="campaign name 'a/b' cannot be a table key"):
        GameRecords.open(local_profile, "a/b", table_name=table)
    records.table.create_entity(
        {
            "PartitionKey": records.campaign,
            "RowKey": "junk",
            "SlotId": "1",
            "Annotation": "{not json",
        }
    )
    with caplog.at_level("WARNING", logger="iglu_lib.storage"):
        readable = records.all()
    assert "junk" not in [r.row_key for r in readable], "one odd row never blocks the others"
    assert "junk, column Annotation: not JSON" in caplog.text, "and it is reported"


def test_dataframe_and_export_in_the_published_format(records, tmp_path, local_profile):
    from iglu_lib.platform.feedback import PUBLISHED_COLUMNS, read_feedback

    scheduler = Scheduler.from_content(*content(), 2, seed=5)
    approved = submitted(
        records,
        records.plan(scheduler.next()),
        hit_id="3ABCHIT",
        worker_id="A1B2C3D4E5F6G7",
        annotation={"agent_performance": HOSTILE[0] + ' "quoted" <b>bold</b>'},
    )
    approved = records.update_many(
        [
            (
                approved[0],
                {"status": "approved", "game_minecraft_id": "g-1", "completion_code": "CODE1"},
            ),
            (approved[1], {"status": "approved"}),
        ]
    )
    records.plan(scheduler.next())  # planned rows are not exported by default
    frame = records.dataframe()
    assert len(frame) == 4 and {"HitId", "Status", "Annotation", "WorkerId"} <= set(frame.columns)
    out = export_games(
        records, tmp_path / "feedback.csv", salt=local_profile.backend.worker_id_salt(), extra_columns=True
    )
    text = out.read_text()
    assert "A1B2C3D4E5F6G7" not in text
    back = read_feedback(out)
    assert list(back.columns[: len(PUBLISHED_COLUMNS)]) == list(PUBLISHED_COLUMNS)
    assert back["HitId"].tolist() == ["3ABCHIT", "3ABCHIT"]
    assert back["GameMinecraftId"].tolist() == ["g-1", "NA"]
    assert back["annotation"][0]["agent_performance"] == HOSTILE[0] + ' "quoted" <b>bold</b>'
    assert back["WorkerId"][0].startswith("worker-")


def test_slots_group_games_and_update_all_changes_them_together(records):
    scheduler = Scheduler.from_content(*content(), 2, seed=6)
    first, second = scheduler.next(), scheduler.next()
    records.plan(first)
    records.update_all(records.plan(second), status="hit_created", hit_id="H2")
    assert list(records.slots()) == [first.slot_id, second.slot_id]
    (only,) = records.slots("hit_created").values()
    assert [g.join_code for g in only] == list(second.join_codes) and {g.hit_id for g in only} == {
        "H2"
    }


def test_a_cell_too_long_for_the_table_is_refused_with_a_reason(records):
    (row,) = records.plan(Scheduler.from_content(*content(), 1).next())
    with pytest.raises(
        RecordError, match="column Annotation: 40,0.. characters, a table cell holds 32,767"
    ):
        records.update(row, annotation={"text": "x" * 40_000})
    assert records.get(row.row_key).annotation == {}


def test_cells_count_hits_per_task_and_combination(records):
    scheduler = Scheduler.from_content(*content(n_tasks=2, agents="ABC", per_agent=6), 2, seed=8)
    for _ in range(6):
        records.plan(scheduler.next())
    cells = records.cells()
    assert list(cells.columns) == ["A + B", "A + C", "B + C"] and list(cells.index) == [
        "task-0",
        "task-1",
    ]
    assert cells.to_numpy().sum() == 6 and cells.to_numpy().max() - cells.to_numpy().min() <= 1
    assert records.cells("approved").empty


def test_a_code_reused_from_another_campaign_is_found_when_asked(records, local_profile, table):
    earlier = GameRecords.open(local_profile, records.campaign + "-earlier", table_name=table)
    scheduler = Scheduler.from_content(*content(), 1, seed=9)
    (old,) = earlier.plan(scheduler.next())
    earlier.update(old, completion_code="' or CompletionCode ne '")
    assert records.by_completion_code("' or CompletionCode ne '") == []
    (found,) = records.by_completion_code("' or CompletionCode ne '", every_campaign=True)
    assert (found.campaign, found.row_key) == (earlier.campaign, old.row_key)
