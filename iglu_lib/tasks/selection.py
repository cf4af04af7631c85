"""Choosing tasks by id: a comma-separated list, a file with one id per line, or `all`.

An id selects the task with that id, or every task whose id continues it after a slash, so
`13-c71/step-2` selects all games that start from that state.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from iglu_lib.tasks.model import Task, TaskError

ALL = "all"


class SelectionError(TaskError):
    """A selection names tasks that are not in the set."""


def parse_selection(value: str | Path | Sequence[str] | None) -> list[str] | None:
    """Ids from `all`/None (every task), a list, a comma-separated string or a file of lines."""
    if value is None:
        return None
    if not isinstance(value, str | Path):
        return [str(item).strip() for item in value if str(item).strip()]
    text = str(value).strip()
    if text == ALL:
        return None
    path = Path(text)
    if path.is_file():
        lines = path.read_text(encoding="utf-8").splitlines()
        return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return [item.strip() for item in text.split(",") if item.strip()]


def select_tasks(tasks: Sequence[Task], selection: str | Path | Sequence[str] | None) -> list[Task]:
    """The tasks a selection names, in the selection's order; unknown ids fail together."""
    wanted = parse_selection(selection)
    if wanted is None:
        return list(tasks)
    chosen: list[Task] = []
    unknown = []
    for selector in wanted:
        matches = [t for t in tasks if t.task_id == selector or (t.task_id or "").startswith(selector + "/")]
        if not matches:
            unknown.append(selector)
        chosen.extend(t for t in matches if t not in chosen)
    if unknown:
        known = ", ".join(t.task_id or "?" for t in tasks[:8])
        raise SelectionError(
            f"no task with id {', '.join(unknown)} (ids look like: {known}{', ...' if len(tasks) > 8 else ''})"
        )
    return chosen
