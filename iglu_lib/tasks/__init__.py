"""IGLU tasks: the Task model, dataset loaders, the structure score, and pictures.

Names are resolved on first use (NumPy and matplotlib load only then), so importing
`iglu_lib.tasks` stays cheap: `from iglu_lib.tasks import Task, structure_f1` works as usual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iglu_lib.lazy import lazy_exports

if TYPE_CHECKING:  # the checker sees the real names; at run time they load on first use
    from iglu_lib.tasks.browser import TaskBrowser as TaskBrowser
    from iglu_lib.tasks.metrics import structure_f1 as structure_f1
    from iglu_lib.tasks.metrics_reference import reference_structure_f1 as reference_structure_f1
    from iglu_lib.tasks.model import COLOURS as COLOURS
    from iglu_lib.tasks.model import GRID_SHAPE as GRID_SHAPE
    from iglu_lib.tasks.model import Task as Task
    from iglu_lib.tasks.model import TaskError as TaskError
    from iglu_lib.tasks.model import as_task as as_task
    from iglu_lib.tasks.model import to_dense as to_dense
    from iglu_lib.tasks.model import to_sparse as to_sparse
    from iglu_lib.tasks.pictures import render as render
    from iglu_lib.tasks.selection import select_tasks as select_tasks
    from iglu_lib.tasks.singleturn import LoadReport as LoadReport
    from iglu_lib.tasks.singleturn import SkippedRow as SkippedRow
    from iglu_lib.tasks.singleturn import load_sample as load_sample
    from iglu_lib.tasks.singleturn import load_singleturn as load_singleturn
    from iglu_lib.tasks.singleturn import load_source as load_source
    from iglu_lib.tasks.voxelworld import read_world_state as read_world_state

_EXPORTS = {
    "Task": "model",
    "TaskError": "model",
    "as_task": "model",
    "to_dense": "model",
    "to_sparse": "model",
    "COLOURS": "model",
    "GRID_SHAPE": "model",
    "load_sample": "singleturn",
    "load_singleturn": "singleturn",
    "load_source": "singleturn",
    "LoadReport": "singleturn",
    "SkippedRow": "singleturn",
    "read_world_state": "voxelworld",
    "structure_f1": "metrics",
    "reference_structure_f1": "metrics_reference",
    "select_tasks": "selection",
    "render": "pictures",
    "TaskBrowser": "browser",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
