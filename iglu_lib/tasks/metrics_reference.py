"""The structure F1 written as plainly as possible, the way gridworld computes it.

It loops over the four rotations and every translation, slices the grids and counts. It is
the definition the fast `structure_f1` is checked against in the tests, and the baseline of
the `structure_f1` benchmark; use `iglu_lib.tasks.structure_f1` for real work.
"""

from __future__ import annotations

import numpy as np

from iglu_lib.tasks.model import Structure, to_dense

ZONE = 11


def reference_structure_f1(built: Structure, target: Structure) -> float:
    """Structure F1 by brute force over rotations and translations."""
    built_grid = to_dense(built, where="built")
    target_grid = to_dense(target, where="target")
    built_size = int(np.count_nonzero(built_grid))
    target_size = int(np.count_nonzero(target_grid))
    if built_size == 0 or target_size == 0:
        return 0.0
    best = 0
    for rotated in _rotations(target_grid):
        for dx in range(-ZONE + 1, ZONE):
            for dz in range(-ZONE + 1, ZONE):
                best = max(best, _matches(built_grid, rotated, dx, dz, target_size))
    if best == 0:
        return 0.0
    precision, recall = best / built_size, best / target_size
    return 2 * precision * recall / (precision + recall)


def _rotations(grid: np.ndarray) -> list[np.ndarray]:
    turns = [grid]
    for _ in range(3):
        turned = np.zeros_like(grid)
        for x in range(ZONE):
            for z in range(ZONE):
                turned[:, z, ZONE - 1 - x] = turns[-1][:, x, z]
        turns.append(turned)
    return turns


def _matches(built: np.ndarray, target: np.ndarray, dx: int, dz: int, target_size: int) -> int:
    """Matches of the target moved by (dx, dz), or 0 when the move pushes a block out of the zone."""
    moved = np.zeros_like(target)
    source = target[:, max(-dx, 0):ZONE - max(dx, 0), max(-dz, 0):ZONE - max(dz, 0)]
    if np.count_nonzero(source) != target_size:
        return 0
    moved[:, max(dx, 0):ZONE - max(-dx, 0), max(dz, 0):ZONE - max(-dz, 0)] = source
    return int(np.count_nonzero((moved == built) & (moved != 0)))
