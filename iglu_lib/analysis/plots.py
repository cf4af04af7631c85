"""Figures of the analysis (matplotlib, Agg backend: no display needed).

Each function draws on a new figure and returns it, so notebooks show it and `save_all`
writes it; nothing touches pyplot's global current figure.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from iglu_lib.analysis.report import Analysis


def win_matrix(matrix: pd.DataFrame) -> Figure:
    """Heatmap of decisive wins: row agent beat column agent."""
    figure = Figure(figsize=(4.5, 4))
    axes = figure.subplots()
    if matrix.empty:
        return _nothing(figure, axes, "Wins per ordered pair")
    image = axes.imshow(matrix.to_numpy(), cmap="Blues")
    axes.set_xticks(range(len(matrix.columns)), matrix.columns)
    axes.set_yticks(range(len(matrix.index)), matrix.index)
    axes.set_xlabel("loser")
    axes.set_ylabel("winner")
    for (row, column), value in np.ndenumerate(matrix.to_numpy()):
        axes.text(column, row, str(value), ha="center", va="center")
    figure.colorbar(image, ax=axes, label="wins")
    axes.set_title("Wins per ordered pair")
    figure.tight_layout()
    return figure


def strengths(rankings: dict[str, pd.DataFrame], level: float = 0.95) -> Figure:
    """Strengths with their intervals (normal approximation of the posterior), one marker per ranking."""
    figure = Figure(figsize=(6, 3.5))
    axes = figure.subplots()
    agents = list(next(iter(rankings.values()))["agent"])
    offsets = np.linspace(-0.15, 0.15, len(rankings)) if len(rankings) > 1 else [0.0]
    for offset, (label, table) in zip(offsets, rankings.items(), strict=True):
        table = table.set_index("agent").reindex(agents)
        y = np.arange(len(agents)) + offset
        error = _spread(table["strength"], table["strength_low"], table["strength_high"])
        axes.errorbar(table["strength"], y, xerr=error, fmt="o", capsize=3, label=label)
    axes.axvline(0.0, color="grey", linewidth=0.8)
    axes.set_yticks(range(len(agents)), agents)
    axes.invert_yaxis()
    axes.set_xlabel(f"strength (log-odds) with {level:.0%} interval")
    if len(rankings) > 1:
        axes.legend(loc="best", fontsize="small")
    axes.set_title("Strengths (Bradley-Terry / Plackett-Luce)")
    figure.tight_layout()
    return figure


def win_rates_per_task(per_task: pd.DataFrame, names: dict[str, str] | None = None) -> Figure:
    """Win rate of each agent on each task, with Wilson intervals; tasks are labelled by name
    where `names` (`breakdowns.task_names`) knows it, else by their id's first block."""
    from iglu_lib.analysis.breakdowns import task_label

    tasks = sorted(dict.fromkeys(per_task["task"]), key=lambda t: task_label(t, names))
    agents = sorted(per_task["agent"].unique())
    figure = Figure(figsize=(max(6, 0.9 * len(tasks) + 2), 4))
    axes = figure.subplots()
    if per_task.empty:
        return _nothing(figure, axes, "Win rate per task")
    width = 0.8 / max(len(agents), 1)
    for k, agent in enumerate(agents):
        rows = per_task[per_task["agent"] == agent].set_index("task").reindex(tasks)
        x = np.arange(len(tasks)) + (k - (len(agents) - 1) / 2) * width
        error = _spread(rows["win_rate"], rows["win_rate_low"], rows["win_rate_high"])
        axes.bar(x, rows["win_rate"], width, yerr=error, capsize=2, label=agent)
    axes.set_xticks(range(len(tasks)), [task_label(t, names) for t in tasks], rotation=45, ha="right")
    axes.set_ylim(0, 1)
    axes.set_ylabel("win rate (decisive comparisons)")
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))  # beside the bars
    axes.set_title("Win rate per task")
    figure.tight_layout()
    return figure


def save_all(analysis: Analysis, out_dir: Path) -> list[Path]:
    """Write the three standard figures as PNG; returns their paths."""
    from iglu_lib.analysis import breakdowns

    figures = {
        "win_matrix": win_matrix(analysis.comparisons.win_matrix()),
        "strengths": strengths({"all games": analysis.ranking.table, "ok codes only": analysis.sensitivity.table},
                               analysis.ranking.level),
        "win_rates_per_task": win_rates_per_task(breakdowns.per_task(analysis.comparisons),
                                                 breakdowns.task_names(analysis.games)),
    }
    written = []
    for name, figure in figures.items():
        path = Path(out_dir) / f"{name}.png"
        figure.savefig(path, dpi=120)
        written.append(path)
    return written


def _nothing(figure: Figure, axes: Axes, title: str) -> Figure:
    axes.set_axis_off()
    axes.text(0.5, 0.5, "no decisive comparisons", ha="center", va="center")
    axes.set_title(title)
    return figure


def png(figure: Figure) -> bytes:
    """The figure as PNG bytes (for notebooks and widgets, whatever the backend)."""
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _spread(value: pd.Series, low: pd.Series, high: pd.Series) -> np.ndarray:
    """Error-bar lengths below and above; rounding can put a bound a hair past the value."""
    return np.clip(np.vstack([value - low, high - value]), 0.0, None)


def win_fractions(comparisons_matrix: pd.DataFrame) -> Figure:
    """Heatmap of the share of decisive comparisons of each pair that the row agent won (blank
    where a pair was never compared), with the counts behind each share."""
    agents = list(comparisons_matrix.index)
    wins = comparisons_matrix.to_numpy(dtype=float)
    played = wins + wins.T
    figure = Figure(figsize=(1.2 * len(agents) + 2.2, 1.0 * len(agents) + 1.4))
    axes = figure.subplots()
    if not played.any():
        return _nothing(figure, axes, "Win fraction per pair")
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(played > 0, wins / played, np.nan)
    image = axes.imshow(share, cmap="RdBu", vmin=0.0, vmax=1.0)
    for (row, column), value in np.ndenumerate(share):
        if row != column and played[row, column]:
            axes.text(column, row, f"{value:.0%}\n{wins[row, column]:g}/{played[row, column]:g}",
                      ha="center", va="center", fontsize="small")
    axes.set_xticks(range(len(agents)), agents)
    axes.set_yticks(range(len(agents)), agents)
    axes.set_xlabel("against")
    axes.set_ylabel("agent")
    figure.colorbar(image, ax=axes, label="share of decisive comparisons won")
    axes.set_title("Win fraction per pair")
    figure.tight_layout()
    return figure


def comparisons_per_pair(counts: pd.DataFrame) -> Figure:
    """Horizontal bars: complete comparisons of each pair of agents, split into decisive, ties and
    no decision (`counts`: columns pair, decisive, ties, no_decision)."""
    figure = Figure(figsize=(6, 0.45 * max(len(counts), 2) + 1.2))
    axes = figure.subplots()
    if counts.empty:
        return _nothing(figure, axes, "Comparisons per pair")
    left = np.zeros(len(counts))
    for column, label in (("decisive", "decisive"), ("ties", "ties"), ("no_decision", "no decision")):
        axes.barh(counts["pair"], counts[column], left=left, label=label)
        left = left + counts[column].to_numpy(dtype=float)
    axes.invert_yaxis()
    axes.set_xlabel("complete comparisons")
    axes.legend(fontsize="small", loc="lower right")
    axes.set_title("Comparisons per pair")
    figure.tight_layout()
    return figure


def per_task_panels(per_task: pd.DataFrame, tasks: list[str], agents: list[str],
                    names: dict[str, str] | None = None, columns: int = 4) -> Figure:
    """Small multiples: one panel per task in `tasks`, each agent's decisive win rate there as a
    bar labelled with wins/decisive comparisons."""
    from iglu_lib.analysis.breakdowns import task_label

    rows = max(1, -(-len(tasks) // columns))
    figure = Figure(figsize=(2.6 * columns, 1.9 * rows + 0.6))
    if not tasks:
        return _nothing(figure, figure.subplots(), "Win rate per task")
    grid = figure.subplots(rows, columns, squeeze=False, sharex=True)
    for k, axes in enumerate(grid.flat):
        if k >= len(tasks):
            axes.set_axis_off()
            continue
        data = per_task[per_task["task"] == tasks[k]].set_index("agent").reindex(agents)
        axes.barh(agents, data["win_rate"].fillna(0.0), color="tab:blue")
        for y, (won, decisive) in enumerate(zip(data["wins"], data["decisive"], strict=True)):
            if decisive == decisive:  # not NaN
                axes.text(0.02, y, f"{int(won)}/{int(decisive)}", va="center", fontsize="x-small", color="white"
                          if data["win_rate"].iloc[y] > 0.3 else "black")
        axes.set_xlim(0, 1)
        axes.invert_yaxis()
        axes.set_title(task_label(tasks[k], names), fontsize="small")
        axes.tick_params(labelsize="x-small")
    figure.supxlabel("decisive win rate", fontsize="small")
    figure.tight_layout()
    return figure


def svg(figure: Figure) -> bytes:
    """The figure as SVG bytes."""
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg")
    return buffer.getvalue()
