"""Figures of fetched games (matplotlib `Figure` objects, no pyplot state), so the games
notebook shows them and scripts save them the same way."""

from __future__ import annotations

from typing import TYPE_CHECKING

from matplotlib.figure import Figure

if TYPE_CHECKING:
    import pandas as pd


def structure_and_effort(summaries: pd.DataFrame) -> Figure:
    """Two bars per usable game (no `reason`): its structure F1 against the task target (a
    game without a target counts 0) and the architect's turns, to spot games where the
    architect gave up early or the builder built something else.

    `summaries` is `iglu_lib.platform.games.summary_table`'s table; when no game is usable
    the summary columns may be absent, and the axes are left empty.
    """
    columns = ["GameMinecraftId", "structure_f1", "architect_turns"]
    usable = summaries.loc[summaries["reason"].isna()].reindex(columns=columns)
    figure = Figure(figsize=(10, 3.5))
    structure, turns = figure.subplots(1, 2)
    labels = [str(game)[:8] for game in usable["GameMinecraftId"]]
    structure.bar(labels, usable["structure_f1"].fillna(0))
    structure.set(title="Structure F1 against the target", ylim=(0, 1.05), xlabel="game")
    turns.bar(labels, usable["architect_turns"])
    turns.set(title="Architect turns (PLAYER_COMMAND)", xlabel="game")
    for axes in (structure, turns):
        axes.tick_params(axis="x", rotation=45)
    figure.tight_layout()
    return figure
