"""Figures of fetched games (matplotlib `Figure` objects, no pyplot state), so the games
notebook shows them and scripts save them the same way.

A campaign has hundreds of games: one bar per game says nothing. The figures compare agents
instead, one distribution per agent, so a researcher sees at a glance whether an agent's games
end closer to the target, take the architect more turns or last longer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from matplotlib.figure import Figure

if TYPE_CHECKING:
    import pandas as pd


#: The per-game numbers compared across agents: (summary column, axis label).
DISTRIBUTIONS = (
    ("structure_f1", "structure F1 against the target"),
    ("architect_turns", "architect turns (PLAYER_COMMAND)"),
    ("duration_seconds", "game duration (minutes)"),
)

#: Label of games whose agent is not known (no agent id in the code, or an unknown instance).
UNKNOWN_AGENT = "unknown agent"


def instance_agents(agents: Mapping[str, Iterable[Mapping[str, Any]]]) -> dict[str, str]:
    """`{agent instance id: agent name}` from the platform's agents file
    (`{agent: [{agent_instance_id, agent_instance_name}]}`, what `iglu join-codes --agents-out`
    writes), so games can be labelled by agent although codes only carry the instance id."""
    return {str(item["agent_instance_id"]): str(agent)
            for agent, instances in agents.items() for item in instances if "agent_instance_id" in item}


def record_agents(records: Iterable[Any]) -> dict[str, str]:
    """`{agent instance id: agent name}` from a campaign's game records (objects with
    `agent_minecraft_id` and `agent_name`, as `GameRecords.all()` gives them)."""
    return {str(r.agent_minecraft_id): str(r.agent_name) for r in records
            if getattr(r, "agent_minecraft_id", None) and getattr(r, "agent_name", None)}


def with_agents(summaries: pd.DataFrame, agents: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Usable games (no `reason`) with an `agent` column: the name `agents` gives the game's
    instance (`agent_service_id`), else `instance <first 8 characters>`, else `unknown agent`.
    Duration is converted to minutes, which is how people think of a game's length."""
    usable = summaries.loc[summaries["reason"].isna()].copy() if "reason" in summaries else summaries.copy()
    names = dict(agents or {})
    instance = usable["agent_service_id"] if "agent_service_id" in usable else None

    def label(value: Any) -> str:
        if not isinstance(value, str) or not value:
            return UNKNOWN_AGENT
        return names.get(value, f"instance {value[:8]}")

    usable["agent"] = instance.map(label) if instance is not None else UNKNOWN_AGENT
    if "duration_seconds" in usable:
        import pandas as pd

        usable["duration_seconds"] = pd.to_numeric(usable["duration_seconds"], errors="coerce") / 60.0
    return usable


def agent_distributions(summaries: pd.DataFrame, agents: Mapping[str, str] | None = None) -> Figure:
    """Per agent, the distribution of structure F1, architect turns and game duration of its
    usable games: a box (quartiles, median) with every game as a dot beside it, and the number
    of games under the agent's name. A game without a target scores F1 0, as in validation.

    `summaries` is `iglu_lib.platform.games.summary_table`'s table; `agents` maps agent
    instance ids to names (`instance_agents`, `record_agents`). When no game is usable the axes
    say so instead of drawing nothing.
    """
    import numpy as np
    import pandas as pd

    games = with_agents(summaries, agents)
    if "structure_f1" in games:
        games["structure_f1"] = pd.to_numeric(games["structure_f1"], errors="coerce").fillna(0.0)
    names = sorted(games["agent"].unique()) if len(games) else []
    figure = Figure(figsize=(4 * len(DISTRIBUTIONS), 3.8))
    axes_row = figure.subplots(1, len(DISTRIBUTIONS))
    rng = np.random.default_rng(0)  # fixed jitter: the same games draw the same picture
    for axes, (column, label) in zip(axes_row, DISTRIBUTIONS, strict=True):
        values = [pd.to_numeric(games.loc[games["agent"] == name, column], errors="coerce").dropna().to_numpy()
                  if column in games else np.array([]) for name in names]
        axes.set_title(label, fontsize="medium")
        if not any(len(v) for v in values):
            axes.text(0.5, 0.5, "no usable game", ha="center", va="center", transform=axes.transAxes)
            axes.set_xticks([])
            continue
        positions = np.arange(1, len(names) + 1)
        axes.boxplot([v if len(v) else [np.nan] for v in values], positions=positions, widths=0.5,
                     showfliers=False, medianprops={"color": "black"})
        for position, vals in zip(positions, values, strict=True):
            axes.scatter(position + rng.uniform(-0.15, 0.15, len(vals)), vals, s=12, alpha=0.6, zorder=3)
        axes.set_xticks(positions, [f"{name}\n({len(v)} games)" for name, v in zip(names, values, strict=True)],
                        fontsize="small")
        if column == "structure_f1":
            axes.set_ylim(-0.05, 1.05)
    figure.suptitle("Games per agent")
    figure.tight_layout()
    return figure


def structure_and_effort(summaries: pd.DataFrame, agents: Mapping[str, str] | None = None) -> Figure:
    """The games notebook's figure: `agent_distributions` (kept under its old name)."""
    return agent_distributions(summaries, agents)
