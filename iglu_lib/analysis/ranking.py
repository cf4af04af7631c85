"""Bradley-Terry rankings with bootstrap intervals over HITs, and the shown-first bias.

The unit of resampling is the HIT (one worker's comparison), including HITs without a
decision, so a replicate's number of decisive comparisons varies as it would in a re-run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from iglu_lib.analysis import bradley_terry as bt
from iglu_lib.analysis.intervals import wilson_interval
from iglu_lib.analysis.preferences import Comparisons


@dataclass(frozen=True)
class Ranking:
    """Strengths (centred log-odds) with bootstrap intervals and P(best), best first.

    `problem` is set, and the numbers are NaN, when the comparisons admit no MLE.
    """

    table: pd.DataFrame
    replicates: int
    degenerate_replicates: int
    seed: int
    level: float
    problem: str | None = None

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


def rank(comparisons: Comparisons, *, replicates: int = 1000, seed: int = 0, level: float = 0.95) -> Ranking:
    """Bradley-Terry MLE on the decisive comparisons, with a seeded bootstrap over HITs."""
    agents = comparisons.agents
    if len(agents) < 2:
        return _empty_ranking(agents, replicates, seed, level, "fewer than two agents have complete comparisons")
    index = {agent: i for i, agent in enumerate(agents)}
    template = bt.pair_design(np.zeros((len(agents), len(agents))))
    row_of = _pair_rows(len(agents))

    def cell(win: pd.Series) -> tuple[int, bool]:
        i, j = index[win["winner"]], index[win["loser"]]
        return row_of[min(i, j), max(i, j)], i < j

    patterns = _unit_patterns(comparisons.complete["HitId"], comparisons.wins, cell, len(template.trials))
    try:
        fitted = _fit_and_bootstrap(template, patterns, replicates=replicates, seed=seed, level=level)
    except bt.NoMaximumLikelihood as err:
        return _empty_ranking(agents, replicates, seed, level, str(err))
    table = pd.DataFrame({
        "agent": agents,
        "strength": fitted.point,
        "strength_low": fitted.low,
        "strength_high": fitted.high,
        "p_best": fitted.bootstrap.probability_best(len(agents)),
    }).sort_values("strength", ascending=False, ignore_index=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return Ranking(table, replicates, fitted.bootstrap.degenerate, seed, level)


def position_bias(
    comparisons: Comparisons, *, replicates: int = 1000, seed: int = 0, level: float = 0.95
) -> PositionBias:
    """The shown-first advantage, from decisive comparisons whose shown order is known and
    that involve the agent shown first (all of them in two-game HITs)."""
    agents = comparisons.agents
    wins = comparisons.wins
    known = wins[wins["first"].notna() & ((wins["winner"] == wins["first"]) | (wins["loser"] == wins["first"]))]
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

    patterns = _unit_patterns(known["HitId"].drop_duplicates(), known, cell, len(template.trials))
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


def _pair_rows(n_agents: int) -> dict[tuple[int, int], int]:
    first, second = np.triu_indices(n_agents, k=1)
    return {(int(i), int(j)): r for r, (i, j) in enumerate(zip(first, second, strict=True))}


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
        trials[position[win["HitId"]], row] += 1
        won[position[win["HitId"]], row] += counted
    if not len(position):
        return trials, won, np.zeros(0)
    patterns, frequencies = np.unique(np.hstack([trials, won]), axis=0, return_counts=True)
    return patterns[:, :n_rows], patterns[:, n_rows:], frequencies.astype(float)


def _empty_ranking(agents: list[str], replicates: int, seed: int, level: float, problem: str) -> Ranking:
    table = pd.DataFrame({"rank": np.nan, "agent": agents, "strength": np.nan, "strength_low": np.nan,
                          "strength_high": np.nan, "p_best": np.nan})
    return Ranking(table, replicates, replicates, seed, level, problem)
