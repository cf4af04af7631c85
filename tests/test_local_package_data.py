"""Run-time data of the local stack ships with the package: the rehearsal's real platform task
is read from `iglu_lib/local/data/`, never from `tests/`, and matches the tests' own copy."""

from __future__ import annotations

from pathlib import Path

import iglu_lib
from iglu_lib.local.platform.rehearsal import GREENLANDS_TASK, rehearsal_tasks

FIXTURE = Path(__file__).parent / "fixtures" / "greenlands" / "tasks" / GREENLANDS_TASK.name


def test_the_rehearsal_task_is_package_data_equal_to_the_fixture():
    package = Path(iglu_lib.__file__).resolve().parent
    assert GREENLANDS_TASK.is_relative_to(package / "local" / "data")
    for name in ("initialGameState.json", "targetGameChanges.json"):
        assert (GREENLANDS_TASK / name).read_bytes() == (FIXTURE / name).read_bytes()
    tasks = rehearsal_tasks(sample_tasks=1)
    assert sorted(tasks) == ["greenlands", "sample-00"]
    assert tasks["greenlands"]["targetGameChanges"], "the real task's target is read"
