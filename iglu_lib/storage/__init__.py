"""Game records in Azure Tables: one row per game, partitioned by campaign.

`GameRecords.open(profile, campaign)` gives the campaign's records; `GameRecord` is one row
and `RecordStatus` its place in the collection loop. Azure and pandas are imported only
when records are read or written, so importing this package stays cheap.
"""

from iglu_lib.storage.entity_table import EntityTable
from iglu_lib.storage.record import (
    COLUMNS,
    TRANSITIONS,
    GameRecord,
    RecordError,
    RecordStatus,
    request_token,
    row_key_for,
)
from iglu_lib.storage.table import GameRecords, RecordConflict, RecordNotFound

__all__ = [
    "COLUMNS",
    "EntityTable",
    "TRANSITIONS",
    "GameRecord",
    "GameRecords",
    "RecordConflict",
    "RecordError",
    "RecordNotFound",
    "RecordStatus",
    "request_token",
    "row_key_for",
]
