"""A campaign's game records in the published `human_agent_feedback.csv` format.

Storage gives the rows (`storage.views.published_frame`), the platform writes the published
file (`platform.feedback.write_feedback`: worker ids hashed, formula-leading cells escaped for
spreadsheets unless `raw`); this module joins the two, which neither may import.

An export is per game: the loop settles a HIT as a whole (a `partial` HIT is paid, so all its
rows say `approved`), but a game whose own `Verdict` is `reject` is exported, and selected,
as `rejected` (`storage.views.export_status`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from iglu_lib.storage import GameRecord, GameRecords, RecordStatus


def export_records(
    records: Iterable[GameRecord],
    path: str | Path,
    *,
    salt: str,
    extra_columns: bool = False,
    raw: bool = False,
) -> Path:
    """Write records in the published format; empty ids and codes become NA as published.
    The `Status` column (with `extra_columns`) is each game's own (`export_status`);
    `raw` skips the spreadsheet escape (for machine pipelines)."""
    from iglu_lib.platform.feedback import write_feedback
    from iglu_lib.storage.views import published_frame

    frame = published_frame(records)
    return write_feedback(frame, path, salt=salt, extra_columns=extra_columns, raw=raw)


def select_games(
    records: GameRecords, statuses: Sequence[RecordStatus | str] = (RecordStatus.APPROVED,)
) -> list[GameRecord]:
    """The campaign's games whose own status (a game rejected inside a paid `partial` HIT is
    `rejected`) is one of `statuses`."""
    from iglu_lib.storage.views import select_for_export, statuses_to_query

    return select_for_export(records.by_status(*statuses_to_query(statuses)), statuses)


def export_games(
    records: GameRecords,
    path: str | Path,
    *,
    salt: str,
    statuses: Sequence[RecordStatus | str] = (RecordStatus.APPROVED,),
    extra_columns: bool = False,
    raw: bool = False,
) -> Path:
    """Write the campaign's games of the given own statuses (`select_games`) in the published
    format; formula-leading cells escaped for spreadsheets unless `raw`."""
    found = select_games(records, statuses)
    return export_records(found, path, salt=salt, extra_columns=extra_columns, raw=raw)
