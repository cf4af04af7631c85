"""The IGLU task: dialogue so far, a start structure and a target structure.

The attributes are those of `gridworld.tasks.Task` (the IGLU environment, which is not on the
package index), so a gridworld task passes through `as_task` unchanged and every part of the
workbench can take either. Coordinates are IGLU ones: x and z from -5 to 5, y from -1 to 7;
the dense grid is indexed `[y + 1, x + 5, z + 5]`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from iglu_lib.errors import IgluError

#: Shape of the dense build zone, indexed `[y, x, z]`.
GRID_SHAPE = (9, 11, 11)
X_RANGE = (-5, 5)
Y_RANGE = (-1, 7)
Z_RANGE = (-5, 5)
#: IGLU colour ids (0 is air).
COLOURS = {0: "air", 1: "blue", 2: "green", 3: "red", 4: "orange", 5: "purple", 6: "yellow"}

Block = tuple[int, int, int, int]
#: A structure as callers hold it: a dense `(9, 11, 11)` grid or sparse `(x, y, z, colour)`
#: blocks (None: no blocks); `to_dense` and `to_sparse` check it.
Structure = np.ndarray | Iterable[Sequence[int]] | None


class TaskError(IgluError, ValueError):
    """A task (or a structure) holds something outside the IGLU build zone or palette."""



@dataclass(eq=False)
class Task:
    """One IGLU task, validated on creation.

    `starting_grid` is sparse (`(x, y, z, colour)` blocks) and `target_grid` dense, as in
    gridworld; the target is the whole structure expected at the end, start blocks included.
    """

    chat: str
    target_grid: np.ndarray
    last_instruction: str = ""
    starting_grid: list[Block] = field(default_factory=list)
    task_id: str | None = None

    def __post_init__(self) -> None:
        where = f"task {self.task_id}" if self.task_id else "task"
        self.chat = self.chat or ""
        self.last_instruction = self.last_instruction or ""
        self.starting_grid = sorted(to_sparse(self.starting_grid, where=f"{where}: starting_grid"))
        self.target_grid = to_dense(self.target_grid, where=f"{where}: target_grid")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Task):
            return NotImplemented
        return (
            self.chat == other.chat
            and self.last_instruction == other.last_instruction
            and self.starting_grid == other.starting_grid
            and np.array_equal(self.target_grid, other.target_grid)
            and self.task_id == other.task_id
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    @property
    def target_blocks(self) -> list[Block]:
        """The target as sparse `(x, y, z, colour)` blocks."""
        return to_sparse(self.target_grid)

    def __repr__(self) -> str:
        return (
            f"Task(task_id={self.task_id!r}, start={len(self.starting_grid)} blocks, "
            f"target={int(np.count_nonzero(self.target_grid))} blocks, "
            f"last_instruction={_shorten(self.last_instruction)!r})"
        )


def as_task(obj: Any) -> Task:
    """A `Task` from any object with the gridworld attributes (a gridworld task included)."""
    if isinstance(obj, Task):
        return obj
    missing = [name for name in ("chat", "target_grid") if not hasattr(obj, name)]
    if missing:
        raise TaskError(
            f"{type(obj).__name__} is not a task: it has no {', '.join(missing)} "
            "(a task needs chat, last_instruction, starting_grid and target_grid)"
        )
    return Task(
        chat=obj.chat,
        target_grid=obj.target_grid,
        last_instruction=getattr(obj, "last_instruction", "") or "",
        starting_grid=getattr(obj, "starting_grid", None) or [],
        task_id=getattr(obj, "task_id", None),
    )


def to_dense(structure: Structure, *, where: str = "structure") -> np.ndarray:
    """A `(9, 11, 11)` int array from a dense grid or a sparse sequence of blocks."""
    if isinstance(structure, np.ndarray) and structure.ndim == 3:
        return _checked_dense(structure, where)
    grid = np.zeros(GRID_SHAPE, dtype=np.int64)
    for x, y, z, colour in _checked_blocks(structure, where):
        grid[y + 1, x + 5, z + 5] = colour
    return grid


def to_sparse(structure: Structure, *, where: str = "structure") -> list[Block]:
    """Sorted `(x, y, z, colour)` blocks (air left out) from a dense grid or sparse blocks."""
    if isinstance(structure, np.ndarray) and structure.ndim == 3:
        grid = _checked_dense(structure, where)
        ys, xs, zs = np.nonzero(grid)
        return [
            (int(x) - 5, int(y) - 1, int(z) - 5, int(grid[y, x, z]))
            for y, x, z in zip(ys, xs, zs, strict=True)
        ]
    return sorted(block for block in _checked_blocks(structure, where) if block[3] != 0)


def _checked_dense(grid: np.ndarray, where: str) -> np.ndarray:
    if grid.shape != GRID_SHAPE:
        raise TaskError(f"{where}: dense grid has shape {grid.shape}, expected {GRID_SHAPE} [y, x, z]")
    if not np.issubdtype(grid.dtype, np.integer):
        if not np.array_equal(grid, np.round(grid)):
            raise TaskError(f"{where}: dense grid holds non-integer colours")
    bad = (grid < 0) | (grid > max(COLOURS))
    if bad.any():
        y, x, z = (int(i) for i in np.argwhere(bad)[0])
        raise TaskError(
            f"{where}: colour {grid[y, x, z]} at x={x - 5}, y={y - 1}, z={z - 5} is not an IGLU "
            f"colour id (0-6: {', '.join(COLOURS.values())})"
        )
    return grid.astype(np.int64)


def _checked_blocks(blocks: Iterable[Sequence[int]] | None, where: str) -> list[Block]:
    checked: dict[tuple[int, int, int], Block] = {}
    for index, block in enumerate(blocks if blocks is not None else ()):
        x, y, z, colour = check_block(block, where=f"{where}[{index}]")
        if (x, y, z) in checked:
            raise TaskError(f"{where}[{index}]: a second block at x={x}, y={y}, z={z}")
        checked[(x, y, z)] = (x, y, z, colour)
    return list(checked.values())


def check_block(block: Sequence[Any], *, where: str = "block") -> Block:
    """One `(x, y, z, colour)` block with integer values inside the zone and palette."""
    try:
        x, y, z, colour = (_as_int(v) for v in block)
    except (TypeError, ValueError):
        raise TaskError(f"{where}: {block!r} is not an (x, y, z, colour) block of integers") from None
    for name, value, (low, high) in (("x", x, X_RANGE), ("y", y, Y_RANGE), ("z", z, Z_RANGE)):
        if not low <= value <= high:
            raise TaskError(f"{where}: {name}={value} is outside the build zone ({low}..{high})")
    if colour not in COLOURS:
        raise TaskError(f"{where}: colour {colour} is not an IGLU colour id (0-6)")
    return (x, y, z, colour)


def _as_int(value: Any) -> int:
    number = int(value)
    if number != value:
        raise ValueError(value)
    return number


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
