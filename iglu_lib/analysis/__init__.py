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

from iglu_lib.lazy import lazy_exports

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
