"""The Task model: gridworld attributes, validated on creation, any task-like object accepted."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from iglu_lib.tasks import Task, TaskError, as_task, to_dense, to_sparse


def _grid(*blocks):
    return to_dense(list(blocks))


def test_dense_grid_is_indexed_y_x_z_with_offsets():
    grid = to_dense([(-5, -1, 5, 3), (2, 7, -4, 6)])
    assert grid.shape == (9, 11, 11)
    assert grid[0, 0, 10] == 3 and grid[8, 7, 1] == 6
    assert np.count_nonzero(grid) == 2
    assert to_sparse(grid) == [(-5, -1, 5, 3), (2, 7, -4, 6)]


def test_task_keeps_gridworld_attributes_and_sorts_start():
    task = Task(chat="<Architect> hi", target_grid=_grid((0, 0, 0, 1)), last_instruction="<Architect> hi",
                starting_grid=[(1, -1, 0, 2), (0, -1, 0, 1)], task_id="t/1")
    assert task.starting_grid == [(0, -1, 0, 1), (1, -1, 0, 2)]
    assert task.target_blocks == [(0, 0, 0, 1)]
    assert task.task_id == "t/1"


def test_any_object_with_the_attributes_becomes_a_task():
    gridworld_like = SimpleNamespace(chat="c", last_instruction=None, starting_grid=None,
                                     target_grid=_grid((1, 1, 1, 5)).astype(np.int32))
    task = as_task(gridworld_like)
    assert isinstance(task, Task)
    assert task.last_instruction == "" and task.starting_grid == [] and task.task_id is None
    assert task.target_grid.dtype == np.int64 and task.target_blocks == [(1, 1, 1, 5)]
    assert as_task(task) is task


def test_object_without_target_is_refused_by_name():
    with pytest.raises(TaskError, match="SimpleNamespace is not a task: it has no target_grid"):
        as_task(SimpleNamespace(chat="c"))


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ((6, 0, 0, 1), r"x=6 is outside the build zone \(-5..5\)"),
        ((0, -2, 0, 1), r"y=-2 is outside the build zone \(-1..7\)"),
        ((0, 0, -6, 1), r"z=-6 is outside"),
        ((0, 0, 0, 7), r"colour 7 is not an IGLU colour id"),
        ((0, 0.5, 0, 1), r"is not an \(x, y, z, colour\) block of integers"),
        ((0, 0, 0), r"is not an \(x, y, z, colour\) block"),
    ],
)
def test_bad_start_blocks_name_task_field_and_index(block, message):
    with pytest.raises(TaskError, match=r"task t: starting_grid\[1\]: .*" + message):
        Task(chat="", target_grid=_grid(), starting_grid=[(0, 0, 0, 1), block], task_id="t")


def test_two_blocks_at_one_place_are_refused():
    with pytest.raises(TaskError, match=r"starting_grid\[1\]: a second block at x=0, y=0, z=0"):
        Task(chat="", target_grid=_grid(), starting_grid=[(0, 0, 0, 1), (0, 0, 0, 2)])


def test_bad_dense_target_names_the_cell():
    grid = np.zeros((9, 11, 11), dtype=int)
    grid[2, 3, 4] = 9
    with pytest.raises(TaskError, match=r"target_grid: colour 9 at x=-2, y=1, z=-1"):
        Task(chat="", target_grid=grid)
    with pytest.raises(TaskError, match=r"shape \(11, 11, 9\)"):
        Task(chat="", target_grid=np.zeros((11, 11, 9)))


def test_tasks_compare_by_value():
    one = Task(chat="a", target_grid=_grid((0, 0, 0, 1)))
    assert one == Task(chat="a", target_grid=_grid((0, 0, 0, 1)))
    assert one != Task(chat="a", target_grid=_grid((0, 0, 0, 2)))
