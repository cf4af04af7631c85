"""Numeric core of the analysis: Wilson intervals and Bradley-Terry from aggregated counts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from iglu_lib.analysis import bradley_terry as bt
from iglu_lib.analysis.intervals import wilson_interval


def test_wilson_interval_matches_closed_forms():
    # For 0 successes the upper bound is z^2 / (n + z^2); the interval is symmetric in p.
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(1.959963984540054**2 / (10 + 1.959963984540054**2))
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(1 - high) and 0.23 < low < 0.24
    assert all(np.isnan(wilson_interval(0, 0)))
    with pytest.raises(ValueError, match="0..3"):
        wilson_interval(4, 3)


def _simulated_wins(strengths: np.ndarray, per_pair: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = len(strengths)
    wins = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            p = 1 / (1 + np.exp(strengths[j] - strengths[i]))
            wins[i, j] = rng.binomial(per_pair, p)
            wins[j, i] = per_pair - wins[i, j]
    return wins


def _row_logistic_fit(wins: np.ndarray) -> np.ndarray:
    """Reference: one row per comparison, plain logistic regression by scipy."""
    n = len(wins)
    rows, outcomes = [], []
    for i in range(n):
        for j in range(n):
            for _ in range(int(wins[i, j])):
                x = np.zeros(n)
                x[i], x[j] = 1.0, -1.0
                rows.append(x[1:])
                outcomes.append(1.0)
    x, y = np.array(rows), np.array(outcomes)
    x, y = np.vstack([x, -x]), np.concatenate([y, 1 - y])  # each comparison seen from both sides, halved
    def loss(beta):
        z = x @ beta
        return np.sum(np.logaddexp(0, z) - y * z) / 2
    def grad(beta):
        z = x @ beta
        return x.T @ (1 / (1 + np.exp(-z)) - y) / 2
    beta = minimize(loss, np.zeros(n - 1), jac=grad, method="BFGS", options={"gtol": 1e-10}).x
    strengths = np.concatenate([[0.0], beta])
    return strengths - strengths.mean()


def test_fit_recovers_strengths_and_equals_a_row_wise_logistic_regression():
    truth = np.array([0.8, 0.0, -0.3, -0.5])
    wins = _simulated_wins(truth, 400, seed=1)
    fitted = bt.fit(bt.pair_design(wins))
    assert fitted.sum() == pytest.approx(0.0, abs=1e-12)
    assert np.max(np.abs(fitted - (truth - truth.mean()))) < 0.15
    assert np.max(np.abs(fitted - _row_logistic_fit(wins))) < 1e-5


def test_an_agent_that_never_loses_has_no_maximum_likelihood():
    wins = np.array([[0, 3, 2], [0, 0, 1], [0, 2, 0]])
    with pytest.raises(bt.NoMaximumLikelihood, match="unranked"):
        bt.fit(bt.pair_design(wins))


def test_position_design_recovers_the_shown_first_advantage():
    rng = np.random.default_rng(7)
    strengths, gamma = np.array([0.5, 0.0, -0.5]), 0.7
    first_wins, second_wins = np.zeros((3, 3)), np.zeros((3, 3))
    for f in range(3):
        for s in range(3):
            if f != s:
                p = 1 / (1 + np.exp(-(strengths[f] - strengths[s] + gamma)))
                first_wins[f, s] = rng.binomial(3000, p)
                second_wins[f, s] = 3000 - first_wins[f, s]
    fitted = bt.fit(bt.position_design(first_wins, second_wins))
    assert fitted[3] == pytest.approx(gamma, abs=0.08)
    assert np.max(np.abs(fitted[:3] - strengths)) < 0.08


def test_bootstrap_is_seeded_counts_degenerate_replicates_and_brackets_the_estimate():
    wins = _simulated_wins(np.array([0.4, 0.0, -0.4]), 30, seed=3)
    template = bt.pair_design(np.zeros((3, 3)))
    # one unit per comparison: a pattern per design row and direction
    design = bt.pair_design(wins)
    patterns_trials = np.vstack([np.eye(3), np.eye(3)])
    patterns_wins = np.vstack([np.eye(3), np.zeros((3, 3))])
    frequencies = np.concatenate([design.wins, design.trials - design.wins])
    first = bt.bootstrap(patterns_trials, patterns_wins, frequencies, template, replicates=200, seed=5)
    again = bt.bootstrap(patterns_trials, patterns_wins, frequencies, template, replicates=200, seed=5)
    other = bt.bootstrap(patterns_trials, patterns_wins, frequencies, template, replicates=200, seed=6)
    assert np.array_equal(first.estimates, again.estimates)
    assert not np.array_equal(first.estimates, other.estimates)
    assert len(first.estimates) + first.degenerate == 200
    low, high = first.interval()
    point = bt.fit(design)
    assert np.all(low < point) and np.all(point < high)
    assert first.probability_best(3).sum() == pytest.approx(1.0)
    tiny = bt.bootstrap(patterns_trials, patterns_wins, np.array([1, 1, 1, 1, 0, 0]), template,
                        replicates=50, seed=0)
    assert tiny.degenerate == 50 and len(tiny.estimates) == 0  # agent 2 never wins: no MLE


def test_perfectly_separated_position_data_has_no_maximum_likelihood():
    # order (0 first, 1 second): first always wins; order (1, 0): mixed. gamma runs off to infinity.
    first_wins = np.array([[0, 3], [2, 0]])
    second_wins = np.array([[0, 0], [1, 0]])
    with pytest.raises(bt.NoMaximumLikelihood, match="no maximum"):
        bt.fit(bt.position_design(first_wins, second_wins))
