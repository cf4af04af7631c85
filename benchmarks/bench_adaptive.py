"""`adaptive_hits_to_confident_ranking`: good HITs until the stopping rule `ranking_confident:
0.95` fires, adaptive over balanced, for 6 agents spaced 0.35 log-odds apart (the gap between
agents in the real IGLU evaluation), 15% random clickers and a 0.3 log-odds first-shown bias,
SEEDS simulated campaigns per strategy (`iglu_lib.scheduling.simulate`: the real scheduler
and stopping rule, a simulated crowd). Target: median ratio at most 0.6.

Reported beside it: the share of campaigns ending in a wrong order per strategy (at most 5%)
and the coverage of the 95% intervals of all strength differences at the stop
(`ci_coverage_adaptive`, `ci_coverage_balanced`, at least 0.93), against the crowd's true
strengths (clickers dilute them; see the simulate module); both are also entries of their own
(`adaptive_ci_coverage`, `adaptive_wrong_order_share`) so that `make bench` checks them.
Campaigns run in two processes (about 2 minutes on an idle 2-core machine).
"""

from __future__ import annotations

import time

from iglu_lib.scheduling.simulate import Design, simulate

SEEDS = 100
WORKERS = 2
DESIGN = {"agents": 6, "spacing": 0.35, "clickers": 0.15, "first_shown_bias": 0.3, "confidence": 0.95,
          "max_hits": 12_000}


def run() -> list[dict]:
    results, seconds = {}, {}
    for strategy in ("balanced", "adaptive"):
        start = time.perf_counter()
        results[strategy] = simulate(Design(strategy=strategy, **DESIGN), SEEDS, workers=WORKERS)
        seconds[strategy] = time.perf_counter() - start
    adaptive, balanced = results["adaptive"], results["balanced"]
    value, baseline = adaptive["good_hits_median"], balanced["good_hits_median"]
    return [{
        "name": "adaptive_hits_to_confident_ranking",
        "value": value,
        "unit": "median good HITs until ranking_confident 0.95 (6 agents, 0.35 apart, 15% clickers)",
        "baseline": baseline,
        "ratio": value / baseline,
        "target": 0.6,
        "better": "lower",
        "seeds_per_strategy": SEEDS,
        "quartiles_adaptive": adaptive["good_hits_quartiles"],
        "quartiles_balanced": balanced["good_hits_quartiles"],
        "wrong_order_share_adaptive": adaptive["wrong_order_share"],
        "wrong_order_share_balanced": balanced["wrong_order_share"],
        "wrong_order_target": 0.05,
        "ci_coverage_adaptive": adaptive["ci_coverage"],
        "ci_coverage_balanced": balanced["ci_coverage"],
        "ci_coverage_target": 0.93,
        "stopped_by_adaptive": adaptive["stopped_by"],
        "stopped_by_balanced": balanced["stopped_by"],
        "seconds": seconds,
    }, {
        "name": "adaptive_ci_coverage",
        "value": min(adaptive["ci_coverage"], balanced["ci_coverage"]),
        "unit": "share of 95% strength-difference intervals covering the truth at the stop (worse strategy)",
        "baseline": 0.95,
        "ratio": min(adaptive["ci_coverage"], balanced["ci_coverage"]),
        "target": 0.93,
        "better": "higher",
        "ci_coverage_adaptive": adaptive["ci_coverage"],
        "ci_coverage_balanced": balanced["ci_coverage"],
    }, {
        "name": "adaptive_wrong_order_share",
        "value": max(adaptive["wrong_order_share"], balanced["wrong_order_share"]),
        "unit": "share of campaigns ending in a wrong order (worse strategy)",
        "baseline": 0.05,
        "ratio": max(adaptive["wrong_order_share"], balanced["wrong_order_share"]),
        "target": 0.05,
        "better": "lower",
    }]
