"""Chance-corrected agreement and a per-judge test under the fitted model.

Two questions a pairwise agreement per task leaves open:

- *How much do judges agree beyond chance?* Krippendorff's alpha (nominal) over the units that
  were judged more than once: a unit is one task with one set of agents, each complete judgement
  of it a value (which agent was chosen, a tie of either kind, or no decision). Units judged once
  carry no information about agreement and drop out of alpha by its definition. The interval is
  a percentile bootstrap over units (the unit is what repeats; judgements within one unit are
  not independent of each other). Computed with the maintained `krippendorff` package.
- *Is a judge's voting unlikely under the model?* Chatbot Arena flags voters whose votes the
  fitted Bradley-Terry model finds improbable. Here, per judge: each decisive vote of a pair
  agrees with the model's favourite with probability p = max(P(a beats b), P(b beats a)) from
  the strengths fitted *without that judge* (so a judge cannot vouch for itself); the number of
  agreements is then Poisson-binomial, and the p-value is P(X <= observed). A judge is flagged
  below `ALPHA`, the level of the consensus flag beside it (`annotators`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from iglu_lib.analysis import choice
from iglu_lib.analysis.preferences import DECISIVE, Comparisons

#: Significance level of the per-judge test (the same as the consensus flag's).
ALPHA = 0.01

JUDGE_COLUMNS = ["worker", "decisive_pairs", "with_favourite", "expected_with_favourite", "model_p_value",
                 "model_flagged"]


@dataclass(frozen=True)
class Alpha:
    """Krippendorff's alpha (nominal) with its bootstrap interval; NaN with a `note` when fewer
    than two units were judged more than once."""

    alpha: float
    low: float
    high: float
    units: int            # units judged at least twice
    judgements: int       # judgements in those units
    replicates: int
    level: float
    note: str | None = None

    def to_json(self) -> dict[str, object]:
        def number(value: float) -> float | None:
            return None if np.isnan(value) else round(float(value), 4)

        return {"alpha": number(self.alpha), "interval": [number(self.low), number(self.high)],
                "level": self.level, "units": self.units, "judgements": self.judgements,
                "replicates": self.replicates, "metric": "nominal",
                "unit": "one task with one set of agents; values: the chosen agent, tie (both good), "
                        "tie (both bad) or no decision",
                "interval_method": "percentile bootstrap over units", "note": self.note}


def outcome_counts(comparisons: Comparisons) -> pd.DataFrame:
    """Units (task, agents) x outcome values: how many judgements of the unit gave each value.
    Only units with a known task and at least two complete judgements."""
    complete = comparisons.complete
    complete = complete[~complete["task"].isin(["unknown", "mixed"])]
    if complete.empty:
        return pd.DataFrame()
    ties = complete["tie"].map(lambda kind: f"tie {kind}" if isinstance(kind, str) else None)
    values = complete["winner"].fillna(ties).fillna("no decision")
    units = complete["task"].astype(str) + " | " + complete["agents"].map(" vs ".join)
    table = pd.crosstab(units, values)
    return table[table.sum(axis=1) >= 2]


def krippendorff_alpha(comparisons: Comparisons, *, replicates: int = 1000, seed: int = 0,
                       level: float = 0.95) -> Alpha:
    """Alpha over the repeated units with a percentile bootstrap interval (see the module)."""
    import krippendorff

    counts = outcome_counts(comparisons)
    units = len(counts)
    judgements = int(counts.to_numpy().sum()) if units else 0
    nan = float("nan")
    if units < 2 or counts.shape[1] < 2:
        note = ("fewer than two units (task and agents) were judged more than once" if units < 2
                else "every repeated judgement gave the same answer: agreement is perfect but alpha is undefined")
        return Alpha(nan, nan, nan, units, judgements, replicates, level, note)
    matrix = counts.to_numpy(dtype=float)

    def alpha_of(rows: np.ndarray) -> float:
        sample = matrix[rows]
        if (sample.sum(axis=0) > 0).sum() < 2:  # one value only: no disagreement is possible
            return nan
        return float(krippendorff.alpha(value_counts=sample, level_of_measurement="nominal"))

    point = alpha_of(np.arange(units))
    rng = np.random.default_rng(seed)
    boots = np.array([alpha_of(rng.integers(0, units, units)) for _ in range(replicates)])
    boots = boots[~np.isnan(boots)]
    tail = (1.0 - level) / 2.0
    low, high = (np.quantile(boots, [tail, 1.0 - tail]) if len(boots) else (nan, nan))
    return Alpha(point, float(low), float(high), units, judgements, replicates, level)


def judge_test(comparisons: Comparisons, *, prior_sd: float = choice.PRIOR_SD, alpha: float = ALPHA,
               ties: bool = True) -> pd.DataFrame:
    """One row per worker with decisive two-agent votes: how many agree with the model's
    favourite, how many the model expects, the Poisson-binomial p-value of so few and the flag
    (see the module docstring). Empty when the input has no worker ids."""
    hits = comparisons.hits
    pairs = hits[(hits["outcome"] == DECISIVE) & hits["worker"].notna() & (hits["games"] == 2)]
    if pairs.empty:
        return pd.DataFrame(columns=JUDGE_COLUMNS)
    index = {agent: i for i, agent in enumerate(comparisons.agents)}
    total = pair_wins(hits, index, ties)
    rows = []
    for worker, own in pairs.groupby("worker", sort=True):
        fitted = choice.fit_wins(total - pair_wins(hits[hits["worker"] == worker], index, ties),
                                 prior_sd=prior_sd)
        winners = np.array([index[w] for w in own["winner"]])
        losers = np.array([index[next(a for a in agents if a != w)] for agents, w in zip(own["agents"], own["winner"],
                                                                                      strict=True)])
        gap = fitted.strengths[winners] - fitted.strengths[losers]
        p_winner = 0.5 * (1.0 + np.tanh(0.5 * gap))           # P(the chosen one wins) under the model
        favourite = np.maximum(p_winner, 1.0 - p_winner)
        agreed = int((p_winner >= 0.5).sum())
        p_value = poisson_binomial_cdf(agreed, favourite)
        rows.append({"worker": worker, "decisive_pairs": len(own), "with_favourite": agreed,
                     "expected_with_favourite": float(favourite.sum()), "model_p_value": p_value,
                     "model_flagged": bool(p_value < alpha)})
    return pd.DataFrame(rows, columns=JUDGE_COLUMNS).sort_values(
        ["model_flagged", "model_p_value"], ascending=[False, True], ignore_index=True)


def pair_wins(hits: pd.DataFrame, index: dict[str, int], ties: bool) -> np.ndarray:
    """`wins[i, j]`: decisive two-agent HITs in which i was chosen over j, plus half a win each for
    a two-agent tie when `ties` (the fit `rank` makes)."""
    wins = np.zeros((len(index), len(index)))
    two = hits[hits["games"] == 2]
    for agents, winner, outcome in zip(two["agents"], two["winner"], two["outcome"], strict=True):
        if not all(a in index for a in agents):
            continue
        a, b = (index[x] for x in agents)
        if outcome == DECISIVE and isinstance(winner, str):
            i = index[winner]
            wins[i, b if i == a else a] += 1.0
        elif outcome == "tie" and ties:
            wins[a, b] += 0.5
            wins[b, a] += 0.5
    return wins


def poisson_binomial_cdf(k: int, probabilities: np.ndarray) -> float:
    """P(X <= k) for X a sum of independent Bernoulli(p_i): exact, by convolution (O(n^2))."""
    distribution = np.array([1.0])
    for p in np.asarray(probabilities, dtype=float):
        distribution = np.convolve(distribution, [1.0 - p, p])
    return float(min(1.0, distribution[: k + 1].sum()))
