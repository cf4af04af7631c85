"""Pairwise preferences from the games of each HIT.

A HIT whose games are all annotated is one complete comparison: decisive when exactly one
game was chosen best, a tie when the worker answered "both equally good" or "both bad" (the
records' `outcome`), no decision when none or several were. Every other HIT is excluded
with the first reason of `EXCLUSION_CHECKS` that applies, so each exclusion is counted once
and named in the output. A HIT with more than two games that has a single chosen game
yields one win of its winner over each other agent.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from iglu_lib.analysis.intervals import wilson_interval

DECISIVE = "decisive"
TIE = "tie"
NO_DECISION = "no_decision"
EXCLUDED = "excluded"
#: The kind of a tie (`hits["tie"]`) by the outcome its records store.
TIE_KINDS = {"tie_good": "both_good", "tie_bad": "both_bad"}

#: A check takes a HIT's games and returns why the HIT is no comparison, or None.
ExclusionCheck = Callable[[pd.DataFrame, "ComparisonRules"], "str | None"]


@dataclass(frozen=True)
class ComparisonRules:
    """What counts as a usable comparison.

    `agents`: the agents under evaluation (None: any named agent); `require_ok_codes`:
    exclude HITs with a game whose completion code status is not `ok` (sensitivity analysis).
    """

    agents: frozenset[str] | None = None
    require_ok_codes: bool = False


def _malformed(games: pd.DataFrame, rules: ComparisonRules) -> str | None:
    if (games["annotation_status"] == "invalid").any():
        return "malformed annotation (not JSON)"
    return None


def _unannotated(games: pd.DataFrame, rules: ComparisonRules) -> str | None:
    empty = games["annotation_status"] == "empty"
    if empty.all():
        return "not annotated"
    if empty.any():
        return "partly annotated"
    return None


def _unusable_judgement(games: pd.DataFrame, rules: ComparisonRules) -> str | None:
    problems = games["judgement_problem"].dropna()
    return f"unusable annotation: {problems.iloc[0]}" if len(problems) else None


def _disagreeing_outcome(games: pd.DataFrame, rules: ComparisonRules) -> str | None:
    if "outcome" not in games.columns:
        return None
    stored = {value if isinstance(value, str) else None for value in games["outcome"]}
    return "unusable annotation: the games disagree on the HIT's outcome" if len(stored) > 1 else None


def _missing_game(games: pd.DataFrame, rules: ComparisonRules) -> str | None:
    return "missing game: only one game in the HIT" if len(games) < 2 else None


def _unknown_agent(games: pd.DataFrame, rules: ComparisonRules) -> str | None:
    for name in games["AgentName"]:
        if not isinstance(name, str) or not name.strip() or name.strip() == "NA":
            return "unknown agent: a game has no agent name"
        if rules.agents is not None and name not in rules.agents:
            return f"unknown agent: {name}"
    return None


def _same_agent(games: pd.DataFrame, rules: ComparisonRules) -> str | None:
    repeated = games["AgentName"][games["AgentName"].duplicated()]
    return f"same agent compared with itself: {repeated.iloc[0]}" if len(repeated) else None


#: The loop's warning of a HIT taken beyond the worker's cap (`collection.evidence`): paid, not counted.
BEYOND_WORKER_CAP = "beyond_worker_cap"


def _beyond_worker_cap(games: pd.DataFrame, rules: ComparisonRules) -> str | None:
    if "Reasons" not in games.columns:
        return None
    if any(BEYOND_WORKER_CAP in str(cell) for cell in games["Reasons"]):
        return "beyond the worker's HIT cap (paid, not counted)"
    return None


def _code_not_ok(games: pd.DataFrame, rules: ComparisonRules) -> str | None:
    if not rules.require_ok_codes:
        return None
    bad = games["code_status"][games["code_status"] != "ok"]
    return f"completion code not ok: {bad.iloc[0]}" if len(bad) else None


#: Applied in order; the first reason found is the HIT's.
EXCLUSION_CHECKS: tuple[ExclusionCheck, ...] = (
    _malformed,
    _beyond_worker_cap,
    _unannotated,
    _unusable_judgement,
    _disagreeing_outcome,
    _missing_game,
    _unknown_agent,
    _same_agent,
    _code_not_ok,
)


@dataclass(frozen=True)
class Comparisons:
    """One row per HIT (`hits`) and one row per pairwise win (`wins`: winner, loser, first)."""

    hits: pd.DataFrame
    wins: pd.DataFrame
    agents: list[str]
    rules: ComparisonRules = field(default_factory=ComparisonRules)

    @property
    def complete(self) -> pd.DataFrame:
        return self.hits[self.hits["outcome"] != EXCLUDED]

    def counts(self) -> dict[str, object]:
        outcome = self.hits["outcome"].value_counts()
        excluded = self.hits[self.hits["outcome"] == EXCLUDED]
        kinds = self.hits["tie"] if "tie" in self.hits.columns else pd.Series(dtype=object)
        return {
            "hits": int(len(self.hits)),
            "complete_comparisons": int(outcome.get(DECISIVE, 0) + outcome.get(TIE, 0) + outcome.get(NO_DECISION, 0)),
            "decisive": int(outcome.get(DECISIVE, 0)),
            "ties": int(outcome.get(TIE, 0)),
            "ties_both_good": int((kinds == "both_good").sum()),
            "ties_both_bad": int((kinds == "both_bad").sum()),
            "no_decision": int(outcome.get(NO_DECISION, 0)),
            "excluded_hits": {k: int(v) for k, v in excluded["reason"].value_counts().items()},
            "excluded_games": {k: int(v) for k, v in excluded.groupby("reason")["games"].sum().items()},
        }

    def win_matrix(self) -> pd.DataFrame:
        """`matrix.loc[a, b]`: decisive comparisons in which a beat b."""
        matrix = pd.crosstab(self.wins["winner"], self.wins["loser"])
        return matrix.reindex(index=self.agents, columns=self.agents, fill_value=0).rename_axis(
            index="winner", columns="loser"
        )

    def per_agent(self) -> pd.DataFrame:
        """Wins, decisive comparisons and win rate with its 95% Wilson interval, per agent.

        Counted per HIT: a decisive HIT of k agents is one decisive comparison for each of
        them, won by one (for k >= 3 the win rate is "chosen best among k", not pairwise).
        `ties` counts the tie HITs the agent was in (both kinds; the win rate leaves them out).
        """
        rows = []
        complete = self.complete
        decisive = complete[complete["outcome"] == DECISIVE]
        for agent in self.agents:
            involved = decisive["agents"].map(lambda a, x=agent: x in a)
            won = int((decisive["winner"] == agent).sum())
            lost = int(involved.sum()) - won
            low, high = wilson_interval(won, won + lost)
            rows.append({
                "agent": agent,
                "comparisons": int(complete["agents"].map(lambda a, x=agent: x in a).sum()),
                "decisive": won + lost,
                "wins": won,
                "losses": lost,
                "win_rate": won / (won + lost) if won + lost else np.nan,
                "win_rate_low": low,
                "win_rate_high": high,
                "ties": int(complete.loc[complete["outcome"] == TIE, "agents"].map(lambda a, x=agent: x in a).sum()),
            })
        return pd.DataFrame(rows)


def compare(games: pd.DataFrame, rules: ComparisonRules | None = None) -> Comparisons:
    """Comparisons from a games table (see `loading.load_games`), grouped by `HitId`."""
    rules = rules or ComparisonRules()
    hit_rows, win_rows = [], []
    for hit_id, hit_games in games.groupby("HitId", sort=True):
        hit, hit_wins = _judge_hit(str(hit_id), hit_games, rules)
        hit_rows.append(hit)
        win_rows.extend(hit_wins)
    hits = pd.DataFrame(hit_rows, columns=_HIT_COLUMNS)
    wins = pd.DataFrame(win_rows, columns=["HitId", "task", "winner", "loser", "first"])
    return Comparisons(hits, wins, _agents(hits, rules), rules)


_HIT_COLUMNS = ["HitId", "task", "agents", "games", "outcome", "reason", "winner", "first", "worker", "tie"]


def _judge_hit(hit_id: str, games: pd.DataFrame, rules: ComparisonRules) -> tuple[dict, list[dict]]:
    agents = tuple(sorted(str(a) for a in games["AgentName"]))
    hit = {"HitId": hit_id, "task": _task(games["TaskMinecraftId"]), "agents": agents,
           "games": len(games), "outcome": EXCLUDED, "reason": None, "winner": None,
           "first": _first_shown(games), "worker": _worker(games), "tie": None}
    for check in EXCLUSION_CHECKS:
        reason = check(games, rules)
        if reason:
            return {**hit, "reason": reason}, []
    stored = games["outcome"].iloc[0] if "outcome" in games.columns else None
    if stored in TIE_KINDS:
        kind = TIE_KINDS[stored]
        return {**hit, "outcome": TIE, "tie": kind, "reason": kind.replace("_", " ")}, []
    chosen = games[games["chosen"].astype(bool)]
    if len(chosen) != 1 or stored == NO_DECISION:
        reason = "neither chosen" if chosen.empty else "several chosen" if len(chosen) > 1 else "no usable choice"
        problem = _choice_problem(games)
        reason = f"no usable choice: {problem}" if problem else reason
        return {**hit, "outcome": NO_DECISION, "reason": reason}, []
    winner = str(chosen["AgentName"].iloc[0])
    wins = [{"HitId": hit_id, "task": hit["task"], "winner": winner, "loser": str(loser),
             "first": hit["first"]} for loser in games["AgentName"] if loser != winner]
    return {**hit, "outcome": DECISIVE, "winner": winner}, wins


def _choice_problem(games: pd.DataFrame) -> str | None:
    """Why the worker's choice could not be used, as the record says (`choice_problem`)."""
    first = games["annotation"].iloc[0] if "annotation" in games.columns else None
    problem = first.get("choice_problem") if isinstance(first, dict) else None
    return problem if isinstance(problem, str) and problem else None


def _task(tasks: pd.Series) -> str:
    known = sorted({t for t in tasks if isinstance(t, str) and t.strip() and t != "NA"})
    if not known:
        return "unknown"
    return known[0] if len(known) == 1 else "mixed"


def _first_shown(games: pd.DataFrame) -> str | None:
    positions = games["shown_position"]
    if positions.isna().any() or sorted(positions) != list(range(1, len(games) + 1)):
        return None
    return str(games.loc[positions == 1, "AgentName"].iloc[0])


def _worker(games: pd.DataFrame) -> str | None:
    workers = games["worker"].dropna().unique()
    return str(workers[0]) if len(workers) == 1 else None


def _agents(hits: pd.DataFrame, rules: ComparisonRules) -> list[str]:
    if rules.agents is not None:
        return sorted(rules.agents)
    complete = hits[hits["outcome"] != EXCLUDED]
    return sorted({agent for agents in complete["agents"] for agent in agents})


def hit_tasks(games: pd.DataFrame) -> pd.Series:
    """Each game's HIT task: the one task its games name, "unknown" or "mixed"."""
    return games.groupby("HitId")["TaskMinecraftId"].transform(_task)


def filter_games(
    games: pd.DataFrame,
    *,
    tasks: Collection[str] | None = None,
    code_statuses: Collection[str] | None = None,
    worker_qualities: Collection[str] | None = None,
) -> pd.DataFrame:
    """The games of the HITs whose every game passes the filters (None: no filter).

    Filters act on whole HITs so that no comparison is cut in half by a filter; a HIT's
    task is the one task its games name ("unknown" when none does, "mixed" when several do).
    """
    keep = pd.Series(True, index=games.index)
    if tasks is not None:
        keep &= hit_tasks(games).isin(tasks)
    if code_statuses is not None:
        keep &= games["code_status"].isin(code_statuses)
    if worker_qualities is not None:
        keep &= games["worker_quality"].isin(worker_qualities)
    whole_hits = keep.groupby(games["HitId"]).transform("all")
    return games[whole_hits]
