"""Analysis of pairwise human evaluations: preferences, Bradley-Terry rankings with bootstrap
intervals, position bias, per-task and per-worker breakdowns, free-text feedback, plots.

Modules: `loading` (the games table), `judgements` (what an annotation says), `preferences`
(comparisons per HIT), `bradley_terry` (MLE from aggregated counts), `ranking` (bootstrap,
P(best), position bias), `breakdowns`, `report` (everything at once, files, JSON), `plots`,
`intervals` (Wilson). Names below are imported on first use, so `import iglu_lib.analysis`
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
