"""The notebook's interactive view: filter the games by task, worker quality and completion
code status, and see the comparisons, the ranking and the strengths of what is left.

Filters act on whole HITs (see `preferences.filter_games`). Fewer draws for P(best) (and a
smaller position-bias bootstrap) than the report's, so a change of filter answers quickly.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import pandas as pd

from iglu_lib.analysis import plots
from iglu_lib.analysis.preferences import filter_games, hit_tasks
from iglu_lib.analysis.report import Analysis, analyze

ALL = "all"


@dataclass(frozen=True)
class Filters:
    """One choice of the explorer's filters (`ALL` or an empty status list: no filter)."""

    task: str = ALL
    worker_quality: str = ALL
    code_statuses: tuple[str, ...] = ()


def filtered_analysis(games: pd.DataFrame, filters: Filters, *, replicates: int = 200, seed: int = 0) -> Analysis:
    """The analysis of the HITs that pass the filters."""
    subset = filter_games(
        games,
        tasks=None if filters.task == ALL else [filters.task],
        worker_qualities=None if filters.worker_quality == ALL else [filters.worker_quality],
        code_statuses=list(filters.code_statuses) or None,
    )
    return analyze(subset, replicates=replicates, seed=seed)


def options(games: pd.DataFrame) -> dict[str, list[str]]:
    """The values each filter offers, from the games themselves."""
    return {
        "task": [ALL, *sorted(hit_tasks(games).unique())],
        "worker_quality": [ALL, *sorted(games["worker_quality"].unique())],
        "code_status": sorted(games["code_status"].unique()),
    }


def explorer(
    games: pd.DataFrame, initial: Filters | None = None, *, replicates: int = 200, seed: int = 0
) -> Any:  # an ipywidgets VBox (ipywidgets has no type information)
    """An ipywidgets panel: three filters above the filtered counts, ranking and plot."""
    import ipywidgets as widgets
    from IPython.display import Image, display

    initial = initial or Filters()
    choices = options(games)
    for name, value in (("task", initial.task), ("worker_quality", initial.worker_quality)):
        if value not in choices[name]:
            raise ValueError(f"{name} filter {value!r} is not in the games; choose one of {choices[name]}")
    task = widgets.Dropdown(options=choices["task"], value=initial.task, description="task")
    quality = widgets.Dropdown(options=choices["worker_quality"], value=initial.worker_quality,
                               description="workers")
    statuses = widgets.SelectMultiple(options=choices["code_status"],
                                      value=_known(initial.code_statuses, choices["code_status"]),
                                      description="codes", rows=min(6, len(choices["code_status"])))
    output = widgets.Output()

    def refresh(*_: object) -> None:
        filters = Filters(task.value, quality.value, tuple(statuses.value))
        analysis = filtered_analysis(games, filters, replicates=replicates, seed=seed)
        with output:
            output.clear_output(wait=True)
            display(pd.DataFrame([analysis.comparisons.counts()]).drop(columns=["excluded_hits", "excluded_games"]))
            display(analysis.comparisons.per_agent())
            display(analysis.ranking.table if analysis.ranking.problem is None else analysis.ranking.problem)
            display(Image(plots.png(plots.strengths({"filtered": analysis.ranking.table}))))

    for control in (task, quality, statuses):
        control.observe(refresh, names="value")
    refresh()
    return widgets.VBox([widgets.HBox([task, quality, statuses]), output])


def _known(values: Collection[str], offered: list[str]) -> tuple[str, ...]:
    return tuple(v for v in values if v in offered) or tuple(offered)
