"""Bradley-Terry strengths by maximum likelihood, from aggregated counts.

A comparison between agents i and j is a Bernoulli trial with
P(i wins) = sigmoid(theta_i - theta_j [+ gamma if i was shown first]). Comparisons with the
same covariates are interchangeable, so the likelihood only needs, per distinct design row,
how many trials there were and how many the first-named agent won. Fitting therefore costs
O(rows) per Newton step however many comparisons there are, which is what makes a
1,000-replicate bootstrap cheap: a replicate only redraws the counts.

Strengths are natural-log odds units, centred to mean zero; exp(theta_i - theta_j) is the
odds that i beats j.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from iglu_lib.errors import IgluError


class NoMaximumLikelihood(IgluError, ValueError):
    """The comparisons do not pin the strengths down (some agent never wins or never loses
    against the rest, or the agents split into groups never compared)."""



@dataclass(frozen=True)
class Design:
    """Aggregated binomial data for a logistic model without intercept.

    `x[r]` holds the covariates of design row r (one column per agent, +1 for the agent the
    outcome is about, -1 for its opponent, and an optional last column for a shown-first
    indicator); `trials[r]` comparisons had those covariates and `wins[r]` were won.
    """

    x: np.ndarray
    trials: np.ndarray
    wins: np.ndarray
    n_agents: int

    @property
    def has_position(self) -> bool:
        return self.x.shape[1] > self.n_agents


def pair_design(win_matrix: np.ndarray) -> Design:
    """Design rows for plain Bradley-Terry from `win_matrix[i, j]` = times i beat j."""
    wins = np.asarray(win_matrix, dtype=float)
    n_agents = wins.shape[0]
    first, second = np.triu_indices(n_agents, k=1)
    x = np.zeros((first.size, n_agents))
    x[np.arange(first.size), first] = 1.0
    x[np.arange(first.size), second] = -1.0
    return Design(x, wins[first, second] + wins[second, first], wins[first, second], n_agents)


def position_design(first_wins: np.ndarray, second_wins: np.ndarray) -> Design:
    """Design rows with a shown-first advantage.

    `first_wins[f, s]` counts comparisons where f was shown first, s second and f won;
    `second_wins[f, s]` those with the same order where s won.
    """
    first_wins = np.asarray(first_wins, dtype=float)
    second_wins = np.asarray(second_wins, dtype=float)
    n_agents = first_wins.shape[0]
    first, second = np.nonzero(~np.eye(n_agents, dtype=bool))
    x = np.zeros((first.size, n_agents + 1))
    x[np.arange(first.size), first] = 1.0
    x[np.arange(first.size), second] = -1.0
    x[:, n_agents] = 1.0
    trials = first_wins[first, second] + second_wins[first, second]
    return Design(x, trials, first_wins[first, second], n_agents)


def check_identifiable(design: Design) -> None:
    """Raise NoMaximumLikelihood unless the directed "beat" graph is strongly connected."""
    from scipy.sparse.csgraph import connected_components

    agents = design.x[:, : design.n_agents]
    winner, loser = np.argmax(agents, axis=1), np.argmin(agents, axis=1)
    beat = np.zeros((design.n_agents, design.n_agents))
    np.add.at(beat, (winner, loser), design.wins)
    np.add.at(beat, (loser, winner), design.trials - design.wins)
    count, _ = connected_components(beat > 0, directed=True, connection="strong")
    if count > 1:
        raise NoMaximumLikelihood(
            "the comparisons leave some agents unranked: every agent needs at least one win and "
            "one loss connecting it to the others; collect more comparisons or drop the agent"
        )


def fit(design: Design, *, tolerance: float = 1e-10, max_iterations: int = 100) -> np.ndarray:
    """Maximum-likelihood parameters: centred strengths, then gamma when the design has it.

    Newton-Raphson with the first agent's strength pinned at zero (the model only sees
    differences), then centred. Step halving keeps every step uphill.
    """
    check_identifiable(design)
    free = design.x[:, 1:]
    trials, wins = design.trials, design.wins
    beta = np.zeros(free.shape[1])
    current = _log_likelihood(free, trials, wins, beta)
    for _ in range(max_iterations):
        p = _sigmoid(free @ beta)
        gradient = free.T @ (wins - trials * p)
        information = (free * (trials * p * (1.0 - p))[:, None]).T @ free
        try:
            step = np.linalg.solve(information, gradient)
        except np.linalg.LinAlgError:
            raise NoMaximumLikelihood(_SEPARATED) from None
        scale = 1.0
        while True:
            candidate = beta + scale * step
            value = _log_likelihood(free, trials, wins, candidate)
            if value >= current - 1e-12 or scale < 1e-6:
                break
            scale /= 2.0
        beta, current = candidate, value
        if np.max(np.abs(scale * step)) < tolerance:
            break
    else:
        raise NoMaximumLikelihood(_SEPARATED)
    strengths = np.concatenate([[0.0], beta[: design.n_agents - 1]])
    strengths -= strengths.mean()
    return np.concatenate([strengths, beta[design.n_agents - 1 :]])


_SEPARATED = (
    "the likelihood has no maximum (some outcome is perfectly predicted, e.g. the agent shown "
    "first always wins in one order); collect more comparisons"
)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _log_likelihood(x: np.ndarray, trials: np.ndarray, wins: np.ndarray, beta: np.ndarray) -> float:
    z = x @ beta
    return float(np.sum(wins * z - trials * np.logaddexp(0.0, z)))


@dataclass(frozen=True)
class Bootstrap:
    """Parameters of every usable replicate, and how many replicates had no MLE."""

    estimates: np.ndarray
    degenerate: int

    def interval(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        tail = (1.0 - level) / 2.0 * 100.0
        return (
            np.percentile(self.estimates, tail, axis=0),
            np.percentile(self.estimates, 100.0 - tail, axis=0),
        )

    def probability_best(self, n_agents: int) -> np.ndarray:
        """Share of usable replicates in which each agent has the highest strength."""
        if len(self.estimates) == 0:
            return np.full(n_agents, np.nan)
        best = np.argmax(self.estimates[:, :n_agents], axis=1)
        return np.bincount(best, minlength=n_agents) / len(self.estimates)


def bootstrap(
    unit_trials: np.ndarray,
    unit_wins: np.ndarray,
    frequencies: np.ndarray,
    template: Design,
    *,
    replicates: int = 1000,
    seed: int = 0,
) -> Bootstrap:
    """Resample units (HITs) with replacement and refit each replicate.

    Units with identical outcomes are grouped into patterns: `unit_trials[p]` and
    `unit_wins[p]` are pattern p's contribution to the design rows of `template`, and
    `frequencies[p]` how many units had it. Drawing n units with replacement is drawing the
    pattern counts from a multinomial, so a replicate costs O(patterns x rows), independent
    of the number of comparisons. Replicates without an MLE are counted, not fitted.
    """
    rng = np.random.default_rng(seed)
    frequencies = np.asarray(frequencies, dtype=float)
    total = int(frequencies.sum())
    draws = rng.multinomial(total, frequencies / total, size=replicates)
    estimates, degenerate = [], 0
    for counts in draws:
        design = Design(template.x, counts @ unit_trials, counts @ unit_wins, template.n_agents)
        try:
            estimates.append(fit(design))
        except NoMaximumLikelihood:
            degenerate += 1
    width = template.x.shape[1]
    return Bootstrap(np.array(estimates).reshape(-1, width), degenerate)
