"""The leaderboard: the numbers people share, and the page that shows them.

`leaderboard(analysis)` is the table (rank with its interval, strength with its interval,
P(best), comparisons, decisive win rate, ties); `headline(analysis)` says in one sentence who
leads, which neighbouring orders are not settled and who is last; `page_html(analysis)` is the
whole page (`iglu report --html`, the demo's report): headline, leaderboard, next step, figures,
agreement, worker quality as counts, sensitivity views side by side, and every full table as a
CSV download embedded in the page, so that the one file is all there is to send.

What the page shows is written for reading: numbers rounded to what they can claim (strengths
to two decimals, shares to whole percent), no index columns, no scientific notation, no machine
paths, and a one-line note where the input lacks something, instead of a section of NaN.
"""

from __future__ import annotations

import base64
import html
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from iglu_lib.analysis.preferences import DECISIVE, NO_DECISION, TIE

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from iglu_lib.analysis.report import Analysis

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).with_name("templates")
#: More tasks than this are shown as the tasks with the most decisive comparisons.
MAX_TASK_PANELS = 12

LEADERBOARD_COLUMNS = ["rank", "rank_low", "rank_high", "agent", "strength", "strength_low", "strength_high",
                       "p_best", "p_last", "comparisons", "decisive", "wins", "win_rate", "ties"]


def leaderboard(analysis: Analysis) -> pd.DataFrame:
    """One row per agent, best first: point rank and its interval over posterior draws, strength
    and its interval, P(best), P(last), comparisons, decisive wins and win rate, ties."""
    ranking = analysis.ranking
    if ranking.problem is not None or ranking.fit is None:
        return pd.DataFrame(columns=LEADERBOARD_COLUMNS)
    agents = analysis.comparisons.agents
    draws = ranking.fit.draws(ranking.replicates, ranking.seed)
    ranks = 1 + np.argsort(np.argsort(-draws, axis=1), axis=1)  # rank of each agent in each draw
    tail = (1.0 - ranking.level) / 2.0
    rank_bounds = pd.DataFrame({
        "agent": agents,
        "rank_low": np.floor(np.quantile(ranks, tail, axis=0)).astype(int),
        "rank_high": np.ceil(np.quantile(ranks, 1.0 - tail, axis=0)).astype(int),
        "p_last": (ranks == len(agents)).mean(axis=0),
    })
    per_agent = analysis.comparisons.per_agent()[["agent", "comparisons", "decisive", "wins", "win_rate", "ties"]]
    table = ranking.table.merge(rank_bounds, on="agent").merge(per_agent, on="agent")
    return table[LEADERBOARD_COLUMNS]


def settled(analysis: Analysis, first: str, second: str) -> bool:
    """Whether the interval (the ranking's level) of strength(first) - strength(second) excludes 0."""
    from iglu_lib.analysis.choice import z_value

    fit = analysis.ranking.fit
    if fit is None:
        return False
    index = {agent: i for i, agent in enumerate(analysis.comparisons.agents)}
    i, j = index[first], index[second]
    gap = abs(float(fit.strengths[i] - fit.strengths[j]))
    return gap >= z_value(analysis.ranking.level) * float(fit.difference_sd()[i, j])


def headline(analysis: Analysis, board: pd.DataFrame | None = None) -> str:
    """One sentence from the numbers: who leads (and how likely best), each neighbouring order that
    is settled or not, and who is last (and how likely)."""
    board = leaderboard(analysis) if board is None else board
    if board.empty:
        return f"No ranking: {analysis.ranking.problem}."
    level = f"{analysis.ranking.level:.0%}"
    agents = list(board["agent"])
    parts = [f"{agents[0]} leads (probability of being best {drawn(board['p_best'].iloc[0])})"]
    unsettled = [f"{a} > {b}" for a, b in zip(agents, agents[1:], strict=False) if not settled(analysis, a, b)]
    solid = [f"{a} > {b}" for a, b in zip(agents, agents[1:], strict=False) if settled(analysis, a, b)]
    if unsettled:
        parts.append(f"{_join(unsettled)} {'is' if len(unsettled) == 1 else 'are'} not settled at {level}")
    if solid:
        parts.append(f"{_join(solid)} {'is' if len(solid) == 1 else 'are'} settled at {level}")
    if len(agents) > 2:
        parts.append(f"{agents[-1]} is last with {drawn(board['p_last'].iloc[-1])} probability")
    strict = analysis.sensitivity
    if strict.problem is None and strict.order != analysis.ranking.order:
        parts.append(f"with only ok completion codes the order is {' > '.join(strict.order)}")
    counts = analysis.comparisons.counts()
    ties = f" and {counts['ties']} tie{'s' if counts['ties'] != 1 else ''}" if counts["ties"] else ""
    return "; ".join(parts) + f". From {counts['decisive']} decisive comparisons{ties}."


def percent(value: Any) -> str:
    """A share as whole percent ("<1%" and ">99%" at the ends, "–" when unknown)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    share = float(value)
    if 0 < share < 0.005:
        return "<1%"
    if 0.995 < share < 1:
        return ">99%"
    return f"{share:.0%}"


def drawn(value: Any) -> str:
    """A probability estimated from a finite number of posterior draws: never a flat 0% or 100%
    (no finite sample shows that), "<1%" and ">99%" instead."""
    share = float(value)
    return "<1%" if share < 0.005 else ">99%" if share > 0.995 else percent(share)


def signed(value: Any, digits: int = 2) -> str:
    """A log-odds value with its sign and `digits` decimals (never scientific)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    text = f"{float(value):+.{digits}f}"
    return f"{0:.{digits}f}" if float(text) == 0 else text.replace("-", "\N{MINUS SIGN}")


def interval(low: Any, high: Any, digits: int = 2) -> str:
    return f"[{signed(low, digits)}, {signed(high, digits)}]"


def readable_leaderboard(board: pd.DataFrame) -> pd.DataFrame:
    """The leaderboard as a person reads it (text cells, rounded)."""
    rows = []
    for row in board.to_dict("records"):
        low, high = int(row["rank_low"]), int(row["rank_high"])
        rank_range = f"{low}" if low == high else f"{low}–{high}"
        rows.append({
            "Rank (95% range)": f"{int(row['rank'])} ({rank_range})",
            "Agent": str(row["agent"]),
            "Strength [95% interval]": f"{signed(row['strength'])} {interval(row['strength_low'], row['strength_high'])}",
            "P(best)": drawn(row["p_best"]),
            "Comparisons": f"{int(row['comparisons'])}",
            "Decisive win rate": (f"{percent(row['win_rate'])} ({int(row['wins'])}/{int(row['decisive'])})"
                                  if row["decisive"] else "–"),
            "Ties": f"{int(row['ties'])}",
        })
    return pd.DataFrame(rows)


def sensitivity_views(analysis: Analysis) -> tuple[pd.DataFrame, list[str]]:
    """The rankings side by side, one column per view (`rank. strength [interval]`), and one
    line per view saying whether its order is the main one."""
    views = {"All comparisons": analysis.ranking, "Completion codes ok": analysis.sensitivity}
    if analysis.annotator_sensitivity is not None:
        views["Without flagged judges"] = analysis.annotator_sensitivity
    if analysis.evidence_sensitivity is not None:
        views["Verified games only"] = analysis.evidence_sensitivity
    agents = analysis.ranking.order or analysis.comparisons.agents
    table = pd.DataFrame({"Agent": agents})
    notes = []
    left_out = sensitivity_counts(analysis)
    for name, ranking in views.items():
        if ranking.problem is not None:
            table[name] = "–"
            notes.append(f"{name}: {left_out.get(name, 'all')}; no ranking ({ranking.problem}).")
            continue
        by_agent: dict[str, dict[Any, Any]] = {str(r["agent"]): r for r in ranking.table.to_dict("records")}
        table[name] = [f"{int(by_agent[a]['rank'])}. {signed(by_agent[a]['strength'])} "
                       f"{interval(by_agent[a]['strength_low'], by_agent[a]['strength_high'])}"
                       if a in by_agent else "–" for a in agents]
        if name != "All comparisons":
            same = ranking.order == analysis.ranking.order
            order = "same order" if same else "the order changes: " + " > ".join(ranking.order)
            notes.append(f"{name}: {left_out.get(name, 'all')}; {order}.")
    return table, notes


def sensitivity_counts(analysis: Analysis) -> dict[str, str]:
    """What each view leaves out, in words."""
    base = analysis.comparisons.counts()["complete_comparisons"]
    out = {"Completion codes ok": f"{analysis.sensitivity_comparisons.counts()['complete_comparisons']} of {base} "
                                  "comparisons (HITs with a code that is not ok left out)"}
    if analysis.annotator_comparisons is not None:
        left_out = analysis.flagged_workers()
        workers = bool(analysis.games["worker"].notna().any())
        out["Without flagged judges"] = (
            f"{len(left_out)} flagged judge{'s' if len(left_out) != 1 else ''} left out" if left_out
            else "no judge is flagged, so the same comparisons" if workers
            else "the input has no worker ids, so the same comparisons")
    if analysis.evidence_comparisons is not None:
        out["Verified games only"] = (f"{analysis.evidence_comparisons.counts()['complete_comparisons']} of {base} "
                                      "comparisons (games whose agent or time could not be verified left out)")
    return out


def pair_counts(analysis: Analysis) -> pd.DataFrame:
    """Complete comparisons per set of agents: decisive, ties, no decision."""
    complete = analysis.comparisons.complete
    rows = []
    for agents, group in complete.groupby(complete["agents"].map(" vs ".join), sort=True):
        rows.append({"pair": str(agents), "decisive": int((group["outcome"] == DECISIVE).sum()),
                     "ties": int((group["outcome"] == TIE).sum()),
                     "no_decision": int((group["outcome"] == NO_DECISION).sum())})
    return pd.DataFrame(rows, columns=["pair", "decisive", "ties", "no_decision"])


def quality_counts(analysis: Analysis) -> pd.DataFrame:
    """Worker quality as counts: games and workers per completion-code status, verdict and
    reason (not one row per worker or HIT)."""
    games = analysis.games
    unit = games["worker"] if games["worker"].notna().any() else None
    rows = []

    def add(kind: str, labels: pd.Series) -> None:
        for label, index in labels.groupby(labels).groups.items():
            workers = "–" if unit is None else str(unit.loc[index].nunique())
            rows.append({"What": kind, "Value": str(label).replace("_", " "), "Games": len(index),
                         "Workers": workers})

    add("completion code", games["code_status"].astype(str))
    if "Verdict" in games.columns:
        add("verdict", games["Verdict"].fillna("none").astype(str))
    if "Reasons" in games.columns:
        from iglu_lib.analysis.breakdowns import _reason_list

        exploded = games["Reasons"].map(_reason_list).explode().dropna()
        if len(exploded):
            add("reason", exploded.astype(str))
    add("annotation", games["annotation_status"].astype(str))
    table = pd.DataFrame(rows, columns=["What", "Value", "Games", "Workers"])
    return table if unit is not None else table.drop(columns=["Workers"])


def top_tasks(analysis: Analysis, limit: int = MAX_TASK_PANELS) -> tuple[list[str], int]:
    """The tasks to draw (most decisive comparisons first, at most `limit`) and how many there are."""
    wins = analysis.comparisons.wins
    known = wins[~wins["task"].isin(["unknown", "mixed"])]
    ordered = list(known["task"].value_counts().index)
    return ordered[:limit], len(ordered)


@dataclass(frozen=True)
class Section:
    """A figure on the page."""

    title: str
    image: str          # data URI
    caption: str


def figures(analysis: Analysis) -> dict[str, Figure]:
    """Every figure of the page by file stem (also what `paper` writes as PDF and PNG)."""
    from iglu_lib.analysis import breakdowns, plots

    out: dict[str, Figure] = {}
    if analysis.ranking.problem is None:
        out["strengths"] = plots.strengths({"all comparisons": analysis.ranking.table}, analysis.ranking.level)
    order = list(analysis.ranking.order or analysis.comparisons.agents)
    if len(analysis.comparisons.wins):
        out["win_fractions"] = plots.win_fractions(analysis.comparisons.win_matrix().reindex(index=order, columns=order))
    pairs = pair_counts(analysis)
    if len(pairs):
        out["comparisons_per_pair"] = plots.comparisons_per_pair(pairs)
    tasks, _ = top_tasks(analysis)
    if tasks:
        out["per_task"] = plots.per_task_panels(breakdowns.per_task(analysis.comparisons), tasks,
                                                list(analysis.ranking.order or analysis.comparisons.agents),
                                                breakdowns.task_names(analysis.games))
    return out


def _png_uri(figure: Figure) -> str:
    from iglu_lib.analysis import plots

    return "data:image/png;base64," + base64.b64encode(plots.png(figure)).decode("ascii")


def _csv_uri(table: pd.DataFrame) -> str:
    from iglu_lib.spreadsheet import escape_frame

    text = escape_frame(table).to_csv(index=False)
    return "data:text/csv;charset=utf-8;base64," + base64.b64encode(text.encode("utf-8")).decode("ascii")


def html_table(table: pd.DataFrame, numeric: tuple[str, ...] = ()) -> str:
    """A table without index, cells escaped, in a scrolling box (wide tables scroll, the page does not)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    body = []
    for row in table.itertuples(index=False):
        cells = "".join(f"<td{' class=num' if c in numeric else ''}>{html.escape(str(v))}</td>"
                        for c, v in zip(table.columns, row, strict=True))
        body.append(f"<tr>{cells}</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def context(analysis: Analysis, title: str) -> dict[str, Any]:
    """What the page template renders."""
    from iglu_lib.analysis import breakdowns

    board = leaderboard(analysis)
    counts = analysis.comparisons.counts()
    pictures = {name: _png_uri(figure) for name, figure in figures(analysis).items()}
    tasks, task_count = top_tasks(analysis)
    views, view_notes = sensitivity_views(analysis)
    quality = quality_counts(analysis)
    flagged = analysis.flagged_workers()
    tables = {**analysis.tables(), "leaderboard": board}
    tables["per_task"] = breakdowns.with_task_names(tables["per_task"], breakdowns.task_names(analysis.games))
    downloads = [{"name": f"{name}.csv", "uri": _csv_uri(table), "rows": len(table)}
                 for name, table in sorted(tables.items()) if len(table)]
    return {
        "title": title,
        "headline": headline(analysis, board),
        "leaderboard": html_table(readable_leaderboard(board)) if len(board) else None,
        "problem": analysis.ranking.problem,
        "counts": counts,
        "excluded": _excluded(counts["excluded_hits"]),
        "ties_rule": ("a tie counts as half a win for each agent" if analysis.ties_in_fit
                      else "ties are left out of the fit"),
        "next_step": _next_step_rows(analysis),
        "next_step_note": analysis.next_step_note,
        "pictures": pictures,
        "task_caption": (f"the {len(tasks)} tasks with the most decisive comparisons, of {task_count}"
                         if task_count > len(tasks) else f"all {task_count} tasks"),
        "alpha": analysis.alpha,
        "judges": _judge_summary(analysis),
        "flagged": len(flagged),
        "has_workers": bool(analysis.games["worker"].notna().any()),
        "quality": html_table(quality, numeric=("Games", "Workers")) if len(quality) else None,
        "sensitivity": html_table(views),
        "sensitivity_notes": view_notes,
        "position": _position_line(analysis),
        "downloads": downloads,
        "replicates": analysis.ranking.replicates,
        "seed": analysis.ranking.seed,
        "level": f"{analysis.ranking.level:.0%}",
    }


def _excluded(reasons: object) -> list[tuple[str, int]]:
    """Reasons for leaving HITs out, most frequent first."""
    return sorted(reasons.items(), key=lambda kv: -kv[1]) if isinstance(reasons, dict) else []


def _next_step_rows(analysis: Analysis) -> str | None:
    step = analysis.next_step
    if step is None or not step.pairs:
        return None
    table = pd.DataFrame([{
        "Pair": f"{p.leader} > {p.other}",
        "Gap (log-odds)": signed(p.gap),
        "P(leader wins)": percent(p.p_leader_wins),
        "Further decisive comparisons": (f"{p.needed} ({p.needed_low}–{p.needed_high})" if p.needed is not None
                                         else f"more than {step.cap}"),
    } for p in step.pairs])
    return html_table(table)


def _judge_summary(analysis: Analysis) -> str:
    consensus = analysis.annotators if analysis.annotators is not None else pd.DataFrame()
    model = analysis.judges if analysis.judges is not None else pd.DataFrame()
    if consensus.empty and model.empty:
        return "The input has no worker ids, so judges cannot be tested."
    by_consensus = int(consensus["flagged"].astype(bool).sum()) if len(consensus) else 0
    by_model = int(model["model_flagged"].astype(bool).sum()) if len(model) else 0
    return (f"{len(model)} judges tested against the fitted model: {by_model} flagged (votes unlikely under the "
            f"model, p < 0.01); {len(consensus)} against the other judges' consensus: {by_consensus} flagged.")


def _position_line(analysis: Analysis) -> str:
    bias = analysis.position
    if bias.note:
        return f"Position bias: {bias.note}."
    return (f"Position bias: the agent shown first won {percent(bias.probability)} of {bias.known_order} decisive "
            f"comparisons with a known order (95% interval {percent(bias.low)}–{percent(bias.high)}).")


def page_html(analysis: Analysis, title: str, *, fragment: bool = False) -> str:
    """The whole page as one self-contained HTML string; `fragment`: without the document
    around it (for a notebook's output; its style applies inside the page's own box only)."""
    import jinja2

    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                                     autoescape=jinja2.select_autoescape(["html", "j2"]))
    template = environment.get_template("leaderboard.html.j2")
    return template.render(**context(analysis, title), fragment=fragment)


def write_page(analysis: Analysis, path: str | Path, title: str) -> Path:
    """Write the page; returns its path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page_html(analysis, title), encoding="utf-8")
    log.info("wrote the leaderboard page %s", out)
    return out


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
