"""The two pictures of a collated log table: how many rows each log has, and which words
commands start with (a quick look at what workers asked the agent to do)."""

from __future__ import annotations

from typing import Any

from iglu_lib.logs.clean import LOG_ID_COLUMN


def rows_per_log(table: Any, ax: Any, *, bins: int = 15) -> Any:
    """Histogram of the number of kept rows per `turk_log_id`."""
    table.groupby(LOG_ID_COLUMN).size().plot.hist(ax=ax, bins=bins, title="rows per log")
    ax.set_xlabel("rows")
    return ax


def first_words(table: Any, ax: Any, *, top: int = 12) -> Any:
    """The most frequent first words (lower case) of the table's first column."""
    first_word = table[table.columns[0]].str.split().str[0].str.lower()
    first_word.value_counts().head(top).sort_values().plot.barh(
        ax=ax, title="first word of the first column")
    return ax


def table_overview(table: Any) -> Any:
    """Both plots side by side; returns the figure."""
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    rows_per_log(table, left)
    first_words(table, right)
    figure.tight_layout()
    return figure
