"""structure_f1: the IGLU measure, invariant to quarter turns and in-zone shifts of the target."""

from __future__ import annotations

import numpy as np
import pytest

from iglu_lib.tasks import TaskError, load_sample, reference_structure_f1, structure_f1, to_dense

L_SHAPE = [(0, -1, 0, 1), (1, -1, 0, 1), (2, -1, 0, 2), (0, 0, 0, 3), (0, -1, 1, 4)]


def _turn(blocks, turns):
    """Quarter turns about the vertical axis through the zone's centre: (x, z) -> (z, -x)."""
    for _ in range(turns):
        blocks = [(z, y, -x, c) for x, y, z, c in blocks]
    return blocks


def _shift(blocks, dx, dz):
    return [(x + dx, y, z + dz, c) for x, y, z, c in blocks]


@pytest.mark.parametrize("turns", range(4))
@pytest.mark.parametrize(("dx", "dz"), [(0, 0), (3, 0), (-3, 3), (3, -3)])
def test_a_structure_matches_any_turn_and_in_zone_shift_of_itself(turns, dx, dz):
    moved = _shift(_turn(L_SHAPE, turns), dx, dz)
    assert structure_f1(moved, L_SHAPE) == 1.0
    assert structure_f1(L_SHAPE, moved) == 1.0
    assert structure_f1(to_dense(moved), to_dense(L_SHAPE)) == 1.0


def test_every_sample_target_scores_one_against_itself():
    for task in load_sample():
        assert structure_f1(task.target_grid, task.target_grid) == 1.0


def test_empty_sides_score_zero_and_colour_matters():
    assert structure_f1([], L_SHAPE) == 0.0
    assert structure_f1(L_SHAPE, []) == 0.0
    assert structure_f1([], []) == 0.0
    recoloured = [(x, y, z, 6) for x, y, z, _ in L_SHAPE]
    assert structure_f1(recoloured, L_SHAPE) == 0.0


def test_height_is_not_shifted():
    lifted = [(x, y + 1, z, c) for x, y, z, c in L_SHAPE]
    assert structure_f1(lifted, L_SHAPE) == 0.0


def test_precision_and_recall_count_built_and_target_blocks():
    built = L_SHAPE[:3] + [(5, 5, 5, 1)]  # 3 right, 1 wrong; target has 5
    precision, recall = 3 / 4, 3 / 5
    assert structure_f1(built, L_SHAPE) == pytest.approx(2 * precision * recall / (precision + recall))


def test_translation_that_pushes_the_target_out_of_the_zone_does_not_count():
    wide = [(x, -1, 0, 1) for x in range(-5, 6)]  # a full row: no shift along x fits
    built = [(x, -1, 0, 1) for x in range(-4, 6)] + [(5, -1, 1, 1)]
    # shifting the row by +1 would match 10 blocks but pushes one block out of the zone
    assert structure_f1(built, wide) == pytest.approx(reference_structure_f1(built, wide))
    assert structure_f1(built, wide) == pytest.approx(2 * (10 / 11) * (10 / 11) / (20 / 11))


def _random_structure(rng, size):
    grid = np.zeros((9, 11, 11), dtype=int)
    for _ in range(size):
        grid[rng.integers(0, 4), rng.integers(0, 11), rng.integers(0, 11)] = rng.integers(1, 4)
    return grid


def test_fast_score_matches_the_brute_force_reference_on_random_cases():
    rng = np.random.default_rng(20240611)
    for case in range(150):
        target = _random_structure(rng, int(rng.integers(0, 12)))
        if case % 3 == 0:  # a turned, shifted copy with noise: high scores get checked too
            built = np.rot90(target, k=int(rng.integers(4)), axes=(1, 2)).copy()
            built[0, rng.integers(0, 11), rng.integers(0, 11)] = rng.integers(1, 4)
        else:
            built = _random_structure(rng, int(rng.integers(0, 12)))
        assert structure_f1(built, target) == pytest.approx(reference_structure_f1(built, target), abs=1e-12)


def test_bad_structures_are_named():
    with pytest.raises(TaskError, match=r"built\[0\]: x=9 is outside the build zone"):
        structure_f1([(9, 0, 0, 1)], L_SHAPE)
    with pytest.raises(TaskError, match=r"target: dense grid has shape"):
        structure_f1(L_SHAPE, np.zeros((3, 3, 3)))
