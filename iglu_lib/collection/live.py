"""A live view of a running campaign for notebooks: good HITs per cell, open HITs and spend,
redrawn in place every few turns."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from iglu_lib.collection.campaign import Campaign, TurnReport


def campaign_cells(campaign: Campaign) -> list[tuple[str, Sequence[str]]]:
    """Every (task, combination) the campaign schedules."""
    return [(task, combo) for task in campaign.scheduler.inventory.tasks for combo in campaign.scheduler.combinations]


def current_status(campaign: Campaign) -> dict[str, Any]:
    from iglu_lib.collection.status import campaign_status

    return campaign_status(campaign.records.all(), cost_per_hit=campaign.cost_per_hit, cells=campaign_cells(campaign))


def live_view(every_turns: int = 5) -> Callable[[Campaign, TurnReport], None]:
    """An `on_turn` callback that redraws the cell table and the spend in the notebook."""
    from IPython.display import display

    from iglu_lib.collection.status import cells_frame

    handle = display("starting ...", display_id=True)
    turns = {"n": 0}

    def show(campaign: Campaign, report: TurnReport) -> None:
        turns["n"] += 1
        if turns["n"] % every_turns:
            return
        status = current_status(campaign)
        caption = (f"good {status['good_hits']}/{campaign.params.target_approved_hits} · open {status['open_hits']}"
                   f" · spent ${status['spent']} of ${campaign.params.budget}")
        handle.update(cells_frame(status).style.set_caption(caption))

    return show


def reasons_figure(status: dict[str, Any]) -> Any:
    """Games disqualified or flagged, by reason (an empty chart says none was)."""
    import matplotlib.pyplot as plt

    counts = sorted(status["games_by_reason"].items(), key=lambda item: item[1])
    figure, axis = plt.subplots(figsize=(7, 0.4 * len(counts) + 1.2))
    axis.barh([reason for reason, _ in counts], [n for _, n in counts])
    axis.set(title="Disqualified or flagged games by reason" if counts else "No game was flagged",
             xlabel="games")
    figure.tight_layout()
    return figure
