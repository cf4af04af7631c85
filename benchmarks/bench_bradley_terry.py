"""`bradley_terry_bootstrap`: 1,000 bootstrap replicates of a Bradley-Terry ranking of 10 agents
from 100,000 simulated comparisons.

Ours: comparisons aggregated into (pair, outcome) patterns, a replicate drawn as multinomial
pattern counts and fitted by Newton on at most 45 design rows (`iglu_lib.analysis.bradley_terry`).
Baseline: the usual arena approach, a logistic regression on one row per comparison refitted
for every replicate (scipy L-BFGS on a sparse design, no sklearn). The baseline is too slow
to run 1,000 times inside a benchmark, so it is timed on `BASELINE_REPLICATES` replicates and
scaled to 1,000; the entry says so. Both fits are checked to agree to 1e-4 on the same
resampled data.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import sparse
from scipy.optimize import minimize

from iglu_lib.analysis import bradley_terry as bt

AGENTS = 10
COMPARISONS = 100_000
REPLICATES = 1_000
BASELINE_REPLICATES = 10
TOLERANCE = 1e-4


def simulate(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Agent a, agent b (random order) and whether a won, for every comparison."""
    rng = np.random.default_rng(seed)
    strengths = np.linspace(1.0, -1.0, AGENTS)
    a = rng.integers(0, AGENTS, COMPARISONS)
    b = (a + rng.integers(1, AGENTS, COMPARISONS)) % AGENTS
    a_won = rng.random(COMPARISONS) < 1 / (1 + np.exp(strengths[b] - strengths[a]))
    return a, b, a_won


def patterns(a: np.ndarray, b: np.ndarray, a_won: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each comparison as (design row of its pair, whether the lower-numbered agent won), grouped."""
    rows = _pair_row_index()[np.minimum(a, b), np.maximum(a, b)]
    low_won = np.where(a < b, a_won, ~a_won)
    n_rows = AGENTS * (AGENTS - 1) // 2
    code = rows * 2 + low_won
    frequencies = np.bincount(code, minlength=2 * n_rows).astype(float)
    trials = np.repeat(np.eye(n_rows), 2, axis=0)
    wins = trials * np.tile([0.0, 1.0], n_rows)[:, None]
    return trials, wins, frequencies


def _pair_row_index() -> np.ndarray:
    index = np.full((AGENTS, AGENTS), -1)
    first, second = np.triu_indices(AGENTS, k=1)
    index[first, second] = np.arange(first.size)
    return index


def fast_fit(a: np.ndarray, b: np.ndarray, a_won: np.ndarray) -> np.ndarray:
    trials, wins, frequencies = patterns(a, b, a_won)
    template = bt.pair_design(np.zeros((AGENTS, AGENTS)))
    return bt.fit(bt.Design(template.x, frequencies @ trials, frequencies @ wins, AGENTS))


def row_logistic_fit(a: np.ndarray, b: np.ndarray, a_won: np.ndarray) -> np.ndarray:
    """Logistic regression on one row per comparison (x = e_a - e_b, y = a won), agent 0 pinned."""
    n = len(a)
    x = sparse.csr_matrix(
        (np.concatenate([np.ones(n), -np.ones(n)]), (np.tile(np.arange(n), 2), np.concatenate([a, b]))),
        shape=(n, AGENTS),
    )[:, 1:]
    y = a_won.astype(float)

    def loss_and_gradient(beta: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ beta
        loss = np.sum(np.logaddexp(0.0, z) - y * z) / n
        return loss, x.T @ (0.5 * (1.0 + np.tanh(0.5 * z)) - y) / n

    result = minimize(loss_and_gradient, np.zeros(AGENTS - 1), jac=True, method="L-BFGS-B",
                      options={"gtol": 1e-12, "ftol": 1e-16, "maxiter": 1000})
    strengths = np.concatenate([[0.0], result.x])
    return strengths - strengths.mean()


def run() -> list[dict]:
    a, b, a_won = simulate()
    trials, wins, frequencies = patterns(a, b, a_won)
    template = bt.pair_design(np.zeros((AGENTS, AGENTS)))

    start = time.perf_counter()
    result = bt.bootstrap(trials, wins, frequencies, template, replicates=REPLICATES, seed=1)
    ours = time.perf_counter() - start

    rng = np.random.default_rng(2)
    largest_difference = 0.0
    start = time.perf_counter()
    baseline_fits = []
    for _ in range(BASELINE_REPLICATES):
        sample = rng.integers(0, COMPARISONS, COMPARISONS)
        baseline_fits.append((sample, row_logistic_fit(a[sample], b[sample], a_won[sample])))
    baseline = (time.perf_counter() - start) / BASELINE_REPLICATES * REPLICATES
    for sample, strengths in baseline_fits:
        difference = np.max(np.abs(fast_fit(a[sample], b[sample], a_won[sample]) - strengths))
        largest_difference = max(largest_difference, float(difference))
    if largest_difference > TOLERANCE:
        raise AssertionError(f"strengths differ by {largest_difference:.2e} > {TOLERANCE} on the same replicate")
    ours_rate, baseline_rate = REPLICATES / ours, REPLICATES / baseline
    return [{
        "name": "bradley_terry_bootstrap",
        "value": ours_rate,
        "unit": "replicates/s (100,000 comparisons, 10 agents)",
        "baseline": baseline_rate,
        "ratio": ours_rate / baseline_rate,
        "target": 20,
        "better": "higher",
        "seconds_for_1000_ours": ours,
        "seconds_for_1000_baseline": baseline,
        "baseline_note": (f"row-wise logistic regression (scipy L-BFGS) timed on {BASELINE_REPLICATES} "
                          f"replicates and scaled to {REPLICATES}"),
        "degenerate_replicates": result.degenerate,
        "max_strength_difference": largest_difference,
    }]
