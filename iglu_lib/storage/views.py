"""Records as DataFrames (one row per game; HITs per task x combination cell), and their
export in the published `human_agent_feedback.csv` format (through
`iglu_lib.platform.feedback.write_feedback`, which hashes worker ids)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from iglu_lib.storage.record import COLUMNS, GameRecord

if TYPE_CHECKING:
    import pandas as pd

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


def export_records(
    records: Iterable[GameRecord], path: str | Path, *, salt: str, extra_columns: bool = False
) -> Path:
    """Write records in the published format; empty ids and codes become NA as published."""
    from iglu_lib.platform.feedback import write_feedback

    frame = records_frame(records)
    for column in _MISSING_AS_NA:
        frame[column] = frame[column].where(frame[column].astype(str) != "", None)
    frame = frame.drop(columns=["PartitionKey", "RowKey"])
    return write_feedback(frame, path, salt=salt, extra_columns=extra_columns)
