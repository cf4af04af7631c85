"""Notebook 09 (design simulator) runs headless with small parameters; its plot is library code."""

from __future__ import annotations

from iglu_lib.notebooks import run_notebook
from iglu_lib.scheduling.simulate import Design, narrowing, narrowing_figure


def test_narrowing_traces_intervals_until_the_stop():
    design = Design(agents=3, spacing=0.8, clickers=0.1, max_hits=800)
    table, result = narrowing(design, seed=1)
    assert result.stopped_by == "ranking_confident"
    assert table["good_hits"].max() == result.good_hits
    width = (table["high"] - table["low"]).groupby(table["good_hits"]).mean()
    assert width.iloc[-1] < width.iloc[0] / 3  # the intervals narrow
    figure = narrowing_figure({"adaptive": (table, result)})
    assert "stopped at" in figure.axes[0].get_title()


def test_notebook_runs_headless_with_small_parameters(test_outputs):
    executed = run_notebook("09_design", "params/09_design.yaml",
                            parameters={"agents": 3, "spacing": 0.8, "max_hits": 800, "seeds": 3, "workers": 1},
                            output=test_outputs / "09_design.ipynb", progress=False)
    text = executed.read_text(encoding="utf-8")
    assert "of the good HITs of balanced" in text and "image/png" in text
