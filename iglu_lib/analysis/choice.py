"""One choice among k: a Plackett-Luce (multinomial logit) model of "which game was best",
fitted with a weak Gaussian prior, with intervals from the curvature of the posterior.

A HIT shows k games of k distinct agents and the worker picks one. The chance that agent w
is picked from the set S is exp(theta_w) / sum_{j in S} exp(theta_j) (plus `gamma` on the
agent shown first when the position term is on). For k = 2 this is Bradley-Terry; for
k >= 3 it is the first stage of Plackett-Luce, so a HIT is one observation however many
agents it shows (not k-1 "wins" that would count it k-1 times).

The prior: every strength (and gamma) is independently N(0, PRIOR_SD^2) with
PRIOR_SD = 2 log-odds, i.e. before any data a difference of two strengths lies within
+-5.5 log-odds (P(win) 0.004..0.996) with 95% probability. It is weak: on the real IGLU
export it moves the strengths by less than 0.01 log-odds (README, "Analysis"); its job is
to give every campaign an answer, including small ones where an agent never won, where the
maximum-likelihood estimate does not exist. The posterior mode (MAP) is found by Newton;
intervals are the normal (Laplace) approximation of the posterior, which stays valid when
comparisons were chosen adaptively: the likelihood ignores how the pairs were chosen, as
long as the choice depended only on earlier outcomes.

Rows with identical covariates are aggregated (`weight`), so a fit costs O(distinct rows).

Ties ("both equally good", "both bad") follow Chatbot Arena's convention: a tie among k agents
is 1/k of a choice of each, i.e. half a win each for a pair, so a weight may be fractional
(`Choices.from_weighted_rows`). The likelihood of a tie is then the geometric mean of the two
decisive outcomes, which pulls the pair's strengths together without favouring either.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: Standard deviation of the Gaussian prior on each strength and on gamma, in log-odds.
PRIOR_SD = 2.0


@dataclass(frozen=True)
class Choices:
    """Aggregated choices. `members[r]` are agent indices in shown order (-1 pads a shorter
    row), `winner[r]` the position of the chosen one in that row, `weight[r]` how many HITs
    had exactly this row."""

    members: np.ndarray
    winner: np.ndarray
    weight: np.ndarray
    n_agents: int

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[Sequence[int], int]], n_agents: int) -> Choices:
        """From `(agents in shown order, position of the chosen one)` per HIT."""
        return cls.from_weighted_rows(((members, winner, 1.0) for members, winner in rows), n_agents)

    @classmethod
    def from_weighted_rows(cls, rows: Iterable[tuple[Sequence[int], int, float]], n_agents: int) -> Choices:
        """From `(agents in shown order, position of the chosen one, weight)`: a decisive HIT is
        one row of weight 1, a tie among k agents k rows of weight 1/k (`tie_rows`)."""
        counts: dict[tuple[tuple[int, ...], int], float] = {}
        for members, winner, weight in rows:
            key = (tuple(int(m) for m in members), int(winner))
            counts[key] = counts.get(key, 0.0) + float(weight)
        return cls.from_counts(counts, n_agents)

    @classmethod
    def from_counts(cls, counts: Mapping[tuple[tuple[int, ...], int], float], n_agents: int) -> Choices:
        width = max((len(m) for m, _ in counts), default=2)
        members = np.full((len(counts), width), -1, dtype=int)  # pragma: no mutate: -1 fills an integer array anyway
        for r, (row, _) in enumerate(counts):
            members[r, : len(row)] = row
        winner = np.array([w for _, w in counts], dtype=int)
        weight = np.array(list(counts.values()), dtype=float)  # pragma: no mutate: integer counts give the same sums
        return cls(members, winner, weight, n_agents)

    @property
    def total(self) -> float:
        return float(self.weight.sum())


def tie_rows(members: Sequence[int]) -> list[tuple[list[int], int, float]]:
    """A tie among `members` as weighted choices: each chosen with weight 1/k (half a win each for
    a pair, Arena's convention)."""
    share = 1.0 / len(members)
    return [(list(members), position, share) for position in range(len(members))]


@dataclass(frozen=True)
class ChoiceFit:
    """Posterior mode and covariance. `strengths` are centred to mean zero; `covariance` is
    over (strengths, then gamma if fitted) before centring (differences are unaffected)."""

    strengths: np.ndarray
    covariance: np.ndarray
    gamma: float | None
    prior_sd: float
    observations: float
    precision: np.ndarray | None = None  # the inverse of `covariance`, when the fit has it at hand

    @property
    def n_agents(self) -> int:
        return len(self.strengths)

    def centred_covariance(self) -> np.ndarray:
        n = self.n_agents
        centre = np.eye(n) - 1.0 / n
        return centre @ self.covariance[:n, :n] @ centre

    def intervals(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Normal-approximation intervals of the centred strengths."""
        half = z_value(level) * np.sqrt(np.clip(np.diag(self.centred_covariance()), 0.0, None))  # pragma: no mutate: clip only guards against rounding below zero
        return self.strengths - half, self.strengths + half

    def difference_sd(self) -> np.ndarray:
        """`sd[i, j]`: posterior standard deviation of strength i minus strength j."""
        n = self.n_agents
        cov = self.covariance[:n, :n]
        var = np.diag(cov)[:, None] + np.diag(cov)[None, :] - 2.0 * cov
        return np.sqrt(np.clip(var, 0.0, None))  # pragma: no mutate: clip only guards against rounding below zero

    def gamma_interval(self, level: float = 0.95) -> tuple[float, float]:
        if self.gamma is None:
            return (float("nan"), float("nan"))  # pragma: no mutate: NAN and nan are the same float
        half = z_value(level) * float(np.sqrt(self.covariance[-1, -1]))
        return (self.gamma - half, self.gamma + half)

    def draws(self, count: int, seed: int = 0) -> np.ndarray:
        """Strengths drawn from the normal approximation (for P(best))."""
        rng = np.random.default_rng(seed)
        n = self.n_agents  # pragma: no mutate: the centred covariance has n columns already
        return rng.multivariate_normal(self.strengths, self.centred_covariance(), size=count,
                                       method="eigh")[:, :n]  # pragma: no mutate: the centred covariance has n columns already


def z_value(level: float) -> float:
    """Two-sided standard normal quantile for a central interval of `level`."""
    from scipy.special import ndtri

    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    return float(ndtri(0.5 + level / 2.0))


def fit(
    choices: Choices,
    *,
    prior_sd: float = PRIOR_SD,
    position: bool = False,
    start: np.ndarray | None = None,
    tolerance: float = 1e-9,
    max_iterations: int = 100,  # pragma: no mutate: the fit stops at its tolerance long before
) -> ChoiceFit:
    """Posterior mode by Newton with step halving; the objective is strictly concave (the
    prior makes it so), so the mode exists and is unique for any data, even none."""
    if prior_sd <= 0:
        raise ValueError(f"prior_sd must be positive, got {prior_sd}")
    if not position and choices.members.shape[1] == 2 and (choices.members >= 0).all():
        return _fit_pairs(choices, prior_sd, start, tolerance, max_iterations)
    features, present = _features(choices, position)
    dim = features.shape[2]
    precision = np.eye(dim) / prior_sd**2
    beta = np.zeros(dim) if start is None or len(start) != dim else np.asarray(start, dtype=float)  # pragma: no mutate: the start only speeds the fit up
    rows = np.arange(len(choices.winner))
    chosen = features[rows, choices.winner] if len(rows) else np.zeros((0, dim))  # pragma: no mutate: indexing with no rows gives the same empty rows
    weight = choices.weight
    current = _objective(features, present, chosen, weight, precision, beta)
    for _ in range(max_iterations):
        p, mean = _probabilities(features, present, beta)
        gradient = weight @ (chosen - mean) - precision @ beta
        hessian = _information(features, p, mean, weight) + precision
        step = np.linalg.solve(hessian, gradient)
        scale = 1.0
        while True:
            candidate = beta + scale * step
            value = _objective(features, present, chosen, weight, precision, candidate)
            if value >= current - 1e-12 or scale < 1e-8:  # pragma: no mutate: line-search safeguards: the slack and the smallest step only end a search that found no uphill step
                break
            scale /= 2.0  # pragma: no mutate: any shrinking factor finds an uphill step
        beta, current = candidate, value
        if np.max(np.abs(scale * step)) < tolerance:  # pragma: no mutate: when to stop: iterating longer reaches the same mode
            break
    p, mean = _probabilities(features, present, beta)
    covariance = np.linalg.inv(_information(features, p, mean, weight) + precision)
    n = choices.n_agents
    strengths = beta[:n] - beta[:n].mean()  # pragma: no mutate: the prior's mode has mean zero already
    gamma = float(beta[n]) if position else None
    return ChoiceFit(strengths, covariance, gamma, prior_sd, choices.total)


def _fit_pairs(choices: Choices, prior_sd: float, start: np.ndarray | None, tolerance: float,
               max_iterations: int) -> ChoiceFit:
    n = choices.n_agents
    rows = np.arange(len(choices.winner))
    winner = choices.members[rows, choices.winner]
    loser = choices.members[rows, 1 - choices.winner]
    wins = np.zeros((n, n))
    np.add.at(wins, (winner, loser), choices.weight)
    return fit_wins(wins, prior_sd=prior_sd, start=start, tolerance=tolerance, max_iterations=max_iterations)


def fit_wins(
    wins: np.ndarray,
    *,
    prior_sd: float = PRIOR_SD,
    start: np.ndarray | None = None,
    tolerance: float = 1e-6,
    max_iterations: int = 100,  # pragma: no mutate: the fit stops at its tolerance long before
) -> ChoiceFit:
    """The same posterior mode for pairs without a position term, from `wins[i, j]` = times i
    was chosen over j: the Hessian is a weighted graph Laplacian plus the prior, so a Newton
    step costs O(n^2) however many HITs there are (the simulator fits thousands of times).
    Small steps are taken whole (the objective is concave and smooth there); large ones are
    halved until they go uphill."""
    wins = np.asarray(wins, dtype=float)  # pragma: no mutate: integer wins give the same sums
    n = len(wins)
    trials = wins + wins.T
    won = wins.sum(axis=1)
    precision = 1.0 / prior_sd**2
    ridge = precision * np.eye(n)
    theta = np.zeros(n) if start is None or len(start) != n else np.asarray(start, dtype=float).copy()  # pragma: no mutate: the start only speeds the fit up

    def objective(values: np.ndarray) -> float:
        gap = values[:, None] - values[None, :]
        return float(-(wins * np.logaddexp(0.0, -gap)).sum() - 0.5 * precision * values @ values)  # pragma: no mutate: the objective only decides whether a searched step is taken; the mode is where the gradient vanishes

    def curvature(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = 0.5 * (1.0 + np.tanh(0.5 * (values[:, None] - values[None, :])))  # P(i beats j)
        gradient = won - (trials * p).sum(axis=1) - precision * values
        weight = trials * p * (1.0 - p)
        hessian = ridge - weight
        hessian[np.diag_indices(n)] += weight.sum(axis=1)
        return gradient, hessian

    current = None
    for _ in range(max_iterations):
        gradient, hessian = curvature(theta)
        step = np.linalg.solve(hessian, gradient)
        size = float(np.max(np.abs(step)))
        if size > 0.5:  # pragma: no mutate: a path choice (small steps whole, large ones searched) that reaches the same mode
            current = objective(theta) if current is None else current  # pragma: no mutate: recomputes the same value
            scale = 1.0  # pragma: no mutate: a search from a longer step finds an uphill one too
            while True:
                candidate = theta + scale * step
                value = objective(candidate)
                if value >= current - 1e-12 or scale < 1e-8:  # pragma: no mutate: line-search safeguards: the slack and the smallest step only end a search that found no uphill step
                    break
                scale /= 2.0  # pragma: no mutate: any shrinking factor finds an uphill step
            theta, current, size = candidate, value, size * scale  # pragma: no mutate: when to stop: iterating longer reaches the same mode
        else:
            theta, current = theta + step, None
        if size < tolerance:  # quadratic convergence: theta is now within ~size^2 of the mode # pragma: no mutate: when to stop: iterating longer reaches the same mode
            break
    covariance = np.linalg.inv(hessian)
    return ChoiceFit(theta - theta.mean(), covariance, None, prior_sd, float(wins.sum()), hessian)


def pair_information(fitted: ChoiceFit, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Fisher information p(1-p) of one more comparison of each pair (first[c], second[c])."""
    p = 0.5 * (1.0 + np.tanh(0.5 * (fitted.strengths[first] - fitted.strengths[second])))  # pragma: no mutate: p(1-p) is the same for p and 1-p
    return p * (1.0 - p)


def information(fitted: ChoiceFit, members: Sequence[int], first: bool = False) -> np.ndarray:
    """Fisher information about the strengths of one more choice among `members` (n x n):
    diag(p) - p p^T on the members, at the fitted strengths. What an adaptive design adds."""
    n = fitted.n_agents
    members = list(members)
    utility = fitted.strengths[members].copy()
    if first and fitted.gamma is not None:
        utility[0] += fitted.gamma
    p = np.exp(utility - utility.max())  # pragma: no mutate: the shift cancels in the normalisation below
    p /= p.sum()
    block = np.diag(p) - np.outer(p, p)
    info = np.zeros((n, n))
    info[np.ix_(members, members)] = block
    return info


def _features(choices: Choices, position: bool) -> tuple[np.ndarray, np.ndarray]:
    """One-hot agent columns (and a shown-first column) per row and position: (rows, k, d)."""
    members = choices.members
    n = choices.n_agents
    rows, width = members.shape
    present = members >= 0
    features = np.zeros((rows, width, n + int(position)))
    r, j = np.nonzero(present)
    features[r, j, members[r, j]] = 1.0
    if position and rows:
        features[:, 0, n] = 1.0
    return features, present


def _probabilities(features: np.ndarray, present: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    utility = np.where(present, features @ beta, -np.inf)
    if utility.size == 0:  # pragma: no mutate: numpy needs no special case for no rows; kept for clarity
        return np.zeros(utility.shape), np.zeros((0, features.shape[2]))  # pragma: no mutate: numpy needs no special case for no rows; kept for clarity
    utility -= utility.max(axis=1, keepdims=True)  # pragma: no mutate: the shift cancels in the normalisation below
    p = np.exp(utility)
    p /= p.sum(axis=1, keepdims=True)
    return p, np.einsum("rk,rkd->rd", p, features)


def _information(features: np.ndarray, p: np.ndarray, mean: np.ndarray, weight: np.ndarray) -> np.ndarray:
    second = np.einsum("r,rk,rkd,rke->de", weight, p, features, features)
    return second - np.einsum("r,rd,re->de", weight, mean, mean)


def _objective(features: np.ndarray, present: np.ndarray, chosen: np.ndarray, weight: np.ndarray,
               precision: np.ndarray, beta: np.ndarray) -> float:
    utility = np.where(present, features @ beta, -np.inf)
    if utility.size:
        top = utility.max(axis=1)
        log_norm = top + np.log(np.exp(utility - top[:, None]).sum(axis=1))
        likelihood = float(weight @ (chosen @ beta - log_norm))
    else:
        likelihood = 0.0  # pragma: no mutate: the objective only decides whether a searched step is taken; the mode is where the gradient vanishes
    return likelihood - 0.5 * float(beta @ precision @ beta)  # pragma: no mutate: the objective only decides whether a searched step is taken; the mode is where the gradient vanishes
