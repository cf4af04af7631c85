"""Rankings (one choice among k per HIT, weak prior, intervals, interval ranks) and the
shown-first bias.

`rank` fits `choice` (Bradley-Terry for pairs, Plackett-Luce's first choice for k >= 3).
`position_bias` keeps the maximum-likelihood fit with a bootstrap over HITs (the unit of
resampling is the HIT, including HITs without a decision).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from iglu_lib.analysis import bradley_terry as bt
from iglu_lib.analysis import choice
from iglu_lib.analysis.intervals import wilson_interval
from iglu_lib.analysis.preferences import DECISIVE, TIE, Comparisons


@dataclass(frozen=True)
class Ranking:
    """Strengths (centred log-odds) with intervals, interval ranks and P(best), best first.

    `rank` is the point order; `interval_rank` Arena's rank from the intervals. `problem` is
    set, and the numbers are NaN, when fewer than two agents have comparisons.
    """

    table: pd.DataFrame
    replicates: int
    degenerate_replicates: int
    seed: int
    level: float
    problem: str | None = None
    fit: choice.ChoiceFit | None = None

    @property
    def order(self) -> list[str]:
        return list(self.table["agent"]) if self.problem is None else []


@dataclass(frozen=True)
class PositionBias:
    """P(the agent shown first wins) with its Wilson interval, and strengths fitted with a
    shown-first term `gamma` (log-odds) when the shown order is known."""

    known_order: int
    first_wins: int
    probability: float
    low: float
    high: float
    gamma: float
    gamma_low: float
    gamma_high: float
    adjusted: pd.DataFrame
    note: str | None = None


def rank(comparisons: Comparisons, *, replicates: int = 1000, seed: int = 0, level: float = 0.95,
         prior_sd: float = choice.PRIOR_SD, ties: bool = True) -> Ranking:
    """Strengths of a choice model (one choice among the k agents of each decisive HIT) with a
    weak prior, normal-approximation intervals, interval ranks, and P(best) from `replicates`
    seeded draws of the approximate posterior. `ties`: a tie HIT counts as half a win for each
    of its two agents (Arena's convention); False leaves ties out of the fit.

    The prior (`choice.PRIOR_SD`) makes every campaign rankable, also one where an agent never
    won: its strength is then low with a wide interval instead of no answer at all.
    """
    agents = comparisons.agents
    if len(agents) < 2:
        return _empty_ranking(agents, replicates, seed, level, "fewer than two agents have complete comparisons")
    fitted = choice.fit(choices_of(comparisons, ties=ties), prior_sd=prior_sd)
    low, high = fitted.intervals(level)
    draws = fitted.draws(replicates, seed)
    p_best = np.bincount(np.argmax(draws, axis=1), minlength=len(agents)) / replicates
    table = pd.DataFrame({
        "agent": agents,
        "strength": fitted.strengths,
        "strength_low": low,
        "strength_high": high,
        "interval_rank": interval_ranks(low, high),
        "p_best": p_best,
    }).sort_values("strength", ascending=False, ignore_index=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return Ranking(table, replicates, 0, seed, level, fit=fitted)


def interval_ranks(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Arena's rank from intervals: one plus the number of agents whose lower bound lies above
    this agent's upper bound (agents whose intervals overlap share a rank)."""
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    return 1 + (low[None, :] > high[:, None]).sum(axis=1)


def choices_of(comparisons: Comparisons, *, ties: bool = True) -> choice.Choices:
    """Each decisive HIT as one choice among its agents, the agent shown first (when known)
    in position 0 so that a shown-first term can be fitted; with `ties`, each tie HIT as half a
    choice of each of its agents (`choice.tie_rows`)."""
    index = {agent: i for i, agent in enumerate(comparisons.agents)}
    hits = comparisons.hits
    used = hits[(hits["outcome"] == DECISIVE) | ((hits["outcome"] == TIE) & ties)]
    rows: list[tuple[list[int], int, float]] = []
    for agents, winner, first in zip(used["agents"], used["winner"], used["first"], strict=True):
        shown = list(agents)
        if isinstance(first, str) and first in shown:
            shown.remove(first)
            shown.insert(0, first)
        if not all(a in index for a in shown):
            continue
        members = [index[a] for a in shown]
        rows += [(members, shown.index(winner), 1.0)] if isinstance(winner, str) else choice.tie_rows(members)
    return choice.Choices.from_weighted_rows(rows, len(comparisons.agents))


def position_bias(
    comparisons: Comparisons, *, replicates: int = 1000, seed: int = 0, level: float = 0.95,
    ties: bool = True,
) -> PositionBias:
    """The shown-first advantage, from decisive comparisons whose shown order is known and
    that involve the agent shown first (all of them in two-game HITs). P(first wins) counts
    decisive comparisons only; with `ties`, the fit also counts each two-game tie whose order is
    known as half a win for each order (as `rank` does)."""
    agents = comparisons.agents
    wins = comparisons.wins
    known = wins[wins["first"].notna() & ((wins["winner"] == wins["first"]) | (wins["loser"] == wins["first"]))]
    fitted_rows = pd.concat([known.assign(weight=1.0), _tie_wins(comparisons)], ignore_index=True) if ties else known
    first_won = int((known["winner"] == known["first"]).sum())
    low, high = wilson_interval(first_won, len(known))
    share = first_won / len(known) if len(known) else np.nan
    empty = pd.DataFrame({"agent": agents, "strength": np.nan, "strength_low": np.nan, "strength_high": np.nan})
    unfitted = PositionBias(len(known), first_won, share, low, high, np.nan, np.nan, np.nan, empty)
    if known.empty:
        return replace(unfitted, note="the shown order of the games is not recorded in this input")
    index = {agent: i for i, agent in enumerate(agents)}
    n = len(agents)
    template = bt.position_design(np.zeros((n, n)), np.zeros((n, n)))
    ordered = {pair: r for r, pair in enumerate(zip(*np.nonzero(~np.eye(n, dtype=bool)), strict=True))}

    def cell(win: pd.Series) -> tuple[int, bool]:
        first = win["first"]
        second = win["loser"] if win["winner"] == first else win["winner"]
        return ordered[index[first], index[second]], win["winner"] == first

    patterns = _unit_patterns(fitted_rows["HitId"].drop_duplicates(), fitted_rows, cell, len(template.trials))
    try:
        fitted = _fit_and_bootstrap(template, patterns, replicates=replicates, seed=seed, level=level)
    except bt.NoMaximumLikelihood as err:
        return replace(unfitted, note=str(err))
    adjusted = pd.DataFrame({"agent": agents, "strength": fitted.point[:n], "strength_low": fitted.low[:n],
                             "strength_high": fitted.high[:n]})
    return replace(unfitted, gamma=float(fitted.point[n]), gamma_low=float(fitted.low[n]),
                   gamma_high=float(fitted.high[n]),
                   adjusted=adjusted.sort_values("strength", ascending=False, ignore_index=True))


@dataclass(frozen=True)
class _Fitted:
    point: np.ndarray
    low: np.ndarray
    high: np.ndarray
    bootstrap: bt.Bootstrap


def _fit_and_bootstrap(
    template: bt.Design,
    patterns: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    replicates: int,
    seed: int,
    level: float,
) -> _Fitted:
    """The MLE of the observed units and its bootstrap interval (NaN if no replicate fits)."""
    trials, wins, frequencies = patterns
    observed = bt.Design(template.x, frequencies @ trials, frequencies @ wins, template.n_agents)
    point = bt.fit(observed)
    boot = bt.bootstrap(trials, wins, frequencies, template, replicates=replicates, seed=seed)
    if len(boot.estimates):
        low, high = boot.interval(level)
    else:
        low = high = np.full(point.shape, np.nan)
    return _Fitted(point, low, high, boot)


def _unit_patterns(
    units: pd.Series,
    wins: pd.DataFrame,
    cell: Callable[[pd.Series], tuple[int, bool]],
    n_rows: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each unit's trials and wins per design row, grouped into distinct patterns.

    Returns `(trials[p, r], wins[p, r], frequency[p])`; units without any win (no decision)
    form the all-zero pattern.
    """
    position = {hit: u for u, hit in enumerate(units)}
    trials = np.zeros((len(position), n_rows))
    won = np.zeros((len(position), n_rows))
    for _, win in wins[wins["HitId"].isin(position)].iterrows():
        row, counted = cell(win)
        weight = float(win.get("weight", 1.0))  # a tie is two half wins
        trials[position[win["HitId"]], row] += weight
        won[position[win["HitId"]], row] += weight * counted
    if not len(position):
        return trials, won, np.zeros(0)
    patterns, frequencies = np.unique(np.hstack([trials, won]), axis=0, return_counts=True)
    return patterns[:, :n_rows], patterns[:, n_rows:], frequencies.astype(float)


def _tie_wins(comparisons: Comparisons) -> pd.DataFrame:
    """Two-game ties whose shown order is known as rows like `Comparisons.wins`, two per HIT (each
    agent winning with weight one half)."""
    hits = comparisons.hits
    ties = hits[(hits["outcome"] == TIE) & hits["first"].notna() & (hits["games"] == 2)]
    rows = [{"HitId": hit, "task": task, "winner": a, "loser": b, "first": first, "weight": 0.5}
            for hit, task, agents, first in zip(ties["HitId"], ties["task"], ties["agents"], ties["first"], strict=True)
            for a, b in (tuple(agents), tuple(reversed(agents)))]
    return pd.DataFrame(rows, columns=["HitId", "task", "winner", "loser", "first", "weight"])


def _empty_ranking(agents: list[str], replicates: int, seed: int, level: float, problem: str) -> Ranking:
    table = pd.DataFrame({"rank": np.nan, "agent": agents, "strength": np.nan, "strength_low": np.nan,
                          "strength_high": np.nan, "interval_rank": np.nan, "p_best": np.nan})
    return Ranking(table, replicates, replicates, seed, level, problem)
