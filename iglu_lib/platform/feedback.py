"""Game records in the published export format, read back with a data-quality report.

The published IGLU human-evaluation export (`human_agent_feedback.csv`) has the columns
`HitId, GameMinecraftId, TaskMinecraftId, AgentName, Annotation, CompletionCode`, writes R's
`NA` for missing values and holds what real crowds paste. Reading keeps every raw cell as
text (an annotation that is not JSON stays as it was, never repaired) and adds parsed
columns beside it; writing emits exactly the published columns with every worker id
replaced by its keyed pseudonym.

The export is opened by people in spreadsheets, so a cell a worker made formula-leading
(`=HYPERLINK(...)`, `@SUM(...)`, `+cmd|...`) is written with a leading `'`
(`iglu_lib.spreadsheet`); `raw=True` writes the cells as they are, for machine pipelines.
Reading undoes the escape, so an export read back gives the original values.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iglu_lib.errors import IgluError
from iglu_lib.platform.codes import MISSING_CELLS, CodeError, parse_completion_code
from iglu_lib.platform.privacy import PrivacyError, find_worker_ids, is_pseudonym, pseudonym, scrub
from iglu_lib.spreadsheet import escape_frame, unescape_frame

if TYPE_CHECKING:
    import pandas as pd

PUBLISHED_COLUMNS = (
    "HitId",
    "GameMinecraftId",
    "TaskMinecraftId",
    "AgentName",
    "Annotation",
    "CompletionCode",
)
#: Columns `read_feedback` adds; they are views of the raw cells and never written back.
DERIVED_COLUMNS = ("annotation_status", "annotation", "code_status", "code_fields", "code_game_id")
#: Columns whose whole value is a worker id, pseudonymized even when not shaped like one.
WORKER_COLUMNS = ("WorkerId",)


class FeedbackFormatError(IgluError, ValueError):
    """The file is not an export of game records; the message names the file and what is missing."""



def read_feedback(path: str | Path) -> pd.DataFrame:
    """Read an export; raw cells stay text, parsed views are added as extra columns.

    `annotation_status` is `empty` (no cell, `NA` or `{}`), `valid` (a JSON object) or
    `invalid`; `annotation` the parsed object or None; `code_status` `ok`, `missing` or the
    reason the completion-code cell is not a code; `code_fields` the decoded fields and
    `code_game_id` the game the code names.
    """
    import pandas as pd

    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
        frame = unescape_frame(frame)
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise FeedbackFormatError(
            f"{path}: not a readable CSV file ({err}); export it again as UTF-8 CSV"
        ) from None
    except FileNotFoundError:
        raise FeedbackFormatError(f"{path}: file not found; give an export in the published "
                                  "human_agent_feedback.csv format") from None
    missing = [c for c in PUBLISHED_COLUMNS if c not in frame.columns]
    if missing:
        raise FeedbackFormatError(
            f"{path}: missing column(s) {', '.join(missing)}; "
            f"a game-record export has {', '.join(PUBLISHED_COLUMNS)}"
        )
    parsed = [_parse_annotation(cell) for cell in frame["Annotation"]]
    frame["annotation_status"] = [status for status, _ in parsed]
    frame["annotation"] = [value for _, value in parsed]
    decoded = [_decode_code(cell) for cell in frame["CompletionCode"]]
    frame["code_status"] = [status for status, _ in decoded]
    frame["code_fields"] = [fields for _, fields in decoded]
    frame["code_game_id"] = [fields["game_id"] if fields else None for _, fields in decoded]
    return frame


def _parse_annotation(cell: str) -> tuple[str, dict[str, Any] | None]:
    text = cell.strip()
    if text in MISSING_CELLS:
        return "empty", None
    try:
        value = json.loads(text)
    except ValueError:
        return "invalid", None
    if not isinstance(value, dict):
        return "invalid", None
    return ("valid", value) if value else ("empty", value)


def _decode_code(cell: str) -> tuple[str, dict[str, Any] | None]:
    if cell.strip() in MISSING_CELLS:
        return "missing", None
    try:
        code = parse_completion_code(cell)
    except CodeError as err:
        return err.reason, None
    return "ok", code.fields()


def feedback_report(df: pd.DataFrame, *, salt: str | None = None) -> dict[str, Any]:
    """The data-quality report of an export read by `read_feedback` (JSON-ready).

    Worker ids found in the text are counted; with a `salt` they are also listed as their
    keyed pseudonyms (never as themselves), so they can be matched to other exports.
    """
    games_per_hit = Counter(df.groupby("HitId").size().tolist())
    ok = df[df["code_status"] == "ok"]
    field_counts = Counter(8 if fields["legacy"] else 7 for fields in ok["code_fields"])
    differs = ok[ok["code_game_id"] != ok["GameMinecraftId"]]
    return {
        "rows": len(df),
        "hits": int(df["HitId"].nunique()),
        "games_per_hit": {str(size): count for size, count in sorted(games_per_hit.items())},
        "annotations": _counts(df["annotation_status"], ("empty", "valid", "invalid")),
        "invalid_annotation_rows": _rows(df.index[df["annotation_status"] == "invalid"]),
        "completion_codes": _counts(df["code_status"], ("ok", "missing")),
        "codes_by_field_count": {str(n): c for n, c in sorted(field_counts.items())},
        "code_game_id_differs": {
            "rows": len(differs),
            "game_id_missing_in_row": int(differs["GameMinecraftId"].isin(MISSING_CELLS).sum()),
            "game_id_other": int((~differs["GameMinecraftId"].isin(MISSING_CELLS)).sum()),
        },
        "worker_ids": _worker_id_report(df, salt),
    }


def _counts(series: pd.Series, first: tuple[str, ...]) -> dict[str, int]:
    counts = Counter(series)
    ordered = {key: counts.pop(key, 0) for key in first}
    ordered.update(sorted(counts.items()))
    return {key: int(value) for key, value in ordered.items()}


def _rows(index: Any) -> list[int]:
    """Row numbers as a spreadsheet shows them (header is row 1)."""
    return [int(i) + 2 for i in index]


def _worker_id_report(df: pd.DataFrame, salt: str | None) -> dict[str, Any]:
    """How many worker ids the text holds and where (never the ids themselves)."""
    by_column: Counter[str] = Counter()
    distinct: set[str] = set()
    for column in _raw_columns(df):
        for cell in df[column]:
            found = find_worker_ids(cell)
            by_column[column] += len(found)
            distinct.update(found)
    report: dict[str, Any] = {
        "distinct": len(distinct),
        "occurrences": sum(by_column.values()),
        "by_column": {k: v for k, v in by_column.items() if v},
    }
    if salt:
        report["pseudonyms"] = sorted(pseudonym(worker, salt) for worker in distinct)
    return report


def _raw_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c not in DERIVED_COLUMNS]


def write_feedback(
    df: pd.DataFrame, path: str | Path, *, salt: str, extra_columns: bool = False, raw: bool = False
) -> Path:
    """Write game records in exactly the published format, with no raw worker id anywhere.

    Worker ids in any cell become keyed pseudonyms (a `WorkerId` column entirely), and
    e-mail addresses, phone numbers and URLs in the text become placeholders. Columns
    beyond the published six are written only with `extra_columns`; the parsed views added
    by `read_feedback` never are. Formula-leading cells get a leading `'` unless `raw`
    (see the module docstring). Refuses to run without a salt.
    """
    if not salt:
        raise PrivacyError(
            "write_feedback needs the worker-id salt (IGLU_WORKER_ID_SALT); refusing to export"
        )
    missing = [c for c in PUBLISHED_COLUMNS if c not in df.columns]
    if missing:
        raise FeedbackFormatError(
            f"cannot export game records without column(s) {', '.join(missing)}"
        )
    columns = list(PUBLISHED_COLUMNS)
    if extra_columns:
        columns += [c for c in _raw_columns(df) if c not in PUBLISHED_COLUMNS]
    out = df[columns].copy().astype(object).where(df[columns].notna(), "NA")
    for column in columns:
        out[column] = [_protect(column, cell, salt) for cell in out[column]]
    if not raw:
        out = escape_frame(out)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    return path


def _protect(column: str, cell: Any, salt: str) -> str:
    text = json.dumps(cell) if isinstance(cell, dict | list) else str(cell)
    if column in WORKER_COLUMNS and text not in MISSING_CELLS and not is_pseudonym(text):
        return pseudonym(text, salt)
    return scrub(text, salt=salt)
