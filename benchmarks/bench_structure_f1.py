"""Structure F1 throughput: pairs scored per second by `structure_f1` (pair counting with one
`bincount`) against the plain loop over rotations and translations it replaces, on the same
1,000 random (built, target) pairs of IGLU-sized structures."""

from __future__ import annotations

import time

import numpy as np

from iglu_lib.tasks.metrics import structure_f1
from iglu_lib.tasks.metrics_reference import reference_structure_f1

PAIRS = 1000
BASELINE_PAIRS = 100  # the loop is slow; its rate is measured on the first 100 pairs


def _structure(rng: np.random.Generator) -> np.ndarray:
    """A structure like the dataset's: 5 to 40 blocks, mostly low, in the 6 colours."""
    grid = np.zeros((9, 11, 11), dtype=np.int64)
    for _ in range(int(rng.integers(5, 41))):
        grid[min(int(rng.exponential(1.5)), 8), rng.integers(0, 11), rng.integers(0, 11)] = rng.integers(1, 7)
    return grid


def _pairs_per_second(score, pairs) -> tuple[float, list[float]]:
    start = time.perf_counter()
    scores = [score(built, target) for built, target in pairs]
    return len(pairs) / (time.perf_counter() - start), scores


def run() -> list[dict]:
    rng = np.random.default_rng(7)
    pairs = [(_structure(rng), _structure(rng)) for _ in range(PAIRS)]
    fast, fast_scores = _pairs_per_second(structure_f1, pairs)
    loop, loop_scores = _pairs_per_second(reference_structure_f1, pairs[:BASELINE_PAIRS])
    if not np.allclose(fast_scores[:BASELINE_PAIRS], loop_scores):
        raise AssertionError("structure_f1 disagrees with the reference loop on the benchmark pairs")
    return [{
        "name": "structure_f1",
        "value": fast,
        "unit": "pairs/s",
        "baseline": loop,
        "ratio": fast / loop,
        "target": 10,
        "better": "higher",
    }]
