"""Beyond the overall preference: per task, objective game scores, agreement between
annotators, worker quality and what annotators wrote."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from itertools import combinations
from typing import cast

import pandas as pd

from iglu_lib.analysis.intervals import wilson_interval
from iglu_lib.analysis.preferences import Comparisons

#: Per-game summary columns reported per agent when the games table has them (the names of
#: `iglu_lib.platform.events.GameSummary`, and the short names `turns` and `blocks`).
SUMMARY_COLUMNS = ("architect_turns", "turns", "blocks_placed", "blocks_removed", "blocks",
                   "structure_f1", "duration_seconds", "task_completed")

#: Words too common to say anything about an agent.
STOPWORDS = frozenset("""
a about after again all also an and any are as at be because been before being but by can
could did didn't do does doesn't done either even every first for from get got had has have he
him his how i i'm if in into is it it's its just me more most my no not of on once one only or
other our out over really so some still than that the their them then there they this those
time to too two up us very was wasn't way we well were what when whenever where which while
who will with would you your agent agents
""".split())

_WORD = re.compile(r"[a-z][a-z']+")


def per_task(comparisons: Comparisons) -> pd.DataFrame:
    """Wins and win rate (with Wilson interval) of each agent on each task."""
    rows = []
    for task, wins in comparisons.wins.groupby("task", sort=True):
        for agent in comparisons.agents:
            won = int((wins["winner"] == agent).sum())
            decisive = won + int((wins["loser"] == agent).sum())
            if decisive:
                low, high = wilson_interval(won, decisive)
                rows.append({"task": task, "agent": agent, "decisive": decisive, "wins": won,
                             "win_rate": won / decisive, "win_rate_low": low, "win_rate_high": high})
    columns = ["task", "agent", "decisive", "wins", "win_rate", "win_rate_low", "win_rate_high"]
    return pd.DataFrame(rows, columns=columns)


def task_names(games: pd.DataFrame) -> dict[str, str]:
    """`{task id: task name}` from the games' `TaskName` column (campaign records carry it; the
    published export does not, and its tasks keep their ids). Ids with several names keep the
    first, so one task never appears under two labels."""
    if "TaskName" not in games.columns or "TaskMinecraftId" not in games.columns:
        return {}
    named = games[["TaskMinecraftId", "TaskName"]].dropna()
    named = named[named["TaskName"].map(lambda n: isinstance(n, str) and n.strip() not in ("", "NA"))]
    return {str(task): str(name) for task, name in named.drop_duplicates("TaskMinecraftId").itertuples(index=False)}


def task_label(task: str, names: dict[str, str] | None = None) -> str:
    """What a person reads on an axis: the task's name when known, else its id's first block
    (task ids are UUIDs, and the first block tells them apart)."""
    if names and task in names:
        return names[task]
    return task.split("-")[0] if task not in ("unknown", "mixed") else task


def with_task_names(table: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """`table` with a `task_name` column after `task` (`task_label`), for a person to read."""
    if "task" not in table.columns:
        return table
    named = table.copy()
    named.insert(list(named.columns).index("task") + 1, "task_name", named["task"].map(lambda t: task_label(t, names)))
    return named


def game_scores(games: pd.DataFrame, columns: Sequence[str] = SUMMARY_COLUMNS) -> pd.DataFrame:
    """Mean and median of the per-game summaries (turns, blocks, structure F1) per agent.

    Empty when the games carry no summaries (no game data was available).
    """
    present = [c for c in columns if c in games.columns]
    if not present:
        return pd.DataFrame(columns=["agent", "games"])
    values = games[present].apply(pd.to_numeric, errors="coerce").astype(float)
    scored = values.assign(AgentName=games["AgentName"]).dropna(subset=present, how="all")
    table = scored.groupby("AgentName")[present].agg(["mean", "median"])
    table.columns = [f"{column}_{stat}" for column, stat in table.columns]
    table.insert(0, "games", scored.groupby("AgentName").size())
    return table.rename_axis("agent").reset_index()


def agreement(comparisons: Comparisons) -> pd.DataFrame:
    """Agreement of annotators who judged the same task and agents.

    Per group (task, agents) with at least two complete comparisons: how many, the
    distinct annotators (HITs when worker ids are unknown), the majority outcome, and the share
    of pairs of comparisons with the same outcome (the same winner, the same kind of tie, or both
    without decision).
    Comparisons of an unknown task are left out.
    """
    complete = comparisons.complete
    complete = complete[~complete["task"].isin(["unknown", "mixed"])]
    rows = []
    for (task, agents), group in complete.groupby(["task", "agents"], sort=True):
        if len(group) < 2:
            continue
        ties = group["tie"].map(lambda kind: f"tie ({kind.replace('_', ' ')})" if isinstance(kind, str) else None)
        outcomes = group["winner"].fillna(ties).fillna("no decision").tolist()
        pairs = list(combinations(outcomes, 2))
        majority, majority_count = Counter(outcomes).most_common(1)[0]
        annotators = group["worker"].fillna(group["HitId"]).nunique()
        rows.append({"task": task, "agents": " vs ".join(cast("tuple[str, ...]", agents)), "comparisons": len(group),
                     "annotators": annotators, "majority": majority, "majority_share": majority_count / len(group),
                     "pairwise_agreement": sum(a == b for a, b in pairs) / len(pairs)})
    columns = ["task", "agents", "comparisons", "annotators", "majority", "majority_share",
               "pairwise_agreement"]
    return pd.DataFrame(rows, columns=columns)


def worker_quality(games: pd.DataFrame) -> pd.DataFrame:
    """Per worker (per HIT when the input has no worker ids): games, annotations, how many
    games had each completion-code status (`ok` or the reason it is not a code), and, for
    campaign records, each verdict and each validation reason."""
    unit = games["worker"].fillna(games["HitId"].map(lambda hit: f"hit:{hit}"))
    summary = pd.DataFrame({
        "games": games.groupby(unit).size(),
        "annotated": (games["annotation_status"] == "valid").groupby(unit).sum(),
        "malformed_annotations": (games["annotation_status"] == "invalid").groupby(unit).sum(),
        "quality": games.groupby(unit)["worker_quality"].first(),
    })
    tallies: list[pd.DataFrame | pd.Series] = [pd.crosstab(unit, games["code_status"]).add_prefix("code_")]
    if "Verdict" in games.columns:
        tallies.append(pd.crosstab(unit, games["Verdict"]).add_prefix("verdict_"))
    if "Reasons" in games.columns:
        # one row per (game, reason); a game with several reasons repeats its index, so reset it
        reasons = (pd.DataFrame({"unit": unit, "reason": games["Reasons"].map(_reason_list)})
                   .explode("reason").dropna(subset=["reason"]).reset_index(drop=True))
        if len(reasons):
            tallies.append(pd.crosstab(reasons["unit"], reasons["reason"]).add_prefix("reason_"))
    table = summary.join(tallies).fillna(0).rename_axis("worker").reset_index()
    return table.sort_values(["quality", "worker"], ignore_index=True)


def _reason_list(cell: object) -> list[str]:
    """Reasons stored as a JSON list of words; anything else counts as `unreadable`."""
    if not isinstance(cell, str) or cell.strip() in ("", "NA"):
        return []
    try:
        value = json.loads(cell)
    except ValueError:
        return ["unreadable"]
    return [str(v) for v in value] if isinstance(value, list) else ["unreadable"]


def feedback_terms(games: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """The most frequent content words in the free-text feedback about each agent."""
    rows = []
    for agent, texts in games.groupby("AgentName", sort=True)["feedback_text"]:
        counts = Counter(word for text in texts if text for word in _words(text))
        documents = int(texts.map(bool).sum())
        for term, count in counts.most_common(top):
            rows.append({"agent": agent, "term": term, "count": count, "feedbacks": documents})
    return pd.DataFrame(rows, columns=["agent", "term", "count", "feedbacks"])


def feedback_term_matrix(terms: pd.DataFrame, agents: Sequence[str], top: int = 15) -> pd.DataFrame:
    """Terms x agents: how often each agent's feedback used each term (0 when it did not),
    the `top` terms by the counts of `agents` in their order, to compare what annotators
    wrote about each agent side by side.

    `terms` is `feedback_terms`' table; an agent without any feedback gets a column of zeros.
    """
    matrix = (terms.pivot_table(index="term", columns="agent", values="count", aggfunc="sum")
              .reindex(columns=list(agents)).fillna(0).astype(int))
    return matrix.sort_values(by=list(agents), ascending=False).head(top)


def feedback_texts(games: pd.DataFrame) -> pd.DataFrame:
    """Every non-empty free-text feedback with its agent, HIT and verdict."""
    written = games[games["feedback_text"].map(bool).astype(bool)]
    return written[["AgentName", "HitId", "chosen", "feedback_text"]].rename(
        columns={"AgentName": "agent"}
    ).reset_index(drop=True)


def _words(text: str) -> list[str]:
    return [w.strip("'") for w in _WORD.findall(text.lower()) if w.strip("'") not in STOPWORDS and len(w) > 2]

