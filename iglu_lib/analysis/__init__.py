"""Analysis of human evaluations: preferences, rankings (one choice among k per HIT, weak prior,
intervals and interval ranks), position bias, annotator safeguards, per-task and per-worker
breakdowns, free-text feedback, plots.

Modules: `loading` (the games table), `judgements` (what an annotation says), `preferences`
(comparisons per HIT), `choice` (the ranking model), `bradley_terry` (MLE from aggregated
counts, for the position bias), `ranking` (strengths, P(best), interval ranks, position
bias), `annotators` (agreement with the consensus, flags), `breakdowns`, `report` (everything
at once, files, JSON), `plots`, `intervals` (Wilson). Names below are imported on first use, so `import iglu_lib.analysis`
stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iglu_lib.lazy import lazy_exports

if TYPE_CHECKING:  # the checker sees the real names; at run time they load on first use
    from iglu_lib.analysis.intervals import wilson_interval as wilson_interval
    from iglu_lib.analysis.loading import default_input as default_input
    from iglu_lib.analysis.loading import load_campaign as load_campaign
    from iglu_lib.analysis.loading import load_games as load_games
    from iglu_lib.analysis.loading import prepare_games as prepare_games
    from iglu_lib.analysis.preferences import ComparisonRules as ComparisonRules
    from iglu_lib.analysis.preferences import compare as compare
    from iglu_lib.analysis.preferences import filter_games as filter_games
    from iglu_lib.analysis.ranking import position_bias as position_bias
    from iglu_lib.analysis.ranking import rank as rank
    from iglu_lib.analysis.report import analyze as analyze
    from iglu_lib.analysis.report import write_outputs as write_outputs

_EXPORTS = {
    "load_games": "loading",
    "load_campaign": "loading",
    "prepare_games": "loading",
    "default_input": "loading",
    "compare": "preferences",
    "filter_games": "preferences",
    "ComparisonRules": "preferences",
    "rank": "ranking",
    "position_bias": "ranking",
    "analyze": "report",
    "write_outputs": "report",
    "wilson_interval": "intervals",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
