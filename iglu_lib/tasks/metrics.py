"""How close a built structure is to a target: the IGLU competition's structure F1.

The target may be turned by any quarter turn about the vertical axis and moved by any
translation that keeps it inside the 11 x 11 zone (never up or down); the best placement
decides how many built blocks match (same cell, same colour). Precision is over the built
blocks, recall over the target blocks.

Counting works on block pairs instead of sliding grids: a built block and a target block of
the same height and colour agree on exactly one translation, so one `bincount` over all such
pairs, for the four rotations at once, gives the matches of every placement.
"""

from __future__ import annotations

import numpy as np

from iglu_lib.tasks.model import Structure, to_dense

ZONE = 11
SHIFTS = 2 * ZONE - 1  # translations per axis: -10 .. 10


def structure_f1(built: Structure, target: Structure) -> float:
    """F1 of the best match of `target` (rotated, shifted in the zone) against `built`.

    Each argument is a dense `(9, 11, 11)` array or a sparse sequence of `(x, y, z, colour)`.
    0 when either side is empty, 1 for identical structures (up to rotation and shift).
    """
    built_blocks = _blocks(built, "built")
    target_blocks = _blocks(target, "target")
    if len(built_blocks) == 0 or len(target_blocks) == 0:
        return 0.0
    matches = maximal_intersection(built_blocks, target_blocks)
    if matches == 0:
        return 0.0
    precision = matches / len(built_blocks)
    recall = matches / len(target_blocks)
    return float(2 * precision * recall / (precision + recall))


def maximal_intersection(built: np.ndarray, target: np.ndarray) -> int:
    """Most matching blocks over all rotations and in-zone translations of the target.

    Both arguments are `(n, 4)` arrays of `(y, x, z, colour)` grid indices (x and z 0..10).
    """
    rotations = _rotations(target[:, 1], target[:, 2])  # (4, n, 2): x, z of each rotated block
    same = (target[:, None, 0] == built[None, :, 0]) & (target[:, None, 3] == built[None, :, 3])
    t_index, b_index = np.nonzero(same)
    if len(t_index) == 0:
        return 0
    shift_x = built[b_index, 1][None, :] - rotations[:, t_index, 0]  # (4, pairs)
    shift_z = built[b_index, 2][None, :] - rotations[:, t_index, 1]
    rotation = np.arange(4)[:, None]
    bins = (rotation * SHIFTS + shift_x + ZONE - 1) * SHIFTS + shift_z + ZONE - 1
    counts = np.bincount(bins.ravel(), minlength=4 * SHIFTS * SHIFTS).reshape(4, SHIFTS, SHIFTS)
    return int((counts * _admissible(rotations)).max())


def _rotations(x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The target's (x, z) under the four quarter turns of the zone: (x, z) -> (z, 10 - x)."""
    turns = [np.stack([x, z], axis=1)]
    for _ in range(3):
        previous = turns[-1]
        turns.append(np.stack([previous[:, 1], ZONE - 1 - previous[:, 0]], axis=1))
    return np.stack(turns)


def _admissible(rotations: np.ndarray) -> np.ndarray:
    """`(4, 21, 21)` mask of the translations that keep each rotated target inside the zone."""
    shifts = np.arange(SHIFTS) - (ZONE - 1)
    low = rotations.min(axis=1)  # (4, 2)
    high = rotations.max(axis=1)
    ok_x = (low[:, None, 0] + shifts >= 0) & (high[:, None, 0] + shifts <= ZONE - 1)
    ok_z = (low[:, None, 1] + shifts >= 0) & (high[:, None, 1] + shifts <= ZONE - 1)
    return ok_x[:, :, None] & ok_z[:, None, :]


def _blocks(structure: Structure, name: str) -> np.ndarray:
    """`(n, 4)` array of `(y, x, z, colour)` grid indices of the non-air cells."""
    grid = to_dense(structure, where=name)
    ys, xs, zs = np.nonzero(grid)
    return np.stack([ys, xs, zs, grid[ys, xs, zs]], axis=1)
