"""The choice model's numbers against independent references, within stated tolerances.

`analysis.choice` ranks the agents: its strengths and intervals decide who is first. Here they
are compared with what other code computes from the same raw HITs:

- strengths: the posterior mode under the same Gaussian prior from the `choix` package
  (`opt_pairwise` for pairs, `opt_top1` for choices among three or more), whose penalty is
  `alpha * sum(theta^2)`, so `alpha = 1 / (2 prior_sd^2)`;
- ties: half a win each (a tie among k: 1/k of a choice of each), as `choice.py` documents;
  `choix` takes no weights, so every HIT is repeated k times (a tie once per member) and alpha
  is multiplied by k, which has the same mode;
- the position term: a likelihood written here from scratch, one loop per HIT, maximised
  with `scipy.optimize.minimize`;
- intervals: the inverse of the posterior's information (the Laplace approximation the module
  documents), built here one HIT at a time (position model: by finite differences of the
  likelihood written here), and normal quantiles from `scipy.stats`.

Tolerances: strengths and gamma within 1e-6 log-odds of `choix` (which is run to 1e-12), 2e-5 of
the scipy reference; covariances within a relative 1e-5 (1e-3 for finite differences).
"""

from __future__ import annotations

import math

import choix
import numpy as np
import pytest
from scipy import optimize, stats

from iglu_lib.analysis.choice import (
    PRIOR_SD,
    ChoiceFit,
    Choices,
    fit,
    fit_wins,
    information,
    pair_information,
    tie_rows,
    z_value,
)

STRENGTH_TOL = 1e-6
COV_RTOL = 1e-5


def simulate(n_agents: int, k: int, hits: int, seed: int) -> list[tuple[list[int], int]]:
    """HITs of k distinct agents in shown order, the chosen one drawn from true strengths
    (the first shown gets a small bonus, so that the position term has something to find)."""
    rng = np.random.default_rng(seed)
    truth = np.linspace(1.2, -1.2, n_agents)
    rows = []
    for _ in range(hits):
        shown = [int(a) for a in rng.choice(n_agents, size=k, replace=False)]
        utility = truth[shown] + np.where(np.arange(k) == 0, 0.3, 0.0)
        p = np.exp(utility - utility.max())
        rows.append((shown, int(rng.choice(k, p=p / p.sum()))))
    return rows


def choix_mode(n_agents: int, rows: list[tuple[list[int], int]], *, weight: int = 1,
               prior_sd: float = PRIOR_SD, ties: list[list[int]] = ()) -> np.ndarray:
    """The posterior mode by `choix`: every decisive HIT `weight` times, every tie once per member."""
    alpha = weight / (2.0 * prior_sd**2)
    top1 = [(shown[w], [a for j, a in enumerate(shown) if j != w]) for shown, w in rows for _ in range(weight)]
    top1 += [(winner, [a for a in members if a != winner]) for members in ties for winner in members]
    if all(len(losers) == 1 for _, losers in top1):
        theta = choix.opt_pairwise(n_agents, [(w, losers[0]) for w, losers in top1], alpha=alpha, tol=1e-12)
    else:
        theta = choix.opt_top1(n_agents, top1, alpha=alpha, tol=1e-12)
    return theta - theta.mean()


def posterior_information(n_agents: int, weighted: list[tuple[list[int], int, float]], theta: np.ndarray,
                          prior_sd: float = PRIOR_SD) -> np.ndarray:
    """Minus the Hessian of the log posterior at theta, one HIT at a time."""
    hessian = np.eye(n_agents) / prior_sd**2
    for members, _, weight in weighted:
        p = np.exp(theta[members] - theta[members].max())
        p /= p.sum()
        for a, i in enumerate(members):
            hessian[i, i] += weight * p[a]
            for b, j in enumerate(members):
                hessian[i, j] -= weight * p[a] * p[b]
    return hessian


def assert_intervals(fitted: ChoiceFit, covariance: np.ndarray, level: float = 0.95) -> None:
    """The fit's intervals and difference sds from a reference covariance of the raw strengths."""
    n = fitted.n_agents
    centre = np.eye(n) - np.ones((n, n)) / n
    sd = np.sqrt(np.diag(centre @ covariance @ centre))
    z = stats.norm.ppf(0.5 + level / 2)
    low, high = fitted.intervals(level)
    np.testing.assert_allclose(low, fitted.strengths - z * sd, rtol=COV_RTOL, atol=1e-9)
    np.testing.assert_allclose(high, fitted.strengths + z * sd, rtol=COV_RTOL, atol=1e-9)
    for i in range(n):
        for j in range(n):
            e = np.eye(n)[i] - np.eye(n)[j]
            assert fitted.difference_sd()[i, j] == pytest.approx(math.sqrt(e @ covariance @ e), rel=COV_RTOL, abs=1e-9)


# -- pairs: Bradley-Terry ---------------------------------------------------------------------
@pytest.mark.parametrize(("n_agents", "hits", "seed"), [(2, 15, 1), (3, 40, 2), (5, 120, 3)])
def test_pair_strengths_and_intervals_match_choix_and_the_information(n_agents, hits, seed):
    rows = simulate(n_agents, 2, hits, seed)
    fitted = fit(Choices.from_rows(rows, n_agents))
    reference = choix_mode(n_agents, rows)
    np.testing.assert_allclose(fitted.strengths, reference, atol=STRENGTH_TOL)
    covariance = np.linalg.inv(posterior_information(n_agents, [(m, w, 1.0) for m, w in rows], reference))
    np.testing.assert_allclose(fitted.covariance, covariance, rtol=COV_RTOL)
    assert_intervals(fitted, covariance)
    assert_intervals(fitted, covariance, level=0.8)
    assert (fitted.gamma, fitted.observations, fitted.prior_sd) == (None, float(hits), PRIOR_SD)
    np.testing.assert_allclose(fitted.precision, np.linalg.inv(fitted.covariance), rtol=1e-6, atol=1e-9)


def test_an_agent_that_never_won_still_gets_the_priors_answer():
    rows = [([0, 1], 0)] * 6 + [([1, 2], 0)] * 4 + [([2, 0], 1)] * 3
    fitted = fit(Choices.from_rows(rows, 3))
    np.testing.assert_allclose(fitted.strengths, choix_mode(3, rows), atol=STRENGTH_TOL)
    assert np.argsort(-fitted.strengths).tolist() == [0, 1, 2]


@pytest.mark.parametrize("prior_sd", [0.5, 1.0, 5.0])
def test_the_prior_sd_is_the_priors(prior_sd):
    rows = simulate(4, 2, 30, 7)
    fitted = fit(Choices.from_rows(rows, 4), prior_sd=prior_sd)
    np.testing.assert_allclose(fitted.strengths, choix_mode(4, rows, prior_sd=prior_sd), atol=STRENGTH_TOL)
    information_ = posterior_information(4, [(m, w, 1.0) for m, w in rows], fitted.strengths, prior_sd)
    np.testing.assert_allclose(fitted.covariance, np.linalg.inv(information_), rtol=COV_RTOL)
    assert fitted.prior_sd == prior_sd


def test_wins_and_rows_give_the_same_fit():
    rows = simulate(4, 2, 50, 11)
    wins = np.zeros((4, 4))
    for shown, w in rows:
        wins[shown[w], shown[1 - w]] += 1
    by_wins, by_rows = fit_wins(wins, tolerance=1e-10), fit(Choices.from_rows(rows, 4))
    np.testing.assert_allclose(by_wins.strengths, by_rows.strengths, atol=STRENGTH_TOL)
    np.testing.assert_allclose(by_wins.covariance, by_rows.covariance, rtol=COV_RTOL)
    started = fit_wins(wins, start=np.array([3.0, -3.0, 3.0, -3.0]), tolerance=1e-10)
    np.testing.assert_allclose(started.strengths, by_rows.strengths, atol=STRENGTH_TOL)
    np.testing.assert_allclose(fit_wins(wins, start=np.zeros(2)).strengths, by_rows.strengths, atol=1e-5)


def test_lopsided_pairs_converge_by_halved_steps():
    wins = np.array([[0.0, 60.0, 0.0], [0.0, 0.0, 60.0], [0.0, 0.0, 0.0]])
    fitted = fit_wins(wins, tolerance=1e-10)
    rows = [([0, 1], 0)] * 60 + [([1, 2], 0)] * 60
    np.testing.assert_allclose(fitted.strengths, choix_mode(3, rows), atol=STRENGTH_TOL)
    top1 = [([0, 1, 2], 0)] * 40 + [([2, 1, 0], 1)] * 40
    general = fit(Choices.from_rows(top1, 3))
    np.testing.assert_allclose(general.strengths, choix_mode(3, top1), atol=STRENGTH_TOL)


# -- three or more agents per HIT: the first stage of Plackett-Luce ------------------------------
@pytest.mark.parametrize(("n_agents", "k", "hits", "seed"), [(3, 3, 30, 4), (4, 3, 60, 5), (6, 4, 80, 6)])
def test_multiway_strengths_and_intervals_match_choix_top1_and_the_information(n_agents, k, hits, seed):
    rows = simulate(n_agents, k, hits, seed)
    fitted = fit(Choices.from_rows(rows, n_agents))
    reference = choix_mode(n_agents, rows)
    np.testing.assert_allclose(fitted.strengths, reference, atol=STRENGTH_TOL)
    covariance = np.linalg.inv(posterior_information(n_agents, [(m, w, 1.0) for m, w in rows], reference))
    np.testing.assert_allclose(fitted.covariance, covariance, rtol=COV_RTOL)
    assert_intervals(fitted, covariance)
    assert fitted.observations == hits and fitted.gamma is None


def test_hits_of_different_sizes_fit_together():
    rows = simulate(5, 2, 30, 8) + simulate(5, 3, 30, 9) + simulate(5, 4, 20, 10)
    fitted = fit(Choices.from_rows(rows, 5))
    reference = choix_mode(5, rows)
    np.testing.assert_allclose(fitted.strengths, reference, atol=STRENGTH_TOL)
    covariance = np.linalg.inv(posterior_information(5, [(m, w, 1.0) for m, w in rows], reference))
    np.testing.assert_allclose(fitted.covariance, covariance, rtol=COV_RTOL)


# -- ties: half a win each ----------------------------------------------------------------------
@pytest.mark.parametrize(("n_agents", "seed"), [(2, 12), (3, 13), (5, 14)])
def test_pair_ties_count_as_half_a_win_each(n_agents, seed):
    rows = simulate(n_agents, 2, 30, seed)
    ties = [shown for shown, _ in simulate(n_agents, 2, 12, seed + 100)]
    weighted = [(m, w, 1.0) for m, w in rows] + [r for members in ties for r in tie_rows(members)]
    fitted = fit(Choices.from_weighted_rows(weighted, n_agents))
    reference = choix_mode(n_agents, rows, weight=2, ties=ties)
    np.testing.assert_allclose(fitted.strengths, reference, atol=STRENGTH_TOL)
    covariance = np.linalg.inv(posterior_information(n_agents, weighted, reference))
    np.testing.assert_allclose(fitted.covariance, covariance, rtol=COV_RTOL)
    assert_intervals(fitted, covariance)
    assert fitted.observations == pytest.approx(len(rows) + len(ties))


def test_a_tie_among_three_is_a_third_of_a_choice_of_each():
    rows = simulate(4, 3, 30, 15)
    ties = [[0, 1, 2], [1, 2, 3], [3, 0, 1]]
    weighted = [(m, w, 1.0) for m, w in rows] + [r for members in ties for r in tie_rows(members)]
    fitted = fit(Choices.from_weighted_rows(weighted, 4))
    np.testing.assert_allclose(fitted.strengths, choix_mode(4, rows, weight=3, ties=ties), atol=STRENGTH_TOL)
    assert tie_rows([4, 7]) == [([4, 7], 0, 0.5), ([4, 7], 1, 0.5)]


def test_ties_alone_pull_strengths_together():
    fitted = fit(Choices.from_weighted_rows(tie_rows([0, 1]) * 20 + [([0, 1], 0, 1.0)] * 4, 2))
    np.testing.assert_allclose(fitted.strengths, choix_mode(2, [([0, 1], 0)] * 4, weight=2, ties=[[0, 1]] * 20),
                               atol=STRENGTH_TOL)
    decisive_only = fit(Choices.from_rows([([0, 1], 0)] * 4, 2))
    assert 0 < fitted.strengths[0] < decisive_only.strengths[0]


# -- the position term ----------------------------------------------------------------------------
def position_reference(n_agents: int, rows: list[tuple[list[int], int]], prior_sd: float = PRIOR_SD):
    """Strengths, gamma and covariance of the position model, from a likelihood written here."""

    def log_posterior(beta: np.ndarray) -> float:
        theta, gamma = beta[:n_agents], beta[n_agents]
        total = -0.5 * float(beta @ beta) / prior_sd**2
        for shown, w in rows:
            utility = np.array([theta[a] + (gamma if j == 0 else 0.0) for j, a in enumerate(shown)])
            top = utility.max()
            total += utility[w] - top - math.log(sum(math.exp(u - top) for u in utility))
        return total

    found = optimize.minimize(lambda b: -log_posterior(b), np.zeros(n_agents + 1), method="BFGS",
                              options={"gtol": 1e-10})
    beta, step, dim = found.x, 1e-3, n_agents + 1
    hessian = np.zeros((dim, dim))
    for i in range(dim):
        for j in range(dim):
            ei, ej = np.eye(dim)[i] * step, np.eye(dim)[j] * step
            hessian[i, j] = -(log_posterior(beta + ei + ej) - log_posterior(beta + ei - ej)
                              - log_posterior(beta - ei + ej) + log_posterior(beta - ei - ej)) / (4 * step**2)
    return beta[:n_agents] - beta[:n_agents].mean(), float(beta[n_agents]), np.linalg.inv(hessian)


@pytest.mark.parametrize(("n_agents", "k", "hits", "seed"), [(2, 2, 40, 16), (3, 2, 60, 17), (4, 3, 60, 18)])
def test_the_position_term_matches_a_likelihood_maximised_here(n_agents, k, hits, seed):
    rows = simulate(n_agents, k, hits, seed)
    fitted = fit(Choices.from_rows(rows, n_agents), position=True)
    strengths, gamma, covariance = position_reference(n_agents, rows)
    np.testing.assert_allclose(fitted.strengths, strengths, atol=2e-5)
    assert fitted.gamma == pytest.approx(gamma, abs=2e-5)
    np.testing.assert_allclose(fitted.covariance, covariance, rtol=1e-3, atol=1e-6)
    z = stats.norm.ppf(0.975)
    low, high = fitted.gamma_interval()
    assert (low, high) == pytest.approx((gamma - z * math.sqrt(covariance[-1, -1]),
                                         gamma + z * math.sqrt(covariance[-1, -1])), abs=1e-4)
    assert_intervals(fitted, fitted.covariance[:n_agents, :n_agents])
    np.testing.assert_allclose(fitted.covariance[:n_agents, :n_agents], covariance[:n_agents, :n_agents],
                               rtol=1e-3, atol=1e-6)


def test_a_first_shown_bias_is_found_and_kept_out_of_the_strengths():
    rows = [([0, 1], 0)] * 30 + [([1, 0], 0)] * 30 + [([0, 1], 1)] * 10 + [([1, 0], 1)] * 10
    fitted = fit(Choices.from_rows(rows, 2), position=True)
    np.testing.assert_allclose(fitted.strengths, [0.0, 0.0], atol=1e-9)
    assert fitted.gamma == pytest.approx(position_reference(2, rows)[1], abs=2e-5) and fitted.gamma > 1.0
    assert fit(Choices.from_rows(rows, 2)).gamma_interval() != fit(Choices.from_rows(rows, 2)).gamma_interval()


# -- the model's small parts ----------------------------------------------------------------------
def test_no_choices_give_the_prior():
    for position in (False, True):
        empty = fit(Choices.from_rows([], 3), position=position)
        np.testing.assert_allclose(empty.strengths, 0.0)
        np.testing.assert_allclose(empty.covariance, np.eye(3 + position) * PRIOR_SD**2)
        assert empty.observations == 0.0
    with pytest.raises(ValueError, match="prior_sd must be positive, got 0"):
        fit(Choices.from_rows([], 2), prior_sd=0)


def test_identical_rows_are_counted_once_with_their_weight():
    choices = Choices.from_rows([([0, 1], 0), ([0, 1], 0), ([1, 0], 1), ([0, 1, 2], 2)], 3)
    assert choices.members.tolist() == [[0, 1, -1], [1, 0, -1], [0, 1, 2]]
    assert choices.winner.tolist() == [0, 1, 2] and choices.weight.tolist() == [2.0, 1.0, 1.0]
    assert choices.total == 4.0 and choices.n_agents == 3
    empty = Choices.from_counts({}, 2)
    assert empty.members.shape == (0, 2) and empty.total == 0.0


def test_a_start_only_speeds_the_fit_up():
    rows = simulate(4, 3, 40, 19)
    plain = fit(Choices.from_rows(rows, 4))
    for start in (np.array([2.0, -2.0, 1.0, -1.0]), np.zeros(9)):
        np.testing.assert_allclose(fit(Choices.from_rows(rows, 4), start=start).strengths, plain.strengths,
                                   atol=STRENGTH_TOL)


@pytest.mark.parametrize("level", [0.5, 0.8, 0.95, 0.99])
def test_z_values_are_the_normal_quantiles(level):
    assert z_value(level) == pytest.approx(stats.norm.ppf(0.5 + level / 2), rel=1e-12)


@pytest.mark.parametrize("level", [0.0, 1.0, -0.5, 1.5])
def test_levels_outside_zero_and_one_are_refused(level):
    with pytest.raises(ValueError, match=f"level must lie strictly between 0 and 1, got {level}"):
        z_value(level)


def test_draws_follow_the_centred_normal_approximation():
    fitted = fit(Choices.from_rows(simulate(4, 2, 40, 20), 4))
    draws = fitted.draws(40000, seed=1)
    assert draws.shape == (40000, 4)
    np.testing.assert_allclose(draws.mean(axis=0), fitted.strengths, atol=0.02)
    np.testing.assert_allclose(np.cov(draws.T), fitted.centred_covariance(), atol=0.01)
    np.testing.assert_allclose(draws.sum(axis=1), fitted.strengths.sum(), atol=1e-6)
    assert np.array_equal(fitted.draws(5, seed=2), fitted.draws(5, seed=2))


def test_the_information_of_one_more_choice():
    fitted = fit(Choices.from_rows(simulate(4, 2, 40, 21), 4), position=True)
    theta = fitted.strengths
    block = information(fitted, [2, 0, 3])
    expected = posterior_information(4, [([2, 0, 3], 0, 1.0)], theta, prior_sd=math.inf)
    np.testing.assert_allclose(block, expected, atol=1e-12)
    first = information(fitted, [2, 0], first=True)
    p = 1.0 / (1.0 + math.exp(-(theta[2] + fitted.gamma - theta[0])))
    assert first[2, 2] == pytest.approx(p * (1 - p)) and first[2, 0] == pytest.approx(-p * (1 - p))
    assert information(fitted, [2, 0])[2, 2] != pytest.approx(first[2, 2])
    pairs = pair_information(fitted, np.array([0, 1]), np.array([3, 2]))
    for c, (i, j) in enumerate([(0, 3), (1, 2)]):
        q = 1.0 / (1.0 + math.exp(-(theta[i] - theta[j])))
        assert pairs[c] == pytest.approx(q * (1 - q))


def test_the_prior_and_the_shape_of_every_fit_are_kept():
    rows = simulate(4, 3, 30, 22)
    for position in (False, True):
        fitted = fit(Choices.from_rows(rows, 4), prior_sd=3.0, position=position)
        assert fitted.prior_sd == 3.0 and fitted.n_agents == 4
        assert fitted.difference_sd().shape == (4, 4) and fitted.centred_covariance().shape == (4, 4)
        assert fitted.covariance.shape == (4 + position, 4 + position)
    np.testing.assert_allclose(fit(Choices.from_rows(rows, 4), prior_sd=3.0).strengths,
                               choix_mode(4, rows, prior_sd=3.0), atol=STRENGTH_TOL)
    fitted = fit(Choices.from_rows(rows, 4))
    assert np.array_equal(fitted.draws(3), fitted.draws(3, seed=0))
    assert math.isnan(fitted.gamma_interval()[0]) and math.isnan(fitted.gamma_interval()[1])


@pytest.mark.parametrize("position", [False, True])
def test_a_strong_prior_over_few_choices_still_reaches_the_mode(position):
    """Few HITs under a tight prior: the posterior's curvature is mostly the prior's, so a Newton
    step built without it (or against it) would not find the mode."""
    rows = [([0, 1, 2], 0), ([2, 1, 0], 1), ([1, 2, 0], 0)]
    fitted = fit(Choices.from_rows(rows, 3), prior_sd=0.5, position=position)
    if position:
        strengths, gamma, _ = position_reference(3, rows, prior_sd=0.5)
        assert fitted.gamma == pytest.approx(gamma, abs=2e-5)
        np.testing.assert_allclose(fitted.strengths, strengths, atol=2e-5)
    else:
        np.testing.assert_allclose(fitted.strengths, choix_mode(3, rows, prior_sd=0.5), atol=STRENGTH_TOL)
