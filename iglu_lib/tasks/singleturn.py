"""Tasks from the IGLU single-turn dataset, read from its folder layout without a network.

A row of the CSV names a start state (`InitializedWorldPath`, e.g.
`initial_world_states/builder-data/2-c135/step-4`) and a game (`CQ-game-1021`) whose world
after the builder acted is `target_world_states/builder-data/actionHit/game-1021/
game-1021-step-action`. The task id is the start state (`2-c135/step-4`), as in gridworld;
when several games of the CSV start from the same state, each gets `<start>/<GameId>` so
that ids stay unique. Rows that cannot become a task are skipped and reported with the
reason, never dropped silently.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np

from iglu_lib.tasks.model import Task, TaskError, to_dense, to_sparse
from iglu_lib.tasks.voxelworld import read_world_state

DEFAULT_CSV = "clarifying_questions_train.csv"
SAMPLE_CSV = "selected_games.csv"
SAMPLE_GAMES = "sample_games.txt"
REQUIRED_COLUMNS = ("GameId", "InitializedWorldPath", "InputInstruction")


class DatasetError(TaskError):
    """The dataset folder or its CSV cannot be read at all (as opposed to one bad row)."""


@dataclass(frozen=True)
class SkippedRow:
    """A CSV row that did not become a task, and why."""

    line: int
    game_id: str
    reason: str


@dataclass
class LoadReport:
    """What a load read, kept and skipped (with reasons)."""

    source: str
    rows: int = 0
    loaded: int = 0
    skipped: list[SkippedRow] = field(default_factory=list)

    def reasons(self) -> Counter[str]:
        """How many rows were skipped for each kind of reason (the text before the first colon)."""
        return Counter(row.reason.split(":")[0] for row in self.skipped)

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "rows": self.rows,
            "loaded": self.loaded,
            "skipped": [{"line": s.line, "game_id": s.game_id, "reason": s.reason} for s in self.skipped],
        }


class LoadResult(NamedTuple):
    tasks: list[Task]
    report: LoadReport


@dataclass(frozen=True)
class _Row:
    line: int
    game_id: str
    start_path: str
    instruction: str

    @property
    def start_id(self) -> str:
        return "/".join(self.start_path.replace("\\", "/").split("/")[-2:])

    @property
    def target_path(self) -> str:
        number = self.game_id.rsplit("-", 1)[-1]
        return f"target_world_states/builder-data/actionHit/game-{number}/game-{number}-step-action"


def load_singleturn(
    folder: str | Path,
    *,
    csv_name: str = DEFAULT_CSV,
    games: Iterable[str] | None = None,
    strict: bool = False,
) -> LoadResult:
    """Tasks of a single-turn dataset folder, plus a report of the rows skipped and why.

    `games` restricts the load to those `GameId`s. A row is skipped when a world-state file
    is missing or unreadable, when the target equals the start, or when it repeats an earlier
    row's game; with `strict=True` an unreadable file raises instead.
    """
    folder = Path(folder)
    rows = _read_rows(folder / csv_name)
    # Ids depend on the whole CSV, not on the selection, so a task keeps its id in any subset.
    shared_starts = {start for start, n in Counter(r.start_id for r in _unique_games(rows)).items() if n > 1}
    if games is not None:
        wanted = set(games)
        rows = [row for row in rows if row.game_id in wanted]
    report = LoadReport(source=str(folder / csv_name), rows=len(rows))
    tasks = []
    for row in _drop_repeated_games(rows, report):
        task_id = f"{row.start_id}/{row.game_id}" if row.start_id in shared_starts else row.start_id
        task_or_reason = _task_from_row(folder, row, task_id, strict)
        if isinstance(task_or_reason, Task):
            tasks.append(task_or_reason)
        else:
            report.skipped.append(SkippedRow(row.line, row.game_id, task_or_reason))
    report.loaded = len(tasks)
    return LoadResult(tasks, report)


def load_sample() -> list[Task]:
    """The tasks of the sample bundled with the package (24 games, works offline)."""
    tasks, report = load_singleturn(sample_folder(), csv_name=SAMPLE_CSV, games=sample_games(), strict=True)
    if report.skipped:
        raise DatasetError(f"bundled sample is damaged: {report.skipped[0].reason}")
    return tasks


def sample_folder() -> Path:
    """Where the bundled single-turn sample lives inside the installed package."""
    return Path(str(resources.files("iglu_lib.tasks") / "data" / "singleturn"))


def sample_games() -> list[str]:
    """The `GameId`s of the bundled sample."""
    return (sample_folder() / SAMPLE_GAMES).read_text(encoding="utf-8").split()


def _read_rows(csv_path: Path) -> list[_Row]:
    if not csv_path.is_file():
        raise DatasetError(f"{csv_path}: no such CSV (a single-turn dataset folder holds {DEFAULT_CSV})")
    with csv_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DatasetError(f"{csv_path}: missing column(s) {', '.join(missing)} in the header")
        return [
            _Row(reader.line_num, row["GameId"], row["InitializedWorldPath"] or "", row["InputInstruction"] or "")
            for row in reader
        ]


def _unique_games(rows: list[_Row]) -> list[_Row]:
    return list({row.game_id: row for row in reversed(rows)}.values())


def _drop_repeated_games(rows: list[_Row], report: LoadReport) -> list[_Row]:
    first_line: dict[str, int] = {}
    kept = []
    for row in rows:
        if row.game_id in first_line:
            reason = f"repeated game: {row.game_id} already read on line {first_line[row.game_id]}"
            report.skipped.append(SkippedRow(row.line, row.game_id, reason))
            continue
        first_line[row.game_id] = row.line
        kept.append(row)
    return kept


def _task_from_row(folder: Path, row: _Row, task_id: str, strict: bool) -> Task | str:
    """The row's task, or the reason it is skipped."""
    if not row.start_path:
        return "missing file: the row has no InitializedWorldPath"
    start_file, target_file = folder / row.start_path, folder / row.target_path
    for kind, path in (("start", start_file), ("target", target_file)):
        if not path.resolve().is_relative_to(folder.resolve()):
            return f"unsafe path: the {kind} world state {path} lies outside the dataset folder"
        if not path.is_file():
            return f"missing file: {kind} world state {path} not found"
    try:
        start = to_dense(read_world_state(start_file), where=str(start_file))
        target = to_dense(read_world_state(target_file), where=str(target_file))
    except TaskError as err:
        if strict:
            raise
        return f"unreadable file: {err}"
    if np.array_equal(start, target):
        return "target equals start: the builder changed nothing in this game"
    instruction = "<Architect> " + clean_utterance(row.instruction)
    return Task(chat=instruction, last_instruction=instruction, starting_grid=to_sparse(start),
                target_grid=target, task_id=task_id)


def clean_utterance(text: str) -> str:
    """An utterance with the dataset's `$` line markers turned into newlines (as gridworld does)."""
    return re.sub(r"\$+", "\n", text).strip()


def load_source(source: str | Path, *, csv_name: str = DEFAULT_CSV) -> LoadResult:
    """`sample` (the bundled sample) or a single-turn dataset folder, with its report."""
    if str(source) == "sample":
        return load_singleturn(sample_folder(), csv_name=SAMPLE_CSV, games=sample_games())
    if not Path(source).is_dir():
        raise DatasetError(f"{source}: not a folder; give a single-turn dataset folder or 'sample'")
    return load_singleturn(source, csv_name=csv_name)
