"""Encoding a set of tasks into a folder of platform task files, all or nothing.

Every task is encoded (and its JSON checked) before the first file is written, so a bad task
or template leaves the folder as it was. Each file is named from the task id with unsafe
characters replaced; `empty_start_copies` adds, per task, a copy with an empty start and no
dialogue (`<name>-empty-start`), which lets a campaign ask for the whole structure at once.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from iglu_lib.encoding.encoder import EncodingError, encode_task
from iglu_lib.tasks.model import Task, as_task

EMPTY_START_SUFFIX = "-empty-start"


@dataclass
class EncodeResult:
    """What an encoding run wrote (task name -> file) and which inputs it skipped and why."""

    out: Path
    files: dict[str, Path] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"written": len(self.files), "skipped": self.skipped, "out": str(self.out)}


def safe_file_stem(task_name: str) -> str:
    """A file name for a task: letters, digits, dot, dash and underscore kept, the rest `_`."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", task_name).strip("._") or "task"
    return stem


def empty_start_copy(task: Task) -> Task:
    """The same target from an empty world, with no dialogue."""
    name = f"{task.task_id}{EMPTY_START_SUFFIX}" if task.task_id else None
    return Task(chat="", last_instruction="", starting_grid=[], target_grid=task.target_grid, task_id=name)


def encode_tasks(
    tasks: Iterable[Any],
    out: str | Path,
    *,
    architect_role_id: str,
    builder_role_id: str,
    empty_start_copies: bool = False,
    skipped: Iterable[Mapping[str, str]] = (),
    **options: Any,
) -> EncodeResult:
    """Write one pretty-printed platform task file per task (plus empty-start copies) into `out`.

    `options` are passed to `encode_task` (limits, state, template ...); `skipped` carries
    the inputs a loader already refused, so the result reports them too.
    """
    documents = _encode_all(tasks, empty_start_copies, architect_role_id, builder_role_id, options)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = EncodeResult(out=out, skipped=[dict(s) for s in skipped])
    for name, (stem, text) in documents.items():
        result.files[name] = _write_atomically(out / f"{stem}.json", text)
    return result


def _encode_all(
    tasks: Iterable[Any], empty_start_copies: bool, architect: str, builder: str, options: dict[str, Any]
) -> dict[str, tuple[str, str]]:
    documents: dict[str, tuple[str, str]] = {}
    stems: dict[str, str] = {}
    for index, task in enumerate(tasks, start=1):
        task = as_task(task)
        if task.task_id is None:
            task = replace(task, task_id=f"task-{index}")
        variants = [task, empty_start_copy(task)] if empty_start_copies else [task]
        for variant in variants:
            name = variant.task_id or ""
            stem = safe_file_stem(name)
            if stem in stems:
                raise EncodingError(f"tasks {stems[stem]!r} and {name!r} would both be written to {stem}.json")
            stems[stem] = name
            text = encode_task(variant, name=name, architect_role_id=architect, builder_role_id=builder, **options)
            documents[name] = (stem, text + "\n")
    return documents


def _write_atomically(path: Path, text: str) -> Path:
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
