"""The next step after a campaign: which pairs of agents are not in a settled order, and how many
more decisive comparisons of each would settle it.

A pair's order is settled when the `level` interval of the difference of its strengths (the
normal approximation of the posterior that `rank` reports) excludes zero. For each unsettled
pair, campaigns of further comparisons of that pair alone are simulated from the fitted
strengths, as `iglu simulate` simulates a crowd from true strengths: every simulated comparison
is won by the first agent with the fitted P(a beats b), is added to the observed wins, and the
model is refitted (`choice.fit_wins`, O(n^2) per fit) on a grid of added counts until the pair
is settled. The estimate is the median over the simulations of the count that settled it (with
its quartiles); a pair still unsettled after `cap` comparisons in most simulations is reported as
"more than `cap`" (the fitted gap is too small to resolve with a budget a campaign would spend).

The estimate takes the fitted strengths as the truth; two agents whose fitted gap is near zero
may truly be further apart or closer. It is a planning figure, not a promise.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from iglu_lib.analysis import choice

#: Added decisive comparisons at which a simulated follow-up checks the pair (then every 50% more).
_FIRST_STEPS = (5, 10, 15, 20, 30, 40, 50, 60, 80, 100)
#: Simulated follow-ups over all pairs at most (each pair keeps at least 10).
SIMULATION_BUDGET = 600


@dataclass(frozen=True)
class PairStep:
    """One unsettled pair: its fitted gap and z, and the simulated further decisive comparisons."""

    leader: str
    other: str
    gap: float                  # strength of leader minus strength of other (log-odds)
    z: float                    # gap / its posterior sd
    p_leader_wins: float        # fitted P(leader beats other)
    needed: int | None          # median further decisive comparisons (None: more than cap)
    needed_low: int | None      # quartiles over the simulations (None: more than cap)
    needed_high: int | None
    settled_share: float        # share of simulations settled within cap

    def to_json(self) -> dict[str, object]:
        return {"pair": [self.leader, self.other], "gap": round(self.gap, 3), "z": round(self.z, 2),
                "p_leader_wins": round(self.p_leader_wins, 3), "further_decisive_comparisons": self.needed,
                "quartiles": [self.needed_low, self.needed_high],
                "settled_within_cap_share": round(self.settled_share, 3)}


@dataclass(frozen=True)
class NextStep:
    """Every unsettled pair, most needed first is not the order: pairs follow the ranking."""

    pairs: list[PairStep]
    level: float
    simulations: int
    cap: int
    seed: int

    def to_json(self) -> dict[str, object]:
        return {"level": self.level, "rule": f"a pair is settled when the {self.level:.0%} interval of its "
                "strength difference excludes zero",
                "method": "further comparisons of the pair alone simulated from the fitted strengths, "
                          "refitting after each step; median over simulations",
                "simulations": self.simulations, "cap": self.cap, "seed": self.seed,
                "unsettled_pairs": [pair.to_json() for pair in self.pairs]}


def unsettled_pairs(fitted: choice.ChoiceFit, agents: list[str], level: float = 0.95) -> list[tuple[int, int]]:
    """Index pairs (stronger first, in ranking order) whose difference interval includes zero."""
    z = choice.z_value(level)
    sd = fitted.difference_sd()
    order = list(np.argsort(-fitted.strengths, kind="stable"))
    pairs = []
    for i, j in combinations(order, 2):
        if abs(fitted.strengths[i] - fitted.strengths[j]) < z * sd[i, j]:
            pairs.append((int(i), int(j)))
    return pairs


def next_step(wins: np.ndarray, agents: list[str], *, level: float = 0.95, simulations: int = 100,
              cap: int = 2000, seed: int = 0, prior_sd: float = choice.PRIOR_SD) -> NextStep:
    """The unsettled pairs of the fit of `wins` (`wins[i, j]`: times i was chosen over j, ties as
    half wins) with the simulated further decisive comparisons each needs."""
    wins = np.asarray(wins, dtype=float)
    fitted = choice.fit_wins(wins, prior_sd=prior_sd)
    steps = _grid(cap)
    rng = np.random.default_rng(seed)
    z = choice.z_value(level)
    out = []
    pairs = unsettled_pairs(fitted, agents, level)
    # many agents: fewer simulations per pair, so the estimate stays within seconds (at least 10)
    simulations = max(10, min(simulations, SIMULATION_BUDGET // max(len(pairs), 1)))
    for i, j in pairs:
        gap = float(fitted.strengths[i] - fitted.strengths[j])
        p = float(0.5 * (1.0 + np.tanh(0.5 * gap)))
        counts = np.array([_settles_after(wins, fitted, i, j, p, steps, z, rng, prior_sd) for _ in range(simulations)],
                          dtype=float)
        settled = counts[np.isfinite(counts)]
        share = len(settled) / simulations
        quartiles = np.quantile(counts, [0.25, 0.5, 0.75], method="inverted_cdf")  # inf: not settled
        needed_low, needed, needed_high = (None if not np.isfinite(q) else int(q) for q in quartiles)
        sd = float(fitted.difference_sd()[i, j])
        out.append(PairStep(agents[i], agents[j], gap, gap / sd if sd else 0.0, p, needed, needed_low,
                            needed_high, share))
    return NextStep(out, level, simulations, cap, seed)


def _grid(cap: int) -> list[int]:
    steps = [s for s in _FIRST_STEPS if s <= cap]
    while steps[-1] < cap:
        steps.append(min(cap, int(steps[-1] * 1.5)))
    return steps


def _settles_after(wins: np.ndarray, fitted: choice.ChoiceFit, i: int, j: int, p: float, steps: list[int],
                   z: float, rng: np.random.Generator, prior_sd: float) -> float:
    """Added comparisons of (i, j) at which one simulated follow-up settles the pair (inf: never
    within the grid)."""
    outcomes = rng.random(steps[-1]) < p
    leads = np.concatenate([[0], np.cumsum(outcomes)])
    start = fitted.strengths
    for added in steps:
        trial = wins.copy()
        trial[i, j] += leads[added]
        trial[j, i] += added - leads[added]
        refit = choice.fit_wins(trial, prior_sd=prior_sd, start=start)
        start = refit.strengths
        if abs(refit.strengths[i] - refit.strengths[j]) >= z * refit.difference_sd()[i, j]:
            return float(added)
    return float("inf")
