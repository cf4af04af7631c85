"""Figures of a static task's records for the crowd notebook, built here so cells only show them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from iglu_lib.crowd.export import onboarding_verdicts

if TYPE_CHECKING:
    import pandas as pd


def onboarding_figure(onboarding: pd.DataFrame) -> Any:
    """A bar chart of onboarding verdicts (workers who passed, who failed) from an `onboarding`
    frame; None when nobody has taken the onboarding yet, so there is nothing to draw."""
    import matplotlib.pyplot as plt

    verdicts = onboarding_verdicts(onboarding)
    if verdicts.empty:
        return None
    figure, axes = plt.subplots()
    verdicts.plot.bar(ax=axes, title="Onboarding results", ylabel="workers", rot=0)
    plt.close(figure)  # shown once, where the notebook displays the returned figure
    return figure
