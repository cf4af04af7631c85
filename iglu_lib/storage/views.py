"""Records as DataFrames (one row per game; HITs per task x combination cell), and the frame
of their export in the published `human_agent_feedback.csv` format (`published_frame`; the
file itself is written by `iglu_lib.collection.export`, through the platform's
`write_feedback`, which hashes worker ids and escapes formula-leading cells).

An export is per game: the loop settles a HIT as a whole (a `partial` HIT is paid, so all its
rows say `approved`), but a game whose own `Verdict` is `reject` is exported, and selected,
as `rejected` (`export_status`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from iglu_lib.storage.record import COLUMNS, GameRecord, RecordStatus

if TYPE_CHECKING:
    import pandas as pd

#: The verdict of a game that was rejected on its own (`iglu_lib.platform.validation.REJECT`).
REJECTED_VERDICT = "reject"
#: Published columns whose empty cells the published file writes as NA.
_MISSING_AS_NA = ("HitId", "GameMinecraftId", "TaskMinecraftId", "CompletionCode")


def records_frame(records: Iterable[GameRecord]) -> pd.DataFrame:
    """One row per game, the table's columns (JSON columns as their stored JSON text)."""
    import pandas as pd

    rows = [
        {column: record.to_entity().get(column) for column in COLUMNS.values()}
        for record in records
    ]
    return pd.DataFrame(rows, columns=list(COLUMNS.values()))


def cell_table(records: Iterable[GameRecord]) -> pd.DataFrame:
    """HITs (slots) per task (rows) and agent combination (columns, names joined by ` + `),
    zero where a combination has not played a task; the balance a campaign should show."""
    import pandas as pd

    slots: dict[str, list[GameRecord]] = {}
    for record in records:
        slots.setdefault(record.slot_id, []).append(record)
    rows = [
        {"task": games[0].task_name, "combination": " + ".join(sorted(g.agent_name for g in games))}
        for games in slots.values()
    ]
    frame = pd.DataFrame(rows, columns=["task", "combination"])
    table = pd.crosstab(frame["task"], frame["combination"]) if rows else pd.DataFrame()
    return table.rename_axis(index="task", columns="combination")


def export_status(record: GameRecord) -> str:
    """The game's own status for an export: `rejected` when its own verdict rejected it (a
    game of a `partial` HIT, whose HIT was approved as a whole), its record's status else."""
    if record.verdict == REJECTED_VERDICT and record.status is RecordStatus.APPROVED:
        return RecordStatus.REJECTED.value
    return record.status.value


def select_for_export(
    records: Iterable[GameRecord], statuses: Iterable[RecordStatus | str]
) -> list[GameRecord]:
    """The records whose own export status (`export_status`) is one of `statuses`."""
    wanted = {RecordStatus.parse(s).value for s in statuses}
    return [record for record in records if export_status(record) in wanted]


def statuses_to_query(statuses: Iterable[RecordStatus | str]) -> list[str]:
    """The stored statuses that may hold games of the given export statuses (a game exported
    as `rejected` may be stored in an `approved` HIT)."""
    wanted = {RecordStatus.parse(s).value for s in statuses}
    if RecordStatus.REJECTED.value in wanted:
        wanted.add(RecordStatus.APPROVED.value)
    return sorted(wanted)


def published_frame(records: Iterable[GameRecord]) -> pd.DataFrame:
    """Records as the published format's rows, before worker ids are hashed: empty ids and
    codes become NA as published, the `Status` column is each game's own (`export_status`),
    and the table keys are left out."""
    records = list(records)
    frame = records_frame(records)
    frame["Status"] = [export_status(record) for record in records]
    for column in _MISSING_AS_NA:
        frame[column] = frame[column].where(frame[column].astype(str) != "", None)
    return frame.drop(columns=["PartitionKey", "RowKey"])
