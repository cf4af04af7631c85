"""Annotator safeguards: each worker's agreement with the consensus of the other workers on
the same agents, a flag for workers far below the crowd, and the comparisons without them.

The test, per worker w:
- for each decisive HIT of w, the consensus is the agent chosen most often by the *other*
  workers' decisive HITs on the same set of agents (no consensus when no other worker
  judged that set, or their top choice is tied); the HIT agrees when w chose it;
- the consensus rate p0 is the share of agreeing HITs among all other workers' HITs that
  have a consensus (what an ordinary worker of this crowd achieves, w left out);
- w is flagged when a one-sided exact binomial test of "w agrees as often as p0" against
  "less often" has p-value below ALPHA = 0.01, i.e. P(X <= agreements | n, p0) < 0.01.

A worker with one or two HITs can never be flagged (no test at 1% can reject on so little),
which is intended: the flag is for evidence, not for suspicion. Preferences of close agents
disagree often for honest workers too, and p0 already carries that.
"""

from __future__ import annotations

from collections import Counter

import pandas as pd

from iglu_lib.analysis.preferences import DECISIVE, Comparisons

#: Significance level of the one-sided binomial test that flags a worker.
ALPHA = 0.01

COLUMNS = ["worker", "decisive", "with_consensus", "agreements", "agreement", "consensus_rate",
           "p_value", "flagged"]


def worker_agreement(comparisons: Comparisons, alpha: float = ALPHA) -> pd.DataFrame:
    """One row per worker with decisive HITs: agreement with the others' consensus, the test's
    p-value and the flag (see the module docstring)."""
    decisive = comparisons.hits[(comparisons.hits["outcome"] == DECISIVE) & comparisons.hits["worker"].notna()]
    if decisive.empty:
        return pd.DataFrame(columns=COLUMNS)
    from scipy.stats import binom  # seconds to import: only when there are workers to test

    by_set: dict[tuple[str, ...], Counter] = {}
    for agents, worker, winner in zip(decisive["agents"], decisive["worker"], decisive["winner"], strict=True):
        by_set.setdefault(tuple(agents), Counter())[(worker, winner)] += 1
    agree: Counter = Counter()
    counted: Counter = Counter()
    for agents, worker, winner in zip(decisive["agents"], decisive["worker"], decisive["winner"], strict=True):
        consensus = _consensus(by_set[tuple(agents)], worker)
        if consensus is not None:
            counted[worker] += 1
            agree[worker] += winner == consensus
    total_agree, total_counted = sum(agree.values()), sum(counted.values())
    rows = []
    for worker, hits in decisive.groupby("worker")["HitId"]:
        n, k = counted[worker], agree[worker]
        others = total_counted - n
        p0 = (total_agree - k) / others if others else float("nan")
        p_value = float(binom.cdf(k, n, p0)) if n and others else float("nan")
        rows.append({"worker": worker, "decisive": len(hits), "with_consensus": n, "agreements": k,
                     "agreement": k / n if n else float("nan"), "consensus_rate": p0, "p_value": p_value,
                     "flagged": bool(p_value < alpha)})
    return pd.DataFrame(rows, columns=COLUMNS).sort_values(["flagged", "p_value"], ascending=[False, True],
                                                            ignore_index=True)


def _consensus(choices: Counter, worker: str) -> str | None:
    """The agent the other workers chose most often on this set of agents (None on a tie)."""
    votes: Counter = Counter()
    for (other, winner), count in choices.items():
        if other != worker:
            votes[winner] += count
    top = votes.most_common(2)
    if not top or (len(top) == 2 and top[0][1] == top[1][1]):
        return None
    return top[0][0]


def without_flagged(comparisons: Comparisons, agreement: pd.DataFrame) -> Comparisons:
    """The comparisons with every HIT of a flagged worker left out (same agents)."""
    return without_workers(comparisons, set(agreement.loc[agreement["flagged"].astype(bool), "worker"]))


def without_workers(comparisons: Comparisons, flagged: set[str]) -> Comparisons:
    """The comparisons with every HIT of the `flagged` workers left out (same agents)."""
    keep_hits = ~comparisons.hits["worker"].isin(flagged)
    hits = comparisons.hits[keep_hits]
    wins = comparisons.wins[comparisons.wins["HitId"].isin(set(hits["HitId"]))]
    return Comparisons(hits, wins, comparisons.agents, comparisons.rules)
