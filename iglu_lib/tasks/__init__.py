"""IGLU tasks: the Task model, dataset loaders, the structure score, and pictures.

Names are resolved on first use (NumPy and matplotlib load only then), so importing
`iglu_lib.tasks` stays cheap: `from iglu_lib.tasks import Task, structure_f1` works as usual.
"""

from __future__ import annotations

from iglu_lib.lazy import lazy_exports

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
